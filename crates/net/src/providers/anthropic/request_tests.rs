//! The Messages body: its shape (claude-apikey-request.json), cache breakpoints, thinking per
//! model, and the transcript's translation (tool calls and results, images, signed and
//! redacted thinking).

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::super::catalog::model;
use super::*;
use crate::model::{Thinking, ToolCall, ToolSpec};

fn request<'a>(model: &'a str, messages: &'a [Message], tools: &'a [ToolSpec]) -> Request<'a> {
    Request {
        model,
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

fn body_with(req: &Request<'_>, budget: u32) -> Value {
    serde_json::to_value(build_body(
        req,
        &BodyContext {
            provider: ProviderId::Anthropic,
            model: model(req.model),
            thinking_budget: budget,
        },
    ))
    .unwrap()
}

fn body(req: &Request<'_>) -> Value {
    body_with(req, 10_000)
}

fn tool(name: &str) -> ToolSpec {
    ToolSpec {
        name: name.into(),
        description: format!("The {name} tool"),
        parameters: json!({"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}),
    }
}

fn eph() -> Value {
    json!({"type": "ephemeral"})
}

fn signed(text: &str, sig: &str, source: ProviderId) -> Block {
    Block::Thinking(Thinking {
        text: text.into(),
        raw: None,
        signature: Some(sig.into()),
        source: Some(source),
        replay: None,
    })
}

#[test]
fn the_first_request_has_the_official_shape_with_three_breakpoints() {
    let msgs = [Message::user_text("say hi")];
    let tools = [tool("bash"), tool("read_file")];
    let b = body(&request("claude-opus-4-8", &msgs, &tools));
    let keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    // The official client's key order, without its metadata and context_management.
    assert_eq!(
        keys,
        [
            "model",
            "messages",
            "system",
            "tools",
            "max_tokens",
            "thinking",
            "output_config",
            "stream"
        ]
    );
    assert_eq!(b["model"], "claude-opus-4-8");
    assert_eq!(b["max_tokens"], 64000);
    assert_eq!(b["stream"], true);
    assert_eq!(b["thinking"], json!({"type": "adaptive"}));
    assert_eq!(b["output_config"], json!({"effort": "high"}));
    assert_eq!(
        b["system"],
        json!([{"type": "text", "text": "You are sx.", "cache_control": eph()}])
    );
    assert_eq!(
        b["tools"][0],
        json!({"name": "bash", "description": "The bash tool",
               "input_schema": {"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}})
    );
    assert_eq!(b["tools"][1]["cache_control"], eph(), "the last tool");
    assert_eq!(
        b["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "say hi", "cache_control": eph()}]}])
    );
    let breakpoints = serde_json::to_string(&b)
        .unwrap()
        .matches("cache_control")
        .count();
    assert_eq!(breakpoints, 3);
}

#[test]
fn the_follow_up_replays_signed_thinking_and_the_call_and_moves_the_breakpoint() {
    let msgs = [
        Message::user_text("run echo"),
        Message {
            role: Role::Assistant,
            content: vec![
                signed("I should run it.", "sig-1", ProviderId::Anthropic),
                Block::text("Running."),
                Block::ToolCall(ToolCall::function(
                    "toolu_1",
                    "bash",
                    r#"{"description":"Print a marker","command":"echo capture-tool-ok"}"#,
                )),
            ],
            usage: None,
        },
        Message {
            role: Role::User,
            content: vec![Block::ToolResult(crate::model::ToolResult {
                call_id: "toolu_1".into(),
                name: "bash".into(),
                output: "capture-tool-ok\n".into(),
                is_error: false,
                images: vec![],
            })],
            usage: None,
        },
    ];
    let tools = [tool("bash")];
    let b = body(&request("claude-opus-4-8", &msgs, &tools));
    assert_eq!(
        b["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "run echo"}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "I should run it.", "signature": "sig-1"},
                {"type": "text", "text": "Running."},
                {"type": "tool_use", "id": "toolu_1", "name": "bash",
                 "input": {"description": "Print a marker", "command": "echo capture-tool-ok"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "capture-tool-ok\n",
                 "is_error": false, "cache_control": eph()}
            ]}
        ])
    );
    // The input keeps the model's key order (description before command).
    let text = serde_json::to_string(&b["messages"][1]["content"][2]["input"]).unwrap();
    assert_eq!(
        text,
        r#"{"description":"Print a marker","command":"echo capture-tool-ok"}"#
    );
}

#[test]
fn thinking_goes_back_only_to_the_provider_that_signed_it_and_redacted_thinking_untouched() {
    let redacted = json!({"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"});
    let msgs = [
        Message::user_text("q"),
        Message {
            role: Role::Assistant,
            content: vec![
                signed("codex reasoning", "gAAAA", ProviderId::Codex),
                Block::Thinking(Thinking {
                    text: String::new(),
                    raw: None,
                    signature: None,
                    source: Some(ProviderId::Anthropic),
                    replay: Some(redacted.clone()),
                }),
                // Cut off before its signature: cannot be sent.
                Block::Thinking(Thinking {
                    text: "unsigned".into(),
                    raw: None,
                    signature: None,
                    source: Some(ProviderId::Anthropic),
                    replay: None,
                }),
                Block::text("A."),
            ],
            usage: None,
        },
        Message {
            role: Role::Assistant,
            content: vec![signed("only codex", "x", ProviderId::Codex)],
            usage: None,
        },
        Message::user_text("next"),
    ];
    let b = body(&request("claude-sonnet-5", &msgs, &[]));
    assert_eq!(
        b["messages"][1]["content"],
        json!([redacted, {"type": "text", "text": "A."}])
    );
    assert_eq!(
        b["messages"].as_array().unwrap().len(),
        3,
        "the empty message is left out"
    );
    assert!(b.get("tools").is_none());
}

#[test]
fn images_are_base64_blocks_with_their_name_and_tool_results_carry_theirs() {
    let img = crate::model::Image {
        media_type: "image/png".into(),
        data: "iVBORw0KGgo=".into(),
        name: Some("shot.png".into()),
    };
    let msgs = [
        Message {
            role: Role::User,
            content: vec![Block::text("what is this?"), Block::Image(img.clone())],
            usage: None,
        },
        Message {
            role: Role::Assistant,
            content: vec![Block::ToolCall(ToolCall::function(
                "t1",
                "read_image",
                r#"{"path":"a.png"}"#,
            ))],
            usage: None,
        },
        Message {
            role: Role::User,
            content: vec![
                Block::text("and this one?"),
                Block::ToolResult(crate::model::ToolResult {
                    call_id: "t1".into(),
                    name: "read_image".into(),
                    output: String::new(),
                    is_error: true,
                    images: vec![crate::model::Image { name: None, ..img }],
                }),
            ],
            usage: None,
        },
    ];
    let b = body(&request("claude-haiku-4-5", &msgs, &[]));
    let source = json!({"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="});
    assert_eq!(
        b["messages"][0]["content"],
        json!([
            {"type": "text", "text": "what is this?"},
            {"type": "text", "text": "[Image: shot.png]"},
            {"type": "image", "source": source}
        ])
    );
    // Results first, then the user's text (which carries the breakpoint).
    assert_eq!(
        b["messages"][2]["content"],
        json!([
            {"type": "tool_result", "tool_use_id": "t1", "is_error": true,
             "content": [{"type": "image", "source": source}]},
            {"type": "text", "text": "and this one?", "cache_control": eph()}
        ])
    );
}

#[test]
fn budget_thinking_fits_under_max_tokens() {
    let msgs = [Message::user_text("q")];
    let mut req = request("claude-haiku-4-5", &msgs, &[]);
    let b = body(&req);
    assert_eq!(
        b["thinking"],
        json!({"type": "enabled", "budget_tokens": 10000})
    );
    assert_eq!(b["max_tokens"], 64000);
    assert!(b.get("output_config").is_none());
    // The API's minimum, and a budget as large as the model's cap.
    assert_eq!(body_with(&req, 10)["thinking"]["budget_tokens"], 1024);
    assert_eq!(
        body_with(&req, 100_000)["thinking"]["budget_tokens"],
        63_999
    );
    // An explicit answer cap gets the budget on top.
    req.max_output_tokens = Some(500);
    let b = body(&req);
    assert_eq!(
        (
            b["max_tokens"].as_u64(),
            b["thinking"]["budget_tokens"].as_u64()
        ),
        (Some(10_500), Some(10_000))
    );
    // THINKING=0 and REASONING_EFFORT=none: no thinking.
    req.max_output_tokens = None;
    req.thinking = false;
    assert!(body(&req).get("thinking").is_none());
    req.thinking = true;
    req.effort = Some(Effort::None);
    assert!(body(&req).get("thinking").is_none());
    // Models without extended thinking get none.
    let old = request("claude-3-5-haiku-latest", &msgs, &[]);
    let b = body(&old);
    assert!(b.get("thinking").is_none());
    assert_eq!(b["max_tokens"], 8192);
}

#[test]
fn adaptive_thinking_takes_its_effort_from_reasoning_effort() {
    let msgs = [Message::user_text("q")];
    let mut req = request("claude-sonnet-5", &msgs, &[]);
    for (effort, wire) in [
        (Effort::Minimal, "low"),
        (Effort::Low, "low"),
        (Effort::Medium, "medium"),
        (Effort::High, "high"),
        (Effort::Xhigh, "xhigh"),
    ] {
        req.effort = Some(effort);
        let b = body(&req);
        assert_eq!(b["output_config"]["effort"], wire);
        assert_eq!(b["thinking"], json!({"type": "adaptive"}));
    }
    req.effort = Some(Effort::None);
    let b = body(&req);
    assert!(b.get("thinking").is_none());
    assert_eq!(b["output_config"]["effort"], "low");
    req.effort = None;
    req.thinking = false;
    let b = body(&req);
    assert!(b.get("thinking").is_none());
    assert_eq!(b["output_config"]["effort"], "high");
}

#[test]
fn the_prefix_is_identical_from_one_request_to_the_next() {
    // Caching needs tools and system byte for byte the same on every request.
    let tools = [tool("bash"), tool("grep")];
    let first = [Message::user_text("a")];
    let mut second = first.to_vec();
    second.push(Message {
        role: Role::Assistant,
        content: vec![Block::text("b")],
        usage: None,
    });
    second.push(Message::user_text("c"));
    let b1 = body(&request("claude-opus-4-8", &first, &tools));
    let b2 = body(&request("claude-opus-4-8", &second, &tools));
    for key in ["system", "tools"] {
        assert_eq!(
            serde_json::to_string(&b1[key]).unwrap(),
            serde_json::to_string(&b2[key]).unwrap()
        );
    }
    assert_eq!(
        b2["messages"][0]["content"][0],
        json!({"type": "text", "text": "a"})
    );
}

#[test]
fn a_broken_call_goes_back_as_an_empty_object() {
    let msgs = [
        Message::user_text("q"),
        Message {
            role: Role::Assistant,
            content: vec![Block::ToolCall(ToolCall::function(
                "t",
                "bash",
                "{\"command\": \"ls",
            ))],
            usage: None,
        },
    ];
    let b = body(&request("claude-opus-4-8", &msgs, &[]));
    assert_eq!(b["messages"][1]["content"][0]["input"], json!({}));
}

#[test]
fn call_ids_from_other_providers_are_made_valid_and_stay_paired() {
    assert_eq!(tool_id("call_abc-1"), "call_abc-1");
    assert_eq!(tool_id("sx-gemini-0:1"), "sx-gemini-0_1");
    assert_eq!(tool_id("fc.1/2"), "fc_1_2");
    assert_eq!(tool_id(""), "_");
}
