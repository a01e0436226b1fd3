//! The CLI's `--output-format stream-json --verbose --include-partial-messages` lines → our
//! stream events and the turn's completion (docs/providers.md, "claude_code"; the shapes are in
//! tests/fixtures/claude_code/, recorded from Claude Code 2.1.197).
//!
//! - `system` `init` names the CLI's session; `compact_boundary` says it compacted.
//! - `stream_event` wraps one Messages event of the API call in progress; they drive a
//!   [`MessagesStream`], whose text and thinking deltas go out live (one per API call: a new
//!   one at each `message_start`). Its tool calls and usage are not forwarded: the `assistant`
//!   lines and the `result` are authoritative for those.
//! - `assistant` holds one finished content block of a message (by message `id`). Text and
//!   thinking are collected (and shown, when the message was not streamed); `tool_use` is shown
//!   as a tool call the CLI runs itself. A synthetic message with an `error` field carries the
//!   words of a failure whose `result` follows.
//! - `user` lines carry the CLI's `tool_result`s, shown as results.
//! - `result` ends the turn: success with the total usage, cost, permission denials and the
//!   session id, or an error (`is_error`, `error_*` subtypes).
//!
//! Lines of sub-agents (`parent_tool_use_id` set) only add tool activity. Unknown line and
//! block types are ignored; a line that is not JSON is a protocol error. The per-token path
//! (a `stream_event` delta) parses with borrowed strings and allocates nothing.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::errors;
use super::fast_line::fast_stream_event;
use crate::ProviderId;
use crate::error::ProviderError;
use crate::event::{Completion, EventSink, StreamEvent};
use crate::json::Str;
use crate::model::{Block, Message, Role, StopReason, Thinking, ToolCall, Usage};
use crate::providers::anthropic::MessagesStream;

/// The head of every line.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    ty: Str<'a>,
    #[serde(borrow, default)]
    subtype: Option<Str<'a>>,
    #[serde(borrow, default)]
    session_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    parent_tool_use_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    event: Option<&'a RawValue>,
    #[serde(borrow, default)]
    message: Option<&'a RawValue>,
    /// On a synthetic `assistant` message: the failure's kind (`authentication_failed`, …).
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

/// Enough of a Messages event to see where an API call starts.
#[derive(Deserialize)]
struct EventHead<'a> {
    #[serde(rename = "type", borrow)]
    ty: Str<'a>,
    #[serde(borrow, default)]
    message: Option<MessageId<'a>>,
}

#[derive(Deserialize)]
struct MessageId<'a> {
    #[serde(borrow, default)]
    id: Option<Str<'a>>,
}

/// An `assistant` or `user` line's `message`.
#[derive(Deserialize)]
struct CliMessage {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    content: Value,
}

/// The `result` line.
#[derive(Deserialize, Default)]
pub(super) struct ResultLine {
    #[serde(default)]
    pub subtype: String,
    #[serde(default)]
    pub is_error: bool,
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub total_cost_usd: Option<f64>,
    #[serde(default)]
    pub num_turns: Option<u64>,
    #[serde(default)]
    pub usage: Option<ResultUsage>,
    #[serde(default)]
    pub permission_denials: Vec<Denial>,
    #[serde(default)]
    pub errors: Vec<Value>,
    #[serde(default)]
    pub api_error_status: Option<u16>,
    #[serde(default)]
    pub terminal_reason: Option<String>,
}

/// The turn's usage, summed over its API calls by the CLI; the cache counts apart, as on the
/// Messages wire.
#[derive(Deserialize, Default)]
pub(super) struct ResultUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
}

#[derive(Deserialize)]
pub(super) struct Denial {
    #[serde(default)]
    pub tool_name: String,
}

/// How the turn ended.
pub(super) enum Outcome {
    Done(Completion),
    /// `--resume` named a conversation the CLI does not have (any more).
    StaleSession,
}

