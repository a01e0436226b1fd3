use serde_json::json;
use sxnet::ProviderId;
use sxnet::model::{Block, Effort, Role};

use super::*;
use crate::router::state::State;

fn parse(v: serde_json::Value) -> Incoming {
    Incoming::parse(v.to_string().as_bytes()).unwrap()
}

fn invalid(v: serde_json::Value) -> String {
    match Incoming::parse(v.to_string().as_bytes()) {
        Err(Invalid(m)) => m,
        Ok(_) => panic!("accepted: {v}"),
    }
}

#[test]
fn system_as_string_or_blocks_and_the_request_fields() {
    let i = parse(json!({
        "model": "claude-sonnet-5", "max_tokens": 32000, "stream": true,
        "system": [{"type":"text","text":"You are Claude Code."},
                   {"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],
        "messages": [{"role":"user","content":"hi"}],
        "tools": [{"name":"Bash","description":"run","input_schema":{"type":"object"}},
                  {"type":"web_search_20250305","name":"web_search"}],
        "temperature": 1, "tool_choice": {"type":"auto"},
    }));
    assert_eq!(i.model, "claude-sonnet-5");
    assert_eq!(i.system, "You are Claude Code.\n\nBe brief.");
    assert_eq!(i.max_tokens, 32000);
    assert!(i.stream);
    assert_eq!(i.tools.len(), 1, "server tools are left out");
    assert_eq!(i.tools[0].name, "Bash");
    assert_eq!(i.tools[0].parameters, json!({"type":"object"}));
    let i = parse(json!({"model":"m","max_tokens":1,"system":"plain","messages":[]}));
    assert_eq!(i.system, "plain");
    assert!(!i.stream && !i.thinking);
}

#[test]
fn thinking_forms_and_effort() {
    let t = |thinking: serde_json::Value, output: serde_json::Value| {
        let i = parse(json!({"model":"m","max_tokens":9,"messages":[],
            "thinking": thinking, "output_config": output}));
        (i.thinking, i.effort)
    };
    assert_eq!(
        t(json!({"type":"enabled","budget_tokens":31999}), json!(null)),
        (true, Some(Effort::High))
    );
    assert_eq!(
        t(json!({"type":"enabled","budget_tokens":1024}), json!(null)),
        (true, Some(Effort::Low))
    );
    assert_eq!(
        t(json!({"type":"enabled","budget_tokens":8000}), json!(null)),
        (true, Some(Effort::Medium))
    );
    assert_eq!(
        t(json!({"type":"adaptive"}), json!({"effort":"max"})),
        (true, Some(Effort::Xhigh))
    );
    assert_eq!(t(json!({"type":"adaptive"}), json!(null)), (true, None));
    assert_eq!(
        t(json!({"type":"disabled"}), json!({"effort":"low"})),
        (false, Some(Effort::Low))
    );
}

#[test]
fn malformed_requests_say_what_is_wrong() {
    assert!(
        Incoming::parse(b"{not json")
            .err()
            .unwrap()
            .0
            .contains("not a Messages request")
    );
    assert!(invalid(json!({"max_tokens":1,"messages":[]})).contains("model: field required"));
    assert!(invalid(json!({"model":"m","messages":[]})).contains("max_tokens: field required"));
    assert!(invalid(json!({"model":"m","max_tokens":1})).contains("messages: field required"));
    assert!(
        invalid(json!({"model":"m","max_tokens":1,"messages":[{"role":"tool","content":"x"}]}))
            .contains("messages.0.role")
    );
    assert!(
        invalid(json!({"model":"m","max_tokens":1,"messages":[],"tools":[{"name":"x"}]}))
            .contains("tools.0.input_schema")
    );
}

const PNG: &str = "iVBORw0KGgo=";

fn history(upstream: ProviderId, extra: Vec<serde_json::Value>) -> Vec<sxnet::model::Message> {
    let codex = State {
        p: ProviderId::Codex,
        s: Some("enc".into()),
        r: Some(json!({"type":"reasoning","encrypted_content":"enc","summary":[]})),
        c: Default::default(),
    }
    .encode();
    let gemini_call = State {
        p: ProviderId::Gemini,
        s: None,
        r: None,
        c: [("call_1".to_string(), "gem-sig".to_string())].into(),
    }
    .encode();
    let mut assistant = vec![
        json!({"type":"thinking","thinking":"Plan.","signature":codex}),
        json!({"type":"text","text":"Reading."}),
        json!({"type":"redacted_thinking","data":gemini_call}),
        json!({"type":"tool_use","id":"call_1","name":"Read","input":{"path":"a.txt"}}),
        json!({"type":"server_tool_use","id":"s1","name":"web_search","input":{}}),
    ];
    assistant.extend(extra);
    let i = parse(json!({"model":"m","max_tokens":1,"messages":[
        {"role":"user","content":[
            {"type":"text","text":"look"},
            {"type":"image","source":{"type":"base64","media_type":"image/png","data":PNG}}]},
        {"role":"assistant","content":assistant},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":[
            {"type":"text","text":"line one"},
            {"type":"image","source":{"type":"base64","media_type":"image/png","data":PNG}}]}]},
    ]}));
    i.conversation(upstream).unwrap()
}

