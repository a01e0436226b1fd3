//! Handing a command-less function's result back (docs/agent.md, Function calling): a run
//! that stopped on such a call (`stop_reason: "function_call"`) is resumed with
//! `--resume ID --function-result …`, and the result takes the place of the "interrupted"
//! pairing the resumed transcript would otherwise give the call.

use serde_json::Value;
use sxnet::model::{Block, Role, ToolCall, ToolResult};

use super::Agent;

/// One result for one call (`--function-result`): `CALL_ID=OUTPUT`, or a JSON object
/// `{"id": "…", "output": …, "is_error": false}` (`output` a string, or any JSON value, sent
/// as its JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionResult {
    pub id: String,
    pub output: String,
    pub is_error: bool,
}

impl FunctionResult {
    pub fn parse(arg: &str) -> Result<FunctionResult, String> {
        let bad = |why: &str| {
            format!(
                "--function-result {arg:?}: {why}; pass CALL_ID=OUTPUT or {{\"id\": CALL_ID, \"output\": OUTPUT}}"
            )
        };
        if arg.trim_start().starts_with('{') {
            let v: Value =
                serde_json::from_str(arg).map_err(|e| bad(&format!("not valid JSON ({e})")))?;
            let Value::Object(mut o) = v else {
                return Err(bad("not a JSON object"));
            };
            if let Some(k) = o
                .keys()
                .find(|k| !["id", "output", "is_error"].contains(&k.as_str()))
            {
                return Err(bad(&format!(
                    "unknown field '{k}' (allowed: id, output, is_error)"
                )));
            }
            let id = match o.remove("id") {
                Some(Value::String(s)) if !s.trim().is_empty() => s,
                _ => return Err(bad("\"id\" must be the call's id, a string")),
            };
            let output = match o.remove("output") {
                Some(Value::String(s)) => s,
                Some(other) => other.to_string(),
                None => return Err(bad("\"output\" is missing")),
            };
            let is_error = match o.remove("is_error") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => b,
                Some(_) => return Err(bad("\"is_error\" must be true or false")),
            };
            return Ok(FunctionResult {
                id,
                output,
                is_error,
            });
        }
        match arg.split_once('=') {
            Some((id, output)) if !id.trim().is_empty() && !id.contains(char::is_whitespace) => {
                Ok(FunctionResult {
                    id: id.to_string(),
                    output: output.to_string(),
                    is_error: false,
                })
            }
            _ => Err(bad("expected CALL_ID=OUTPUT")),
        }
    }
}

impl Agent {
    /// The calls of the transcript's last model turn that wait for the calling program: calls
    /// of functions without a command, unanswered since (the resumed transcript pairs them
    /// with a placeholder, or holds a result handed back by a run that then failed).
    fn waiting_calls(&self) -> Option<(usize, Vec<&ToolCall>)> {
        let last = self
            .messages
            .iter()
            .rposition(|m| m.role == Role::Assistant)?;
        // Only the pairing message may follow: anything later means the session went on.
        let after = &self.messages[last + 1..];
        let only_results = match after {
            [] => true,
            [m] => {
                m.role == Role::User && m.content.iter().all(|b| matches!(b, Block::ToolResult(_)))
            }
            _ => false,
        };
        if !only_results {
            return None;
        }
        let waiting: Vec<&ToolCall> = self.messages[last]
            .tool_calls()
            .filter(|c| self.is_caller_function(c))
            .collect();
        (!waiting.is_empty()).then_some((last, waiting))
    }

