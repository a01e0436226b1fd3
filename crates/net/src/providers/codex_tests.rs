//! The Codex wire against a loopback mock: headers per model and version, the turn state,
//! rate-limit headers, and the catalog deciding the shape of a model the built-in table lacks.
//! (Body building: `codex/request_tests.rs`; stream translation: `codex/stream_tests.rs`.)

use serde_json::{Value, json};
use sx_testkit::auth::AuthJson;
use sx_testkit::responses::{
    RESP_ID, Usage as MockUsage, completed, created, finalize, message_events,
};
use sx_testkit::{CODEX_RESPONSES_PATH, MockResponse, MockServer};

use super::*;
use crate::Provider;
use crate::event::RateLimits;
use crate::model::Message;

const MODELS_PATH: &str = "/backend-api/codex/models";

struct Setup {
    mock: MockServer,
    provider: CodexProvider,
    _dir: tempfile::TempDir,
}

fn setup(overrides: &[(&str, &str)]) -> Setup {
    let mock = MockServer::start();
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth.json");
    AuthJson::new().write(&auth);
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut all = vec![
        ("PROVIDER".to_string(), "codex".to_string()),
        ("CODEX_BASE_URL".to_string(), mock.codex_base()),
        (
            "CODEX_CREDENTIALS_FILE".to_string(),
            auth.display().to_string(),
        ),
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
    let provider = open(&config, OpenOptions::default()).unwrap();
    Setup {
        mock,
        provider,
        _dir: dir,
    }
}

fn answer(text: &str) -> MockResponse {
    let mut events = vec![created(RESP_ID)];
    events.extend(message_events("msg_1", text, None));
    events.push(completed(RESP_ID, MockUsage::default()));
    MockResponse::sse_events(&finalize(events))
}

async fn call(s: &Setup, model: &str, turn: &str) -> (Vec<RateLimits>, Result<String, String>) {
    let msgs = [Message::user_text("hi")];
    let req = Request {
        model,
        system: "sys",
        messages: &msgs,
        tools: &[],
        effort: None,
        thinking: true,
        session_id: "019a0000-0000-7000-8000-000000000001",
        turn_id: turn,
        max_output_tokens: None,
        provider_session: None,
    };
    let mut limits = Vec::new();
    let r = s
        .provider
        .stream(&req, &mut |ev| {
            if let StreamEvent::RateLimits(l) = ev {
                limits.push(l.clone());
            }
        })
        .await;
    (
        limits,
        r.map(|c| c.message.text()).map_err(|e| e.to_string()),
    )
}

fn header<'r>(r: &'r sx_testkit::Recorded, name: &str) -> Option<&'r str> {
    r.header(name)
}

#[tokio::test]
async fn every_request_carries_the_version_and_routing_hint_and_lite_models_their_header() {
    let s = setup(&[]);
    s.mock.enqueue("POST", CODEX_RESPONSES_PATH, answer("a"));
    s.mock.enqueue("POST", CODEX_RESPONSES_PATH, answer("b"));
    assert_eq!(call(&s, "gpt-5.5", "t1").await.1.unwrap(), "a");
    assert_eq!(call(&s, "gpt-6.1-sol", "t2").await.1.unwrap(), "b");
    let reqs = s.mock.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!(header(&reqs[0], "version"), Some(CODEX_WIRE_VERSION));
    assert_eq!(
        header(&reqs[0], "x-codex-routing-hint"),
        Some("model=gpt-5.5")
    );
    assert_eq!(
        header(&reqs[0], "x-openai-internal-codex-responses-lite"),
        None
    );
    assert_eq!(header(&reqs[0], "originator"), Some("sx"));
    assert!(reqs[0].json()["tools"].is_array());
    assert_eq!(header(&reqs[1], "version"), Some(CODEX_WIRE_VERSION));
    assert_eq!(
        header(&reqs[1], "x-codex-routing-hint"),
        Some("model=gpt-6.1-sol")
    );
    assert_eq!(
        header(&reqs[1], "x-openai-internal-codex-responses-lite"),
        Some("true")
    );
    let body = reqs[1].json();
    assert!(body.get("tools").is_none());
    assert_eq!(body["reasoning"]["context"], "all_turns");
    assert_eq!(
        body["input"].as_array().unwrap().last().unwrap()["type"],
        "configuration_update"
    );
}

