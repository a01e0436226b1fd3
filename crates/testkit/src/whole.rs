//! Whole (non-streamed) answers, as each API sends them when the request says
//! `"stream": false` (Gemini: `generateContent`), built from the same events the stream
//! builders make — so one scripted turn can be served either way. The shapes, key order
//! included, are those of tests/fixtures/{anthropic,openai,gemini,codex}/ `message_*`,
//! `completion_*`, `generate_content*`, `response_*` (each README names the source).

use serde_json::{Map, Value, json};

/// The Messages API's `message` for a stream of [`crate::anthropic`] events: the
/// `message_start` message with its blocks whole, `stop_reason` and the final usage.
pub fn anthropic(events: &[Value]) -> Value {
    let mut head = Value::Null;
    let mut blocks: Vec<Value> = Vec::new();
    let mut inputs: Vec<String> = Vec::new();
    let mut stop = (Value::Null, Value::Null);
    let mut usage = Map::new();
    for e in events {
        match e["type"].as_str().unwrap_or("") {
            "message_start" => {
                head = e["message"].clone();
                merge(&mut usage, &e["message"]["usage"]);
            }
            "content_block_start" => {
                let i = index(e);
                blocks.resize(i + 1, Value::Null);
                inputs.resize(i + 1, String::new());
                blocks[i] = e["content_block"].clone();
            }
            "content_block_delta" => {
                let i = index(e);
                let d = &e["delta"];
                let push = |b: &mut Value, k: &str, v: &Value| {
                    let s = format!(
                        "{}{}",
                        b[k].as_str().unwrap_or(""),
                        v.as_str().unwrap_or("")
                    );
                    b[k] = json!(s);
                };
                match d["type"].as_str().unwrap_or("") {
                    "text_delta" => push(&mut blocks[i], "text", &d["text"]),
                    "thinking_delta" => push(&mut blocks[i], "thinking", &d["thinking"]),
                    "signature_delta" => push(&mut blocks[i], "signature", &d["signature"]),
                    "input_json_delta" => {
                        inputs[i].push_str(d["partial_json"].as_str().unwrap_or(""))
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                stop = (
                    e["delta"]["stop_reason"].clone(),
                    e["delta"]["stop_sequence"].clone(),
                );
                merge(&mut usage, &e["usage"]);
            }
            _ => {}
        }
    }
    for (b, input) in blocks.iter_mut().zip(&inputs) {
        if b["type"] == "tool_use" && !input.is_empty() {
            b["input"] = serde_json::from_str(input).unwrap_or_else(|_| json!({}));
        }
    }
    json!({
        "id": head["id"],
        "type": "message",
        "role": "assistant",
        "content": blocks,
        "model": head["model"],
        "stop_reason": stop.0,
        "stop_sequence": stop.1,
        "usage": usage,
    })
}

/// A `chat.completion` for a stream of [`crate::openai`] chunks: the deltas joined into
/// `choices[0].message` (content, `reasoning_content`/`reasoning`, `tool_calls`), the finish
/// reason and the usage.
pub fn openai(chunks: &[Value]) -> Value {
    let mut first = &Value::Null;
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    message.insert("content".into(), Value::Null);
    let mut calls: Vec<Value> = Vec::new();
    let mut finish = Value::Null;
    let mut usage = Value::Null;
    for c in chunks {
        if first.is_null() {
            first = c;
        }
        if c["usage"].is_object() {
            usage = c["usage"].clone();
        }
        let Some(choice) = c["choices"].get(0) else {
            continue;
        };
        if !choice["finish_reason"].is_null() {
            finish = choice["finish_reason"].clone();
        }
        let d = &choice["delta"];
        for k in ["content", "reasoning_content", "reasoning", "refusal"] {
            if let Some(s) = d[k].as_str().filter(|s| !s.is_empty()) {
                let old = message
                    .get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                message.insert(k.into(), json!(old + s));
            }
        }
        for tc in d["tool_calls"].as_array().map_or(&[][..], Vec::as_slice) {
            let i = tc["index"].as_u64().unwrap_or(0) as usize;
            if calls.len() <= i {
                calls.resize(
                    i + 1,
                    json!({"id": "", "type": "function", "function": {"name": "", "arguments": ""}}),
                );
            }
            let call = &mut calls[i];
            if let Some(id) = tc["id"].as_str() {
                call["id"] = json!(id);
            }
            if let Some(name) = tc["function"]["name"].as_str() {
                call["function"]["name"] = json!(name);
            }
            if let Some(a) = tc["function"]["arguments"].as_str() {
                let joined = format!(
                    "{}{a}",
                    call["function"]["arguments"].as_str().unwrap_or("")
                );
                call["function"]["arguments"] = json!(joined);
            }
        }
    }
    if !calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(calls));
    }
    message.insert(
        "refusal".into(),
        message.get("refusal").cloned().unwrap_or(Value::Null),
    );
    message.insert("annotations".into(), json!([]));
    json!({
        "id": first["id"],
        "object": "chat.completion",
        "created": first["created"],
        "model": first["model"],
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": usage,
        "service_tier": "default",
    })
}

