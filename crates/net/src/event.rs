//! What a provider streams out while a model call runs, and what it returns at the end.
//!
//! Every provider emits the same events whatever its wire, so front ends render one stream.
//! Deltas borrow from the decoder's buffers: rendering a token costs no allocation.

use std::time::Duration;

use crate::model::{Message, StopReason, ToolCall, Usage};

#[derive(Debug, Clone, Copy)]
pub enum StreamEvent<'a> {
    /// A piece of the answer.
    TextDelta(&'a str),
    /// A piece of the model's thinking (or its summary).
    ThinkingDelta(&'a str),
    /// A complete tool call, as soon as the model has finished it.
    ToolCall(&'a ToolCall),
    /// Token usage of this call (sent once, when known).
    Usage(&'a Usage),
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

/// The end of a successful model call.
#[derive(Debug, Clone)]
pub struct Completion {
    /// The assistant message, built from the wire's authoritative items (not from deltas).
    pub message: Message,
    pub usage: Usage,
    pub stop: StopReason,
}

/// Where a provider sends its events.
pub type EventSink<'s> = dyn FnMut(StreamEvent<'_>) + Send + 's;
