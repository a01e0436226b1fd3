//! A non-streamed Messages answer (`"stream": false`, `STREAMING=0`): one `Message` object
//! (docs/protocols/providers.md §1.6–§1.7; tests/fixtures/anthropic/message_*.json), turned
//! into the events a stream of the same answer carries, so [`super::MessagesStream`] makes the
//! same stream events and the same message of it: text and thinking as one delta per block,
//! signatures, tool calls (their `input` as one `input_json_delta`), usage and the stop reason.

use serde_json::{Value, json};

use crate::error::ProviderError;

/// The Messages events equivalent to the whole answer `body`, in stream order.
pub(super) fn events(body: &[u8]) -> Result<Vec<Value>, ProviderError> {
    let message = crate::runtime::whole_json(body)?;
    match message["type"].as_str() {
        Some("message") => {}
        // An error object in a 200 answer: the stream's `error` event says the same.
        Some("error") => return Ok(vec![message]),
        _ => {
            return Err(ProviderError::Protocol {
                detail: format!(
                    "the answer is not a Messages `message`: {}",
                    crate::error_body::snippet(body)
                ),
            });
        }
    }
    let usage = message.get("usage").cloned().unwrap_or(json!({}));
    let stop_reason = message.get("stop_reason").cloned().unwrap_or(Value::Null);
    let mut start = message.clone();
    start["content"] = json!([]);
    start["stop_reason"] = Value::Null;
    start["stop_sequence"] = Value::Null;
    let mut out = vec![json!({"type": "message_start", "message": start})];
    let blocks = message["content"].as_array().map_or(&[][..], Vec::as_slice);
    for (index, block) in blocks.iter().enumerate() {
        // A tool call cut off by the output limit stays open, as in a stream: it is dropped,
        // never run.
        let cut_off =
            index + 1 == blocks.len() && stop_reason == "max_tokens" && block["type"] == "tool_use";
        out.extend(block_events(index, block));
        if !cut_off {
            out.push(json!({"type": "content_block_stop", "index": index}));
        }
    }
    out.push(json!({
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": message["stop_sequence"]},
        "usage": usage,
    }));
    out.push(json!({"type": "message_stop"}));
    Ok(out)
}

/// `content_block_start` and the deltas of one whole block.
fn block_events(index: usize, block: &Value) -> Vec<Value> {
    let start = |content_block: Value| json!({"type": "content_block_start", "index": index, "content_block": content_block});
    let delta =
        |delta: Value| json!({"type": "content_block_delta", "index": index, "delta": delta});
    let text = |k: &str| block[k].as_str().unwrap_or("").to_string();
    match block["type"].as_str().unwrap_or("") {
        "text" => vec![
            start(json!({"type": "text", "text": ""})),
            delta(json!({"type": "text_delta", "text": text("text")})),
        ],
        "thinking" => vec![
            start(json!({"type": "thinking", "thinking": "", "signature": ""})),
            delta(json!({"type": "thinking_delta", "thinking": text("thinking")})),
            delta(json!({"type": "signature_delta", "signature": text("signature")})),
        ],
        "tool_use" => {
            let input = match &block["input"] {
                Value::Null => String::new(),
                v => v.to_string(),
            };
            let mut head = block.clone();
            head["input"] = json!({});
            vec![
                start(head),
                delta(json!({"type": "input_json_delta", "partial_json": input})),
            ]
        }
        // `redacted_thinking` (kept verbatim) and block types sx does not use.
        _ => vec![start(block.clone())],
    }
}
