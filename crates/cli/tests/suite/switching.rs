//! One session across providers: started on codex, continued on anthropic, then gemini, then
//! back on codex, with a tool call on each. Every request must be valid for its wire and carry
//! no other provider's opaque state (reasoning items, thinking signatures, thought signatures).

use serde_json::{Value, json};
use sx_testkit::auth::AuthJson;
use sx_testkit::{CODEX_RESPONSES_PATH, MockResponse, anthropic, gemini, responses, sse};

use super::common::{Env, stderr_of};

fn codex_call_then_text(env: &Env, call_id: &str) {
    let mut ev = vec![responses::created(responses::RESP_ID)];
    ev.extend(responses::reasoning_events(
        responses::REASONING_ID,
        "listing first",
        responses::ENCRYPTED_CONTENT,
    ));
    ev.extend(responses::function_call_events(
        responses::FUNCTION_CALL_ID,
        call_id,
        "list_dir",
        r#"{"path":"."}"#,
    ));
    ev.push(responses::completed(responses::RESP_ID, Default::default()));
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&responses::finalize(ev))),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&responses::text_turn("codex is done"))),
    );
}

fn run(env: &Env, args: &[String]) {
    let out = env.cmd("sx").args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
}

fn codex_args(env: &Env, prompt: &str, first: bool) -> Vec<String> {
    let mut a = env.sx_args();
    a.extend(["-p".into(), prompt.into(), "--yolo".into()]);
    if !first {
        a.push("--continue".into());
    }
    a
}

