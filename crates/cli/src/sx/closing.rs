//! The lines that end a one-shot run on stderr when it did not simply answer: calls refused
//! for want of approval, and a stop on a function without a command (docs/agent.md).

use sx_agent::StopReason;

/// Calls refused because nobody could approve them: one line naming the tools and the way to
/// allow them. `None` when nothing was refused.
pub fn refused(tools: &[String]) -> Option<String> {
    if tools.is_empty() {
        return None;
    }
    Some(format!(
        "sx: not run without approval: {}; a one-shot run may only read unless you allow more: rerun with --yolo (or -e APPROVAL=auto), or allow these tools with --allowed-tools {}",
        tools.join(", "),
        tools.join(",")
    ))
}

/// A run that stopped on a call to a function without a command: which calls (`(id, name)`)
/// wait, and how to hand their results back. `None` for other stops.
pub fn function_stop(
    stop: StopReason,
    waiting: &[(String, String)],
    session_id: &str,
) -> Option<String> {
    if stop != StopReason::FunctionCall {
        return None;
    }
    let calls: Vec<String> = waiting
        .iter()
        .map(|(id, name)| format!("{name} (call {id})"))
        .collect();
    let answers: String = waiting
        .iter()
        .map(|(id, _)| format!(" --function-result '{id}=RESULT'"))
        .collect();
    Some(format!(
        "sx: stopped: the model called {}, a function without a command; hand the result back with: sx --resume {session_id}{answers}",
        calls.join(", ")
    ))
}
