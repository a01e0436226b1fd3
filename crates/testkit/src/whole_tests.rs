use serde_json::Value;

use super::*;
use crate::{fixture_json, fixture_str, sse};

fn events(rel: &str) -> Vec<Value> {
    sse::parse(&fixture_str(rel))
        .into_iter()
        .filter(|e| e.data != "[DONE]")
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect()
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

#[test]
fn a_messages_stream_made_whole_is_the_apis_message() {
    for (sse_file, json_file) in [
        ("anthropic/text.sse", "anthropic/message_text.json"),
        (
            "anthropic/thinking_tool.sse",
            "anthropic/message_thinking_tool.json",
        ),
    ] {
        let got = anthropic(&events(sse_file));
        let want = fixture_json(json_file);
        assert_eq!(keys(&got), keys(&want), "{json_file}");
        for k in [
            "id",
            "type",
            "role",
            "model",
            "stop_reason",
            "stop_sequence",
        ] {
            assert_eq!(got[k], want[k], "{json_file}: {k}");
        }
        // The stream's `input` pieces join to the same object the whole answer holds.
        assert_eq!(got["content"], want["content"], "{json_file}");
        for k in ["input_tokens", "output_tokens", "cache_read_input_tokens"] {
            assert_eq!(got["usage"][k], want["usage"][k], "{json_file}: {k}");
        }
    }
}

#[test]
fn a_chat_stream_made_whole_is_the_apis_completion() {
    for (sse_file, json_file) in [
        ("openai/text.sse", "openai/completion_text.json"),
        ("openai/tool_call.sse", "openai/completion_tool_call.json"),
    ] {
        let got = openai(&events(sse_file));
        let want = fixture_json(json_file);
        for k in ["id", "object", "created", "model", "choices", "usage"] {
            assert_eq!(got[k], want[k], "{json_file}: {k}");
        }
    }
}

#[test]
fn a_gemini_stream_made_whole_joins_its_parts() {
    let got = gemini(&crate::gemini::text_turn("Hello from the mock."));
    assert_eq!(
        keys(&got),
        keys(&fixture_json("gemini/generate_content_text.json"))
    );
    assert_eq!(
        got["candidates"][0]["content"]["parts"],
        serde_json::json!([{"text": "Hello from the mock."}])
    );
    assert_eq!(got["candidates"][0]["finishReason"], "STOP");
    assert_eq!(got["usageMetadata"]["promptTokenCount"], 120);
}

#[test]
fn a_responses_stream_made_whole_is_the_apis_response() {
    let got = responses(events("codex/text.sse"));
    let want = fixture_json("codex/response_text.json");
    let without_cache_key = |v: &Value| {
        keys(v)
            .into_iter()
            .filter(|k| *k != "prompt_cache_key")
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(without_cache_key(&got), without_cache_key(&want));
    assert_eq!(got["usage"], want["usage"]);
    assert_eq!(
        got["output"][0]["content"][0]["text"],
        want["output"][0]["content"][0]["text"]
    );
    assert_eq!(got["status"], "completed");
}
