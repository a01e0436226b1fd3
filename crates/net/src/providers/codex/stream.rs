//! Responses SSE events → `StreamEvent`s and the authoritative assistant message (docs/protocols/codex.md §C).

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::errors::{map_error_event, map_failed};
use crate::ProviderId;
use crate::error::ProviderError;
use crate::event::{Completion, EventSink, StreamEvent};
use crate::json::Str;
use crate::model::{Block, CallKind, Message, Role, StopReason, Thinking, ToolCall, Usage};
use crate::runtime::WireStream;
use crate::sse::SseEvent;

#[derive(Deserialize)]
struct WireEvent<'a> {
    #[serde(rename = "type", borrow)]
    ty: Str<'a>,
    #[serde(borrow, default)]
    delta: Option<Str<'a>>,
    #[serde(default)]
    summary_index: Option<u64>,
    #[serde(borrow, default)]
    item: Option<&'a RawValue>,
    #[serde(borrow, default)]
    response: Option<&'a RawValue>,
}

#[derive(Default)]
pub struct ResponsesStream {
    blocks: Vec<Block>,
    usage: Usage,
    completed: bool,
    failure: Option<ProviderError>,
    /// Deltas streamed since the last finished item (so an item that arrives whole, with no
    /// deltas, is still shown).
    text_streamed: bool,
    thinking_streamed: bool,
    raw_streamed: bool,
    last_summary_index: Option<u64>,
    /// A message part was a refusal.
    refused: bool,
    /// The finished items gathered so far (docs/reliability.md).
    budget: crate::limits::ContentBudget,
}

impl WireStream for ResponsesStream {
    fn finished(&self) -> bool {
        self.completed || self.failure.is_some()
    }

