//! The agent loop: send → stream → (run tools → append results → repeat) → final answer.
//!
//! A run ends on a final answer, `--max-turns`, cancellation or an unrecoverable error. The
//! transcript (`messages`) only ever holds complete model turns, so a cancelled or failed call
//! leaves nothing half-written behind.

use std::sync::Arc;

use sxnet::model::{Block, Effort, Message, Request, Role, ToolCall, ToolResult, ToolSpec, Usage};
use sxnet::{Provider, ProviderError, StreamEvent};
use tokio_util::sync::CancellationToken;

use crate::event::{AgentEvent, StopReason};

/// Per-session settings the loop needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Model id after alias resolution.
    pub model: String,
    pub effort: Option<Effort>,
    pub thinking: bool,
    pub max_turns: u32,
}

pub struct Agent {
    provider: Arc<dyn Provider>,
    pub settings: Settings,
    pub system: String,
    pub tools: Vec<ToolSpec>,
    pub session_id: String,
    pub messages: Vec<Message>,
    /// Usage summed over the session.
    pub usage: Usage,
}

/// How a run ended.
#[derive(Debug)]
pub struct RunOutcome {
    pub stop: StopReason,
    /// The final answer (text of the last assistant message).
    pub text: String,
    /// Usage of this run.
    pub usage: Usage,
    pub tool_calls: Vec<ToolCall>,
    pub error: Option<ProviderError>,
}

pub type AgentSink<'s> = dyn FnMut(AgentEvent<'_>) + Send + 's;

impl Agent {
    pub fn new(
        provider: Arc<dyn Provider>,
        settings: Settings,
        system: String,
        session_id: String,
    ) -> Self {
        Agent {
            provider,
            settings,
            system,
            tools: Vec::new(),
            session_id,
            messages: Vec::new(),
            usage: Usage::default(),
        }
    }

    pub fn provider(&self) -> &dyn Provider {
        self.provider.as_ref()
    }

    /// Run the agent on one user input until it stops.
    pub async fn run(
        &mut self,
        input: Vec<Block>,
        cancel: &CancellationToken,
        sink: &mut AgentSink<'_>,
    ) -> RunOutcome {
        self.messages.push(Message {
            role: Role::User,
            content: input,
            usage: None,
        });
        let mut run_usage = Usage::default();
        let mut tool_calls = Vec::new();
        for _turn in 0..self.settings.max_turns {
            let result = {
                let req = Request {
                    model: &self.settings.model,
                    system: &self.system,
                    messages: &self.messages,
                    tools: &self.tools,
                    effort: self.settings.effort,
                    thinking: self.settings.thinking,
                    session_id: &self.session_id,
                };
                let mut on_stream = |ev: StreamEvent<'_>| match ev {
                    StreamEvent::TextDelta(t) => sink(AgentEvent::TextDelta(t)),
                    StreamEvent::ThinkingDelta(t) => sink(AgentEvent::ThinkingDelta(t)),
                    StreamEvent::Usage(u) => sink(AgentEvent::Usage(u)),
                    StreamEvent::Retry {
                        attempt,
                        delay,
                        reason,
                        ..
                    } => sink(AgentEvent::Retry {
                        attempt,
                        delay,
                        reason,
                    }),
                    StreamEvent::Notice(n) => sink(AgentEvent::Notice(n)),
                    // Tool calls are announced when they run, with their parsed input.
                    StreamEvent::ToolCall(_) => {}
                };
                tokio::select! {
                    biased;
                    _ = cancel.cancelled() => Err(ProviderError::Cancelled),
                    r = self.provider.stream(&req, &mut on_stream) => r,
                }
            };
            let completion = match result {
                Ok(c) => c,
                Err(ProviderError::Cancelled) => {
                    return self.finish(StopReason::Cancelled, run_usage, tool_calls, None, sink);
                }
                Err(e) => {
                    return self.finish(StopReason::Error, run_usage, tool_calls, Some(e), sink);
                }
            };
            run_usage.add(&completion.usage);
            self.usage.add(&completion.usage);
            let calls: Vec<ToolCall> = completion.message.tool_calls().cloned().collect();
            self.messages.push(completion.message);
            if calls.is_empty() {
                return self.finish(StopReason::EndTurn, run_usage, tool_calls, None, sink);
            }
            // Every call gets a result, so the transcript stays paired for the next request.
            let mut results = Vec::with_capacity(calls.len());
            for call in &calls {
                let input = call.input().unwrap_or(serde_json::Value::Null);
                sink(AgentEvent::ToolCall {
                    id: &call.id,
                    name: &call.name,
                    input: &input,
                });
                let output = format!("tool '{}' is not available in this session", call.name);
                sink(AgentEvent::ToolResult {
                    id: &call.id,
                    name: &call.name,
                    output: &output,
                    is_error: true,
                });
                results.push(Block::ToolResult(ToolResult {
                    call_id: call.id.clone(),
                    output,
                    is_error: true,
                    images: vec![],
                }));
            }
            tool_calls.extend(calls);
            self.messages.push(Message {
                role: Role::User,
                content: results,
                usage: None,
            });
        }
        self.finish(StopReason::MaxTurns, run_usage, tool_calls, None, sink)
    }

    fn finish(
        &self,
        stop: StopReason,
        usage: Usage,
        tool_calls: Vec<ToolCall>,
        error: Option<ProviderError>,
        sink: &mut AgentSink<'_>,
    ) -> RunOutcome {
        let text = match stop {
            StopReason::EndTurn | StopReason::MaxTurns | StopReason::FunctionCall => self
                .messages
                .iter()
                .rev()
                .find(|m| m.role == Role::Assistant)
                .map(Message::text)
                .unwrap_or_default(),
            StopReason::Cancelled | StopReason::Error => String::new(),
        };
        if let Some(e) = &error {
            sink(AgentEvent::Error {
                message: &e.to_string(),
                retryable: e.is_retryable(),
            });
        }
        sink(AgentEvent::Done {
            stop_reason: stop,
            text: &text,
        });
        RunOutcome {
            stop,
            text,
            usage,
            tool_calls,
            error,
        }
    }
}
