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
/// End the background processes tool commands left running (docs/reliability.md, hole 8)
/// before sx exits, and say which could not be ended.
pub fn end_background(rt: &tokio::runtime::Runtime) {
    let left = rt.block_on(sx_agent::tools::command::stop_kept());
    if let Some(line) = survivors(&left) {
        crate::stderr_line(format_args!("{line}"));
    }
}

/// The line for background processes that outlived their end. `None` when none did.
pub fn survivors(left: &[sx_agent::tools::proc_tree::Proc]) -> Option<String> {
    (!left.is_empty()).then(|| {
        format!(
            "warning: tool commands left background processes that could not be ended: {}; end them with kill -9",
            sx_agent::tools::proc_tree::Proc::describe(left)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sx_agent::tools::proc_tree::Proc;

    #[test]
    fn survivors_are_named_or_nothing_is_said() {
        assert_eq!(survivors(&[]), None);
        let one = [Proc {
            pid: 41,
            name: "sleep".into(),
        }];
        assert_eq!(
            survivors(&one).unwrap(),
            "warning: tool commands left background processes that could not be ended: pid 41 (sleep); end them with kill -9"
        );
        let two = [
            one[0].clone(),
            Proc {
                pid: 42,
                name: "node".into(),
            },
        ];
        assert!(
            survivors(&two)
                .unwrap()
                .contains(": pid 41 (sleep), pid 42 (node); ")
        );
    }
}
