//! Chat Completions chunks → `StreamEvent`s and the assistant message
//! (docs/protocols/providers.md §4.4, §4.5, §6.4; docs/providers.md, "openai").
//!
//! `data:` chunks only (no event names), `[DONE]` last. Per chunk: a top-level `error` ends the
//! call with a typed error; `choices[0].delta` carries `content` (text, with a leading
//! `<think>…</think>` split off as thinking), `reasoning_content` / `reasoning` (thinking),
//! `refusal`, and `tool_calls` fragments (assembled in `tools.rs`); the first `finish_reason`
//! closes the answer (later ones are ignored); `usage` (the final chunk, `choices: []`) is
//! kept. A token costs no allocation: strings are read in place or unescaped into a buffer
//! the stream reuses (`json.rs`), and tool-call fragments are parsed with their chunk.
//!
//! End of stream: `[DONE]`, or a `finish_reason` and then the end of the body (some servers
//! leave `[DONE]` out) — both complete. Neither: truncated, retried. `[DONE]` with nothing
//! before it: a server that dropped its own error (vLLM), reported.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::errors::map_stream_error;
use super::json::{self, Lenient};
use super::think::{Piece, ThinkSplitter};
use super::tools::{CallList, ToolCalls};
use crate::ProviderId;
use crate::error::ProviderError;
use crate::event::{Completion, EventSink, StreamEvent};
use crate::model::{Block, Message, Role, StopReason, Thinking, ToolCall, Usage};
use crate::runtime::WireStream;
use crate::sse::SseEvent;

/// `choices[0]` without collecting the list (`choices` may be `[]`, `null` or absent).
#[derive(Default)]
struct FirstChoice<'a>(Option<Choice<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for FirstChoice<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = FirstChoice<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of choices")
            }
            fn visit_unit<E>(self) -> Result<FirstChoice<'a>, E> {
                Ok(FirstChoice(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<FirstChoice<'a>, A::Error> {
                let first = a.next_element::<Choice<'a>>()?;
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FirstChoice(first))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow, default)]
    choices: FirstChoice<'a>,
    #[serde(borrow, default)]
    usage: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(borrow, default)]
    delta: Option<Delta<'a>>,
    #[serde(borrow, default)]
    finish_reason: Lenient<'a>,
}

/// The strings are kept raw and read with `json::text` (no copy unless they hold escapes).
#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
    /// DeepSeek, llama.cpp, older vLLM.
    #[serde(borrow, default)]
    reasoning_content: Option<&'a RawValue>,
    /// vLLM, Ollama, OpenRouter.
    #[serde(borrow, default)]
    reasoning: Option<&'a RawValue>,
    #[serde(borrow, default)]
    refusal: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tool_calls: Option<CallList<'a>>,
}

/// Why the answer ended, as the first `finish_reason` said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finish {
    /// `stop`, `tool_calls`, `function_call`, or a reason we do not know.
    Done,
    Length,
    ContentFilter,
}

/// The answer's text and thinking so far, and whether thinking is shown.
#[derive(Default)]
struct Answer {
    text: String,
    thinking: String,
    show_thinking: bool,
}

impl Answer {
    /// Record a piece and stream it.
    fn put(&mut self, piece: Piece, s: &str, sink: &mut EventSink<'_>) {
        match piece {
            Piece::Text => {
                self.text.push_str(s);
                sink(StreamEvent::TextDelta(s));
            }
            Piece::Thinking => {
                self.thinking.push_str(s);
                if self.show_thinking {
                    sink(StreamEvent::ThinkingDelta(s));
                }
            }
        }
    }
}

#[derive(Default)]
pub struct ChatStream {
    answer: Answer,
    /// Where a delta with escapes is unescaped (reused: no allocation per token).
    scratch: String,
    think: ThinkSplitter,
    refused: bool,
    calls: ToolCalls,
    /// The assembled calls, once the answer is closed.
    done_calls: Vec<ToolCall>,
    /// The answer is closed (a `finish_reason` or `[DONE]`): later deltas are ignored.
    closed: bool,
    finish: Option<Finish>,
    usage: Option<Usage>,
    usage_sent: bool,
    /// `[DONE]` arrived.
    done: bool,
    failure: Option<ProviderError>,
    /// Data events seen (parseable or not).
    events: u64,
    /// Text, thinking and call arguments gathered so far (docs/reliability.md).
    budget: crate::limits::ContentBudget,
}