    /// The calls (`(id, name)`) the conversation waits on the calling program for: after a
    /// run that stopped with `StopReason::FunctionCall`, the ones to hand results back for.
    pub fn waiting_for_caller(&self) -> Vec<(String, String)> {
        self.waiting_calls()
            .map(|(_, calls)| {
                calls
                    .into_iter()
                    .map(|c| (c.id.clone(), c.name.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Put the caller's `results` in place of the waiting calls' placeholders and return the
    /// results message as the input of the next run (the resumed transcript no longer ends
    /// with it). Every waiting call needs a result; a result for anything else is refused.
    pub fn hand_back(&mut self, results: &[FunctionResult]) -> Result<Vec<Block>, String> {
        let Some((last, waiting)) = self.waiting_calls() else {
            return Err(match self.messages.iter().rev().find(|m| m.role == Role::Assistant) {
                Some(m) if m.tool_calls().any(|c| !self.is_known(&c.name)) => format!(
                    "the session's last turn called {}, which is not a function of this run; pass the same --functions FILE as the run that stopped",
                    m.tool_calls()
                        .filter(|c| !self.is_known(&c.name))
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => "the session is not waiting for a function result (its last model turn did not stop on a function without a command); resume it with a prompt instead".to_string(),
            });
        };
        let ids = |calls: &[&ToolCall]| {
            calls
                .iter()
                .map(|c| format!("{} ({})", c.id, c.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for r in results {
            if !waiting.iter().any(|c| c.id == r.id) {
                return Err(format!(
                    "the session is not waiting for a result of call {:?}; it waits for: {}",
                    r.id,
                    ids(&waiting)
                ));
            }
            if results.iter().filter(|o| o.id == r.id).count() > 1 {
                return Err(format!(
                    "call {:?} was given more than one --function-result; give one each",
                    r.id
                ));
            }
        }
        let missing: Vec<&ToolCall> = waiting
            .iter()
            .copied()
            .filter(|c| !results.iter().any(|r| r.id == c.id))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "these calls wait for a result too: {}; pass one --function-result for each",
                ids(&missing)
            ));
        }
        let names: Vec<(String, String)> = waiting
            .iter()
            .map(|c| (c.id.clone(), c.name.clone()))
            .collect();
        let mut blocks = match self.messages.get(last + 1) {
            Some(_) => self.messages.remove(last + 1).content,
            None => Vec::new(),
        };
        for r in results {
            let name = names
                .iter()
                .find(|(id, _)| *id == r.id)
                .map(|(_, n)| n.clone())
                .unwrap_or_default();
            let block = Block::ToolResult(ToolResult {
                call_id: r.id.clone(),
                name,
                output: r.output.clone(),
                is_error: r.is_error,
                images: Vec::new(),
            });
            match blocks
                .iter_mut()
                .find(|b| matches!(b, Block::ToolResult(t) if t.call_id == r.id))
            {
                Some(b) => *b = block,
                None => blocks.push(block),
            }
        }
        Ok(blocks)
    }

    fn is_known(&self, name: &str) -> bool {
        self.tools.iter().any(|t| t.name() == name) || self.functions.iter().any(|f| f.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_shapes_parse_and_bad_ones_say_what_to_pass() {
        assert_eq!(
            FunctionResult::parse("call_1=shipped = yes").unwrap(),
            FunctionResult {
                id: "call_1".into(),
                output: "shipped = yes".into(),
                is_error: false
            }
        );
        assert_eq!(
            FunctionResult::parse(r#"{"id":"c","output":{"ok":true},"is_error":true}"#).unwrap(),
            FunctionResult {
                id: "c".into(),
                output: r#"{"ok":true}"#.into(),
                is_error: true
            }
        );
        for (bad, why) in [
            ("no-equals", "expected CALL_ID=OUTPUT"),
            ("=x", "expected CALL_ID=OUTPUT"),
            (r#"{"id":"c"}"#, "\"output\" is missing"),
            (r#"{"id":"c","output":"x","err":1}"#, "unknown field 'err'"),
            (r#"{"id":1,"output":"x"}"#, "\"id\" must be"),
            ("{oops", "not valid JSON"),
        ] {
            let e = FunctionResult::parse(bad).unwrap_err();
            assert!(
                e.contains(why) && e.contains("pass CALL_ID=OUTPUT"),
                "{bad}: {e}"
            );
        }
    }
}