    fn on_event(
        &mut self,
        ev: SseEvent<'_>,
        sink: &mut EventSink<'_>,
    ) -> Result<(), ProviderError> {
        if self.finished() {
            return Ok(());
        }
        // Unparseable data is skipped, as the official client does; a stream made only of
        // junk still fails for lack of `response.completed`.
        let Ok(w) = serde_json::from_str::<WireEvent<'_>>(ev.data) else {
            return Ok(());
        };
        match &*w.ty {
            "response.output_text.delta" => {
                if let Some(d) = w.delta.as_deref().filter(|d| !d.is_empty()) {
                    self.text_streamed = true;
                    sink(StreamEvent::TextDelta(d));
                }
            }
            "response.reasoning_summary_text.delta" => {
                if let Some(d) = w.delta.as_deref().filter(|d| !d.is_empty()) {
                    if let Some(i) = w.summary_index {
                        if self.last_summary_index.is_some_and(|last| i > last) {
                            sink(StreamEvent::ThinkingDelta("\n\n"));
                        }
                        self.last_summary_index = Some(i);
                    }
                    self.thinking_streamed = true;
                    sink(StreamEvent::ThinkingDelta(d));
                }
            }
            "response.reasoning_text.delta" => {
                if let Some(d) = w.delta.as_deref().filter(|d| !d.is_empty()) {
                    self.raw_streamed = true;
                    sink(StreamEvent::RawThinkingDelta(d));
                }
            }
            "response.output_item.added" => {
                if let Some(raw) = w.item
                    && let Ok(item) = serde_json::from_str::<AddedItem<'_>>(raw.get())
                    && matches!(&*item.ty, "function_call" | "custom_tool_call")
                    && let (Some(id), Some(name)) = (item.call_id, item.name)
                {
                    sink(StreamEvent::ToolCallStarted {
                        id: &id,
                        name: &name,
                    });
                }
            }
            "response.output_item.done" => {
                if let Some(raw) = w.item {
                    self.budget.take(raw.get().len())?;
                    let item: Value =
                        serde_json::from_str(raw.get()).map_err(|e| ProviderError::Protocol {
                            detail: format!("output item: {e}"),
                        })?;
                    self.on_item(item, sink)?;
                }
            }
            "response.completed" => {
                if let Some(raw) = w.response {
                    let r: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
                    self.usage = usage_of(&r["usage"]);
                }
                sink(StreamEvent::Usage(&self.usage));
                self.completed = true;
            }
            "response.failed" => {
                let r: Value = w
                    .response
                    .and_then(|raw| serde_json::from_str(raw.get()).ok())
                    .unwrap_or(Value::Null);
                let err = &r["error"];
                let code = err["code"].as_str().unwrap_or("unknown").to_string();
                let message = err["message"].as_str().unwrap_or("no message").to_string();
                self.failure = Some(map_failed(code, message));
            }
            "response.incomplete" => {
                let r: Value = w
                    .response
                    .and_then(|raw| serde_json::from_str(raw.get()).ok())
                    .unwrap_or(Value::Null);
                let reason = r["incomplete_details"]["reason"]
                    .as_str()
                    .unwrap_or("unknown")
                    .to_string();
                self.failure = Some(ProviderError::Incomplete { reason });
            }
            "error" => {
                let ev: Value = serde_json::from_str(ev.data).unwrap_or(Value::Null);
                self.failure = Some(map_error_event(&ev));
            }
            _ => {}
        }
        Ok(())
    }

    fn on_whole(&mut self, body: &[u8], sink: &mut EventSink<'_>) -> Result<(), ProviderError> {
        for ev in super::whole::events(body)? {
            crate::runtime::feed_data(self, &ev.to_string(), sink)?;
        }
        Ok(())
    }

    fn finish(self) -> Result<Completion, ProviderError> {
        if let Some(f) = self.failure {
            return Err(f);
        }
        if !self.completed {
            return Err(ProviderError::StreamTruncated {
                detail: "stream closed before response.completed".into(),
            });
        }
        let stop = if self.blocks.iter().any(|b| matches!(b, Block::ToolCall(_))) {
            StopReason::ToolUse
        } else if self.refused {
            StopReason::Refusal
        } else {
            StopReason::EndTurn
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

/// The head of a `response.output_item.added` item: enough to announce a tool call.
#[derive(Deserialize)]
struct AddedItem<'a> {
    #[serde(rename = "type", borrow)]
    ty: Str<'a>,
    #[serde(borrow, default)]
    call_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
}

impl ResponsesStream {
    fn on_item(&mut self, mut item: Value, sink: &mut EventSink<'_>) -> Result<(), ProviderError> {
        match item["type"].as_str().unwrap_or("") {
            "message" => {
                let mut text = String::new();
                for part in item["content"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                    match part["type"].as_str() {
                        Some("output_text") => text.push_str(part["text"].as_str().unwrap_or("")),
                        Some("refusal") => {
                            self.refused = true;
                            text.push_str(part["refusal"].as_str().unwrap_or(""));
                        }
                        _ => {}
                    }
                }
                if !self.text_streamed && !text.is_empty() {
                    sink(StreamEvent::TextDelta(&text));
                }
                self.text_streamed = false;
                if !text.is_empty() {
                    let phase = item["phase"].as_str().map(str::to_owned);
                    self.blocks.push(Block::Text { text, phase });
                }
            }
            "reasoning" => {
                let texts: Vec<&str> = item["summary"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|p| p["text"].as_str()).collect())
                    .unwrap_or_default();
                let text = texts.join("\n\n");
                let raw: Vec<&str> = item["content"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter(|p| p["type"] == "reasoning_text")
                            .filter_map(|p| p["text"].as_str())
                            .collect()
                    })
                    .unwrap_or_default();
                let raw = (!raw.is_empty()).then(|| raw.join("\n\n"));
                if !self.thinking_streamed && !text.is_empty() {
                    sink(StreamEvent::ThinkingDelta(&text));
                }
                if !self.raw_streamed
                    && let Some(r) = &raw
                {
                    sink(StreamEvent::RawThinkingDelta(r));
                }
                self.thinking_streamed = false;
                self.raw_streamed = false;
                self.last_summary_index = None;
                let signature = item["encrypted_content"].as_str().map(str::to_owned);
                // Item ids are never sent back with store:false (docs/protocols/codex.md §B.5).
                if let Some(obj) = item.as_object_mut() {
                    obj.remove("id");
                    obj.remove("status");
                }
                let thinking = Thinking {
                    text,
                    raw,
                    signature,
                    source: Some(ProviderId::Codex),
                    replay: Some(item),
                };
                sink(StreamEvent::Thinking(&thinking));
                self.blocks.push(Block::Thinking(thinking));
            }
            ty @ ("function_call" | "custom_tool_call") => {
                let field = |k: &str| item[k].as_str().map(str::to_owned);
                let (Some(id), Some(name)) = (field("call_id"), field("name")) else {
                    return Err(ProviderError::Protocol {
                        detail: format!("{ty} item without call_id or name"),
                    });
                };
                let (kind, arguments) = if ty == "custom_tool_call" {
                    (CallKind::Custom, field("input"))
                } else {
                    (CallKind::Function, field("arguments"))
                };
                let call = ToolCall {
                    id,
                    name,
                    arguments: arguments.unwrap_or_default(),
                    signature: None,
                    kind,
                };
                sink(StreamEvent::ToolCall(&call));
                self.blocks.push(Block::ToolCall(call));
            }
            // Built-in tools we never offer (web search, …): nothing to record.
            _ => {}
        }
        Ok(())
    }
}

/// Decode a whole Responses SSE body given as chunks (benchmarks, fuzzing, offline replay):
/// exactly the path a live stream takes, minus the socket.
pub fn decode_body<'c>(
    chunks: impl IntoIterator<Item = &'c [u8]>,
    sink: &mut EventSink<'_>,
) -> Result<Completion, ProviderError> {
    crate::runtime::decode_chunks(ResponsesStream::default(), chunks, sink)
}

fn usage_of(u: &Value) -> Usage {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    Usage {
        input_tokens: n(&u["input_tokens"]),
        output_tokens: n(&u["output_tokens"]),
        cache_read_tokens: n(&u["input_tokens_details"]["cached_tokens"]),
        cache_write_tokens: 0,
        reasoning_tokens: n(&u["output_tokens_details"]["reasoning_tokens"]),
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
