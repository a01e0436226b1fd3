use super::super::catalog::{builtin, fallback};
use super::*;
use crate::ProviderId;
use crate::model::{Block, CallKind, Message, Role, Thinking, ToolCall};
use crate::model::{Effort, Image, ToolResult, ToolSpec};
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
        turn_id: "0196f3a2-0000-7000-8000-0000000000aa",
        max_output_tokens: None,
        provider_session: None,
    }
}

fn body_json(req: &Request<'_>) -> Value {
    let model = builtin(req.model).unwrap_or_else(|| fallback(req.model));
    serde_json::to_value(build_body(
        req,
        &BodyContext {
            model,
            installation_id: Some("inst-1"),
            chatgpt_backend: true,
            stream: true,
        },
    ))
    .unwrap()
}

fn bash_tool() -> ToolSpec {
    ToolSpec {
        name: "bash".into(),
        description: "Run a command".into(),
        parameters: json!({"type":"object","properties":{"command":{"type":"string"}},"required":["command"],"additionalProperties":false}),
    }
}

#[test]
fn first_request_has_the_classic_shape() {
    let msgs = [Message::user_text("say hi")];
    let tools = [bash_tool()];
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
        json!({
            "thread_id": "0196f3a2-0000-7000-8000-000000000001",
            "session_id": "0196f3a2-0000-7000-8000-000000000001",
            "turn_id": "0196f3a2-0000-7000-8000-0000000000aa",
            "root_turn_id": "0196f3a2-0000-7000-8000-0000000000aa",
            "x-codex-window-id": "0196f3a2-0000-7000-8000-000000000001:0",
            "x-codex-installation-id": "inst-1"
        })
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
                    raw: None,
                    signature: Some("gAAA".into()),
                    source: Some(ProviderId::Codex),
                    replay: Some(reasoning.clone()),
                }),
                Block::Thinking(Thinking {
                    text: "foreign".into(),
                    raw: None,
                    signature: Some("sig".into()),
                    source: Some(ProviderId::Anthropic),
                    replay: None,
                }),
                Block::Text {
                    text: "Running it.".into(),
                    phase: Some("commentary".into()),
                },
                Block::ToolCall(ToolCall::function(
                    "call_1",
                    "bash",
                    "{\"command\": \"echo hi\"}",
                )),
            ],
            usage: None,
        },
        Message {
            role: Role::User,
            content: vec![Block::ToolResult(ToolResult {
                call_id: "call_1".into(),
                name: "bash".into(),
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
        json!({"type":"message","role":"assistant","content":[{"type":"output_text","text":"Running it."}],"phase":"commentary"})
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
        content: vec![Block::text("what is this"), Block::Image(img.clone())],
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
            name: "read_image".into(),
            output: "an image".into(),
            is_error: false,
            images: vec![img],
        })],
        usage: None,
    }];
    let b = body_json(&request(&msgs, &[]));
    assert_eq!(b["input"][1]["output"][1]["type"], "input_image");
}

// --- the responses-lite shape -------------------------------------------------------------

#[test]
fn lite_models_carry_tools_in_the_input_and_a_configuration_update() {
    let msgs = [Message::user_text("say hi")];
    let tools = [bash_tool()];
    let mut r = request(&msgs, &tools);
    r.model = "gpt-6.1-sol";
    let b = body_json(&r);
    assert!(b.get("tools").is_none(), "no top-level tools: {b}");
    assert_eq!(b["parallel_tool_calls"], false);
    assert_eq!(
        b["reasoning"],
        json!({"effort": "low", "summary": "auto", "context": "all_turns"})
    );
    let input = b["input"].as_array().unwrap();
    assert_eq!(
        input[0],
        json!({"type":"additional_tools","role":"developer","tools":[
            {"type":"function","name":"bash","description":"Run a command","strict":false,"parameters":tools[0].parameters}
        ]})
    );
    assert_eq!(input[1]["role"], "developer");
    assert_eq!(input[2]["role"], "user");
    assert_eq!(
        input.last().unwrap(),
        &json!({"type":"configuration_update","reasoning":{"effort":"low"}})
    );
    // Without tools there is no tools item at all.
    let mut r = request(&msgs, &[]);
    r.model = "gpt-6.1-sol";
    let b = body_json(&r);
    assert_eq!(b["input"][0]["type"], "message");
}

#[test]
fn custom_tool_calls_are_answered_with_custom_outputs() {
    let msgs = vec![
        Message::user_text("run echo"),
        Message {
            role: Role::Assistant,
            content: vec![
                Block::ToolCall(ToolCall {
                    kind: CallKind::Custom,
                    ..ToolCall::function("call_2", "exec", "text('hi')")
                }),
                Block::ToolCall(ToolCall::function("call_3", "bash", "{}")),
            ],
            usage: None,
        },
        Message {
            role: Role::User,
            content: vec![
                Block::ToolResult(ToolResult {
                    call_id: "call_2".into(),
                    name: "exec".into(),
                    output: "hi\n".into(),
                    is_error: false,
                    images: vec![],
                }),
                Block::ToolResult(ToolResult {
                    call_id: "call_3".into(),
                    name: "bash".into(),
                    output: "ok".into(),
                    is_error: false,
                    images: vec![],
                }),
            ],
            usage: None,
        },
    ];
    let mut r = request(&msgs, &[]);
    r.model = "gpt-6.1-sol";
    let b = body_json(&r);
    let input = b["input"].as_array().unwrap();
    assert_eq!(
        input[2],
        json!({"type":"custom_tool_call","call_id":"call_2","name":"exec","input":"text('hi')"})
    );
    assert_eq!(input[3]["type"], "function_call");
    assert_eq!(
        input[4],
        json!({"type":"custom_tool_call_output","call_id":"call_2","output":[{"type":"input_text","text":"hi\n"}]})
    );
    assert_eq!(
        input[5],
        json!({"type":"function_call_output","call_id":"call_3","output":"ok"})
    );
}
