use super::errors::*;
use super::request::*;
use super::stream::*;
use super::*;
use crate::model::StopReason;
use crate::model::{Block, Message, Role, Thinking, ToolCall, Usage};
use crate::model::{Effort, Image, ToolResult, ToolSpec};
use crate::sse::SseDecoder;
use pretty_assertions::assert_eq;
use serde_json::Value;
use serde_json::json;

fn request<'a>(messages: &'a [Message], tools: &'a [ToolSpec]) -> Request<'a> {
    Request {
        model: "gpt-5.5",
        system: "You are sx.",
        messages,
        tools,
        effort: None,
        thinking: true,
        session_id: "0196f3a2-0000-7000-8000-000000000001",
    }
}

fn body_json(req: &Request<'_>) -> Value {
    serde_json::to_value(build_body(req, Some("inst-1"))).unwrap()
}

#[test]
fn first_request_has_the_classic_shape() {
    let msgs = [Message::user_text("say hi")];
    let tools = [ToolSpec {
        name: "bash".into(),
        description: "Run a command".into(),
        parameters: json!({"type":"object","properties":{"command":{"type":"string"}},"required":["command"],"additionalProperties":false}),
    }];
    let b = body_json(&request(&msgs, &tools));
    let keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    // Field order as the official client sends it (serde_json keeps struct order here since
    // the map type is ordered by insertion only with preserve_order; compare as a set).
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![
            "client_metadata",
            "include",
            "input",
            "model",
            "parallel_tool_calls",
            "prompt_cache_key",
            "reasoning",
            "store",
            "stream",
            "text",
            "tool_choice",
            "tools"
        ]
    );
    assert_eq!(b["model"], "gpt-5.5");
    assert_eq!(b["stream"], true);
    assert_eq!(b["store"], false);
    assert_eq!(b["tool_choice"], "auto");
    assert_eq!(b["parallel_tool_calls"], true);
    assert_eq!(
        b["reasoning"],
        json!({"effort": "medium", "summary": "auto"})
    );
    assert_eq!(b["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(
        b["prompt_cache_key"],
        "0196f3a2-0000-7000-8000-000000000001"
    );
    assert_eq!(b["text"], json!({"verbosity": "low"}));
    assert_eq!(
        b["client_metadata"],
        json!({"x-codex-installation-id": "inst-1"})
    );
    assert_eq!(
        b["input"],
        json!([
            {"type":"message","role":"developer","content":[{"type":"input_text","text":"You are sx."}]},
            {"type":"message","role":"user","content":[{"type":"input_text","text":"say hi"}]}
        ])
    );
    assert_eq!(
        b["tools"][0],
        json!({"type":"function","name":"bash","description":"Run a command","strict":false,"parameters":tools[0].parameters})
    );
}

#[test]
fn effort_thinking_and_unknown_models() {
    let msgs = [Message::user_text("x")];
    let mut r = request(&msgs, &[]);
    r.effort = Some(Effort::High);
    r.thinking = false;
    let b = body_json(&r);
    assert_eq!(b["reasoning"], json!({"effort": "high"}));
    assert_eq!(
        b["parallel_tool_calls"], false,
        "no tools, no parallel calls"
    );
    r.model = "some-local-model";
    let b = body_json(&r);
    assert_eq!(b["reasoning"], Value::Null, "reasoning is null, not absent");
    assert!(b.as_object().unwrap().contains_key("reasoning"));
    assert_eq!(b["include"], json!([]));
    assert!(b.get("text").is_none());
}

