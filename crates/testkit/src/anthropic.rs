//! Builders for Anthropic Messages stream events (`serde_json::Value`s with the real field
//! shapes of docs/protocols/providers.md §1.6: `message_start` with its message and usage,
//! `content_block_start/delta/stop` by `index`, `message_delta` with the stop reason and
//! cumulative usage, `message_stop`, `ping`, `error`).
//!
//! `sse::encode(&text_turn("hi"))` is a complete, realistic stream (`event: <type>` lines, as
//! the API sends them). The `*_block` helpers give one content block's events; [`turn`] wraps
//! blocks into a whole message.

use serde_json::{Value, json};

pub use crate::responses::split_deltas;

/// Where the Messages API lives under [`crate::MockServer::url`] (the default base URL shape,
/// `ANTHROPIC_BASE_URL=http://127.0.0.1:PORT`).
pub const MESSAGES_PATH: &str = "/v1/messages";
/// The model list under [`crate::MockServer::url`].
pub const MODELS_PATH: &str = "/v1/models";
/// `model` in every message.
pub const MODEL: &str = "claude-sonnet-5";
/// Message id used by [`turn`].
pub const MSG_ID: &str = "msg_01MockMessage0001";
/// An opaque thinking signature (the client must send it back verbatim).
pub const SIGNATURE: &str = "EqQBCkgIARABGAIiQLmockSignature0001+/==";

/// Token usage as the API reports it: input without the cached parts, and the two cache counts
/// apart (docs/protocols/providers.md §1.7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
}

impl Usage {
    pub fn to_json(self) -> Value {
        json!({
            "input_tokens": self.input,
            "cache_creation_input_tokens": self.cache_write,
            "cache_read_input_tokens": self.cache_read,
            "output_tokens": self.output,
        })
    }
}

/// The usage of the `*_turn` helpers: 42 in, 7 out, 30 read from the cache, 5 written to it.
pub const TURN_USAGE: Usage = Usage {
    input: 42,
    output: 7,
    cache_read: 30,
    cache_write: 5,
};

/// `message_start`: the message with no content yet, and the input usage (output 1).
pub fn message_start(usage: Usage) -> Value {
    let mut u = usage.to_json();
    u["output_tokens"] = json!(1);
    json!({"type": "message_start", "message": {
        "id": MSG_ID, "type": "message", "role": "assistant", "model": MODEL,
        "content": [], "stop_reason": null, "stop_sequence": null, "usage": u}})
}

pub fn text_start(index: usize) -> Value {
    json!({"type": "content_block_start", "index": index,
           "content_block": {"type": "text", "text": ""}})
}

pub fn text_delta(index: usize, text: &str) -> Value {
    json!({"type": "content_block_delta", "index": index,
           "delta": {"type": "text_delta", "text": text}})
}

pub fn thinking_start(index: usize) -> Value {
    json!({"type": "content_block_start", "index": index,
           "content_block": {"type": "thinking", "thinking": "", "signature": ""}})
}

pub fn thinking_delta(index: usize, thinking: &str) -> Value {
    json!({"type": "content_block_delta", "index": index,
           "delta": {"type": "thinking_delta", "thinking": thinking}})
}

pub fn signature_delta(index: usize, signature: &str) -> Value {
    json!({"type": "content_block_delta", "index": index,
           "delta": {"type": "signature_delta", "signature": signature}})
}

pub fn redacted_thinking_start(index: usize, data: &str) -> Value {
    json!({"type": "content_block_start", "index": index,
           "content_block": {"type": "redacted_thinking", "data": data}})
}

pub fn tool_use_start(index: usize, id: &str, name: &str) -> Value {
    json!({"type": "content_block_start", "index": index,
           "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}})
}

pub fn input_json_delta(index: usize, partial_json: &str) -> Value {
    json!({"type": "content_block_delta", "index": index,
           "delta": {"type": "input_json_delta", "partial_json": partial_json}})
}

pub fn block_stop(index: usize) -> Value {
    json!({"type": "content_block_stop", "index": index})
}

/// `message_delta` with the stop reason and the cumulative output tokens.
pub fn message_delta(stop_reason: &str, output_tokens: u64) -> Value {
    json!({"type": "message_delta",
           "delta": {"stop_reason": stop_reason, "stop_sequence": null},
           "usage": {"output_tokens": output_tokens}})
}

pub fn message_stop() -> Value {
    json!({"type": "message_stop"})
}

pub fn ping() -> Value {
    json!({"type": "ping"})
}

/// An `error` event (or error body): `{"type":"error","error":{"type","message"}}`.
pub fn error(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message},
           "request_id": "req_011CMockRequest0001"})
}