impl ChatStream {
    /// `show_thinking`: stream thinking deltas (`THINKING=1`); thinking is recorded either way.
    pub fn new(show_thinking: bool) -> ChatStream {
        ChatStream {
            answer: Answer {
                show_thinking,
                ..Answer::default()
            },
            ..ChatStream::default()
        }
    }

    fn on_chunk(&mut self, c: Chunk<'_>, sink: &mut EventSink<'_>) {
        if let Some(err) = c.error {
            let v: Value = serde_json::from_str(err.get()).unwrap_or(Value::Null);
            if !v.is_null() {
                self.failure = Some(map_stream_error(&v));
                return;
            }
        }
        if let Some(choice) = c.choices.0
            && !self.closed
        {
            if let Some(d) = choice.delta {
                self.on_delta(d, sink);
            }
            if let Some(reason) = choice.finish_reason.0.filter(|r| !r.is_empty()) {
                self.finish = Some(match &*reason {
                    "length" => Finish::Length,
                    "content_filter" => Finish::ContentFilter,
                    // OpenRouter ends a failed generation this way (its `error` object, when
                    // there is one, was handled above).
                    "error" => {
                        self.failure = Some(ProviderError::Failed {
                            code: "error".into(),
                            message: "the server ended the answer with finish_reason \"error\""
                                .into(),
                            retry_after: None,
                            retryable: true,
                        });
                        return;
                    }
                    _ => Finish::Done,
                });
                self.close(sink);
            }
        }
        if let Some(raw) = c.usage {
            let u: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
            if u.is_object() {
                self.usage = Some(usage_of(&u));
                if self.finish.is_some() {
                    self.send_usage(sink);
                }
            }
        }
    }

    fn on_delta(&mut self, d: Delta<'_>, sink: &mut EventSink<'_>) {
        let raw = |r: Option<&RawValue>| r.map_or(0, |r| r.get().len());
        let size = raw(d.content)
            + raw(d.reasoning_content)
            + raw(d.reasoning)
            + raw(d.refusal)
            + d.tool_calls.as_ref().map_or(0, CallList::size);
        if let Err(e) = self.budget.take(size) {
            self.failure = Some(e);
            return;
        }
        // A server in transition may send both names with the same text: one is enough.
        let reasoning = match json::text(d.reasoning_content, &mut self.scratch) {
            Some(r) => Some(r),
            None => json::text(d.reasoning, &mut self.scratch),
        };
        if let Some(r) = reasoning {
            self.answer.put(Piece::Thinking, r, sink);
        }
        if let Some(content) = json::text(d.content, &mut self.scratch) {
            let answer = &mut self.answer;
            self.think.feed(content, &mut |p, s| answer.put(p, s, sink));
        }
        if let Some(r) = json::text(d.refusal, &mut self.scratch) {
            self.refused = true;
            self.answer.put(Piece::Text, r, sink);
        }
        for fragment in d.tool_calls.into_iter().flatten() {
            if let Some((id, name)) = self.calls.apply(fragment) {
                sink(StreamEvent::ToolCallStarted { id, name });
            }
        }
    }

    /// The answer is complete: flush a held-back partial tag, assemble the calls.
    fn close(&mut self, sink: &mut EventSink<'_>) {
        if self.closed {
            return;
        }
        self.closed = true;
        let answer = &mut self.answer;
        self.think.finish(&mut |p, s| answer.put(p, s, sink));
        match self.calls.finish() {
            // A call cut off by the output limit is never run (docs/protocols/providers.md
            // §4.4): it is neither announced as complete nor recorded.
            Ok(_) if self.finish == Some(Finish::Length) => {}
            Ok(calls) => {
                for c in &calls {
                    sink(StreamEvent::ToolCall(c));
                }
                self.done_calls = calls;
            }
            Err(detail) => self.failure = Some(ProviderError::Protocol { detail }),
        }
    }

    fn send_usage(&mut self, sink: &mut EventSink<'_>) {
        if let Some(u) = &self.usage
            && !self.usage_sent
        {
            self.usage_sent = true;
            sink(StreamEvent::Usage(u));
        }
    }

