//! Builders for Gemini `streamGenerateContent?alt=sse` responses (`serde_json::Value`s with
//! the real shapes of docs/protocols/providers.md §3.7–§3.8: `candidates[0].content.parts`,
//! `finishReason`, `usageMetadata`, `modelVersion`, `responseId`) and their framing as Google's
//! endpoints send it: `data: <json>` and a blank line, CRLF line ends, no terminal event.
//!
//! ```
//! use sx_testkit::gemini;
//! let body = gemini::encode(&gemini::text_turn("hi"));
//! assert!(body.starts_with("data: {\"candidates\""));
//! ```

use serde_json::{Value, json};

/// The model the helpers name (the official client's default, gemini-request.json).
pub const MODEL: &str = "gemini-3.8-flash";
/// `responseId` in every chunk.
pub const RESP_ID: &str = "gm-resp-0001";
/// A `thoughtSignature` the client must send back on the part that carried it.
pub const SIGNATURE: &str = "CtwBAdHtim9mb2NrLXNpZ25hdHVyZS0wMDAx";
/// `cachedContents.create`.
pub const CACHED_CONTENTS_PATH: &str = "/v1beta/cachedContents";
/// The model catalog.
pub const MODELS_PATH: &str = "/v1beta/models";

/// The streaming path of `model` (the query, `alt=sse`, is not part of the route).
pub fn stream_path(model: &str) -> String {
    format!("/v1beta/models/{model}:streamGenerateContent")
}

/// The whole-answer path of `model` (`generateContent`, `STREAMING=0`).
pub fn generate_path(model: &str) -> String {
    format!("/v1beta/models/{model}:generateContent")
}

/// Token counts of `usageMetadata`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// `promptTokenCount` (cached tokens included)
    pub prompt: u64,
    /// `cachedContentTokenCount`
    pub cached: u64,
    /// `candidatesTokenCount`
    pub candidates: u64,
    /// `thoughtsTokenCount`
    pub thoughts: u64,
}

impl Usage {
    pub fn to_json(self) -> Value {
        let mut u = json!({
            "promptTokenCount": self.prompt,
            "candidatesTokenCount": self.candidates,
            "totalTokenCount": self.prompt + self.candidates + self.thoughts,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": self.prompt}],
        });
        if self.cached > 0 {
            u["cachedContentTokenCount"] = json!(self.cached);
        }
        if self.thoughts > 0 {
            u["thoughtsTokenCount"] = json!(self.thoughts);
        }
        u
    }
}

/// A text part.
pub fn text(t: &str) -> Value {
    json!({"text": t})
}

/// A thought-summary part (`thought: true`).
pub fn thought(t: &str) -> Value {
    json!({"text": t, "thought": true})
}

/// `part` with a `thoughtSignature` beside its data.
pub fn signed(mut part: Value, signature: &str) -> Value {
    part["thoughtSignature"] = json!(signature);
    part
}

/// A `functionCall` part (`id` left out when `None`, as older models do).
pub fn call(id: Option<&str>, name: &str, args: Value) -> Value {
    let mut fc = json!({"name": name, "args": args});
    if let Some(id) = id {
        fc["id"] = json!(id);
    }
    json!({"functionCall": fc})
}

/// One response event carrying `parts`.
pub fn chunk(parts: Vec<Value>) -> Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}],
        "modelVersion": MODEL,
        "responseId": RESP_ID,
    })
}

/// The last event: `parts` (may be empty), `finishReason` and the final `usageMetadata`.
pub fn finish(parts: Vec<Value>, reason: &str, usage: Usage) -> Value {
    let mut c = chunk(parts);
    c["candidates"][0]["finishReason"] = json!(reason);
    c["usageMetadata"] = usage.to_json();
    c
}

/// Usage of the helpers' turns.
pub const USAGE: Usage = Usage {
    prompt: 120,
    cached: 0,
    candidates: 8,
    thoughts: 0,
};

/// A plain answer in two chunks, then `STOP`.
pub fn text_turn(answer: &str) -> Vec<Value> {
    let mid = answer
        .char_indices()
        .nth(answer.chars().count() / 2)
        .map_or(0, |(i, _)| i);
    vec![
        chunk(vec![text(&answer[..mid])]),
        chunk(vec![text(&answer[mid..])]),
        finish(vec![], "STOP", USAGE),
    ]
}

/// A turn that asks for one function call (signed, as Gemini 3 signs the first call of a
/// step), ending `STOP` as function-call turns do.
pub fn call_turn(id: Option<&str>, name: &str, args: Value, signature: Option<&str>) -> Vec<Value> {
    let mut part = call(id, name, args);
    if let Some(s) = signature {
        part = signed(part, s);
    }
    vec![chunk(vec![part]), finish(vec![], "STOP", USAGE)]
}

/// A Google error body (`{"error":{"code","message","status","details"}}`).
pub fn error_body(code: u16, status: &str, message: &str, details: Value) -> Value {
    json!({"error": {"code": code, "message": message, "status": status, "details": details}})
}

/// `data: <compact json>\r\n\r\n` per event: Google's framing (CRLF, no `event:` field).
pub fn encode(events: &[Value]) -> String {
    let mut out = String::new();
    for e in events {
        out.push_str("data: ");
        out.push_str(&e.to_string());
        out.push_str("\r\n\r\n");
    }
    out
}

/// The answer of `cachedContents.create`: `name` and `expireTime` (RFC 3339).
pub fn cache_created(name: &str, expire_time: &str, tokens: u64) -> Value {
    json!({
        "name": name,
        "model": format!("models/{MODEL}"),
        "createTime": "2026-01-01T00:00:00.000000Z",
        "updateTime": "2026-01-01T00:00:00.000000Z",
        "expireTime": expire_time,
        "usageMetadata": {"totalTokenCount": tokens},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_framing_is_googles() {
        let events = text_turn("hello");
        let s = encode(&events);
        assert_eq!(s.matches("\r\n\r\n").count(), 3);
        assert!(!s.contains("event:"));
        assert_eq!(crate::sse::decode(&s), events);
        assert_eq!(
            events[0]["candidates"][0]["content"]["parts"][0]["text"],
            "he"
        );
        assert_eq!(events[2]["candidates"][0]["finishReason"], "STOP");
    }

    #[test]
    fn calls_and_signatures() {
        let t = call_turn(
            Some("c1"),
            "bash",
            json!({"command": "ls"}),
            Some(SIGNATURE),
        );
        let part = &t[0]["candidates"][0]["content"]["parts"][0];
        assert_eq!(part["functionCall"]["id"], "c1");
        assert_eq!(part["thoughtSignature"], SIGNATURE);
        assert!(
            call(None, "x", json!({}))["functionCall"]
                .get("id")
                .is_none()
        );
    }
}