#[tokio::test]
async fn the_client_version_and_originator_can_be_set() {
    let s = setup(&[
        ("CODEX_CLIENT_VERSION", "0.200.1"),
        ("CODEX_ORIGINATOR", "codex_exec"),
    ]);
    s.mock.enqueue("POST", CODEX_RESPONSES_PATH, answer("a"));
    s.mock.enqueue(
        "GET",
        MODELS_PATH,
        MockResponse::json(200, json!({"models":[{"slug":"gpt-5.5","priority":0}]})),
    );
    call(&s, "gpt-5.5", "t1").await.1.unwrap();
    let ids: Vec<String> = s
        .provider
        .list_models()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, ["gpt-5.5"]);
    let r = &s.mock.requests_to(CODEX_RESPONSES_PATH)[0];
    assert_eq!(header(r, "version"), Some("0.200.1"));
    assert_eq!(header(r, "originator"), Some("codex_exec"));
    let ua = header(r, "user-agent").unwrap();
    assert!(ua.starts_with("codex_exec/0.200.1 ("), "{ua}");
    assert!(ua.ends_with(" (codex_exec; 0.200.1)"), "{ua}");
    let m = &s.mock.requests_to(MODELS_PATH)[0];
    assert_eq!(m.query.as_deref(), Some("client_version=0.200.1"));
    assert_eq!(header(m, "version"), Some("0.200.1"));
    assert!(header(m, "authorization").unwrap().starts_with("Bearer "));
}

#[tokio::test]
async fn the_turn_state_sticks_within_a_turn_and_never_crosses_turns() {
    let s = setup(&[]);
    let with_state = |v: &str| answer("x").header("x-codex-turn-state", v);
    s.mock
        .enqueue("POST", CODEX_RESPONSES_PATH, with_state("ts-1"));
    s.mock
        .enqueue("POST", CODEX_RESPONSES_PATH, with_state("ts-ignored"));
    s.mock.enqueue("POST", CODEX_RESPONSES_PATH, answer("x"));
    s.mock
        .enqueue("POST", CODEX_RESPONSES_PATH, with_state("ts-2"));
    s.mock.enqueue("POST", CODEX_RESPONSES_PATH, answer("x"));
    call(&s, "gpt-5.5", "turn-1").await.1.unwrap();
    call(&s, "gpt-5.5", "turn-1").await.1.unwrap();
    call(&s, "gpt-5.5", "turn-1").await.1.unwrap();
    call(&s, "gpt-5.5", "turn-2").await.1.unwrap();
    call(&s, "gpt-5.5", "turn-2").await.1.unwrap();
    let sent: Vec<Option<String>> = s
        .mock
        .requests_to(CODEX_RESPONSES_PATH)
        .iter()
        .map(|r| r.header("x-codex-turn-state").map(str::to_owned))
        .collect();
    assert_eq!(
        sent,
        [
            None,
            Some("ts-1".into()),
            Some("ts-1".into()),
            None,
            Some("ts-2".into())
        ]
    );
}

#[tokio::test]
async fn rate_limit_headers_become_an_event() {
    let s = setup(&[]);
    s.mock.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        answer("x")
            .header("x-codex-primary-used-percent", "93.5")
            .header("x-codex-primary-window-minutes", "300")
            .header("x-codex-primary-reset-at", "1767225600")
            .header("x-codex-secondary-used-percent", "40"),
    );
    let (limits, r) = call(&s, "gpt-5.5", "t").await;
    r.unwrap();
    assert_eq!(limits.len(), 1);
    let v: Value = serde_json::to_value(&limits[0]).unwrap();
    assert_eq!(
        v,
        json!({"primary":{"used_percent":93.5,"window_minutes":300,"resets_at":1767225600},
               "secondary":{"used_percent":40.0}})
    );
}

