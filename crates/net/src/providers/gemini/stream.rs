//! `streamGenerateContent?alt=sse` → `StreamEvent`s and the assistant message
//! (docs/protocols/providers.md §3.7, §3.8, §6.3).
//!
//! Each `data:` event is a whole `GenerateContentResponse` carrying only the new parts. There
//! is no terminal event: a candidate's `finishReason` completes the answer (the stream stops
//! being read once an event carried it with the final `usageMetadata`), EOF without one is a
//! truncated stream. Parts marked `thought` are thinking, other text is the answer,
//! `functionCall` parts arrive whole. `thoughtSignature`s are kept on exactly the parts that
//! carried them: a call's on its `ToolCall`, a thought run's and a text run's in a `Thinking`
//! block with source Gemini (its `replay` is what goes back, only to Gemini). Parsing borrows:
//! see `response.rs`; a token allocates nothing unless its JSON string has escapes.

use serde_json::json;

use super::errors::map_stream_error;
use super::response::{Part, Text, UsageMetadata, parse_chunk};
use crate::ProviderId;
use crate::error::ProviderError;
use crate::event::{Completion, EventSink, StreamEvent};
use crate::model::{Block, Message, Role, StopReason, Thinking, ToolCall, Usage};
use crate::runtime::WireStream;
use crate::sse::SseEvent;

/// Ids sx gives calls that came without one (never sent back to Gemini).
pub(super) const LOCAL_ID_PREFIX: &str = "sx-gemini-";

/// What is being accumulated from consecutive parts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Run {
    None,
    Thought,
    Text,
}

/// How the answer ended, from `finishReason` or a blocked prompt.
enum Finish {
    Normal,
    MaxTokens,
    Safety,
    Refusal,
}

pub struct GeminiStream {
    blocks: Vec<Block>,
    run: Run,
    /// The open run's text and the signature one of its parts carried.
    text: String,
    signature: Option<String>,
    usage: Usage,
    finish: Option<Finish>,
    /// An event carried the finish reason and the final usage: nothing more to read.
    complete: bool,
    failure: Option<ProviderError>,
    events: u64,
    calls: usize,
    /// Makes the ids of calls that came without one unique across the conversation.
    local_ids: String,
    url: String,
    /// Text, thinking and call arguments gathered so far (docs/reliability.md).
    budget: crate::limits::ContentBudget,
}

impl GeminiStream {
    /// A state machine for one response; `url` (the request's) names the endpoint in errors.
    pub fn new(url: &str) -> GeminiStream {
        GeminiStream {
            blocks: Vec::new(),
            run: Run::None,
            text: String::new(),
            signature: None,
            usage: Usage::default(),
            finish: None,
            complete: false,
            failure: None,
            events: 0,
            calls: 0,
            local_ids: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
            url: url.to_string(),
            budget: Default::default(),
        }
    }

    fn on_part(&mut self, p: Part<'_>, sink: &mut EventSink<'_>) {
        let size = p.text.as_deref().map_or(0, str::len)
            + p.function_call
                .as_ref()
                .and_then(|fc| fc.args.map(|a| a.get().len()))
                .unwrap_or(0);
        if let Err(e) = self.budget.take(size) {
            self.failure = Some(e);
            return;
        }
        if let Some(fc) = p.function_call {
            self.close_run(sink);
            self.calls += 1;
            let id = match fc.id.filter(|id| !id.is_empty()) {
                Some(id) => id.into_owned(),
                None => format!("{LOCAL_ID_PREFIX}{}-{}", self.local_ids, self.calls),
            };
            let call = ToolCall {
                id,
                name: fc.name.into_owned(),
                arguments: fc
                    .args
                    .map_or_else(|| "{}".to_string(), |a| a.get().to_string()),
                signature: p.thought_signature.map(Text::into_owned),
                kind: Default::default(),
            };
            sink(StreamEvent::ToolCallStarted {
                id: &call.id,
                name: &call.name,
            });
            sink(StreamEvent::ToolCall(&call));
            self.blocks.push(Block::ToolCall(call));
            return;
        }
        if p.text.is_none() && p.thought_signature.is_none() {
            // Inline data, code execution, parts of kinds sx does not use.
            return;
        }
        let run = if p.thought { Run::Thought } else { Run::Text };
        if self.run != run {
            self.close_run(sink);
            self.run = run;
        }
        if let Some(t) = p.text.as_deref().filter(|t| !t.is_empty()) {
            sink(if p.thought {
                StreamEvent::ThinkingDelta(t)
            } else {
                StreamEvent::TextDelta(t)
            });
            self.text.push_str(t);
        }
        if let Some(sig) = p.thought_signature {
            self.signature = Some(sig.into_owned());
        }
    }

