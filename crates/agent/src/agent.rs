//! The agent loop: send → stream → run the tool calls → append results → repeat, until a final
//! answer, `--max-turns`, cancellation or an unrecoverable error (issue 4, docs/spec.md §1.1, §5).
//!
//! Invariants: the transcript only holds complete model turns; every tool call gets exactly one
//! result (also after a cancel, a refusal or an unknown tool) — except a user function without
//! a command, which ends the run and goes back to the caller; and the transcript is flushed to
//! the session after every message.

use std::sync::Arc;

use sxnet::model::{
    Block, Effort, Message, Request, Role, StopReason as ModelStop, ToolCall, ToolSpec, Usage,
};
use sxnet::{Provider, ProviderError, StreamEvent};
use tokio_util::sync::CancellationToken;

mod calls;
mod hand_back;

pub use hand_back::FunctionResult;

use crate::approval::Approval;
use crate::compact;
use crate::event::{AgentEvent, StopReason};
use crate::functions::Function;
use crate::session::Session;
use crate::tools::{Tool, ToolContext};

/// Per-session settings the loop needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Model id after alias resolution.
    pub model: String,
    pub effort: Option<Effort>,
    pub thinking: bool,
    pub max_turns: u32,
    /// Compact before a request when the previous one used more tokens than this; `None` =
    /// 90% of the model's context window.
    pub compact_at: Option<u64>,
}

