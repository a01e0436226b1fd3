//! The answer in the Messages format (docs/protocols/providers.md §1.6): the upstream's
//! `StreamEvent`s → SSE events as they come ([`SseWriter`]); the finished completion as one
//! JSON message is `message.rs`.
//!
//! Blocks: text and thinking stream as deltas into the block they belong to; an upstream's
//! finished thinking (`StreamEvent::Thinking`) closes its block with a `signature_delta`
//! holding its state (`state.rs`), or becomes a `redacted_thinking` block when it had no
//! visible text; a tool call is sent whole when complete (`tool_use` with one
//! `input_json_delta`), preceded by a `redacted_thinking` block when the call carries a
//! signature of its own. Events are written straight into one buffer with borrowed strings: a
//! token costs no allocation.

use bytes::{BufMut, BytesMut};
use serde::Serialize;
use serde_json::Value;
use sxnet::ProviderId;
use sxnet::event::{Completion, StreamEvent};
use sxnet::model::{Block, StopReason, Thinking, ToolCall, Usage};

use super::state;

/// The Messages stop reason.
pub fn stop_reason(s: StopReason) -> &'static str {
    match s {
        StopReason::EndTurn => "end_turn",
        StopReason::ToolUse => "tool_use",
        StopReason::MaxTokens => "max_tokens",
        StopReason::Refusal | StopReason::Safety => "refusal",
        StopReason::Pause => "pause_turn",
    }
}

/// Usage as the Messages API counts it: `input_tokens` without the cached part.
#[derive(Serialize, Clone, Copy)]
pub struct WireUsage {
    input_tokens: u64,
    output_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_tokens_details: Option<OutputDetails>,
}

/// `output_tokens_details.thinking_tokens`: the reasoning part of the output.
#[derive(Serialize, Clone, Copy)]
struct OutputDetails {
    thinking_tokens: u64,
}

impl WireUsage {
    pub fn of(u: &Usage) -> WireUsage {
        WireUsage {
            input_tokens: u
                .input_tokens
                .saturating_sub(u.cache_read_tokens + u.cache_write_tokens),
            output_tokens: u.output_tokens,
            cache_creation_input_tokens: u.cache_write_tokens,
            cache_read_input_tokens: u.cache_read_tokens,
            output_tokens_details: (u.reasoning_tokens > 0).then_some(OutputDetails {
                thinking_tokens: u.reasoning_tokens,
            }),
        }
    }
}

/// The block open in the stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    None,
    Text,
    Thinking,
}

/// What the writer decided about an event.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Go,
    /// The upstream is retrying after part of the answer was sent: the client cannot take
    /// the answer back, so the stream must end with an error.
    Broken,
}

/// Writes one response's SSE events into a buffer.
pub struct SseWriter {
    upstream: ProviderId,
    out: BytesMut,
    started: bool,
    open: Open,
    index: usize,
    /// A summary was streamed: raw reasoning is not shown besides it.
    summarized: bool,
    /// Thinking blocks announced with their state (the rest is added at the end).
    announced: usize,
    usage: Option<Usage>,
    finished: bool,
}

#[derive(Serialize)]
struct Ev<'a, T: Serialize> {
    #[serde(rename = "type")]
    ty: &'a str,
    #[serde(flatten)]
    body: T,
}

impl SseWriter {
    pub fn new(upstream: ProviderId) -> SseWriter {
        SseWriter {
            upstream,
            out: BytesMut::with_capacity(4096),
            started: false,
            open: Open::None,
            index: 0,
            summarized: false,
            announced: 0,
            usage: None,
            finished: false,
        }
    }

    /// Bytes written since the last take.
    pub fn take(&mut self) -> bytes::Bytes {
        self.out.split().freeze()
    }

    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// `message_start` went out.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Nothing more will be written (`message_stop` or an error went out).
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Any content block was started: from here a failure can only be an `error` event.
    pub fn content_sent(&self) -> bool {
        self.index > 0 || self.open != Open::None
    }

    fn event<T: Serialize>(&mut self, ty: &str, body: T) {
        self.out.put_slice(b"event: ");
        self.out.put_slice(ty.as_bytes());
        self.out.put_slice(b"\ndata: ");
        let w = (&mut self.out).writer();
        serde_json::to_writer(w, &Ev { ty, body }).expect("an event serializes");
        self.out.put_slice(b"\n\n");
    }