#[test]
fn the_conversation_with_images_tools_and_state_read_back() {
    let m = history(ProviderId::Gemini, vec![]);
    assert_eq!(m.len(), 3);
    assert_eq!(m[0].role, Role::User);
    assert!(
        matches!(&m[0].content[1], Block::Image(img) if img.data == PNG && img.media_type == "image/png")
    );
    let Block::Thinking(t) = &m[1].content[0] else {
        panic!("{:?}", m[1].content)
    };
    assert_eq!(
        (t.text.as_str(), t.source, t.signature.as_deref()),
        ("Plan.", Some(ProviderId::Codex), Some("enc"))
    );
    assert_eq!(t.replay.as_ref().unwrap()["type"], "reasoning");
    assert!(matches!(&m[1].content[1], Block::Text { text, .. } if text == "Reading."));
    let Block::ToolCall(c) = &m[1].content[2] else {
        panic!("{:?}", m[1].content)
    };
    assert_eq!(
        (c.id.as_str(), c.name.as_str(), c.arguments.as_str()),
        ("call_1", "Read", r#"{"path":"a.txt"}"#)
    );
    assert_eq!(
        c.signature.as_deref(),
        Some("gem-sig"),
        "Gemini's own call signature"
    );
    assert_eq!(
        m[1].content.len(),
        3,
        "the server tool block is not sent on"
    );
    let Block::ToolResult(r) = &m[2].content[0] else {
        panic!("{:?}", m[2].content)
    };
    assert_eq!(
        (r.call_id.as_str(), r.name.as_str(), r.output.as_str()),
        ("call_1", "Read", "line one")
    );
    assert_eq!(r.images.len(), 1);
}

#[test]
fn a_call_signature_goes_only_to_the_upstream_that_made_it() {
    for other in [ProviderId::Codex, ProviderId::Anthropic, ProviderId::Openai] {
        let m = history(other, vec![]);
        let Block::ToolCall(c) = &m[1].content[2] else {
            panic!()
        };
        assert_eq!(c.signature, None, "{other}");
    }
}

#[test]
fn unsupported_user_content_is_refused_naming_the_block() {
    let req = |block: serde_json::Value| {
        let i = parse(json!({"model":"m","max_tokens":1,
            "messages":[{"role":"user","content":[{"type":"text","text":"x"}, block]}]}));
        i.conversation(ProviderId::Codex).unwrap_err().0
    };
    let e = req(json!({"type":"document","source":{"type":"base64","data":"x"}}));
    assert!(
        e.contains("messages.0.content.1") && e.contains("document"),
        "{e}"
    );
    let e = req(json!({"type":"image","source":{"type":"url","url":"https://x/y.png"}}));
    assert!(e.contains("'url' images") && e.contains("base64"), "{e}");
    let e = req(json!({"type":"mystery"}));
    assert!(e.contains("'mystery'"), "{e}");
}

#[test]
fn the_estimate_counts_text_tools_and_images_but_not_state() {
    let base = |content: serde_json::Value| {
        parse(json!({"model":"m","max_tokens":1,"messages":[{"role":"user","content":content}]}))
            .input_tokens
    };
    assert_eq!(base(json!("x".repeat(4000))), 1000);
    let with_image = base(
        json!([{"type":"image","source":{"type":"base64","media_type":"image/png","data":"A".repeat(400_000)}}]),
    );
    assert_eq!(
        with_image, 1_600,
        "an image counts as itself, not its base64"
    );
    let i = parse(
        json!({"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[
        {"type":"thinking","thinking":"abcd","signature":"S".repeat(100_000)}]}]}),
    );
    assert!(i.input_tokens < 100, "{}", i.input_tokens);
    let n = Incoming::parse_for_count(
        json!({"model":"m","messages":[{"role":"user","content":"x".repeat(400)}]})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(n, 100);
}

#[test]
fn the_session_key_is_stable_for_one_conversation() {
    let req = |msgs: serde_json::Value, user: &str| {
        parse(
            json!({"model":"m","max_tokens":1,"system":"s","messages":msgs,
            "metadata":{"user_id":user}}),
        )
        .session_id
    };
    let first = json!([{"role":"user","content":"hello"}]);
    let later = json!([{"role":"user","content":"hello"},{"role":"assistant","content":"hi"},
                       {"role":"user","content":"more"}]);
    let a = req(first.clone(), "u1");
    assert_eq!(a, req(later, "u1"));
    assert_ne!(a, req(first.clone(), "u2"));
    assert_ne!(a, req(json!([{"role":"user","content":"other"}]), "u1"));
    assert_eq!(a.len(), 36);
    assert!(uuid::Uuid::parse_str(&a).is_ok(), "{a}");
}

#[test]
fn a_system_message_mid_conversation_is_read_where_it_stands() {
    let i = parse(
        json!({"model":"m","max_tokens":1,"system":"top","messages":[
        {"role":"user","content":"hi"},
        {"role":"system","content":"Available agent types: Explore."},
        {"role":"system","content":[{"type":"text","text":"Reminder."}]},
        {"role":"assistant","content":"ok"}]}),
    );
    let m = i.conversation(ProviderId::Codex).unwrap();
    let texts: Vec<(Role, String)> = m.iter().map(|m| (m.role, m.text())).collect();
    assert_eq!(
        texts,
        [
            (Role::User, "hi".to_string()),
            (Role::User, "Available agent types: Explore.".to_string()),
            (Role::User, "Reminder.".to_string()),
            (Role::Assistant, "ok".to_string()),
        ]
    );
    assert_eq!(i.system, "top", "the system prompt stays as it was");
}
