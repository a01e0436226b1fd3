//! What a provider streams out while a model call runs, and what it returns at the end.
//!
//! Every provider emits the same events whatever its wire, so front ends render one stream.
//! Deltas borrow from the decoder's buffers: rendering a token costs no allocation. A front end
//! on another task takes them through [`channel`](crate::channel), which owns and coalesces
//! them (docs/architecture.md, "Events across tasks").

use std::time::Duration;

use serde::Serialize;

use crate::model::{Message, StopReason, Thinking, ToolCall, Usage};

#[derive(Debug, Clone, Copy)]
pub enum StreamEvent<'a> {
    /// A piece of the answer.
    TextDelta(&'a str),
    /// A piece of the model's visible thinking (a summary on Codex).
    ThinkingDelta(&'a str),
    /// A piece of the raw chain of thought, on wires that send it apart from the summary.
    RawThinkingDelta(&'a str),
    /// The model began a tool call; its arguments are still streaming.
    ToolCallStarted { id: &'a str, name: &'a str },
    /// A complete tool call, as soon as the model has finished it.
    ToolCall(&'a ToolCall),
    /// A complete thinking block with its opaque state (signature, replay item), as soon as
    /// the model has finished it and before anything that follows it: what a relay (the
    /// router) needs to hand the state on in place. Renderers ignore it (the text came as
    /// deltas).
    Thinking(&'a Thinking),
    /// A provider that runs its own tools (capabilities) ran one: its result, for display.
    ToolResult {
        id: &'a str,
        name: &'a str,
        output: &'a str,
        is_error: bool,
    },
    /// Token usage of this call (sent once, when known).
    Usage(&'a Usage),
    /// The account's usage windows as the back-end reported them (Codex `x-codex-*` headers).
    RateLimits(&'a RateLimits),
    /// The call failed in a retryable way and will be retried after `delay`; any partial
    /// output already streamed for it is void, the retry streams the answer again.
    Retry {
        attempt: u32,
        max: u32,
        delay: Duration,
        reason: &'a str,
    },
    /// Something the user should know that is not part of the answer (e.g. a token refresh).
    Notice(&'a str),
}

/// Usage windows of an account (docs/spec.md §1.1 `rate_limits`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RateLimits {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<RateWindow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondary: Option<RateWindow>,
    /// Which limit family applies when the back-end names one (`x-codex-active-limit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_limit: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RateWindow {
    pub used_percent: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_minutes: Option<u64>,
    /// Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<u64>,
}

impl RateLimits {
    /// The most used window, if any.
    pub fn highest(&self) -> Option<&RateWindow> {
        [self.primary.as_ref(), self.secondary.as_ref()]
            .into_iter()
            .flatten()
            .max_by(|a, b| a.used_percent.total_cmp(&b.used_percent))
    }
}

/// The end of a successful model call.
#[derive(Debug, Clone)]
pub struct Completion {
    /// The assistant message, built from the wire's authoritative items (not from deltas).
    pub message: Message,
    pub usage: Usage,
    pub stop: StopReason,
    /// A provider that keeps its own history names the conversation here; the agent sends it
    /// back with the next request (and keeps it in the session for `--resume`).
    pub provider_session: Option<String>,
}

/// Where a provider sends its events.
pub type EventSink<'s> = dyn FnMut(StreamEvent<'_>) + Send + 's;