#[test]
fn follow_up_replays_reasoning_calls_and_outputs_in_order() {
    let reasoning = json!({"type":"reasoning","summary":[{"type":"summary_text","text":"**Plan**"}],"encrypted_content":"gAAA"});
    let msgs = vec![
        Message::user_text("run echo"),
        Message {
            role: Role::Assistant,
            content: vec![
                Block::Thinking(Thinking {
                    text: "**Plan**".into(),
                    signature: Some("gAAA".into()),
                    source: Some("codex".into()),
                    replay: Some(reasoning.clone()),
                }),
                Block::Thinking(Thinking {
                    text: "foreign".into(),
                    signature: Some("sig".into()),
                    source: Some("anthropic".into()),
                    replay: None,
                }),
                Block::Text {
                    text: "Running it.".into(),
                },
                Block::ToolCall(ToolCall {
                    id: "call_1".into(),
                    name: "bash".into(),
                    arguments: "{\"command\": \"echo hi\"}".into(),
                }),
            ],
            usage: None,
        },
        Message {
            role: Role::User,
            content: vec![Block::ToolResult(ToolResult {
                call_id: "call_1".into(),
                output: "hi\n".into(),
                is_error: false,
                images: vec![],
            })],
            usage: None,
        },
    ];
    let b = body_json(&request(&msgs, &[]));
    let input = b["input"].as_array().unwrap();
    assert_eq!(input.len(), 6);
    assert_eq!(input[2], reasoning);
    assert_eq!(
        input[3],
        json!({"type":"message","role":"assistant","content":[{"type":"output_text","text":"Running it."}]})
    );
    assert_eq!(
        input[4],
        json!({"type":"function_call","name":"bash","arguments":"{\"command\": \"echo hi\"}","call_id":"call_1"})
    );
    assert_eq!(
        input[5],
        json!({"type":"function_call_output","call_id":"call_1","output":"hi\n"})
    );
}

#[test]
fn images_are_framed_data_urls() {
    let img = Image {
        media_type: "image/png".into(),
        data: "iVBORw0KGgo=".into(),
        name: Some("shot.png".into()),
    };
    let msgs = [Message {
        role: Role::User,
        content: vec![
            Block::Text {
                text: "what is this".into(),
            },
            Block::Image(img.clone()),
        ],
        usage: None,
    }];
    let b = body_json(&request(&msgs, &[]));
    assert_eq!(
        b["input"][1]["content"],
        json!([
            {"type":"input_text","text":"what is this"},
            {"type":"input_text","text":"<image name=[Image #1] file=shot.png>"},
            {"type":"input_image","image_url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"},
            {"type":"input_text","text":"</image>"}
        ])
    );
    let msgs = [Message {
        role: Role::User,
        content: vec![Block::ToolResult(ToolResult {
            call_id: "c".into(),
            output: "an image".into(),
            is_error: false,
            images: vec![img],
        })],
        usage: None,
    }];
    let b = body_json(&request(&msgs, &[]));
    assert_eq!(b["input"][1]["output"][1]["type"], "input_image");
}

// --- stream translation ---------------------------------------------------------------------

#[derive(Debug, PartialEq)]
enum Seen {
    Text(String),
    Thinking(String),
    Call(String, String, String),
    Usage(Usage),
}

fn run_stream(sse: &str) -> (Vec<Seen>, Result<Completion, ProviderError>) {
    let mut seen = Vec::new();
    let result = {
        let mut sink = |e: StreamEvent<'_>| match e {
            StreamEvent::TextDelta(t) => seen.push(Seen::Text(t.into())),
            StreamEvent::ThinkingDelta(t) => seen.push(Seen::Thinking(t.into())),
            StreamEvent::ToolCall(c) => seen.push(Seen::Call(
                c.id.clone(),
                c.name.clone(),
                c.arguments.clone(),
            )),
            StreamEvent::Usage(u) => seen.push(Seen::Usage(*u)),
            _ => {}
        };
        let mut state = ResponsesStream::new(&mut sink);
        let mut d = SseDecoder::new();
        let r = d
            .feed(sse.as_bytes(), |ev| state.on_event(ev))
            .and_then(|()| d.finish(|ev| state.on_event(ev)));
        r.and_then(|()| state.finish())
    };
    (seen, result)
}

fn ev(v: Value) -> String {
    format!("event: {}\ndata: {}\n\n", v["type"].as_str().unwrap(), v)
}

fn completed(input: u64, cached: u64, output: u64, reasoning: u64) -> String {
    ev(
        json!({"type":"response.completed","response":{"id":"resp_1","usage":{
        "input_tokens":input,"input_tokens_details":{"cached_tokens":cached},
        "output_tokens":output,"output_tokens_details":{"reasoning_tokens":reasoning},"total_tokens":input+output}}}),
    )
}

