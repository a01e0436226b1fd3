//! Running one assistant turn's tool calls: which tool or function each call names, approval,
//! concurrency of read-only calls, and one result per call (see the invariants in `agent.rs`).

use std::sync::Arc;

use serde_json::Value;
use sxnet::model::{Block, ToolCall, ToolResult};
use tokio_util::sync::CancellationToken;

use super::{Agent, AgentSink};
use crate::approval::Decision;
use crate::event::{AgentEvent, StopReason};
use crate::functions::{self, Function, Origin};
use crate::tools::{Tool, ToolContext, ToolKind, ToolOutput};

enum Target<'a> {
    Tool(&'a Arc<dyn Tool>),
    Function(&'a Function),
    Unknown,
}

impl Agent {
    fn target(&self, name: &str) -> Target<'_> {
        if let Some(t) = self.tools.iter().find(|t| t.name() == name) {
            return Target::Tool(t);
        }
        match self.functions.iter().find(|f| f.name == name) {
            Some(f) => Target::Function(f),
            None => Target::Unknown,
        }
    }

    fn is_parallel_safe(&self, call: &ToolCall) -> bool {
        matches!(self.target(&call.name), Target::Tool(t) if t.kind() == ToolKind::ReadOnly)
    }

    /// Run one assistant turn's calls. Consecutive read-only calls run concurrently; the rest
    /// one at a time, in order. Returns the results and why the run must stop, if it must.
    pub(super) async fn run_calls(
        &self,
        calls: &[ToolCall],
        cancel: &CancellationToken,
        sink: &mut AgentSink<'_>,
    ) -> (Vec<Block>, Option<StopReason>) {
        let mut results = Vec::with_capacity(calls.len());
        let mut returned_to_caller = false;
        let mut i = 0;
        while i < calls.len() {
            if cancel.is_cancelled() {
                for c in &calls[i..] {
                    if !self.is_caller_function(c) {
                        results.push(result_block(
                            c,
                            ToolOutput::error("cancelled by the user before it ran"),
                        ));
                    }
                }
                return (results, Some(StopReason::Cancelled));
            }
            let mut end = i + 1;
            if self.is_parallel_safe(&calls[i]) {
                while end < calls.len() && self.is_parallel_safe(&calls[end]) {
                    end += 1;
                }
            }
            let batch = &calls[i..end];
            let inputs: Vec<Result<Value, String>> = batch.iter().map(parse_input).collect();
            for (c, input) in batch.iter().zip(&inputs) {
                match (self.target(&c.name), input) {
                    (Target::Function(f), Ok(args)) if f.command.is_none() => {
                        sink(AgentEvent::FunctionCall {
                            id: &c.id,
                            name: &c.name,
                            arguments: args,
                        });
                    }
                    (_, Ok(v)) => sink(AgentEvent::ToolCall {
                        id: &c.id,
                        name: &c.name,
                        input: v,
                    }),
                    (_, Err(_)) => sink(AgentEvent::ToolCall {
                        id: &c.id,
                        name: &c.name,
                        input: &Value::Null,
                    }),
                }
            }
            if cancel.is_cancelled() {
                // Cancelled while announcing (the reader of the output went away): none runs.
                continue;
            }
            let outputs = futures_util::future::join_all(
                batch
                    .iter()
                    .zip(&inputs)
                    .map(|(c, input)| self.execute(c, input, cancel)),
            )
            .await;
            for (c, out) in batch.iter().zip(outputs) {
                let Some(out) = out else {
                    returned_to_caller = true;
                    continue;
                };
                let out = masked(out);
                if let Some(d) = &out.diff {
                    sink(AgentEvent::Diff(d));
                }
                sink(AgentEvent::ToolResult {
                    id: &c.id,
                    name: &c.name,
                    output: &out.text,
                    is_error: out.is_error,
                });
                results.push(result_block(c, out));
            }
            i = end;
        }
        if cancel.is_cancelled() {
            return (results, Some(StopReason::Cancelled));
        }
        (
            results,
            returned_to_caller.then_some(StopReason::FunctionCall),
        )
    }

    /// The tools refused so far because nobody could approve them (a one-shot run without
    /// `--yolo`), each once, for the run's closing line.
    pub fn refused_unattended(&self) -> Vec<String> {
        self.approval.refused_unattended()
    }

    pub(super) fn is_caller_function(&self, c: &ToolCall) -> bool {
        matches!(self.target(&c.name), Target::Function(f) if f.command.is_none())
    }

    /// Run one call; `None` for a function that goes back to the caller.
    async fn execute(
        &self,
        call: &ToolCall,
        input: &Result<Value, String>,
        cancel: &CancellationToken,
    ) -> Option<ToolOutput> {
        let input = match input {
            Ok(v) => v.clone(),
            Err(why) => return Some(ToolOutput::error(why.clone())),
        };
        let ctx = ToolContext {
            cancel: cancel.clone(),
            ..self.ctx.clone()
        };
        Some(match self.target(&call.name) {
            Target::Tool(t) => {
                if t.kind() == ToolKind::Mutating {
                    let decision = match outside_path(&call.name, &input, &ctx) {
                        Some(path) => {
                            self.approval
                                .decide_outside(&call.name, &input, &path, &ctx.project_root)
                                .await
                        }
                        None => self.approval.decide(&call.name, &input).await,
                    };
                    if let Decision::Deny(why) = decision {
                        return Some(ToolOutput::error(why));
                    }
                }
                t.run(input, &ctx).await
            }
            Target::Function(f) => {
                f.command.as_ref()?;
                // A repository's functions run commands like any other command would.
                if matches!(f.origin, Origin::Project(_))
                    && let Decision::Deny(why) = self.approval.decide(&call.name, &input).await
                {
                    return Some(ToolOutput::error(why));
                }
                functions::run_command(f, &input, &ctx).await
            }
            Target::Unknown => {
                let names: Vec<&str> = self.specs.iter().map(|s| s.name.as_str()).collect();
                ToolOutput::error(if names.is_empty() {
                    format!(
                        "there is no tool '{}': no tools are available in this session",
                        call.name
                    )
                } else {
                    format!(
                        "there is no tool '{}'; available tools: {}",
                        call.name,
                        names.join(", ")
                    )
                })
            }
        })
    }
}

