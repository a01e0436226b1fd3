//! Messages stream events → `StreamEvent`s and the authoritative assistant message
//! (docs/protocols/providers.md §1.6, §6.2).
//!
//! The state machine takes one JSON event at a time ([`MessagesStream::on_json_event`]), so
//! it serves any framing: the SSE of `POST /v1/messages` here ([`WireStream::on_event`]), and
//! the same events carried by other transports (the `claude` CLI's `stream-json` lines wrap
//! them as `{"type":"stream_event","event":{…}}`, docs/protocols/providers.md §2.6).
//!
//! Blocks are addressed by `index`; text and thinking stream as deltas, a tool call's
//! `input_json_delta` pieces are joined and the call is complete at its `content_block_stop`
//! (empty input is `{}`). `message_stop` ends the call; an `error` event ends it with the
//! error's type; EOF before `message_stop` is a truncated stream (retried). Events are parsed
//! with borrowed strings: a delta costs no allocation unless its JSON holds escapes.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::errors::map_stream_error;
use crate::ProviderId;
use crate::error::ProviderError;
use crate::event::{Completion, EventSink, StreamEvent};
use crate::model::{Block, Message, Role, StopReason, Thinking, ToolCall, Usage};
use crate::runtime::WireStream;
use crate::sse::SseEvent;

use crate::json::Str;

/// One event; only the fields the event's type uses are present.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Str<'a>>,
    #[serde(default)]
    index: Option<usize>,
    #[serde(borrow, default)]
    delta: Option<Delta<'a>>,
    #[serde(borrow, default)]
    content_block: Option<&'a RawValue>,
    #[serde(borrow, default)]
    message: Option<&'a RawValue>,
    #[serde(borrow, default)]
    usage: Option<&'a RawValue>,
}

/// A `content_block_delta`'s or a `message_delta`'s `delta`.
#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Str<'a>>,
    #[serde(borrow, default)]
    text: Option<Str<'a>>,
    #[serde(borrow, default)]
    thinking: Option<Str<'a>>,
    #[serde(borrow, default)]
    partial_json: Option<Str<'a>>,
    #[serde(borrow, default)]
    signature: Option<Str<'a>>,
    #[serde(borrow, default)]
    stop_reason: Option<Str<'a>>,
}

/// The head of a `content_block_start` block.
#[derive(Deserialize)]
struct BlockStart<'a> {
    #[serde(rename = "type", borrow)]
    ty: Str<'a>,
    #[serde(borrow, default)]
    text: Option<Str<'a>>,
    #[serde(borrow, default)]
    thinking: Option<Str<'a>>,
    #[serde(borrow, default)]
    signature: Option<Str<'a>>,
    #[serde(borrow, default)]
    id: Option<Str<'a>>,
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
    #[serde(default)]
    input: Option<Value>,
}

#[derive(Deserialize, Default)]
struct WireUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Deserialize, Default)]
struct OutputDetails {
    thinking_tokens: Option<u64>,
}

/// A block while it streams.
enum Open {
    Text(String),
    Thinking {
        text: String,
        signature: String,
    },
    /// `redacted_thinking`: kept verbatim, sent back untouched.
    Redacted(Value),
    ToolUse {
        id: String,
        name: String,
        json: String,
    },
    /// A block type sx does not use (server tools, …): ignored.
    Other,
}

/// The state of one Messages response.
pub struct MessagesStream {
    provider: ProviderId,
    /// Blocks by `index`: streaming, then done.
    open: Vec<Option<Open>>,
    done: Vec<Option<Block>>,
    /// Raw counts; the cache counts are kept apart until the end.
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
    thinking_tokens: u64,
    stop_reason: Option<String>,
    events: u64,
    stopped: bool,
    failure: Option<ProviderError>,
    /// Text, thinking and tool input gathered so far (docs/reliability.md).
    budget: crate::limits::ContentBudget,
}

/// Block indexes at or past this are a malformed stream (a hostile index would otherwise size
/// the block table).
const MAX_BLOCKS: usize = 4096;

