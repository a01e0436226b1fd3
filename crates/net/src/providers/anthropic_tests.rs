//! The Anthropic wire against a loopback mock: URL and headers, which credential is sent,
//! retries of 529 and of an error inside a 200 stream, a rejected key, and the paged model
//! list. (Body: `anthropic/request_tests.rs`; stream: `anthropic/stream_tests.rs`.)

use sx_testkit::anthropic::{self as a, MESSAGES_PATH, MODELS_PATH};
use sx_testkit::{Expect, MockResponse, MockServer, sse};

use super::*;
use crate::Provider;
use crate::event::StreamEvent;
use crate::model::Message;

struct Setup {
    mock: MockServer,
    provider: AnthropicProvider,
    _dir: tempfile::TempDir,
}

fn config(overrides: &[(&str, &str)]) -> (sx_config::Config, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut all = vec![
        ("PROVIDER".to_string(), "anthropic".to_string()),
        ("RETRY_BASE_DELAY_MS".to_string(), "1".to_string()),
    ];
    all.extend(
        overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let config = sx_config::load(&sx_config::LoadOptions {
        cwd: dir.path().to_path_buf(),
        home: Some(home),
        exe_dir: Some(dir.path().join("exe")),
        env: Some(Vec::new()),
        overrides: all,
    })
    .unwrap();
    (config, dir)
}

fn setup(base_suffix: &str, overrides: &[(&str, &str)]) -> Setup {
    let mock = MockServer::start();
    let base = format!("{}{base_suffix}", mock.url());
    let mut all = vec![("ANTHROPIC_BASE_URL", base.as_str())];
    all.extend_from_slice(overrides);
    let (config, dir) = config(&all);
    let provider = open(&config, OpenOptions::default()).unwrap();
    Setup {
        mock,
        provider,
        _dir: dir,
    }
}

fn answer(text: &str) -> MockResponse {
    MockResponse::sse(sse::encode(&a::text_turn(text)))
}

async fn call(s: &Setup) -> (Vec<String>, Result<String, ProviderError>) {
    let msgs = [Message::user_text("hi")];
    let req = Request {
        model: "claude-sonnet-5",
        system: "sys",
        messages: &msgs,
        tools: &[],
        effort: None,
        thinking: true,
        session_id: "019a0000-0000-7000-8000-000000000001",
        turn_id: "t1",
        max_output_tokens: None,
        provider_session: None,
    };
    let mut retries = Vec::new();
    let r = s
        .provider
        .stream(&req, &mut |ev| {
            if let StreamEvent::Retry { reason, delay, .. } = ev {
                retries.push(format!("{}ms {reason}", delay.as_millis()));
            }
        })
        .await;
    (retries, r.map(|c| c.message.text()))
}

#[tokio::test]
async fn the_request_goes_to_v1_messages_with_the_version_and_the_key() {
    // A base that already ends in /v1 (and a trailing slash) is the same place.
    for suffix in ["", "/v1/"] {
        let s = setup(suffix, &[("ANTHROPIC_API_KEY", "sk-ant-test")]);
        s.mock.expect(
            "POST",
            MESSAGES_PATH,
            Expect::new()
                .header("x-api-key", "sk-ant-test")
                .header("anthropic-version", "2023-06-01")
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .no_header("authorization"),
        );
        s.mock.enqueue("POST", MESSAGES_PATH, answer("hello"));
        assert_eq!(call(&s).await.1.unwrap(), "hello");
        s.mock.verify();
        let req = &s.mock.requests_to(MESSAGES_PATH)[0];
        assert_eq!(req.json()["model"], "claude-sonnet-5");
        assert!(req.header("user-agent").unwrap().starts_with("sx/"));
    }
}

#[tokio::test]
async fn a_gateway_token_is_a_bearer_and_wins_over_the_key() {
    let s = setup(
        "",
        &[
            ("ANTHROPIC_API_KEY", "sk-ant-test"),
            ("ANTHROPIC_AUTH_TOKEN", "gw-token"),
        ],
    );
    s.mock.expect(
        "POST",
        MESSAGES_PATH,
        Expect::new().bearer("gw-token").no_header("x-api-key"),
    );
    s.mock.enqueue("POST", MESSAGES_PATH, answer("via gateway"));
    assert_eq!(call(&s).await.1.unwrap(), "via gateway");
    s.mock.verify();
}

#[test]
fn without_a_key_the_error_names_it() {
    let (config, _dir) = config(&[]);
    let e = open(&config, OpenOptions::default()).err().unwrap();
    assert_eq!(e.exit_code(), 2);
    let m = e.to_string();
    assert!(
        m.contains("ANTHROPIC_API_KEY") && m.contains("ANTHROPIC_AUTH_TOKEN"),
        "{m}"
    );
}

#[tokio::test]
async fn overloaded_529_is_retried_after_the_servers_delay() {
    let s = setup("", &[("ANTHROPIC_API_KEY", "k")]);
    s.mock
        .expect("POST", MESSAGES_PATH, Expect::new().same_body_as_first());
    s.mock.enqueue(
        "POST",
        MESSAGES_PATH,
        MockResponse::json(529, a::error("overloaded_error", "Overloaded"))
            .header("retry-after", "0.02"),
    );
    s.mock
        .enqueue("POST", MESSAGES_PATH, answer("after the wait"));
    let (retries, r) = call(&s).await;
    assert_eq!(r.unwrap(), "after the wait");
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert!(retries[0].starts_with("20ms"), "{retries:?}");
    assert!(retries[0].contains("Overloaded"), "{retries:?}");
    s.mock.verify();
}

#[tokio::test]
async fn an_overloaded_error_inside_a_200_stream_is_retried() {
    let s = setup("", &[("ANTHROPIC_API_KEY", "k")]);
    let mut events = vec![a::message_start(a::TURN_USAGE)];
    events.extend(a::text_block(0, "partial"));
    events.push(a::error("overloaded_error", "Overloaded"));
    s.mock.enqueue(
        "POST",
        MESSAGES_PATH,
        MockResponse::sse(sse::encode(&events)),
    );
    s.mock.enqueue("POST", MESSAGES_PATH, answer("whole"));
    let (retries, r) = call(&s).await;
    assert_eq!(r.unwrap(), "whole");
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert_eq!(s.mock.requests_to(MESSAGES_PATH).len(), 2);
}

#[tokio::test]
async fn a_rejected_key_is_an_auth_error_naming_the_key() {
    let s = setup("", &[("ANTHROPIC_API_KEY", "sk-bad")]);
    s.mock.enqueue(
        "POST",
        MESSAGES_PATH,
        MockResponse::json(401, a::error("authentication_error", "invalid x-api-key")),
    );
    let e = call(&s).await.1.unwrap_err();
    assert_eq!(e.exit_code(), 3);
    let m = e.to_string();
    assert!(
        m.contains("ANTHROPIC_API_KEY") && m.contains("invalid x-api-key"),
        "{m}"
    );
    assert!(!m.contains("sk-bad"), "{m}");
    assert_eq!(
        s.mock.requests_to(MESSAGES_PATH).len(),
        1,
        "a key is not retried"
    );
}

#[tokio::test]
async fn the_model_list_follows_its_pages() {
    let s = setup("", &[("ANTHROPIC_API_KEY", "k")]);
    s.mock.expect(
        "GET",
        MODELS_PATH,
        Expect::new()
            .header("x-api-key", "k")
            .header("anthropic-version", "2023-06-01"),
    );
    let page = |ids: &[&str], more: bool| {
        let data: Vec<serde_json::Value> = ids
            .iter()
            .map(|id| serde_json::json!({"type": "model", "id": id, "display_name": id.to_uppercase(), "created_at": "2026-01-01T00:00:00Z"}))
            .collect();
        MockResponse::json(
            200,
            serde_json::json!({"data": data, "has_more": more, "first_id": ids[0], "last_id": ids[ids.len() - 1]}),
        )
    };
    s.mock.enqueue(
        "GET",
        MODELS_PATH,
        page(&["claude-opus-4-8", "claude-sonnet-5"], true),
    );
    s.mock
        .enqueue("GET", MODELS_PATH, page(&["claude-haiku-4-5"], false));
    let list = s.provider.list_models().await.unwrap();
    let ids: Vec<&str> = list.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        ["claude-opus-4-8", "claude-sonnet-5", "claude-haiku-4-5"]
    );
    assert_eq!(list[0].display_name.as_deref(), Some("CLAUDE-OPUS-4-8"));
    let reqs = s.mock.requests_to(MODELS_PATH);
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[1].query.as_deref(),
        Some("limit=1000&after_id=claude-sonnet-5")
    );
    s.mock.verify();
}

#[tokio::test]
async fn context_windows_and_capabilities() {
    let s = setup("", &[("ANTHROPIC_API_KEY", "k")]);
    assert_eq!(s.provider.context_window("claude-opus-4-8"), Some(200_000));
    let caps = s.provider.capabilities();
    assert!(caps.vision && !caps.runs_own_tools && !caps.keeps_own_history);
    assert_eq!(caps.caching, crate::providers::Caching::Breakpoints);
}