    fn produced(&self) -> bool {
        !self.answer.text.is_empty()
            || !self.answer.thinking.is_empty()
            || !self.done_calls.is_empty()
    }
}

impl WireStream for ChatStream {
    fn finished(&self) -> bool {
        // With the finish reason and the usage that came with or after it in hand, nothing
        // more is needed, even from a server that holds the connection open without `[DONE]`.
        self.done || self.failure.is_some() || self.usage_sent
    }

    fn on_event(
        &mut self,
        ev: SseEvent<'_>,
        sink: &mut EventSink<'_>,
    ) -> Result<(), ProviderError> {
        if self.finished() {
            return Ok(());
        }
        self.events += 1;
        let data = ev.data.trim();
        if data.starts_with("[DONE]") {
            self.done = true;
            self.close(sink);
            self.send_usage(sink);
            return Ok(());
        }
        match serde_json::from_str::<Chunk<'_>>(data) {
            Ok(c) => self.on_chunk(c, sink),
            // Two chunks glued without the blank line between them (docs/protocols/providers.md
            // §6.1 T12): each line on its own. Anything else unparseable is skipped; a stream
            // of nothing else still fails for want of a finish.
            Err(_) if data.contains('\n') => {
                for line in data.lines() {
                    if let Ok(c) = serde_json::from_str::<Chunk<'_>>(line) {
                        self.on_chunk(c, sink);
                    }
                }
            }
            Err(_) => {}
        }
        Ok(())
    }

    fn on_whole(&mut self, body: &[u8], sink: &mut EventSink<'_>) -> Result<(), ProviderError> {
        for data in super::whole::chunks(body)? {
            crate::runtime::feed_data(self, &data, sink)?;
        }
        Ok(())
    }

    fn finish(self) -> Result<Completion, ProviderError> {
        if let Some(f) = self.failure {
            return Err(f);
        }
        if self.finish.is_none() {
            if !self.done {
                if self.events == 0 {
                    return Err(ProviderError::Protocol {
                        detail: "the server's answer held no events (not an event stream; is OPENAI_BASE_URL a Chat Completions server?)".into(),
                    });
                }
                return Err(ProviderError::StreamTruncated {
                    detail: "stream closed before a finish_reason or [DONE]".into(),
                });
            }
            if !self.produced() {
                return Err(ProviderError::Failed {
                    code: "empty_stream".into(),
                    message: "the server ended the stream ([DONE]) without an answer; its log may say why".into(),
                    retry_after: None,
                    retryable: false,
                });
            }
        }
        let calls = self.done_calls;
        let stop = match self.finish {
            Some(Finish::Length) => StopReason::MaxTokens,
            Some(Finish::ContentFilter) => StopReason::Safety,
            Some(Finish::Done) | None if !calls.is_empty() => StopReason::ToolUse,
            Some(Finish::Done) | None if self.refused => StopReason::Refusal,
            Some(Finish::Done) | None => StopReason::EndTurn,
        };
        let mut content = Vec::with_capacity(calls.len() + 2);
        let Answer { text, thinking, .. } = self.answer;
        if !thinking.is_empty() {
            content.push(Block::Thinking(Thinking {
                text: thinking,
                raw: None,
                signature: None,
                source: Some(ProviderId::Openai),
                replay: None,
            }));
        }
        if !text.is_empty() {
            content.push(Block::text(text));
        }
        content.extend(calls.into_iter().map(Block::ToolCall));
        let usage = self.usage.unwrap_or_default();
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

fn usage_of(u: &Value) -> Usage {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    Usage {
        input_tokens: n(&u["prompt_tokens"]),
        output_tokens: n(&u["completion_tokens"]),
        cache_read_tokens: n(&u["prompt_tokens_details"]["cached_tokens"]),
        cache_write_tokens: 0,
        reasoning_tokens: n(&u["completion_tokens_details"]["reasoning_tokens"]),
    }
}

/// Decode a whole Chat Completions SSE body given as chunks (benchmarks, offline replay):
/// exactly the path a live stream takes, minus the socket.
pub fn decode_body<'c>(
    chunks: impl IntoIterator<Item = &'c [u8]>,
    show_thinking: bool,
    sink: &mut EventSink<'_>,
) -> Result<Completion, ProviderError> {
    crate::runtime::decode_chunks(ChatStream::new(show_thinking), chunks, sink)
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