/// One text block: start, the text in about three deltas, stop.
pub fn text_block(index: usize, text: &str) -> Vec<Value> {
    let mut events = vec![text_start(index)];
    events.extend(split_deltas(text).iter().map(|d| text_delta(index, d)));
    events.push(block_stop(index));
    events
}

/// One thinking block: start, the thinking in deltas, an empty delta and the signature just
/// before the stop (as the API sends them), stop.
pub fn thinking_block(index: usize, thinking: &str, signature: &str) -> Vec<Value> {
    let mut events = vec![thinking_start(index)];
    events.extend(
        split_deltas(thinking)
            .iter()
            .map(|d| thinking_delta(index, d)),
    );
    events.push(thinking_delta(index, ""));
    events.push(signature_delta(index, signature));
    events.push(block_stop(index));
    events
}

/// One tool call: start, an empty first `input_json_delta` (as the API sends), the arguments
/// in pieces that split JSON tokens, stop.
pub fn tool_use_block(index: usize, id: &str, name: &str, args_json: &str) -> Vec<Value> {
    let mut events = vec![tool_use_start(index, id, name), input_json_delta(index, "")];
    let chars: Vec<char> = args_json.chars().collect();
    for piece in chars.chunks(chars.len().div_ceil(3).max(1)) {
        events.push(input_json_delta(index, &piece.iter().collect::<String>()));
    }
    events.push(block_stop(index));
    events
}

/// A whole message: `message_start` (with `usage`), a ping, the blocks, `message_delta`
/// (`stop_reason`, output tokens) and `message_stop`.
pub fn turn(blocks: Vec<Vec<Value>>, stop_reason: &str, usage: Usage) -> Vec<Value> {
    let mut events = vec![message_start(usage), ping()];
    events.extend(blocks.into_iter().flatten());
    events.push(message_delta(stop_reason, usage.output));
    events.push(message_stop());
    events
}

/// A message answering `text`; [`TURN_USAGE`].
pub fn text_turn(text: &str) -> Vec<Value> {
    turn(vec![text_block(0, text)], "end_turn", TURN_USAGE)
}

/// A message whose only content is a call to `name` with `args_json`; [`TURN_USAGE`].
pub fn tool_turn(id: &str, name: &str, args_json: &str) -> Vec<Value> {
    turn(
        vec![tool_use_block(0, id, name, args_json)],
        "tool_use",
        TURN_USAGE,
    )
}

/// Thinking (signed with [`SIGNATURE`]), a short text, then a call; [`TURN_USAGE`].
pub fn thinking_tool_turn(
    thinking: &str,
    text: &str,
    id: &str,
    name: &str,
    args_json: &str,
) -> Vec<Value> {
    turn(
        vec![
            thinking_block(0, thinking, SIGNATURE),
            text_block(1, text),
            tool_use_block(2, id, name, args_json),
        ],
        "tool_use",
        TURN_USAGE,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_call_streams_its_arguments_in_pieces_that_join_to_the_json() {
        let events = tool_use_block(2, "toolu_1", "bash", r#"{"command":"echo hi"}"#);
        let joined: String = events
            .iter()
            .filter(|e| e["delta"]["type"] == "input_json_delta")
            .map(|e| e["delta"]["partial_json"].as_str().unwrap())
            .collect();
        assert_eq!(joined, r#"{"command":"echo hi"}"#);
        assert_eq!(
            events[1]["delta"]["partial_json"], "",
            "the API's empty first piece"
        );
        assert!(events.len() >= 5, "fragmented: {events:?}");
        assert!(events.iter().all(|e| e.get("index").is_some()));
    }

    #[test]
    fn a_turn_starts_and_stops_like_the_api() {
        let t = text_turn("hello there");
        assert_eq!(t[0]["type"], "message_start");
        assert_eq!(t[0]["message"]["usage"]["input_tokens"], 42);
        assert_eq!(t.last().unwrap()["type"], "message_stop");
        let delta = &t[t.len() - 2];
        assert_eq!(delta["delta"]["stop_reason"], "end_turn");
        let sse = crate::sse::encode(&t);
        assert!(sse.starts_with("event: message_start\ndata: {\"type\":\"message_start\""));
    }
}
