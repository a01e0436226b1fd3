//! The whole answer as one Messages JSON message (`stream: false`): the same blocks the stream
//! would carry (`reply.rs`), state included.

use serde_json::Value;
use serde_json::value::RawValue;
use sxnet::ProviderId;
use sxnet::event::Completion;
use sxnet::model::Block;

use super::reply::{MessageHead, WireUsage, call_input, stop_reason};
use super::state;

/// The whole answer as one Messages JSON response (`stream: false`).
pub fn message_json(id: &str, model: &str, upstream: ProviderId, c: &Completion) -> Vec<u8> {
    let mut content: Vec<Value> = Vec::new();
    for b in &c.message.content {
        match b {
            Block::Text { text, .. } => {
                content.push(serde_json::json!({"type": "text", "text": text}));
            }
            Block::Thinking(t) => {
                let s = state::of_thinking(t);
                if !t.text.is_empty() {
                    content.push(serde_json::json!({
                        "type": "thinking", "thinking": t.text, "signature": s.unwrap_or_default()
                    }));
                } else if let Some(s) = s {
                    content.push(serde_json::json!({"type": "redacted_thinking", "data": s}));
                }
            }
            Block::ToolCall(call) => {
                if let Some(s) = state::of_call(upstream, call) {
                    content.push(serde_json::json!({"type": "redacted_thinking", "data": s}));
                }
                let input = call_input(call);
                let input: Box<RawValue> =
                    RawValue::from_string(input).unwrap_or_else(|_| empty_object());
                content.push(serde_json::json!({
                    "type": "tool_use", "id": state::client_id(&call.id), "name": call.name,
                    "input": input
                }));
            }
            Block::Image(_) | Block::ToolResult(_) => {}
        }
    }
    let body = MessageHead {
        id,
        ty: "message",
        role: "assistant",
        model,
        content: &content,
        stop_reason: Some(stop_reason(c.stop)),
        stop_sequence: None,
        usage: WireUsage::of(&c.usage),
    };
    serde_json::to_vec(&body).expect("a message serializes")
}

fn empty_object() -> Box<RawValue> {
    RawValue::from_string("{}".into()).expect("{} is JSON")
}