pub struct Agent {
    provider: Arc<dyn Provider>,
    pub settings: Settings,
    pub system: String,
    pub session_id: String,
    pub messages: Vec<Message>,
    /// Usage summed over the session.
    pub usage: Usage,
    tools: Vec<Arc<dyn Tool>>,
    functions: Vec<Function>,
    /// Built once: the tool list is part of the cached prompt prefix, byte-identical across
    /// the session's requests.
    specs: Vec<ToolSpec>,
    approval: Approval,
    pub ctx: ToolContext,
    session: Option<Session>,
    /// Input + output tokens of the last model call (for the compaction threshold).
    last_tokens: u64,
    /// The current user turn: a wire may keep state for it (`Request::turn_id`).
    turn_id: String,
    /// The conversation's id at a provider that keeps its own history.
    provider_session: Option<String>,
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
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        provider: Arc<dyn Provider>,
        settings: Settings,
        system: String,
        session_id: String,
        tools: Vec<Arc<dyn Tool>>,
        functions: Vec<Function>,
        approval: Approval,
        ctx: ToolContext,
    ) -> Self {
        let specs = tools
            .iter()
            .map(|t| t.spec())
            .chain(functions.iter().map(Function::spec))
            .collect();
        Agent {
            provider,
            settings,
            system,
            session_id,
            messages: Vec::new(),
            usage: Usage::default(),
            tools,
            functions,
            specs,
            approval,
            ctx,
            session: None,
            last_tokens: 0,
            turn_id: String::new(),
            provider_session: None,
        }
    }

    /// Persist the conversation in `session` from now on (its transcript is `messages`).
    pub fn attach_session(&mut self, session: Session, messages: Vec<Message>) {
        self.session_id = session.id().to_string();
        self.provider_session = session.meta.provider_session.clone();
        self.messages = messages;
        self.session = Some(session);
        self.last_tokens = 0;
    }

    /// Go on without saving: a new, unsaved conversation with this id.
    pub fn detach_session(&mut self, id: String) {
        self.session = None;
        self.provider_session = None;
        self.session_id = id;
        self.messages.clear();
        self.last_tokens = 0;
    }

    /// The conversation so far.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    pub fn provider(&self) -> &dyn Provider {
        self.provider.as_ref()
    }

    /// Talk to another provider from the next model call on (`/provider`, `/profile`); the
    /// conversation stays.
    pub fn set_provider(&mut self, provider: Arc<dyn Provider>, model: String) {
        self.provider = provider;
        self.settings.model = model;
        self.last_tokens = 0;
        // A provider's own conversation knows nothing of what another provider answered.
        self.provider_session = None;
        if let Some(s) = &mut self.session {
            s.meta.provider_session = None;
        }
    }

    /// Whether the conversation has anything to compact.
    pub fn has_history(&self) -> bool {
        !self.messages.is_empty()
    }

    /// Compact now (`/compact`): the conversation continues from a summary note.
    pub fn compact_now(&mut self, sink: &mut AgentSink<'_>) {
        self.compact(sink);
    }

    /// Input + output tokens of the last model call, for a context meter.
    pub fn last_tokens(&self) -> u64 {
        self.last_tokens
    }

    pub fn tool_specs(&self) -> &[ToolSpec] {
        &self.specs
    }

    fn push(&mut self, m: Message, sink: &mut AgentSink<'_>) {
        self.messages.push(m);
        if let Some(s) = &mut self.session
            && let Err(e) = s.save(&self.messages, &self.usage)
        {
            sink(AgentEvent::Notice(&format!(
                "the transcript could not be saved: {e}"
            )));
        }
    }

    /// Run the agent on one user input until it stops.
    pub async fn run(
        &mut self,
        input: Vec<Block>,
        cancel: &CancellationToken,
        sink: &mut AgentSink<'_>,
    ) -> RunOutcome {
        self.turn_id = uuid::Uuid::now_v7().to_string();
        self.push(
            Message {
                role: Role::User,
                content: input,
                usage: None,
            },
            sink,
        );
        let mut run_usage = Usage::default();
        let mut tool_calls = Vec::new();
        let mut compacted = false;
        let mut turns = 0u32;
        while turns < self.settings.max_turns {
            if !compacted && self.over_threshold() {
                self.compact(sink);
                compacted = true;
            }
            let mut completion = match self.call_model(cancel, sink).await {
                Ok(c) => c,
                Err(ProviderError::Cancelled) => {
                    return self.finish(StopReason::Cancelled, run_usage, tool_calls, None, sink);
                }
                Err(e) if e.is_context_window_exceeded() && !compacted => {
                    self.compact(sink);
                    compacted = true;
                    continue;
                }
                Err(e) => {
                    return self.finish(StopReason::Error, run_usage, tool_calls, Some(e), sink);
                }
            };
            turns += 1;
            compacted = false;
            self.last_tokens = completion.usage.input_tokens + completion.usage.output_tokens;
            run_usage.add(&completion.usage);
            self.usage.add(&completion.usage);
            // The id to keep, or none: a provider that keeps no history of its own answered, so
            // an older id no longer holds the whole conversation.
            let kept = completion.provider_session.take();
            if let Some(s) = &mut self.session {
                s.meta.provider_session = kept.clone();
            }
            self.provider_session = kept;
            let calls: Vec<ToolCall> = completion.message.tool_calls().cloned().collect();
            self.push(completion.message, sink);
            if calls.is_empty() {
                match completion.stop {
                    // The back-end paused a long turn: sending the conversation continues it.
                    ModelStop::Pause => continue,
                    ModelStop::MaxTokens => sink(AgentEvent::Notice(
                        "the answer was cut off at the model's output limit",
                    )),
                    ModelStop::Refusal => sink(AgentEvent::Notice("the model declined to answer")),
                    ModelStop::Safety => sink(AgentEvent::Notice(
                        "the provider withheld the answer for safety reasons",
                    )),
                    ModelStop::EndTurn | ModelStop::ToolUse => {}
                }
                return self.finish(StopReason::EndTurn, run_usage, tool_calls, None, sink);
            }
            tool_calls.extend(calls.iter().cloned());
            let (results, stop) = self.run_calls(&calls, cancel, sink).await;
            if !results.is_empty() {
                self.push(
                    Message {
                        role: Role::User,
                        content: results,
                        usage: None,
                    },
                    sink,
                );
            }
            if let Some(stop) = stop {
                return self.finish(stop, run_usage, tool_calls, None, sink);
            }
        }
        self.finish(StopReason::MaxTurns, run_usage, tool_calls, None, sink)
    }

    async fn call_model(
        &self,
        cancel: &CancellationToken,
        sink: &mut AgentSink<'_>,
    ) -> Result<sxnet::Completion, ProviderError> {
        let req = Request {
            model: &self.settings.model,
            system: &self.system,
            messages: &self.messages,
            tools: &self.specs,
            effort: self.settings.effort,
            thinking: self.settings.thinking,
            session_id: &self.session_id,
            turn_id: &self.turn_id,
            max_output_tokens: None,
            provider_session: self.provider_session.as_deref(),
        };
        // A provider that runs its own tools reports them as activity; the agent only shows them.
        let own_tools = self.provider.capabilities().runs_own_tools;
        // Raw reasoning is shown only when the model streams no summary of it.
        let mut summarized = false;
        let mut on_stream = |ev: StreamEvent<'_>| match ev {
            StreamEvent::TextDelta(t) => sink(AgentEvent::TextDelta(t)),
            StreamEvent::ThinkingDelta(t) => {
                summarized = true;
                sink(AgentEvent::ThinkingDelta(t))
            }
            StreamEvent::RawThinkingDelta(t) => {
                if !summarized {
                    sink(AgentEvent::ThinkingDelta(t))
                }
            }
            StreamEvent::ToolCallStarted { id, name } => {
                sink(AgentEvent::ToolCallStarted { id, name })
            }
            StreamEvent::RateLimits(l) => sink(AgentEvent::RateLimits(l)),
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
            StreamEvent::ToolCall(c) if own_tools => {
                let input = c.input().unwrap_or(serde_json::Value::Null);
                sink(AgentEvent::ToolCall {
                    id: &c.id,
                    name: &c.name,
                    input: &input,
                })
            }
            // Announced when they run, with their parsed input.
            StreamEvent::ToolCall(_) => {}
            // Its text came as deltas; its state is in the completion.
            StreamEvent::Thinking(_) => {}
            StreamEvent::ToolResult {
                id,
                name,
                output,
                is_error,
            } => sink(AgentEvent::ToolResult {
                id,
                name,
                output,
                is_error,
            }),
        };
        tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(ProviderError::Cancelled),
            r = self.provider.stream(&req, &mut on_stream) => r,
        }
    }

    fn over_threshold(&self) -> bool {
        let limit = self.settings.compact_at.or_else(|| {
            self.provider
                .context_window(&self.settings.model)
                .map(|w| w / 10 * 9)
        });
        limit.is_some_and(|l| self.last_tokens > l)
    }

    /// Replace the conversation with a continuation note (see `compact`), in a new session.
    fn compact(&mut self, sink: &mut AgentSink<'_>) {
        let old_id = self.session_id.clone();
        let old_path = self.session.as_ref().map(Session::conversation_path);
        let note = compact::continuation(&self.messages, &old_id, old_path.as_deref());
        let new_id = uuid::Uuid::now_v7().to_string();
        if let Some(s) = &self.session {
            match s.continuation(&new_id) {
                Ok(next) => self.session = Some(next),
                Err(e) => sink(AgentEvent::Notice(&format!(
                    "could not start the continuation session: {e}"
                ))),
            }
        }
        self.session_id = new_id;
        self.messages.clear();
        self.last_tokens = 0;
        // A provider's own conversation did not fit either: it starts again from the note.
        self.provider_session = None;
        sink(AgentEvent::Notice(&format!(
            "context compacted: the conversation continues in session {} (the old transcript is kept)",
            self.session_id
        )));
        self.push(note, sink);
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

#[cfg(test)]
#[path = "agent_tests.rs"]
mod tests;