#[tokio::test]
async fn an_unknown_model_asks_the_catalog_once_which_shape_it_gets() {
    let s = setup(&[]);
    s.mock.enqueue(
        "GET",
        MODELS_PATH,
        MockResponse::json(
            200,
            json!({"models":[{"slug":"gpt-7-sol","use_responses_lite":true,"context_window":500000}]}),
        ),
    );
    s.mock.enqueue("POST", CODEX_RESPONSES_PATH, answer("a"));
    s.mock.enqueue("POST", CODEX_RESPONSES_PATH, answer("b"));
    call(&s, "gpt-7-sol", "t").await.1.unwrap();
    call(&s, "gpt-7-sol", "t").await.1.unwrap();
    assert_eq!(s.mock.requests_to(MODELS_PATH).len(), 1);
    for r in s.mock.requests_to(CODEX_RESPONSES_PATH) {
        assert_eq!(
            r.header("x-openai-internal-codex-responses-lite"),
            Some("true")
        );
    }
    assert_eq!(s.provider.context_window("gpt-7-sol"), Some(500_000));
    // A known model never costs a catalog request.
    let s = setup(&[]);
    s.mock.enqueue("POST", CODEX_RESPONSES_PATH, answer("a"));
    call(&s, "gpt-5.5", "t").await.1.unwrap();
    assert!(s.mock.requests_to(MODELS_PATH).is_empty());
}

#[tokio::test]
async fn without_a_catalog_an_unknown_model_gets_the_classic_fallback() {
    let s = setup(&[]);
    s.mock.enqueue(
        "GET",
        MODELS_PATH,
        MockResponse::json(404, json!({"detail":"Not Found"})),
    );
    s.mock.enqueue("POST", CODEX_RESPONSES_PATH, answer("a"));
    call(&s, "my-finetune", "t").await.1.unwrap();
    let r = &s.mock.requests_to(CODEX_RESPONSES_PATH)[0];
    assert_eq!(r.header("x-openai-internal-codex-responses-lite"), None);
    assert_eq!(r.json()["reasoning"], Value::Null);
}

/// The codex provider opened with exactly `overrides` (no CODEX_BASE_URL unless given) and a
/// credential file at `auth`.
fn open_with(dir: &std::path::Path, overrides: &[(&str, &str)]) -> CodexProvider {
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut all = vec![
        ("PROVIDER".to_string(), "codex".to_string()),
        (
            "CODEX_CREDENTIALS_FILE".to_string(),
            dir.join("auth.json").display().to_string(),
        ),
    ];
    all.extend(
        overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let config = sx_config::load(&sx_config::LoadOptions {
        cwd: dir.to_path_buf(),
        home: Some(home),
        exe_dir: Some(dir.join("exe")),
        env: Some(Vec::new()),
        overrides: all,
    })
    .unwrap();
    open(&config, OpenOptions::default()).unwrap()
}

#[test]
fn an_api_key_goes_to_the_platform_api_and_a_login_to_the_chatgpt_backend() {
    let dir = tempfile::tempdir().unwrap();
    // No login: OPENAI_API_KEY → https://api.openai.com/v1, uncompressed.
    let p = open_with(dir.path(), &[("OPENAI_API_KEY", "sk-1")]);
    assert_eq!(p.wire.responses_url, "https://api.openai.com/v1/responses");
    assert!(!p.wire.chatgpt && !p.wire.compress);
    // CODEX_BASE_URL, when set, wins for a key too (tests, proxies).
    let p = open_with(
        dir.path(),
        &[
            ("OPENAI_API_KEY", "sk-1"),
            ("CODEX_BASE_URL", "http://127.0.0.1:9/v1/"),
        ],
    );
    assert_eq!(p.wire.responses_url, "http://127.0.0.1:9/v1/responses");
    // A ChatGPT login wins over OPENAI_API_KEY: the ChatGPT backend, zstd.
    AuthJson::new().write(dir.path().join("auth.json"));
    let p = open_with(dir.path(), &[("OPENAI_API_KEY", "sk-1")]);
    assert_eq!(
        p.wire.responses_url,
        "https://chatgpt.com/backend-api/codex/responses"
    );
    assert!(p.wire.chatgpt && p.wire.compress);
    // CODEX_API_KEY wins over the login, as `codex exec` lets it.
    let p = open_with(dir.path(), &[("CODEX_API_KEY", "sk-2")]);
    assert_eq!(p.wire.responses_url, "https://api.openai.com/v1/responses");
    assert!(!p.wire.chatgpt);
}

#[tokio::test]
async fn the_platform_api_has_no_codex_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let p = open_with(dir.path(), &[("OPENAI_API_KEY", "sk-1")]);
    let e = p.list_models().await.unwrap_err();
    assert!(e.to_string().contains("API key"), "{e}");
}
