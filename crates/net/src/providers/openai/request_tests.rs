//! Request bodies against the shapes of docs/protocols/providers.md §4.2–§4.3, asserted whole.

use super::*;
use crate::ProviderId;
use crate::model::{Effort, Thinking, ToolCall, ToolResult, ToolSpec};
use pretty_assertions::assert_eq;
use serde_json::json;

fn png() -> Image {
    Image {
        media_type: "image/png".into(),
        data: "iVBORw0KGgo=".into(),
        name: Some("shot.png".into()),
    }
}

fn request<'a>(messages: &'a [Message], tools: &'a [ToolSpec]) -> Request<'a> {
    Request {
        model: "qwen3-8b",
        system: "You are terse.",
        messages,
        tools,
        effort: None,
        thinking: true,
        session_id: "019a0000-0000-7000-8000-000000000001",
        turn_id: "019a0000-0000-7000-8000-0000000000ff",
        max_output_tokens: None,
        provider_session: None,
    }
}

fn body(req: &Request<'_>, dialect: Dialect) -> Value {
    serde_json::to_value(build_body(req, dialect)).unwrap()
}

/// The protocol notes' conversation (§4.3): a picture, a call, its result, and the answer.
fn conversation() -> Vec<Message> {
    vec![
        Message {
            role: Role::User,
            content: vec![Block::text("What's in this picture?"), Block::Image(png())],
            usage: None,
        },
        Message {
            role: Role::Assistant,
            content: vec![
                Block::Thinking(Thinking {
                    text: "They want the weather.".into(),
                    raw: None,
                    signature: None,
                    source: Some(ProviderId::Openai),
                    replay: None,
                }),
                Block::ToolCall(ToolCall::function(
                    "call_abc",
                    "get_weather",
                    "{\"city\":  \"Paris\"}",
                )),
            ],
            usage: None,
        },
        Message {
            role: Role::User,
            content: vec![Block::ToolResult(ToolResult {
                call_id: "call_abc".into(),
                name: "get_weather".into(),
                output: "18°C, cloudy".into(),
                is_error: false,
                images: vec![],
            })],
            usage: None,
        },
        Message {
            role: Role::Assistant,
            content: vec![Block::text("It is 18°C and cloudy.")],
            usage: None,
        },
        Message::user_text("Thanks"),
    ]
}

fn weather_tool() -> Vec<ToolSpec> {
    vec![ToolSpec {
        name: "get_weather".into(),
        description: "Current weather for a city".into(),
        parameters: json!({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}),
    }]
}

#[test]
fn a_compatible_server_gets_the_documented_shape_and_nothing_else() {
    let msgs = conversation();
    let tools = weather_tool();
    let got = body(&request(&msgs, &tools), Dialect::Compatible);
    assert_eq!(
        got,
        json!({
            "model": "qwen3-8b",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What's in this picture?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"}}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_abc", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":  \"Paris\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_abc", "content": "18°C, cloudy"},
                {"role": "assistant", "content": "It is 18°C and cloudy."},
                {"role": "user", "content": "Thanks"}
            ],
            "tools": [{"type": "function", "function": {
                "name": "get_weather",
                "description": "Current weather for a city",
                "parameters": {"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}
            }}],
            "stream": true,
            "stream_options": {"include_usage": true}
        })
    );
}

#[test]
fn openai_gets_the_cache_key_and_max_completion_tokens_others_max_tokens() {
    let msgs = [Message::user_text("hi")];
    let mut req = request(&msgs, &[]);
    req.max_output_tokens = Some(2048);
    req.effort = Some(Effort::High);
    let openai = body(&req, Dialect::OpenAi);
    assert_eq!(
        openai["prompt_cache_key"],
        "019a0000-0000-7000-8000-000000000001"
    );
    assert_eq!(openai["max_completion_tokens"], 2048);
    assert_eq!(openai.get("max_tokens"), None);
    assert_eq!(openai["reasoning_effort"], "high");
    assert_eq!(openai.get("tools"), None, "no tools, no empty list");
    let other = body(&req, Dialect::Compatible);
    assert_eq!(other["max_tokens"], 2048);
    assert_eq!(other.get("max_completion_tokens"), None);
    assert_eq!(other.get("prompt_cache_key"), None);
    assert_eq!(other["reasoning_effort"], "high");
    req.effort = None;
    req.max_output_tokens = None;
    let plain = body(&req, Dialect::OpenAi);
    for absent in ["reasoning_effort", "max_completion_tokens", "max_tokens"] {
        assert_eq!(plain.get(absent), None, "{absent}");
    }
}

#[test]
fn arguments_go_back_byte_for_byte_and_empty_ones_as_an_empty_object() {
    let msgs = [Message {
        role: Role::Assistant,
        content: vec![
            Block::text("Checking. "),
            Block::text("Both."),
            Block::ToolCall(ToolCall::function("a", "x", "{ \"k\" :1 }")),
            Block::ToolCall(ToolCall::function("b", "y", "")),
        ],
        usage: None,
    }];
    let got = body(&request(&msgs, &[]), Dialect::Compatible);
    assert_eq!(
        got["messages"][1],
        json!({"role": "assistant", "content": "Checking. Both.", "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "x", "arguments": "{ \"k\" :1 }"}},
            {"id": "b", "type": "function", "function": {"name": "y", "arguments": "{}"}}
        ]})
    );
}

#[test]
fn tool_images_follow_the_tool_messages_in_a_user_message() {
    let msgs = [Message {
        role: Role::User,
        content: vec![
            Block::ToolResult(ToolResult {
                call_id: "c1".into(),
                name: "read_image".into(),
                output: "shot.png (8x4)".into(),
                is_error: false,
                images: vec![png()],
            }),
            Block::ToolResult(ToolResult {
                call_id: "c2".into(),
                name: "bash".into(),
                output: "exit 1".into(),
                is_error: true,
                images: vec![],
            }),
            Block::text("and then?"),
        ],
        usage: None,
    }];
    let got = body(&request(&msgs, &[]), Dialect::Compatible);
    assert_eq!(
        got["messages"],
        json!([
            {"role": "system", "content": "You are terse."},
            {"role": "tool", "tool_call_id": "c1", "content": "shot.png (8x4)"},
            {"role": "tool", "tool_call_id": "c2", "content": "exit 1"},
            {"role": "user", "content": [
                {"type": "text", "text": "Images returned by the tool call c1:"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"}},
                {"type": "text", "text": "and then?"}
            ]}
        ])
    );
}

#[test]
fn thinking_from_any_provider_stays_out_and_roles_keep_alternating() {
    let msgs = [
        Message::user_text("a"),
        Message {
            role: Role::Assistant,
            content: vec![Block::Thinking(Thinking {
                text: "hmm".into(),
                raw: None,
                signature: Some("sig".into()),
                source: Some(ProviderId::Anthropic),
                replay: None,
            })],
            usage: None,
        },
        Message {
            role: Role::User,
            content: vec![Block::text("one"), Block::text("two")],
            usage: None,
        },
    ];
    let got = body(&request(&msgs, &[]), Dialect::Compatible);
    assert_eq!(
        got["messages"],
        json!([
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": "one\n\ntwo"}
        ])
    );
    assert!(!got.to_string().contains("hmm"));
}