/// The state of one turn's output.
pub(super) struct CliOutput {
    show_thinking: bool,
    session_id: Option<String>,
    /// The API call streaming now.
    live: Option<MessagesStream>,
    /// Ids of the messages whose deltas were streamed (their `assistant` lines are not shown
    /// again).
    streamed: Vec<String>,
    /// The latest top-level message: its id and its text and thinking blocks.
    last_id: Option<String>,
    last_blocks: Vec<Block>,
    /// Tool names by call id, for the results.
    tool_names: HashMap<String, String>,
    /// A synthetic error message: its kind and words.
    error_kind: Option<String>,
    error_text: Option<String>,
    result: Option<ResultLine>,
    usage: Usage,
}

impl CliOutput {
    pub fn new(show_thinking: bool) -> CliOutput {
        CliOutput {
            show_thinking,
            session_id: None,
            live: None,
            streamed: Vec::new(),
            last_id: None,
            last_blocks: Vec::new(),
            tool_names: HashMap::new(),
            error_kind: None,
            error_text: None,
            result: None,
            usage: Usage::default(),
        }
    }

    /// One line of output (without its newline).
    pub fn on_line(&mut self, line: &str, sink: &mut EventSink<'_>) -> Result<(), ProviderError> {
        let line = line.trim();
        if line.is_empty() {
            return Ok(());
        }
        if let Some(fast) = fast_stream_event(line) {
            if self.session_id.is_none()
                && let Some(id) = fast.session_id.filter(|id| !id.is_empty())
            {
                self.session_id = Some(id.to_string());
            }
            if !fast.top {
                return Ok(());
            }
            return self.on_stream_event(fast.event, sink);
        }
        let env: Envelope<'_> =
            serde_json::from_str(line).map_err(|e| ProviderError::Protocol {
                detail: format!(
                    "a line of Claude Code's stream-json output is not a JSON object ({e}): {}",
                    crate::error_body::snippet(line.as_bytes())
                ),
            })?;
        if self.session_id.is_none()
            && let Some(id) = &env.session_id
            && !id.is_empty()
        {
            self.session_id = Some(id.to_string());
        }
        let top = env.parent_tool_use_id.is_none();
        match &*env.ty {
            "stream_event" if top => {
                if let Some(ev) = env.event {
                    self.on_stream_event(ev.get(), sink)?;
                }
            }
            "assistant" => {
                if let Some(m) = env.message {
                    self.on_assistant(m.get(), env.error, top, sink)?;
                }
            }
            "user" => {
                if let Some(m) = env.message {
                    self.on_user(m.get(), sink)?;
                }
            }
            "system" if env.subtype.as_deref() == Some("compact_boundary") => {
                sink(StreamEvent::Notice(
                    "Claude Code compacted its conversation to fit the model's context window",
                ));
            }
            "result" => self.on_result(line, sink)?,
            // Other system lines (init: its session id is taken above), sub-agents' deltas,
            // and line types added later.
            _ => {}
        }
        Ok(())
    }

    fn on_stream_event(&mut self, ev: &str, sink: &mut EventSink<'_>) -> Result<(), ProviderError> {
        // The API (and the CLI, passing its events on) writes `type` first: a delta is known
        // by its first bytes, and only a `message_start` is parsed here.
        let start = match ev.strip_prefix(r#"{"type":""#) {
            Some(rest) => rest.starts_with(r#"message_start""#),
            None => true,
        };
        if start {
            let head: EventHead<'_> =
                serde_json::from_str(ev).map_err(|e| ProviderError::Protocol {
                    detail: format!("a stream_event of Claude Code holds no Messages event ({e})"),
                })?;
            if &*head.ty == "message_start" {
                self.live = Some(MessagesStream::new(ProviderId::ClaudeCode));
                if let Some(id) = head.message.and_then(|m| m.id) {
                    self.streamed.push(id.into_owned());
                }
            }
        }
        let Some(live) = &mut self.live else {
            return Ok(());
        };
        let show_thinking = self.show_thinking;
        let mut forward = |e: StreamEvent<'_>| match e {
            StreamEvent::TextDelta(_) | StreamEvent::ToolCallStarted { .. } => sink(e),
            StreamEvent::ThinkingDelta(_) | StreamEvent::RawThinkingDelta(_) if show_thinking => {
                sink(e)
            }
            _ => {}
        };
        live.on_json_event(ev, &mut forward)
    }