    /// `message_start` (once), with the estimated input in its usage.
    pub fn start(&mut self, id: &str, model: &str, input_estimate: u64) {
        if self.started {
            return;
        }
        self.started = true;
        #[derive(Serialize)]
        struct Start<'a> {
            message: MessageHead<'a>,
        }
        self.event(
            "message_start",
            Start {
                message: MessageHead {
                    id,
                    ty: "message",
                    role: "assistant",
                    model,
                    content: &[],
                    stop_reason: None,
                    stop_sequence: None,
                    usage: WireUsage {
                        input_tokens: input_estimate,
                        output_tokens: 0,
                        cache_creation_input_tokens: 0,
                        cache_read_input_tokens: 0,
                        output_tokens_details: None,
                    },
                },
            },
        );
    }

    /// A keep-alive for proxies during a long silence.
    pub fn ping(&mut self) {
        if self.finished || !self.started {
            return;
        }
        self.event("ping", serde_json::Map::new());
    }

    fn close(&mut self) {
        if self.open != Open::None {
            self.block_stop();
        }
    }

    fn block_start(&mut self, block: impl Serialize, open: Open) {
        #[derive(Serialize)]
        struct S<B> {
            index: usize,
            content_block: B,
        }
        self.event(
            "content_block_start",
            S {
                index: self.index,
                content_block: block,
            },
        );
        self.open = open;
    }

    fn delta(&mut self, delta: impl Serialize) {
        #[derive(Serialize)]
        struct D<B> {
            index: usize,
            delta: B,
        }
        self.event(
            "content_block_delta",
            D {
                index: self.index,
                delta,
            },
        );
    }

    fn block_stop(&mut self) {
        #[derive(Serialize)]
        struct S {
            index: usize,
        }
        self.event("content_block_stop", S { index: self.index });
        self.index += 1;
        self.open = Open::None;
    }

    fn text(&mut self, t: &str) {
        if self.open == Open::Thinking {
            self.block_stop();
        }
        if self.open == Open::None {
            self.block_start(
                Tagged {
                    ty: "text",
                    body: TextBody { text: "" },
                },
                Open::Text,
            );
        }
        self.delta(Tagged {
            ty: "text_delta",
            body: TextBody { text: t },
        });
    }

    fn thinking_text(&mut self, t: &str) {
        if self.open == Open::Text {
            self.block_stop();
        }
        if self.open == Open::None {
            self.block_start(
                Tagged {
                    ty: "thinking",
                    body: ThinkingBody {
                        thinking: "",
                        signature: "",
                    },
                },
                Open::Thinking,
            );
        }
        #[derive(Serialize)]
        struct T<'a> {
            thinking: &'a str,
        }
        self.delta(Tagged {
            ty: "thinking_delta",
            body: T { thinking: t },
        });
    }

    /// A finished thinking block: its state closes the block it streamed into, or comes as
    /// a block of its own.
    fn thinking_done(&mut self, t: &Thinking) {
        self.announced += 1;
        let state = state::of_thinking(t);
        if self.open != Open::Thinking && !t.text.is_empty() {
            // Its text did not stream: send it now.
            self.thinking_text(&t.text);
        }
        if self.open == Open::Thinking {
            if let Some(s) = &state {
                #[derive(Serialize)]
                struct S<'a> {
                    signature: &'a str,
                }
                self.delta(Tagged {
                    ty: "signature_delta",
                    body: S { signature: s },
                });
            }
            self.block_stop();
        } else if let Some(s) = state {
            self.redacted(&s);
        }
    }

    fn redacted(&mut self, data: &str) {
        self.close();
        #[derive(Serialize)]
        struct R<'a> {
            data: &'a str,
        }
        self.block_start(
            Tagged {
                ty: "redacted_thinking",
                body: R { data },
            },
            Open::None,
        );
        self.block_stop();
    }

    fn tool_call(&mut self, c: &ToolCall) {
        self.close();
        if let Some(s) = state::of_call(self.upstream, c) {
            self.redacted(&s);
        }
        #[derive(Serialize)]
        struct U<'a> {
            id: &'a str,
            name: &'a str,
            input: serde_json::Map<String, Value>,
        }
        self.block_start(
            Tagged {
                ty: "tool_use",
                body: U {
                    id: &state::client_id(&c.id),
                    name: &c.name,
                    input: serde_json::Map::new(),
                },
            },
            Open::None,
        );
        let input = call_input(c);
        #[derive(Serialize)]
        struct J<'a> {
            partial_json: &'a str,
        }
        self.delta(Tagged {
            ty: "input_json_delta",
            body: J {
                partial_json: &input,
            },
        });
        self.block_stop();
    }

    /// One upstream event. `Step::Broken` when the upstream retries after content was sent.
    pub fn on_event(&mut self, ev: StreamEvent<'_>) -> Step {
        if self.finished {
            return Step::Go;
        }
        match ev {
            StreamEvent::TextDelta(t) => self.text(t),
            StreamEvent::ThinkingDelta(t) => {
                self.summarized = true;
                self.thinking_text(t);
            }
            StreamEvent::RawThinkingDelta(t) => {
                if !self.summarized {
                    self.thinking_text(t);
                }
            }
            StreamEvent::Thinking(t) => self.thinking_done(t),
            StreamEvent::ToolCallStarted { .. } => self.close(),
            StreamEvent::ToolCall(c) => self.tool_call(c),
            StreamEvent::Usage(u) => self.usage = Some(*u),
            StreamEvent::Retry { .. } => {
                if self.content_sent() {
                    return Step::Broken;
                }
                self.summarized = false;
            }
            // A provider that runs its own tools is never an upstream; limits and notices are
            // not part of the answer.
            StreamEvent::ToolResult { .. }
            | StreamEvent::RateLimits(_)
            | StreamEvent::Notice(_) => {}
        }
        Step::Go
    }

    /// The end of a successful call: state not announced yet, `message_delta` with the stop
    /// reason and the upstream's usage, `message_stop`.
    pub fn finish(&mut self, c: &Completion) {
        if self.finished {
            return;
        }
        self.close();
        let late: Vec<String> = c
            .message
            .content
            .iter()
            .filter_map(|b| match b {
                Block::Thinking(t) => Some(t),
                _ => None,
            })
            .skip(self.announced)
            .filter_map(state::of_thinking)
            .collect();
        for s in late {
            self.redacted(&s);
        }
        #[derive(Serialize)]
        struct Delta {
            stop_reason: &'static str,
            stop_sequence: Option<()>,
        }
        #[derive(Serialize)]
        struct M {
            delta: Delta,
            usage: WireUsage,
        }
        let usage = WireUsage::of(&self.usage.unwrap_or(c.usage));
        self.event(
            "message_delta",
            M {
                delta: Delta {
                    stop_reason: stop_reason(c.stop),
                    stop_sequence: None,
                },
                usage,
            },
        );
        self.event("message_stop", serde_json::Map::new());
        self.finished = true;
    }

    /// The end of a failed call: an `error` event.
    pub fn fail(&mut self, kind: &str, message: &str) {
        if self.finished {
            return;
        }
        self.close();
        #[derive(Serialize)]
        struct E<'a> {
            error: Tagged<'a, MessageBody<'a>>,
        }
        self.event(
            "error",
            E {
                error: Tagged {
                    ty: kind,
                    body: MessageBody { message },
                },
            },
        );
        self.finished = true;
    }
}

