//! What the agent tells its front end: one stream every UI renders (docs/spec.md §1.1 `stream-json`).

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use sxnet::RateLimits;
use sxnet::model::Usage;

/// Why a run ended (`done.stop_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    EndTurn,
    FunctionCall,
    MaxTurns,
    Cancelled,
    Error,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::EndTurn => "end_turn",
            StopReason::FunctionCall => "function_call",
            StopReason::MaxTurns => "max_turns",
            StopReason::Cancelled => "cancelled",
            StopReason::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub enum AgentEvent<'a> {
    Session {
        id: &'a str,
        provider: &'a str,
        model: &'a str,
        cwd: &'a Path,
    },
    ThinkingDelta(&'a str),
    TextDelta(&'a str),
    /// The model began a tool call whose arguments are still streaming (for a UI; the
    /// `ToolCall` event follows when it runs).
    ToolCallStarted {
        id: &'a str,
        name: &'a str,
    },
    ToolCall {
        id: &'a str,
        name: &'a str,
        input: &'a Value,
    },
    ToolResult {
        id: &'a str,
        name: &'a str,
        output: &'a str,
        is_error: bool,
    },
    /// A user function without a command: the run stops and the caller acts on it.
    FunctionCall {
        id: &'a str,
        name: &'a str,
        arguments: &'a Value,
    },
    /// A unified diff of a file a tool changed (for the user; stderr in text mode).
    Diff(&'a str),
    Usage(&'a Usage),
    /// The account's usage windows (docs/spec.md §1.1 `rate_limits`).
    RateLimits(&'a RateLimits),
    Retry {
        attempt: u32,
        delay: Duration,
        reason: &'a str,
    },
    /// Side information for the user (stderr in text mode); not part of stream-json.
    Notice(&'a str),
    Error {
        message: &'a str,
        retryable: bool,
    },
    Done {
        stop_reason: StopReason,
        text: &'a str,
    },
}