    fn on_assistant(
        &mut self,
        raw: &str,
        error: Option<&RawValue>,
        top: bool,
        sink: &mut EventSink<'_>,
    ) -> Result<(), ProviderError> {
        let m: CliMessage = parse(raw, "assistant message")?;
        let blocks = m.content.as_array().map(Vec::as_slice).unwrap_or_default();
        if let Some(kind) = error {
            // The words of a failure; the `result` line that follows says it failed.
            self.error_kind = Some(match serde_json::from_str::<String>(kind.get()) {
                Ok(s) => s,
                Err(_) => kind.get().to_string(),
            });
            self.error_text = Some(texts(blocks));
            return Ok(());
        }
        if top && m.id != self.last_id {
            self.last_id = m.id.clone();
            self.last_blocks.clear();
        }
        let streamed = m.id.as_ref().is_some_and(|id| self.streamed.contains(id));
        for b in blocks {
            match b.get("type").and_then(Value::as_str) {
                Some("text") if top => {
                    let text = str_field(b, "text");
                    if !streamed && !text.is_empty() {
                        sink(StreamEvent::TextDelta(text));
                    }
                    self.last_blocks.push(Block::text(text));
                }
                Some("thinking") if top => {
                    let text = str_field(b, "thinking");
                    if !streamed && self.show_thinking && !text.is_empty() {
                        sink(StreamEvent::ThinkingDelta(text));
                    }
                    let signature = str_field(b, "signature");
                    self.last_blocks.push(Block::Thinking(Thinking {
                        text: text.to_string(),
                        raw: None,
                        signature: (!signature.is_empty()).then(|| signature.to_string()),
                        source: Some(ProviderId::ClaudeCode),
                        replay: None,
                    }));
                }
                Some("tool_use") => {
                    let (id, name) = (str_field(b, "id"), str_field(b, "name"));
                    let input = b
                        .get("input")
                        .map_or_else(|| "{}".to_string(), Value::to_string);
                    self.tool_names.insert(id.to_string(), name.to_string());
                    sink(StreamEvent::ToolCall(&ToolCall::function(id, name, input)));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn on_user(&mut self, raw: &str, sink: &mut EventSink<'_>) -> Result<(), ProviderError> {
        let m: CliMessage = parse(raw, "user message")?;
        for b in m.content.as_array().map(Vec::as_slice).unwrap_or_default() {
            if b.get("type").and_then(Value::as_str) != Some("tool_result") {
                continue;
            }
            let id = str_field(b, "tool_use_id");
            let output = match b.get("content") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(parts)) => texts(parts),
                _ => String::new(),
            };
            let name = self.tool_names.get(id).map_or("", String::as_str);
            sink(StreamEvent::ToolResult {
                id,
                name,
                output: &output,
                is_error: b.get("is_error").and_then(Value::as_bool).unwrap_or(false),
            });
        }
        Ok(())
    }

    fn on_result(&mut self, line: &str, sink: &mut EventSink<'_>) -> Result<(), ProviderError> {
        let r: ResultLine = parse(line, "result")?;
        if let Some(id) = r.session_id.as_deref().filter(|id| !id.is_empty()) {
            self.session_id = Some(id.to_string());
        }
        if !r.permission_denials.is_empty() {
            let mut names: Vec<&str> = r
                .permission_denials
                .iter()
                .map(|d| d.tool_name.as_str())
                .collect();
            names.dedup();
            let n = r.permission_denials.len();
            sink(StreamEvent::Notice(&format!(
                "Claude Code refused {n} tool call{} that needed permission ({}): sx cannot answer its permission prompts; allow them with --yolo or APPROVAL=auto",
                if n == 1 { "" } else { "s" },
                names.join(", ")
            )));
        }
        if !r.is_error && !r.subtype.starts_with("error") {
            let u = r.usage.as_ref();
            let (input, output, cache_read, cache_write) = u.map_or((0, 0, 0, 0), |u| {
                (
                    u.input_tokens,
                    u.output_tokens,
                    u.cache_read_input_tokens,
                    u.cache_creation_input_tokens,
                )
            });
            // Input counts every prompt token, cached or not, as on the Messages wire.
            self.usage = Usage {
                input_tokens: input + cache_read + cache_write,
                output_tokens: output,
                cache_read_tokens: cache_read,
                cache_write_tokens: cache_write,
                reasoning_tokens: 0,
            };
            sink(StreamEvent::Usage(&self.usage));
            if let Some(cost) = r.total_cost_usd.filter(|c| *c > 0.0) {
                let calls = r.num_turns.unwrap_or(1);
                sink(StreamEvent::Notice(&format!(
                    "Claude Code: this turn cost ${} at API prices ({calls} model call{})",
                    dollars(cost),
                    if calls == 1 { "" } else { "s" }
                )));
            }
        }
        self.result = Some(r);
        Ok(())
    }

    /// The end of the turn, once the CLI exited: `exit` describes how, `stderr` is the tail of
    /// what it wrote there, `bin` names the binary for messages.
    pub fn finish(self, exit: &str, stderr: &str, bin: &str) -> Result<Outcome, ProviderError> {
        let Some(r) = self.result else {
            return Err(errors::no_result(bin, exit, stderr));
        };
        if r.is_error || r.subtype.starts_with("error") {
            if r.subtype == "error_during_execution"
                && r.errors
                    .iter()
                    .chain(std::iter::once(&Value::String(stderr.to_string())))
                    .any(|e| e.to_string().contains("No conversation found"))
            {
                return Ok(Outcome::StaleSession);
            }
            let text = self
                .error_text
                .filter(|t| !t.is_empty())
                .or_else(|| r.result.clone().filter(|t| !t.is_empty()))
                .unwrap_or_else(|| {
                    r.errors
                        .iter()
                        .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_string))
                        .collect::<Vec<_>>()
                        .join("; ")
                });
            return Err(errors::result_error(
                self.error_kind.as_deref(),
                &r,
                &text,
                stderr,
            ));
        }
        let mut content: Vec<Block> = self.last_blocks;
        if !content.iter().any(|b| matches!(b, Block::Text { .. })) {
            // No text block reached us (an older CLI, or an answer only the result holds).
            if let Some(text) = r.result.clone().filter(|t| !t.is_empty()) {
                content.push(Block::text(text));
            }
        }
        let stop = match r.stop_reason.as_deref() {
            Some("max_tokens") => StopReason::MaxTokens,
            Some("refusal") => StopReason::Refusal,
            // end_turn, and a turn the CLI ended for its own reasons: the answer is final
            // (never Pause or ToolUse, which would make the agent call again).
            _ => StopReason::EndTurn,
        };
        Ok(Outcome::Done(Completion {
            message: Message {
                role: Role::Assistant,
                content,
                usage: Some(self.usage),
            },
            usage: self.usage,
            stop,
            provider_session: self.session_id,
        }))
    }
}