#[derive(Serialize)]
struct Tagged<'a, T: Serialize> {
    #[serde(rename = "type")]
    ty: &'a str,
    #[serde(flatten)]
    body: T,
}

#[derive(Serialize)]
struct TextBody<'a> {
    text: &'a str,
}

#[derive(Serialize)]
struct ThinkingBody<'a> {
    thinking: &'a str,
    signature: &'a str,
}

#[derive(Serialize)]
struct MessageBody<'a> {
    message: &'a str,
}

#[derive(Serialize)]
pub(super) struct MessageHead<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub ty: &'static str,
    pub role: &'static str,
    pub model: &'a str,
    pub content: &'a [Value],
    pub stop_reason: Option<&'static str>,
    pub stop_sequence: Option<()>,
    pub usage: WireUsage,
}

/// A call's input as a JSON object text: the arguments when they are one, else `{}` (a
/// freeform call's raw text goes in as `{"input": …}`).
pub(super) fn call_input(c: &ToolCall) -> String {
    match c.input() {
        Ok(Value::Object(_)) if !c.arguments.trim().is_empty() => c.arguments.clone(),
        Ok(Value::Object(m)) => Value::Object(m).to_string(),
        _ if c.kind == sxnet::model::CallKind::Custom => {
            serde_json::json!({ "input": c.arguments }).to_string()
        }
        _ => "{}".to_string(),
    }
}

#[cfg(test)]
#[path = "reply_tests.rs"]
mod tests;