#[test]
fn text_reasoning_and_usage() {
    let sse = [
        ev(json!({"type":"response.created","response":{"id":"resp_1"}})),
        ev(json!({"type":"response.output_item.added","item":{"type":"reasoning","id":"rs_1","summary":[]}})),
        ev(json!({"type":"response.reasoning_summary_part.added","summary_index":0})),
        ev(json!({"type":"response.reasoning_summary_text.delta","delta":"**Inspecting**","summary_index":0})),
        ev(json!({"type":"response.reasoning_summary_text.delta","delta":"**Deciding**","summary_index":1})),
        ev(json!({"type":"response.output_item.done","item":{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"**Inspecting**"},{"type":"summary_text","text":"**Deciding**"}],"encrypted_content":"gAAAA"}})),
        ev(json!({"type":"response.output_item.added","item":{"type":"message","role":"assistant","id":"msg_1","content":[]}})),
        ev(json!({"type":"response.output_text.delta","delta":"Hello"})),
        ev(json!({"type":"response.output_text.delta","delta":" there"})),
        ev(json!({"type":"response.output_item.done","item":{"type":"message","role":"assistant","id":"msg_1","phase":"final_answer","content":[{"type":"output_text","text":"Hello there"}]}})),
        completed(12000, 9000, 800, 512),
    ]
    .concat();
    let (seen, r) = run_stream(&sse);
    let usage = Usage {
        input_tokens: 12000,
        output_tokens: 800,
        cache_read_tokens: 9000,
        cache_write_tokens: 0,
        reasoning_tokens: 512,
    };
    assert_eq!(
        seen,
        vec![
            Seen::Thinking("**Inspecting**".into()),
            Seen::Thinking("\n\n".into()),
            Seen::Thinking("**Deciding**".into()),
            Seen::Text("Hello".into()),
            Seen::Text(" there".into()),
            Seen::Usage(usage),
        ]
    );
    let c = r.unwrap();
    assert_eq!(c.stop, StopReason::EndTurn);
    assert_eq!(c.usage, usage);
    assert_eq!(c.message.text(), "Hello there");
    let Block::Thinking(t) = &c.message.content[0] else {
        panic!("thinking first")
    };
    assert_eq!(t.signature.as_deref(), Some("gAAAA"));
    assert_eq!(t.text, "**Inspecting**\n\n**Deciding**");
    assert!(
        t.replay.as_ref().unwrap().get("id").is_none(),
        "ids are not replayed"
    );
}

#[test]
fn function_calls_stop_with_tool_use() {
    let sse = [
        ev(json!({"type":"response.created","response":{"id":"resp_1"}})),
        ev(json!({"type":"response.function_call_arguments.delta","delta":"{\"comm"})),
        ev(json!({"type":"response.output_item.done","item":{"type":"function_call","id":"fc_1","call_id":"call_A1","name":"bash","arguments":"{\"command\":\"cargo test\"}","status":"completed"}})),
        completed(1, 0, 1, 0),
    ]
    .concat();
    let (seen, r) = run_stream(&sse);
    assert!(seen.contains(&Seen::Call(
        "call_A1".into(),
        "bash".into(),
        "{\"command\":\"cargo test\"}".into()
    )));
    let c = r.unwrap();
    assert_eq!(c.stop, StopReason::ToolUse);
    assert_eq!(c.message.tool_calls().count(), 1);
}

#[test]
fn a_message_without_deltas_is_still_shown() {
    let sse = [
        ev(json!({"type":"response.output_item.done","item":{"type":"message","role":"assistant","content":[{"type":"output_text","text":"whole"}]}})),
        completed(1, 0, 1, 0),
    ]
    .concat();
    let (seen, r) = run_stream(&sse);
    assert_eq!(seen[0], Seen::Text("whole".into()));
    assert_eq!(r.unwrap().message.text(), "whole");
}