#[test]
fn a_session_moves_from_codex_to_anthropic_to_gemini_and_back() {
    let env = Env::new();
    env.login(AuthJson::new());
    std::fs::write(env.proj.join("notes.txt"), "moving between providers").unwrap();
    let url = env.server.url();

    // 1. codex: reasoning + a call.
    codex_call_then_text(&env, "call_codex_1");
    run(&env, &codex_args(&env, "look around", true));

    // 2. anthropic: thinking (signed) + a call.
    env.server.enqueue(
        "POST",
        anthropic::MESSAGES_PATH,
        MockResponse::sse(sse::encode(&anthropic::thinking_tool_turn(
            "reading notes",
            "Reading.",
            "toolu_anth_1",
            "read_file",
            r#"{"path":"notes.txt"}"#,
        ))),
    );
    env.server.enqueue(
        "POST",
        anthropic::MESSAGES_PATH,
        MockResponse::sse(sse::encode(&anthropic::text_turn("anthropic is done"))),
    );
    let mut a: Vec<String> = [
        "-p",
        "read the notes",
        "--continue",
        "--yolo",
        "--provider",
        "anthropic",
    ]
    .map(String::from)
    .to_vec();
    a.extend([
        "-e".into(),
        format!("ANTHROPIC_BASE_URL={url}"),
        "-e".into(),
        "ANTHROPIC_API_KEY=k".into(),
    ]);
    run(&env, &a);

    // 3. gemini: a signed call.
    let path = gemini::stream_path(gemini::MODEL);
    env.server.enqueue(
        "POST",
        &path,
        MockResponse::sse(gemini::encode(&gemini::call_turn(
            Some("gm_call_1"),
            "list_dir",
            json!({"path": "."}),
            Some(gemini::SIGNATURE),
        ))),
    );
    env.server.enqueue(
        "POST",
        &path,
        MockResponse::sse(gemini::encode(&gemini::text_turn("gemini is done"))),
    );
    let mut g: Vec<String> = [
        "-p",
        "list again",
        "--continue",
        "--yolo",
        "--provider",
        "gemini",
        "-m",
        gemini::MODEL,
    ]
    .map(String::from)
    .to_vec();
    g.extend([
        "-e".into(),
        format!("GEMINI_BASE_URL={url}"),
        "-e".into(),
        "GEMINI_API_KEY=k".into(),
        "-e".into(),
        "GEMINI_CACHE=0".into(),
    ]);
    run(&env, &g);

    // 4. back on codex.
    codex_call_then_text(&env, "call_codex_2");
    run(&env, &codex_args(&env, "and once more", false));

    let anth = env.server.requests_to(anthropic::MESSAGES_PATH);
    let gem = env.server.requests_to(&path);
    let cdx = env.server.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!((anth.len(), gem.len(), cdx.len()), (2, 2, 4));

    // Anthropic: the codex call and its result as tool_use/tool_result, paired, roles
    // alternating; no codex reasoning.
    let body = anth[0].json();
    let text = body.to_string();
    assert!(
        !text.contains(responses::ENCRYPTED_CONTENT),
        "no codex reasoning: {text}"
    );
    assert_paired_anthropic(&body["messages"]);
    assert!(
        text.contains("call_codex_1"),
        "the codex call is in the history"
    );

    // Gemini: every functionCall answered by a functionResponse of the same name; no anthropic
    // signature, no codex reasoning; its own signature goes back on its own call.
    let body = gem[0].json();
    let text = body.to_string();
    assert!(
        !text.contains(anthropic::SIGNATURE),
        "no anthropic signature: {text}"
    );
    assert!(
        !text.contains(responses::ENCRYPTED_CONTENT),
        "no codex reasoning"
    );
    assert_paired_gemini(&body["contents"]);
    let follow = gem[1].json().to_string();
    assert!(
        follow.contains(gemini::SIGNATURE),
        "its own signature goes back"
    );

    // Codex again: only its own reasoning items, the foreign calls as function calls with
    // their outputs; no foreign signatures.
    let body = cdx[2].json();
    let text = body.to_string();
    assert!(
        !text.contains(anthropic::SIGNATURE) && !text.contains(gemini::SIGNATURE),
        "{text}"
    );
    let input = body["input"].as_array().unwrap();
    let calls: Vec<&str> = input
        .iter()
        .filter(|i| i["type"] == "function_call")
        .map(|i| i["call_id"].as_str().unwrap())
        .collect();
    let outputs: Vec<&str> = input
        .iter()
        .filter(|i| i["type"] == "function_call_output")
        .map(|i| i["call_id"].as_str().unwrap())
        .collect();
    assert_eq!(calls, outputs, "every call answered, in order");
    assert_eq!(
        calls.len(),
        3,
        "codex, anthropic and gemini calls: {calls:?}"
    );
    for r in input.iter().filter(|i| i["type"] == "reasoning") {
        assert_eq!(r["encrypted_content"], responses::ENCRYPTED_CONTENT);
    }
}

fn assert_paired_anthropic(messages: &Value) {
    let msgs = messages.as_array().unwrap();
    for w in msgs.windows(2) {
        assert_ne!(w[0]["role"], w[1]["role"], "roles alternate: {messages}");
    }
    for (i, m) in msgs.iter().enumerate() {
        let Some(blocks) = m["content"].as_array() else {
            continue;
        };
        for b in blocks.iter().filter(|b| b["type"] == "tool_use") {
            let id = &b["id"];
            let id_ok = id.as_str().is_some_and(|s| {
                s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            });
            assert!(id_ok, "a valid tool_use id: {id}");
            let next = &msgs[i + 1]["content"];
            assert!(
                next.as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["type"] == "tool_result" && r["tool_use_id"] == *id),
                "tool_use {id} answered in the next message: {messages}"
            );
        }
    }
}

fn assert_paired_gemini(contents: &Value) {
    let cs = contents.as_array().unwrap();
    for (i, c) in cs.iter().enumerate() {
        for p in c["parts"].as_array().unwrap() {
            if let Some(fc) = p.get("functionCall") {
                let name = &fc["name"];
                let next = &cs[i + 1]["parts"];
                assert!(
                    next.as_array()
                        .unwrap()
                        .iter()
                        .any(|r| r["functionResponse"]["name"] == *name),
                    "functionCall {name} answered: {contents}"
                );
            }
        }
    }
}