/// The file a file-changing tool would write, resolved (`~/`, `..`, symbolic links), when it
/// lies outside the project and every `--add-dir` folder (`tools::roots`).
fn outside_path(tool: &str, input: &Value, ctx: &ToolContext) -> Option<std::path::PathBuf> {
    if !matches!(tool, "write_file" | "edit_file" | "edit_lines") {
        return None;
    }
    let given = input.get("path")?.as_str()?;
    let path = std::path::Path::new(given);
    if crate::tools::roots::contains(ctx, path) {
        return None;
    }
    let resolved = crate::tools::roots::resolve(&ctx.resolve(given));
    Some(if resolved.as_os_str().is_empty() {
        ctx.resolve(given)
    } else {
        resolved
    })
}

fn parse_input(c: &ToolCall) -> Result<Value, String> {
    match c.input() {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(other) => Err(format!(
            "the arguments of '{}' must be a JSON object, got {other}; call it again with an object",
            c.name
        )),
        Err(e) => Err(format!(
            "the arguments of '{}' are not valid JSON ({e}); call it again with a JSON object matching its schema",
            c.name
        )),
    }
}

/// `out` with every known secret (`sx_config::secrets`) replaced by `***`, before the model,
/// the transcript or the screen sees it: a `cat` of a credential file, `env` printing an API
/// key, the SSH password echoed by a script (docs/reliability.md, hole 4).
fn masked(mut out: ToolOutput) -> ToolOutput {
    use sx_config::secrets::mask;
    if let std::borrow::Cow::Owned(text) = mask(&out.text) {
        out.text = text;
    }
    if let Some(std::borrow::Cow::Owned(diff)) = out.diff.as_deref().map(mask) {
        out.diff = Some(diff);
    }
    out
}

fn result_block(c: &ToolCall, out: ToolOutput) -> Block {
    Block::ToolResult(ToolResult {
        call_id: c.id.clone(),
        name: c.name.clone(),
        output: out.text,
        is_error: out.is_error,
        images: out.images,
    })
}