/// Whether the per-token fast path ([`fast_stream_event`]) reads a line that is valid JSON as
/// the general path does: the same event, parent and session id. The check of the
/// `claude_code_lines` fuzz target (docs/reliability.md, "Fuzzing"), not an API.
#[doc(hidden)]
pub fn fast_line_agrees(line: &str) -> bool {
    let Some(fast) = fast_stream_event(line) else {
        return true;
    };
    let Ok(env) = serde_json::from_str::<Envelope<'_>>(line) else {
        return true;
    };
    &*env.ty == "stream_event"
        && env.event.map(RawValue::get) == Some(fast.event)
        && env.parent_tool_use_id.is_none() == fast.top
        && env.session_id.as_deref() == fast.session_id
}

fn parse<'a, T: Deserialize<'a>>(raw: &'a str, what: &str) -> Result<T, ProviderError> {
    serde_json::from_str(raw).map_err(|e| ProviderError::Protocol {
        detail: format!("Claude Code sent a {what} sx cannot read ({e})"),
    })
}

fn str_field<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The text parts of content blocks, one per line; an image is `[image]`.
fn texts(blocks: &[Value]) -> String {
    let mut out = String::new();
    for b in blocks {
        let part = match b.get("type").and_then(Value::as_str) {
            Some("text") => str_field(b, "text"),
            Some("image") => "[image]",
            _ => continue,
        };
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(part);
    }
    out
}

/// `$0.0009`, `$1.25`.
fn dollars(cost: f64) -> String {
    if cost < 0.01 {
        format!("{cost:.4}")
    } else {
        format!("{cost:.2}")
    }
}

#[cfg(test)]
#[path = "output_tests.rs"]
mod tests;
