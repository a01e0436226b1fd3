//! OpenAI-compatible Chat Completions streams, chunk by chunk, as the servers send them
//! (docs/protocols/providers.md §4.4): `data: <chunk JSON>\n\n` with no event names, a final
//! usage chunk with `choices: []`, then `data: [DONE]\n\n`. Recorded server shapes
//! (llama.cpp, vLLM, Ollama, OpenRouter quirks) live in `tests/fixtures/openai/`.
//!
//! ```no_run
//! use sx_testkit::{MockResponse, MockServer, openai};
//!
//! let server = MockServer::start();
//! server.enqueue("POST", openai::CHAT_PATH, MockResponse::sse(openai::text_turn("hi")));
//! // … point the client at OPENAI_BASE_URL = server.url() …
//! ```

use serde_json::{Value, json};

/// `POST {base}/v1/chat/completions` under [`crate::MockServer::url`].
pub const CHAT_PATH: &str = "/v1/chat/completions";

/// `GET {base}/v1/models`.
pub const MODELS_PATH: &str = "/v1/models";

/// The completion id every builder uses.
pub const COMPLETION_ID: &str = "chatcmpl-mock0001";

/// One `chat.completion.chunk` with `choices[0].delta` = `delta` and its `finish_reason`.
pub fn chunk(delta: Value, finish_reason: Option<&str>) -> Value {
    json!({
        "id": COMPLETION_ID,
        "object": "chat.completion.chunk",
        "created": 1767225600,
        "model": "mock-model",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
        "usage": null
    })
}

/// The first chunk: the role and empty content.
pub fn role() -> Value {
    chunk(json!({"role": "assistant", "content": ""}), None)
}

/// `text` as content deltas, a word (and the space after it) per chunk.
pub fn text_deltas(text: &str) -> Vec<Value> {
    words(text)
        .into_iter()
        .map(|w| chunk(json!({ "content": w }), None))
        .collect()
}

/// `text` as thinking deltas in `field` (`reasoning_content`: llama.cpp, DeepSeek;
/// `reasoning`: vLLM, Ollama, OpenRouter).
pub fn reasoning_deltas(field: &str, text: &str) -> Vec<Value> {
    words(text)
        .into_iter()
        .map(|w| chunk(json!({ field: w }), None))
        .collect()
}

fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        cur.push(c);
        if c == ' ' {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// One tool call as OpenAI streams it: id, type and name with empty arguments, then the
/// arguments in two pieces.
pub fn tool_call_chunks(index: u32, id: &str, name: &str, arguments: &str) -> Vec<Value> {
    let mid = arguments
        .char_indices()
        .map(|(i, _)| i)
        .find(|&i| i >= arguments.len() / 2)
        .unwrap_or(arguments.len());
    let (a, b) = arguments.split_at(mid);
    vec![
        chunk(
            json!({"tool_calls": [{"index": index, "id": id, "type": "function",
                                   "function": {"name": name, "arguments": ""}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": index, "function": {"arguments": a}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": index, "function": {"arguments": b}}]}),
            None,
        ),
    ]
}

/// The chunk that ends the answer.
pub fn finish(reason: &str) -> Value {
    chunk(json!({}), Some(reason))
}

/// The usage chunk `stream_options.include_usage` adds (`choices: []`).
pub fn usage(prompt: u64, completion: u64, cached: u64, reasoning: u64) -> Value {
    json!({
        "id": COMPLETION_ID,
        "object": "chat.completion.chunk",
        "created": 1767225600,
        "model": "mock-model",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning}
        }
    })
}

/// An error object inside a 200 stream (`{"error":{"message","type","param","code"}}`).
pub fn error(message: &str, kind: &str, code: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

/// `data: <json>\n\n` per chunk, without `[DONE]`.
pub fn encode_chunks(chunks: &[Value]) -> String {
    let mut out = String::new();
    for c in chunks {
        out.push_str("data: ");
        out.push_str(&c.to_string());
        out.push_str("\n\n");
    }
    out
}

/// [`encode_chunks`] and `data: [DONE]\n\n`.
pub fn encode(chunks: &[Value]) -> String {
    let mut out = encode_chunks(chunks);
    out.push_str("data: [DONE]\n\n");
    out
}

/// A whole answer: role, `text` in deltas, `stop`, usage (100 in, 10 out), `[DONE]`.
pub fn text_turn(text: &str) -> String {
    let mut c = vec![role()];
    c.extend(text_deltas(text));
    c.push(finish("stop"));
    c.push(usage(100, 10, 0, 0));
    encode(&c)
}

/// A turn that only calls one tool: `tool_calls`, usage, `[DONE]`.
pub fn tool_call_turn(id: &str, name: &str, arguments: &str) -> String {
    thinking_tool_call_turn("", id, name, arguments)
}

/// llama.cpp-style thinking (`reasoning_content`, when `thinking` is not empty) and then one
/// tool call.
pub fn thinking_tool_call_turn(thinking: &str, id: &str, name: &str, arguments: &str) -> String {
    encode(&thinking_tool_call_chunks(thinking, id, name, arguments))
}

/// The chunks of [`thinking_tool_call_turn`], without `[DONE]` (for
/// [`crate::whole::openai`]).
pub fn thinking_tool_call_chunks(
    thinking: &str,
    id: &str,
    name: &str,
    arguments: &str,
) -> Vec<Value> {
    let mut c = vec![chunk(json!({"role": "assistant", "content": null}), None)];
    c.extend(reasoning_deltas("reasoning_content", thinking));
    c.extend(tool_call_chunks(0, id, name, arguments));
    c.push(finish("tool_calls"));
    c.push(usage(100, 20, 0, 0));
    c
}
