//! A non-streamed Chat Completions answer (`"stream": false`, `STREAMING=0`): one
//! `chat.completion` object (docs/protocols/providers.md §4; tests/fixtures/openai/completion_*.json)
//! turned into the one chunk a stream of it would carry — `choices[0].message` as the `delta`,
//! each tool call with its `index`, the finish reason and the usage — then `[DONE]`, so
//! [`super::ChatStream`] (with every server quirk it knows: `reasoning_content`, `reasoning`,
//! `<think>` tags, calls without ids) makes the same events and message of it.

use serde_json::{Map, Value, json};

use crate::error::ProviderError;

/// The stream's `data:` payloads equivalent to the whole answer `body`.
pub(super) fn chunks(body: &[u8]) -> Result<Vec<String>, ProviderError> {
    let completion = crate::runtime::whole_json(body)?;
    // An error object in a 200 answer: the stream reads it the same way.
    if completion.get("error").is_some_and(|e| !e.is_null()) {
        return Ok(vec![completion.to_string()]);
    }
    let Some(choice) = completion["choices"].as_array().and_then(|c| c.first()) else {
        return Err(ProviderError::Protocol {
            detail: format!(
                "the answer has no choices (is OPENAI_BASE_URL a Chat Completions server?): {}",
                crate::error_body::snippet(body)
            ),
        });
    };
    let message = &choice["message"];
    let mut delta = Map::new();
    for key in [
        "role",
        "content",
        "reasoning_content",
        "reasoning",
        "refusal",
    ] {
        if let Some(v) = message.get(key).filter(|v| !v.is_null()) {
            delta.insert(key.into(), v.clone());
        }
    }
    if let Some(calls) = message["tool_calls"].as_array().filter(|c| !c.is_empty()) {
        let calls: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(i, call)| {
                let mut call = call.clone();
                if let Some(obj) = call.as_object_mut() {
                    obj.insert("index".into(), json!(i));
                }
                call
            })
            .collect();
        delta.insert("tool_calls".into(), Value::Array(calls));
    }
    let mut chunk = json!({
        "id": completion["id"],
        "object": "chat.completion.chunk",
        "created": completion["created"],
        "model": completion["model"],
        "choices": [{"index": 0, "delta": delta, "finish_reason": choice["finish_reason"]}],
    });
    if let Some(usage) = completion.get("usage").filter(|u| !u.is_null()) {
        chunk["usage"] = usage.clone();
    }
    Ok(vec![chunk.to_string(), "[DONE]".to_string()])
}