/// `generateContent`'s `GenerateContentResponse` for a stream of [`crate::gemini`] events: every
/// part in order (consecutive thought or text parts joined, as one answer holds them), the
/// finish reason and the last usage.
pub fn gemini(events: &[Value]) -> Value {
    let mut parts: Vec<Value> = Vec::new();
    let mut out = json!({});
    for e in events {
        let cand = &e["candidates"][0];
        for p in cand["content"]["parts"]
            .as_array()
            .map_or(&[][..], Vec::as_slice)
        {
            let joinable = |q: &Value| {
                q["text"].is_string()
                    && q.get("thoughtSignature").is_none()
                    && q["thought"] == p["thought"]
            };
            match parts.last_mut() {
                Some(last) if joinable(last) && p["text"].is_string() => {
                    let t = format!(
                        "{}{}",
                        last["text"].as_str().unwrap_or(""),
                        p["text"].as_str().unwrap_or("")
                    );
                    last["text"] = json!(t);
                    if let Some(sig) = p.get("thoughtSignature") {
                        last["thoughtSignature"] = sig.clone();
                    }
                }
                _ if p["text"] == "" && p.get("thoughtSignature").is_none() => {}
                _ => parts.push(p.clone()),
            }
        }
        if !cand["finishReason"].is_null() {
            out["finishReason"] = cand["finishReason"].clone();
        }
        if e["usageMetadata"].is_object() {
            out["usageMetadata"] = e["usageMetadata"].clone();
        }
        for k in ["modelVersion", "responseId"] {
            if e[k].is_string() {
                out[k] = e[k].clone();
            }
        }
    }
    json!({
        "candidates": [{
            "content": {"parts": parts, "role": "model"},
            "finishReason": out["finishReason"],
            "index": 0,
        }],
        "usageMetadata": out["usageMetadata"],
        "modelVersion": out["modelVersion"],
        "responseId": out["responseId"],
    })
}

/// The Responses API's `response` object for a stream of [`crate::responses`] events: the
/// terminal event's response (output filled by [`crate::responses::finalize`]) with every
/// field a non-streamed answer carries, in the API's order.
pub fn responses(events: Vec<Value>) -> Value {
    let events = crate::responses::finalize(events);
    let end = events
        .iter()
        .rev()
        .find(|e| {
            matches!(
                e["type"].as_str(),
                Some("response.completed" | "response.incomplete" | "response.failed")
            )
        })
        .expect("a stream with a terminal event");
    let r = &end["response"];
    let or_null = |k: &str| r.get(k).cloned().unwrap_or(Value::Null);
    json!({
        "id": r["id"],
        "object": "response",
        "created_at": r["created_at"],
        "status": r["status"],
        "background": false,
        "error": or_null("error"),
        "incomplete_details": or_null("incomplete_details"),
        "instructions": null,
        "max_output_tokens": null,
        "model": r["model"],
        "output": r["output"],
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "service_tier": "default",
        "store": false,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "low"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": or_null("usage"),
        "user": null,
        "metadata": {},
    })
}

fn index(e: &Value) -> usize {
    e["index"].as_u64().unwrap_or(0) as usize
}

/// Usage fields of `from` over those of `into` (the stream's counts are cumulative).
fn merge(into: &mut Map<String, Value>, from: &Value) {
    if let Some(m) = from.as_object() {
        for (k, v) in m {
            into.insert(k.clone(), v.clone());
        }
    }
}

#[cfg(test)]
#[path = "whole_tests.rs"]
mod tests;
