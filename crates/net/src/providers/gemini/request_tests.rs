use super::*;
use crate::event::StreamEvent;
use crate::model::{Image, Thinking, ToolSpec};
use crate::providers::gemini::catalog;
use crate::providers::gemini::stream::decode_body;
use pretty_assertions::assert_eq;
use serde_json::json;
use sx_testkit::gemini::{SIGNATURE, USAGE, call, chunk, encode, finish, signed, text, thought};

fn tools() -> Vec<ToolSpec> {
    vec![ToolSpec {
        name: "grep".into(),
        description: "Search files".into(),
        parameters: json!({"type": "object", "additionalProperties": false,
            "properties": {"pattern": {"type": "string", "default": "x"}}, "required": ["pattern"]}),
    }]
}

fn req<'a>(model: &'a str, messages: &'a [Message], tools: &'a [ToolSpec]) -> Request<'a> {
    Request {
        model,
        system: "You are sx.",
        messages,
        tools,
        effort: None,
        thinking: true,
        session_id: "s",
        turn_id: "t",
        max_output_tokens: None,
        provider_session: None,
    }
}

fn body_of(r: &Request<'_>, cached: Option<&str>) -> Value {
    let ctx = BodyContext {
        model: catalog::model(r.model),
        thinking_budget: 10_000,
        cached_content: cached,
    };
    serde_json::to_value(build_body(r, Prefix::of(r), &ctx)).unwrap()
}

#[test]
fn the_first_request_has_the_official_shape() {
    let msgs = [Message::user_text("say hi")];
    let tools = tools();
    let body = body_of(&req("gemini-3.8-flash", &msgs, &tools), None);
    assert_eq!(
        body,
        json!({
            "contents": [{"parts": [{"text": "say hi"}], "role": "user"}],
            "systemInstruction": {"parts": [{"text": "You are sx."}], "role": "user"},
            "tools": [{"functionDeclarations": [{
                "name": "grep",
                "description": "Search files",
                "parametersJsonSchema": {"type": "object", "additionalProperties": false,
                    "properties": {"pattern": {"type": "string"}}, "required": ["pattern"]}
            }]}],
            "generationConfig": {"thinkingConfig": {"includeThoughts": true, "thinkingLevel": "HIGH"}}
        })
    );
}

#[test]
fn thinking_is_a_budget_or_a_level_by_model_never_both() {
    let msgs = [Message::user_text("x")];
    let cfg = |model: &str, thinking: bool, effort: Option<Effort>| {
        let mut r = req(model, &msgs, &[]);
        r.thinking = thinking;
        r.effort = effort;
        body_of(&r, None)["generationConfig"].clone()
    };
    let tc = |v: Value| v["thinkingConfig"].clone();
    assert_eq!(
        tc(cfg("gemini-2.5-flash", true, Some(Effort::High))),
        json!({"includeThoughts": true, "thinkingBudget": 10000}),
        "2.5: the budget, whatever the effort"
    );
    assert_eq!(
        tc(cfg("gemini-2.5-flash", false, None)),
        json!({"thinkingBudget": 0})
    );
    assert_eq!(
        cfg("gemini-2.5-pro", false, None),
        Value::Null,
        "Pro cannot stop thinking"
    );
    assert_eq!(
        tc(cfg("gemini-3.8-flash", true, Some(Effort::Medium))),
        json!({"includeThoughts": true, "thinkingLevel": "MEDIUM"})
    );
    assert_eq!(
        tc(cfg("gemini-3.8-flash", false, Some(Effort::Minimal))),
        json!({"thinkingLevel": "MINIMAL"})
    );
    assert_eq!(
        tc(cfg("gemini-3.5-flash-lite", true, Some(Effort::Xhigh)))["thinkingLevel"],
        "HIGH"
    );
    assert_eq!(
        tc(cfg("gemini-3.1-pro-preview", true, Some(Effort::Minimal)))["thinkingLevel"],
        "LOW"
    );
    assert_eq!(
        tc(cfg("gemini-3.1-pro-preview", true, Some(Effort::Medium)))["thinkingLevel"],
        "HIGH"
    );
    assert_eq!(cfg("gemini-2.0-flash", true, None), Value::Null);
    let mut r = req("gemini-2.0-flash", &msgs, &[]);
    r.max_output_tokens = Some(512);
    assert_eq!(
        body_of(&r, None)["generationConfig"],
        json!({"maxOutputTokens": 512})
    );
}