    /// The open run becomes blocks (its signature kept for Gemini alone); a thinking block
    /// is announced as it is made.
    fn close_run(&mut self, sink: &mut EventSink<'_>) {
        let text = std::mem::take(&mut self.text);
        let signature = self.signature.take();
        match std::mem::replace(&mut self.run, Run::None) {
            Run::None => {}
            Run::Thought => {
                if text.is_empty() && signature.is_none() {
                    return;
                }
                // A signed thought goes back as it came (merged across its chunks).
                let replay = signature
                    .as_ref()
                    .map(|s| json!({"text": text, "thought": true, "thoughtSignature": s}));
                let thinking = Thinking {
                    text,
                    raw: None,
                    signature,
                    source: Some(ProviderId::Gemini),
                    replay,
                };
                sink(StreamEvent::Thinking(&thinking));
                self.blocks.push(Block::Thinking(thinking));
            }
            Run::Text => {
                if !text.is_empty() {
                    self.blocks.push(Block::text(text));
                }
                // The text's signature rides in a thinking block right after it.
                if let Some(s) = signature {
                    let thinking = Thinking {
                        text: String::new(),
                        raw: None,
                        signature: Some(s.clone()),
                        source: Some(ProviderId::Gemini),
                        replay: Some(json!({"thoughtSignature": s})),
                    };
                    sink(StreamEvent::Thinking(&thinking));
                    self.blocks.push(Block::Thinking(thinking));
                }
            }
        }
    }

    fn on_finish(&mut self, reason: &str, message: Option<&str>, sink: &mut EventSink<'_>) {
        let detail = message.map(|m| format!(": {m}")).unwrap_or_default();
        let (finish, notice) = match reason {
            "STOP" => (Finish::Normal, None),
            "MAX_TOKENS" => (Finish::MaxTokens, None),
            "SAFETY"
            | "BLOCKLIST"
            | "PROHIBITED_CONTENT"
            | "SPII"
            | "IMAGE_SAFETY"
            | "IMAGE_PROHIBITED_CONTENT" => (
                Finish::Safety,
                Some(format!(
                    "Gemini stopped the answer for safety reasons ({reason}{detail})"
                )),
            ),
            "RECITATION" | "IMAGE_RECITATION" => (
                Finish::Safety,
                Some(format!(
                    "Gemini stopped the answer because it recited copyrighted or licensed material ({reason}{detail}); ask for it in your own words"
                )),
            ),
            "LANGUAGE" => (
                Finish::Refusal,
                Some(format!(
                    "Gemini does not answer in the language of this request ({reason}{detail})"
                )),
            ),
            "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" | "TOO_MANY_TOOL_CALLS" => {
                self.failure = Some(ProviderError::Failed {
                    code: reason.to_string(),
                    message: format!(
                        "Gemini produced a function call it could not complete{detail}"
                    ),
                    retry_after: None,
                    // A malformed call is a sampling accident: another try usually works.
                    retryable: reason == "MALFORMED_FUNCTION_CALL",
                });
                return;
            }
            _ => (
                Finish::Normal,
                Some(format!("Gemini ended the answer early ({reason}{detail})")),
            ),
        };
        if let Some(n) = notice {
            sink(StreamEvent::Notice(&n));
        }
        self.finish = Some(finish);
    }
}

impl WireStream for GeminiStream {
    fn finished(&self) -> bool {
        self.complete || self.failure.is_some()
    }