impl MessagesStream {
    /// A fresh state for one response; `provider` is recorded as the source of its thinking
    /// (signatures go back only to it).
    pub fn new(provider: ProviderId) -> MessagesStream {
        MessagesStream {
            provider,
            open: Vec::new(),
            done: Vec::new(),
            input: 0,
            output: 0,
            cache_read: 0,
            cache_write: 0,
            thinking_tokens: 0,
            stop_reason: None,
            events: 0,
            stopped: false,
            failure: None,
            budget: Default::default(),
        }
    }

    /// `message_stop` or an `error` arrived: nothing more belongs to this response.
    pub fn is_finished(&self) -> bool {
        self.stopped || self.failure.is_some()
    }

    /// One Messages event as JSON (`{"type":"content_block_delta",…}`). Unknown event, block
    /// and delta types are ignored; JSON that does not parse is a protocol error.
    pub fn on_json_event(
        &mut self,
        json: &str,
        sink: &mut EventSink<'_>,
    ) -> Result<(), ProviderError> {
        self.on_named_event("", json, sink)
    }

    /// [`on_json_event`](Self::on_json_event) with the SSE event name, used when the JSON
    /// lacks its `type`.
    fn on_named_event(
        &mut self,
        name: &str,
        json: &str,
        sink: &mut EventSink<'_>,
    ) -> Result<(), ProviderError> {
        if self.is_finished() {
            return Ok(());
        }
        let ev: Event<'_> = match serde_json::from_str(json) {
            Ok(ev) => ev,
            Err(e) => return self.unparsed(name, json, e, sink),
        };
        self.events += 1;
        let ty = ev.ty.as_deref().unwrap_or(name);
        match ty {
            "content_block_delta" => self.on_delta(ev, sink),
            "content_block_start" => self.on_start(ev, sink),
            "content_block_stop" => {
                if let Some(i) = ev.index {
                    self.close(i, sink);
                }
            }
            "message_start" => {
                if let Some(m) = ev.message {
                    #[derive(Deserialize)]
                    struct Start<'a> {
                        #[serde(borrow, default)]
                        usage: Option<&'a RawValue>,
                    }
                    if let Ok(Start { usage: Some(u) }) = serde_json::from_str::<Start<'_>>(m.get())
                    {
                        self.on_usage(u);
                    }
                }
            }
            "message_delta" => {
                if let Some(d) = &ev.delta
                    && let Some(r) = &d.stop_reason
                {
                    self.stop_reason = Some(r.to_string());
                }
                if let Some(u) = ev.usage {
                    self.on_usage(u);
                }
            }
            "message_stop" => {
                self.stopped = true;
                // A block the stream never closed (max_tokens inside a tool call) ends here.
                for i in 0..self.open.len() {
                    self.close(i, sink);
                }
                let usage = self.usage();
                sink(StreamEvent::Usage(&usage));
            }
            "error" => self.failure = Some(map_stream_error(json)),
            // `ping` and event types added later.
            _ => {}
        }
        Ok(())
    }

    /// Data that is not one JSON event: several events on consecutive `data:` lines (some
    /// gateways forget the blank line between them) are taken one by one; anything else is a
    /// malformed stream.
    fn unparsed(
        &mut self,
        name: &str,
        data: &str,
        err: serde_json::Error,
        sink: &mut EventSink<'_>,
    ) -> Result<(), ProviderError> {
        match name {
            "ping" => return Ok(()),
            // An error in words rather than JSON still ends the call with what it says.
            "error" => {
                self.failure = Some(map_stream_error(data));
                return Ok(());
            }
            _ => {}
        }
        let lines: Vec<&str> = data.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.len() > 1
            && lines
                .iter()
                .all(|l| serde_json::from_str::<&RawValue>(l).is_ok())
        {
            for l in lines {
                self.on_named_event(name, l, sink)?;
            }
            return Ok(());
        }
        let excerpt = crate::error_body::snippet(data.as_bytes());
        Err(ProviderError::Protocol {
            detail: format!("a stream event is not JSON ({err}): {excerpt}"),
        })
    }

    fn on_start(&mut self, ev: Event<'_>, sink: &mut EventSink<'_>) {
        let (Some(i), Some(raw)) = (ev.index, ev.content_block) else {
            return;
        };
        if i >= MAX_BLOCKS {
            self.failure = Some(ProviderError::Protocol {
                detail: format!("content block index {i} (more than {MAX_BLOCKS} blocks)"),
            });
            return;
        }
        let Ok(b) = serde_json::from_str::<BlockStart<'_>>(raw.get()) else {
            return;
        };
        let open = match &*b.ty {
            "text" => {
                let text = b.text.map(|s| s.0.into_owned()).unwrap_or_default();
                if !text.is_empty() {
                    sink(StreamEvent::TextDelta(&text));
                }
                Open::Text(text)
            }
            "thinking" => {
                let text = b.thinking.map(|s| s.0.into_owned()).unwrap_or_default();
                if !text.is_empty() {
                    sink(StreamEvent::ThinkingDelta(&text));
                }
                Open::Thinking {
                    text,
                    signature: b.signature.map(|s| s.0.into_owned()).unwrap_or_default(),
                }
            }
            "redacted_thinking" => match serde_json::from_str(raw.get()) {
                Ok(v) => Open::Redacted(v),
                Err(_) => Open::Other,
            },
            "tool_use" => {
                let (id, name) = (
                    b.id.map(|s| s.0.into_owned()).unwrap_or_default(),
                    b.name.map(|s| s.0.into_owned()).unwrap_or_default(),
                );
                sink(StreamEvent::ToolCallStarted {
                    id: &id,
                    name: &name,
                });
                // Input arrives as deltas; a start that already holds it (non-empty) counts.
                let json = match b.input {
                    Some(Value::Object(m)) if !m.is_empty() => Value::Object(m).to_string(),
                    _ => String::new(),
                };
                Open::ToolUse { id, name, json }
            }
            _ => Open::Other,
        };
        if self.open.len() <= i {
            self.open.resize_with(i + 1, || None);
        }
        self.open[i] = Some(open);
    }

    fn on_delta(&mut self, ev: Event<'_>, sink: &mut EventSink<'_>) {
        let (Some(i), Some(d)) = (ev.index, ev.delta) else {
            return;
        };
        let Some(Some(open)) = self.open.get_mut(i) else {
            return;
        };
        let kind = d.ty.as_deref().unwrap_or("");
        let size = [&d.text, &d.thinking, &d.signature, &d.partial_json]
            .iter()
            .map(|p| p.as_deref().map_or(0, str::len))
            .sum();
        if let Err(e) = self.budget.take(size) {
            self.failure = Some(e);
            return;
        }
        match (open, kind) {
            (Open::Text(text), "text_delta") => {
                if let Some(t) = d.text.as_deref().filter(|t| !t.is_empty()) {
                    text.push_str(t);
                    sink(StreamEvent::TextDelta(t));
                }
            }
            (Open::Thinking { text, .. }, "thinking_delta") => {
                if let Some(t) = d.thinking.as_deref().filter(|t| !t.is_empty()) {
                    text.push_str(t);
                    sink(StreamEvent::ThinkingDelta(t));
                }
            }
            (Open::Thinking { signature, .. }, "signature_delta") => {
                if let Some(s) = d.signature.as_deref() {
                    signature.push_str(s);
                }
            }
            (Open::ToolUse { json, .. }, "input_json_delta") => {
                if let Some(p) = d.partial_json.as_deref() {
                    json.push_str(p);
                }
            }
            // citations_delta and delta types added later.
            _ => {}
        }
    }

    /// Block `i` is complete: record it; a tool call is announced now.
    fn close(&mut self, i: usize, sink: &mut EventSink<'_>) {
        let Some(open) = self.open.get_mut(i).and_then(Option::take) else {
            return;
        };
        let block = match open {
            Open::Text(text) if text.is_empty() => return,
            Open::Text(text) => Block::text(text),
            Open::Thinking { text, signature } => {
                let t = Thinking {
                    text,
                    raw: None,
                    signature: (!signature.is_empty()).then_some(signature),
                    source: Some(self.provider),
                    replay: None,
                };
                sink(StreamEvent::Thinking(&t));
                Block::Thinking(t)
            }
            Open::Redacted(v) => {
                let t = Thinking {
                    text: String::new(),
                    raw: None,
                    signature: None,
                    source: Some(self.provider),
                    replay: Some(v),
                };
                sink(StreamEvent::Thinking(&t));
                Block::Thinking(t)
            }
            Open::ToolUse { id, name, json } => {
                // A call cut off by max_tokens (no content_block_stop) is never run
                // (docs/protocols/providers.md §6.2, A2).
                if self.stopped && self.stop_reason.as_deref() == Some("max_tokens") {
                    return;
                }
                let arguments = if json.trim().is_empty() {
                    "{}".to_string()
                } else {
                    json
                };
                let call = ToolCall::function(id, name, arguments);
                sink(StreamEvent::ToolCall(&call));
                Block::ToolCall(call)
            }
            Open::Other => return,
        };
        if self.done.len() <= i {
            self.done.resize_with(i + 1, || None);
        }
        self.done[i] = Some(block);
    }

    /// `message_start` and `message_delta` usage: cumulative, every field optional (a field
    /// left out keeps its earlier value).
    fn on_usage(&mut self, raw: &RawValue) {
        let u: WireUsage = serde_json::from_str(raw.get()).unwrap_or_default();
        let keep = |new: Option<u64>, old: &mut u64| {
            if let Some(n) = new {
                *old = n;
            }
        };
        keep(u.input_tokens, &mut self.input);
        keep(u.output_tokens, &mut self.output);
        keep(u.cache_read_input_tokens, &mut self.cache_read);
        keep(u.cache_creation_input_tokens, &mut self.cache_write);
        keep(
            u.output_tokens_details.and_then(|d| d.thinking_tokens),
            &mut self.thinking_tokens,
        );
    }

    /// Input counts every prompt token, cached or not (the API reports the three apart).
    fn usage(&self) -> Usage {
        Usage {
            input_tokens: self.input + self.cache_read + self.cache_write,
            output_tokens: self.output,
            cache_read_tokens: self.cache_read,
            cache_write_tokens: self.cache_write,
            reasoning_tokens: self.thinking_tokens,
        }
    }

    /// The response's end: its message, or why it failed.
    pub fn into_completion(self) -> Result<Completion, ProviderError> {
        if let Some(f) = self.failure {
            return Err(f);
        }
        if !self.stopped {
            let detail = if self.events == 0 {
                format!(
                    "no Messages event arrived; check that {} points at a Messages API",
                    self.provider.base_url_key()
                )
            } else {
                "the stream closed before message_stop".to_string()
            };
            return Err(ProviderError::StreamTruncated { detail });
        }
        let usage = self.usage();
        let content: Vec<Block> = self.done.into_iter().flatten().collect();
        let calls = content.iter().any(|b| matches!(b, Block::ToolCall(_)));
        let stop = match self.stop_reason.as_deref() {
            Some("max_tokens" | "model_context_window_exceeded") => StopReason::MaxTokens,
            Some("pause_turn") => StopReason::Pause,
            Some("refusal") => StopReason::Refusal,
            _ if calls => StopReason::ToolUse,
            // end_turn, stop_sequence, and stop reasons added later.
            _ => StopReason::EndTurn,
        };
        Ok(Completion {
            message: Message {
                role: Role::Assistant,
                content,
                usage: Some(usage),
            },
            usage,
            stop,
            provider_session: None,
        })
    }
}

impl WireStream for MessagesStream {
    fn on_event(
        &mut self,
        ev: SseEvent<'_>,
        sink: &mut EventSink<'_>,
    ) -> Result<(), ProviderError> {
        self.on_named_event(ev.event, ev.data, sink)
    }

    fn finished(&self) -> bool {
        self.is_finished()
    }

    fn finish(self) -> Result<Completion, ProviderError> {
        self.into_completion()
    }

    fn on_whole(&mut self, body: &[u8], sink: &mut EventSink<'_>) -> Result<(), ProviderError> {
        for ev in super::whole::events(body)? {
            self.on_json_event(&ev.to_string(), sink)?;
        }
        Ok(())
    }
}

/// Decode a whole Messages SSE body given as chunks (benchmarks, offline replay): exactly the
/// path a live stream takes, minus the socket.
pub fn decode_body<'c>(
    chunks: impl IntoIterator<Item = &'c [u8]>,
    sink: &mut EventSink<'_>,
) -> Result<Completion, ProviderError> {
    crate::runtime::decode_chunks(MessagesStream::new(ProviderId::Anthropic), chunks, sink)
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