/// The assistant message sx records for a Gemini turn, decoded from the wire.
fn recorded_turn() -> Message {
    let sse = encode(&[
        chunk(vec![thought("Plan."), signed(thought(""), "sig-thought")]),
        chunk(vec![text("Checking.")]),
        chunk(vec![thought("Unsigned musing.")]),
        chunk(vec![
            signed(
                call(Some("call_1"), "bash", json!({"command": "ls"})),
                SIGNATURE,
            ),
            call(None, "read_file", json!({"path": "a.txt"})),
        ]),
        finish(vec![], "STOP", USAGE),
    ]);
    decode_body([sse.as_bytes()], &mut |_: StreamEvent<'_>| {})
        .unwrap()
        .message
}

#[test]
fn the_follow_up_replays_signatures_where_they_came_and_answers_each_call() {
    let turn = recorded_turn();
    let local_id = turn.tool_calls().nth(1).unwrap().id.clone();
    let results = Message {
        role: Role::User,
        content: vec![
            Block::ToolResult(ToolResult {
                call_id: "call_1".into(),
                name: "bash".into(),
                output: "a.txt".into(),
                is_error: false,
                images: vec![],
            }),
            Block::ToolResult(ToolResult {
                call_id: local_id.clone(),
                // A transcript written before names were kept.
                name: String::new(),
                output: "no such file".into(),
                is_error: true,
                images: vec![Image {
                    media_type: "image/png".into(),
                    data: "iVBORw0KGgo=".into(),
                    name: None,
                }],
            }),
        ],
        usage: None,
    };
    let msgs = [Message::user_text("list files"), turn, results];
    let body = body_of(&req("gemini-3.8-flash", &msgs, &[]), None);
    assert_eq!(
        body["contents"][1],
        json!({"role": "model", "parts": [
            {"text": "Plan.", "thought": true, "thoughtSignature": "sig-thought"},
            {"text": "Checking."},
            {"functionCall": {"id": "call_1", "name": "bash", "args": {"command": "ls"}}, "thoughtSignature": SIGNATURE},
            {"functionCall": {"name": "read_file", "args": {"path": "a.txt"}}}
        ]}),
        "the unsigned thought is not sent back; the local id is not sent"
    );
    assert_eq!(
        body["contents"][2],
        json!({"role": "user", "parts": [
            {"functionResponse": {"id": "call_1", "name": "bash", "response": {"output": "a.txt"}}},
            {"functionResponse": {"name": "read_file", "response": {"error": "no such file"}}},
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}
        ]})
    );
}

#[test]
fn a_text_signature_goes_back_on_its_text_part() {
    let sse = encode(&[
        chunk(vec![text("All done.")]),
        finish(vec![signed(text(""), "sig-text")], "STOP", USAGE),
    ]);
    let turn = decode_body([sse.as_bytes()], &mut |_: StreamEvent<'_>| {})
        .unwrap()
        .message;
    let msgs = [Message::user_text("x"), turn, Message::user_text("thanks")];
    let body = body_of(&req("gemini-3.8-flash", &msgs, &[]), None);
    assert_eq!(
        body["contents"][1]["parts"],
        json!([{"text": "All done.", "thoughtSignature": "sig-text"}])
    );
}

#[test]
fn foreign_thinking_is_dropped_and_unsigned_calls_get_the_placeholder() {
    let turn = Message {
        role: Role::Assistant,
        content: vec![
            Block::Thinking(Thinking {
                text: "codex thoughts".into(),
                raw: None,
                signature: Some("enc".into()),
                source: Some(crate::ProviderId::Codex),
                replay: Some(json!({"type": "reasoning", "encrypted_content": "enc"})),
            }),
            Block::ToolCall(ToolCall::function("c1", "bash", r#"{"command":"ls"}"#)),
            Block::ToolCall(ToolCall::function("c2", "bash", "not json")),
        ],
        usage: None,
    };
    let empty = Message {
        role: Role::Assistant,
        content: vec![Block::text("")],
        usage: None,
    };
    let msgs = [Message::user_text("x"), turn, empty];
    let body = body_of(&req("gemini-3.8-flash", &msgs, &[]), None);
    assert_eq!(
        body["contents"].as_array().unwrap().len(),
        2,
        "an empty turn is left out"
    );
    assert_eq!(
        body["contents"][1]["parts"],
        json!([
            {"functionCall": {"id": "c1", "name": "bash", "args": {"command": "ls"}}, "thoughtSignature": SKIP_SIGNATURE},
            {"functionCall": {"id": "c2", "name": "bash", "args": {}}}
        ])
    );
}

#[test]
fn images_are_inline_data() {
    let msg = Message {
        role: Role::User,
        content: vec![
            Block::text("what is this?"),
            Block::Image(Image {
                media_type: "image/jpeg".into(),
                data: "/9j/4AAQ".into(),
                name: Some("shot.jpg".into()),
            }),
        ],
        usage: None,
    };
    let msgs = [msg];
    let body = body_of(&req("gemini-3.8-flash", &msgs, &[]), None);
    assert_eq!(
        body["contents"][0]["parts"],
        json!([{"text": "what is this?"}, {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}}])
    );
}

#[test]
fn with_a_cache_the_prefix_is_named_not_sent() {
    let msgs = [Message::user_text("x")];
    let tools = tools();
    let body = body_of(
        &req("gemini-3.8-flash", &msgs, &tools),
        Some("cachedContents/abc"),
    );
    assert_eq!(body["cachedContent"], "cachedContents/abc");
    assert!(
        body.get("systemInstruction").is_none() && body.get("tools").is_none(),
        "{body}"
    );
    assert!(body["generationConfig"]["thinkingConfig"].is_object());
}

#[test]
fn the_fingerprint_follows_model_system_and_tools() {
    let msgs = [Message::user_text("x")];
    let tools = tools();
    let r = req("gemini-3.8-flash", &msgs, &tools);
    let (a, bytes) = Prefix::of(&r).fingerprint("gemini-3.8-flash");
    assert_eq!(bytes, serde_json::to_vec(&Prefix::of(&r)).unwrap().len());
    let other_msgs = [Message::user_text("a different question")];
    let same_prefix = req("gemini-3.8-flash", &other_msgs, &tools);
    assert_eq!(
        Prefix::of(&same_prefix).fingerprint("gemini-3.8-flash").0,
        a
    );
    assert_ne!(Prefix::of(&r).fingerprint("gemini-2.5-flash").0, a);
    let mut changed = req("gemini-3.8-flash", &msgs, &tools);
    changed.system = "Another prompt.";
    assert_ne!(Prefix::of(&changed).fingerprint("gemini-3.8-flash").0, a);
    assert_ne!(
        Prefix::of(&req("gemini-3.8-flash", &msgs, &[]))
            .fingerprint("gemini-3.8-flash")
            .0,
        a
    );
}