    fn on_event(
        &mut self,
        ev: SseEvent<'_>,
        sink: &mut EventSink<'_>,
    ) -> Result<(), ProviderError> {
        if self.finished() {
            return Ok(());
        }
        let parsed = parse_chunk(ev.data, &mut |p| self.on_part(p, sink));
        let chunk = match parsed {
            Ok(c) => c,
            // The connection closed mid-event: EOF without a finish reason says it.
            Err(_) if ev.truncated => return Ok(()),
            Err(e) => {
                self.failure = Some(ProviderError::Protocol {
                    detail: format!(
                        "Gemini sent an event that is not a response ({e}): {}",
                        crate::error_body::snippet(ev.data.as_bytes())
                    ),
                });
                return Ok(());
            }
        };
        self.events += 1;
        if chunk.error {
            self.failure = Some(map_stream_error(ev.data, &self.url));
            return Ok(());
        }
        let mut finished_here = false;
        if chunk.candidate {
            if let Some(reason) = chunk.finish_reason.as_deref() {
                self.on_finish(reason, chunk.finish_message.as_deref(), sink);
                finished_here = true;
            }
        } else if let Some(reason) = chunk
            .prompt_feedback
            .as_ref()
            .and_then(|f| f.block_reason.as_deref())
        {
            let detail = chunk
                .prompt_feedback
                .as_ref()
                .and_then(|f| f.block_reason_message.as_deref())
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            sink(StreamEvent::Notice(&format!(
                "Gemini blocked the request ({reason}{detail}); rephrase it or leave out what it objects to"
            )));
            self.finish = Some(Finish::Safety);
            finished_here = true;
        }
        // The last usage is the whole call's (never summed: docs/protocols/providers.md §3.8).
        if let Some(u) = chunk.usage_metadata {
            self.usage = usage_of(u);
            if finished_here {
                self.complete = true;
            }
        }
        if finished_here {
            // The last run ends with the answer (announcing its thinking before the usage).
            self.close_run(sink);
            sink(StreamEvent::Usage(&self.usage));
        }
        Ok(())
    }

    /// `generateContent`'s answer is one `GenerateContentResponse`: the same object the
    /// stream sends, holding every part at once (docs/protocols/providers.md §3.7).
    fn on_whole(&mut self, body: &[u8], sink: &mut EventSink<'_>) -> Result<(), ProviderError> {
        crate::runtime::feed_data(self, &String::from_utf8_lossy(body), sink)?;
        if self.finish.is_none() && self.failure.is_none() {
            self.failure = Some(ProviderError::Protocol {
                detail: format!(
                    "Gemini's answer has no finished candidate: {}",
                    crate::error_body::snippet(body)
                ),
            });
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Completion, ProviderError> {
        if let Some(f) = self.failure {
            return Err(f);
        }
        let Some(finish) = self.finish.take() else {
            return Err(if self.events == 0 {
                ProviderError::Protocol {
                    detail:
                        "Gemini answered 200 without a single response event; check GEMINI_BASE_URL"
                            .into(),
                }
            } else {
                ProviderError::StreamTruncated {
                    detail: "the Gemini stream closed without a finish reason".into(),
                }
            });
        };
        self.close_run(&mut |_| {});
        let calls = self.blocks.iter().any(|b| matches!(b, Block::ToolCall(_)));
        let stop = match finish {
            _ if calls => StopReason::ToolUse,
            Finish::Normal => StopReason::EndTurn,
            Finish::MaxTokens => StopReason::MaxTokens,
            Finish::Safety => StopReason::Safety,
            Finish::Refusal => StopReason::Refusal,
        };
        Ok(Completion {
            message: Message {
                role: Role::Assistant,
                content: self.blocks,
                usage: Some(self.usage),
            },
            usage: self.usage,
            stop,
            provider_session: None,
        })
    }
}

/// `usageMetadata` → usage: input counts the prompt (cached tokens included, as on the other
/// wires) and tool-use prompts; output counts the answer and the thinking.
fn usage_of(u: UsageMetadata) -> Usage {
    Usage {
        input_tokens: u.prompt_token_count + u.tool_use_prompt_token_count,
        output_tokens: u.candidates_token_count + u.thoughts_token_count,
        cache_read_tokens: u.cached_content_token_count,
        cache_write_tokens: 0,
        reasoning_tokens: u.thoughts_token_count,
    }
}

/// Decode a whole `streamGenerateContent` SSE body given as chunks (benchmarks, offline
/// replay): the path a live stream takes, minus the socket.
pub fn decode_body<'c>(
    chunks: impl IntoIterator<Item = &'c [u8]>,
    sink: &mut EventSink<'_>,
) -> Result<Completion, ProviderError> {
    crate::runtime::decode_chunks(GeminiStream::new(""), chunks, sink)
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