#[test]
fn failures_map_to_typed_errors() {
    let failed = |code: &str, msg: &str| {
        ev(
            json!({"type":"response.failed","sequence_number":3,"response":{"id":"resp_x","status":"failed","error":{"code":code,"message":msg}}}),
        )
    };
    let (_, r) = run_stream(&failed(
        "context_length_exceeded",
        "Your input exceeds the context window of this model.",
    ));
    assert!(r.unwrap_err().is_context_window_exceeded());
    let (_, r) = run_stream(&failed(
        "rate_limit_exceeded",
        "Rate limit reached for gpt-5.1. Please try again in 11.054s.",
    ));
    let e = r.unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(e.retry_after(), Some(Duration::from_secs_f64(11.054)));
    let (_, r) = run_stream(&failed("insufficient_quota", "quota"));
    assert!(matches!(
        r.unwrap_err(),
        ProviderError::QuotaExceeded { .. }
    ));
    let (_, r) = run_stream(&ev(
        json!({"type":"response.incomplete","response":{"id":"r","incomplete_details":{"reason":"max_output_tokens"}}}),
    ));
    let e = r.unwrap_err();
    assert!(e.to_string().contains("max_output_tokens"));
    assert!(e.is_retryable());
}

#[test]
fn truncated_and_junk_streams_fail() {
    let (seen, r) = run_stream(&ev(
        json!({"type":"response.output_text.delta","delta":"partial"}),
    ));
    assert_eq!(seen, vec![Seen::Text("partial".into())]);
    let e = r.unwrap_err();
    assert!(matches!(e, ProviderError::StreamTruncated { .. }), "{e:?}");
    assert!(e.to_string().contains("before response.completed"));
    let (_, r) = run_stream("data: not json\n\ndata: {\"also\": \n\n");
    assert!(matches!(
        r.unwrap_err(),
        ProviderError::StreamTruncated { .. }
    ));
    // The completed event arrived whole but its closing blank line did not: still complete.
    let (_, r) = run_stream(completed(1, 0, 1, 0).trim_end());
    assert!(r.is_ok());
}

#[test]
fn events_after_completed_are_ignored() {
    let sse = [
        completed(1, 0, 1, 0),
        ev(json!({"type":"response.output_text.delta","delta":"late"})),
    ]
    .concat();
    let (seen, r) = run_stream(&sse);
    assert!(!seen.contains(&Seen::Text("late".into())));
    assert!(r.is_ok());
}

#[test]
fn http_errors() {
    let h = reqwest::header::HeaderMap::new();
    let url = "http://x/responses";
    let e = map_http_error(429, &h, br#"{"error":{"type":"usage_limit_reached","message":"limit","plan_type":"plus","resets_at":1767225600}}"#, url);
    assert!(
        matches!(&e, ProviderError::UsageLimitReached { plan: Some(p), resets_at: Some(1767225600) } if p == "plus")
    );
    assert!(!e.is_retryable());
    let mut h2 = reqwest::header::HeaderMap::new();
    h2.insert("retry-after", "3".parse().unwrap());
    let e = map_http_error(
        429,
        &h2,
        br#"{"error":{"message":"slow down","type":"rate_limit_error"}}"#,
        url,
    );
    assert!(e.is_retryable());
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    let e = map_http_error(
        503,
        &h,
        br#"{"error":{"code":"server_is_overloaded","message":"busy"}}"#,
        url,
    );
    assert!(matches!(e, ProviderError::Overloaded { .. }));
    let e = map_http_error(500, &h, b"<html>oops</html>", url);
    assert!(e.is_retryable());
    assert!(e.to_string().contains("HTTP 500: <html>oops</html>"));
    let e = map_http_error(
        400,
        &h,
        br#"{"error":{"message":"Unsupported parameter: foo"}}"#,
        url,
    );
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("Unsupported parameter: foo"));
    let e = map_http_error(404, &h, b"", url);
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("empty body"));
}

#[test]
fn catalog_lists_visible_models_by_priority() {
    let body = br#"{"models":[
        {"slug":"gpt-5.4","display_name":"GPT-5.4","visibility":"list","priority":2},
        {"slug":"codex-auto-review","visibility":"hide","priority":29},
        {"slug":"gpt-5.5","display_name":"GPT-5.5","visibility":"list","priority":0},
        {"display_name":"no slug"}
    ]}"#;
    let ids: Vec<String> = parse_catalog(body)
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, ["gpt-5.5", "gpt-5.4"]);
    assert!(matches!(
        parse_catalog(b"{}"),
        Err(ProviderError::Protocol { .. })
    ));
    assert!(matches!(
        parse_catalog(b"<html>"),
        Err(ProviderError::Protocol { .. })
    ));
}
