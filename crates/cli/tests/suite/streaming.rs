//! `STREAMING=0` (docs/configuration.md, "STREAMING"): the whole-answer form of each wire, what
//! happens where there is none (Codex with a ChatGPT login: streamed, one notice), a server
//! that streams anyway, and a whole answer cut off on the way (retried). The agent scenario
//! on every wire, unstreamed, is in `scenario.rs`.

use pretty_assertions::assert_eq;
use serde_json::json;
use sx_testkit::auth::AuthJson;
use sx_testkit::{
    CODEX_RESPONSES_PATH, Chunk, MockResponse, anthropic, fixture, fixture_json, openai, responses,
    sse,
};

use super::common::{Env, error_line, stderr_of};

fn unstreamed(env: &Env, provider: &str) -> Vec<String> {
    let url = env.server.url();
    let mut a: Vec<String> = [
        "--provider",
        provider,
        "-e",
        "STREAMING=0",
        "-e",
        "RETRY_BASE_DELAY_MS=5",
    ]
    .map(String::from)
    .to_vec();
    match provider {
        "anthropic" => a.extend([
            "-e".into(),
            format!("ANTHROPIC_BASE_URL={url}"),
            "-e".into(),
            "ANTHROPIC_API_KEY=sk-ant-test".into(),
        ]),
        "openai" => a.extend([
            "-e".into(),
            format!("OPENAI_BASE_URL={url}"),
            "-m".into(),
            "m".into(),
        ]),
        _ => unreachable!(),
    }
    a
}

/// `sx -p PROMPT` with `STREAMING=0` on `provider` at the mock.
fn sx_unstreamed(env: &Env, provider: &str, prompt: &str) -> std::process::Output {
    env.cmd("sx")
        .args(unstreamed(env, provider))
        .args(["-p", prompt])
        .output()
        .unwrap()
}

#[test]
fn a_whole_answer_prints_like_a_stream_in_text_mode() {
    let env = Env::new();
    env.server.enqueue(
        "POST",
        anthropic::MESSAGES_PATH,
        MockResponse::json(200, fixture_json("anthropic/message_text.json")),
    );
    let out = sx_unstreamed(&env, "anthropic", "say hi");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello from the mock.\n"
    );
    let r = &env.server.requests_to(anthropic::MESSAGES_PATH)[0];
    assert_eq!(r.json()["stream"], false);
}

#[test]
fn a_chatgpt_login_stays_streamed_and_says_so_once() {
    let env = Env::new();
    env.login(AuthJson::new());
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&responses::function_call_turn(
            "call_1",
            "list_dir",
            r#"{"path":"."}"#,
        ))),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/text.sse")),
    );
    let out = env
        .sx()
        .args(["-e", "STREAMING=0", "-p", "look around"])
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello from the mock.\n"
    );
    let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert_eq!(r.json()["stream"], true, "the ChatGPT backend only streams");
        assert_eq!(r.header("accept"), Some("text/event-stream"));
    }
    let notices = stderr
        .lines()
        .filter(|l| l.contains("STREAMING=0 is ignored with a ChatGPT login"))
        .count();
    assert_eq!(notices, 1, "one notice per run: {stderr}");
}

#[test]
fn without_streaming_0_nothing_is_said() {
    let env = Env::new();
    env.login(AuthJson::new());
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/text.sse")),
    );
    let out = env.sx().args(["-p", "hi"]).output().unwrap();
    let stderr = stderr_of(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("STREAMING"), "{stderr}");
}

#[test]
fn a_server_that_streams_anyway_is_read_as_a_stream() {
    let env = Env::new();
    env.server.enqueue(
        "POST",
        openai::CHAT_PATH,
        MockResponse::sse(fixture("openai/text.sse")),
    );
    let out = sx_unstreamed(&env, "openai", "hi");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello from the mock.\n"
    );
    assert_eq!(
        env.server.requests_to(openai::CHAT_PATH)[0].json()["stream"],
        false
    );
}

#[test]
fn a_whole_answer_cut_off_is_retried_and_one_that_is_not_the_apis_is_reported() {
    let env = Env::new();
    let body = serde_json::to_vec(&fixture_json("openai/completion_text.json")).unwrap();
    let half = body[..body.len() / 2].to_vec();
    env.server.enqueue(
        "POST",
        openai::CHAT_PATH,
        MockResponse::sse_chunks(vec![Chunk::Bytes(half.into()), Chunk::Abort])
            .content_type("application/json"),
    );
    env.server.enqueue(
        "POST",
        openai::CHAT_PATH,
        MockResponse::json(200, fixture_json("openai/completion_text.json")),
    );
    let out = sx_unstreamed(&env, "openai", "hi");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello from the mock.\n"
    );
    assert_eq!(env.server.requests_to(openai::CHAT_PATH).len(), 2);

    // A 200 whose body is no completion: one error line, exit 1, not retried.
    let env = Env::new();
    env.server.enqueue(
        "POST",
        openai::CHAT_PATH,
        MockResponse::json(200, json!({"hello": "world"})),
    );
    let out = sx_unstreamed(&env, "openai", "hi");
    assert_eq!(out.status.code(), Some(1));
    let line = error_line(&out);
    assert!(line.contains("the answer has no choices"), "{line}");
    assert_eq!(env.server.requests_to(openai::CHAT_PATH).len(), 1);
}
