//! The Gemini wire against a loopback mock: the request line and headers, errors and retries,
//! the catalog, and context caching end to end (create once, reuse, expiry, a vanished entry,
//! below the minimum, turned off). Body building: `gemini/request_tests.rs`; the stream:
//! `gemini/stream_tests.rs`.

use serde_json::{Value, json};
use sx_testkit::gemini::{
    CACHED_CONTENTS_PATH, MODEL, MODELS_PATH, Usage as MockUsage, cache_created, encode,
    error_body, finish, stream_path, text, text_turn,
};
use sx_testkit::{MockResponse, MockServer};

use super::*;
use crate::event::StreamEvent;
use crate::model::{Message, Usage};

struct Setup {
    mock: MockServer,
    provider: GeminiProvider,
    _dir: tempfile::TempDir,
}

fn config(
    mock: &MockServer,
    dir: &std::path::Path,
    overrides: &[(&str, &str)],
) -> sx_config::Config {
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut all = vec![
        ("PROVIDER".to_string(), "gemini".to_string()),
        ("GEMINI_BASE_URL".to_string(), mock.url()),
        ("GEMINI_API_KEY".to_string(), "gm-test-key".to_string()),
        ("RETRY_BASE_DELAY_MS".to_string(), "1".to_string()),
    ];
    all.extend(
        overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    sx_config::load(&sx_config::LoadOptions {
        cwd: dir.to_path_buf(),
        home: Some(home),
        exe_dir: Some(dir.join("exe")),
        env: Some(Vec::new()),
        overrides: all,
    })
    .unwrap()
}

fn setup(overrides: &[(&str, &str)]) -> Setup {
    let mock = MockServer::start();
    let dir = tempfile::tempdir().unwrap();
    let provider = open(
        &config(&mock, dir.path(), overrides),
        OpenOptions::default(),
    )
    .unwrap();
    Setup {
        mock,
        provider,
        _dir: dir,
    }
}

fn path() -> String {
    stream_path(MODEL)
}

fn answer(t: &str) -> MockResponse {
    MockResponse::sse(encode(&text_turn(t)))
}

/// An answer whose usage reports `cached` tokens read from a cache.
fn cached_answer(cached: u64) -> MockResponse {
    MockResponse::sse(encode(&[finish(
        vec![text("ok")],
        "STOP",
        MockUsage {
            prompt: 6000,
            cached,
            candidates: 2,
            thoughts: 0,
        },
    )]))
}

/// One call for `model` with `system` and the conversation `msgs`.
fn request<'a>(model: &'a str, system: &'a str, msgs: &'a [Message]) -> Request<'a> {
    Request {
        model,
        system,
        messages: msgs,
        tools: &[],
        effort: None,
        thinking: true,
        session_id: "s",
        turn_id: "t",
        max_output_tokens: None,
        provider_session: None,
    }
}

async fn call_with(s: &Setup, system: &str) -> Result<(String, Usage), ProviderError> {
    let msgs = [Message::user_text("hi")];
    let req = request(MODEL, system, &msgs);
    s.provider
        .stream(&req, &mut |_| {})
        .await
        .map(|c| (c.message.text(), c.usage))
}

async fn call(s: &Setup) -> Result<String, ProviderError> {
    call_with(s, "sys").await.map(|(t, _)| t)
}

/// A system prompt over the model's caching minimum (4096 tokens ≈ 16 KiB).
fn big_system() -> String {
    "Follow the project's conventions. ".repeat(700)
}

#[tokio::test]
async fn the_request_line_headers_and_key() {
    let s = setup(&[]);
    s.mock.enqueue("POST", &path(), answer("hello"));
    assert_eq!(call(&s).await.unwrap(), "hello");
    let r = &s.mock.requests_to(&path())[0];
    assert_eq!(r.query.as_deref(), Some("alt=sse"));
    assert_eq!(r.header("x-goog-api-key"), Some("gm-test-key"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("accept"), Some("*/*"));
    assert!(r.header("x-goog-api-client").unwrap().starts_with("sx/"));
    assert!(r.header("authorization").is_none());
    assert_eq!(r.json()["systemInstruction"]["parts"][0]["text"], "sys");
    // A base URL given with the API version, and a trailing slash, reach the same path.
    let s2 = setup(&[("GEMINI_BASE_URL", &format!("{}/v1beta/", s.mock.url()))]);
    s.mock.enqueue("POST", &path(), answer("again"));
    let req_msgs = [Message::user_text("hi")];
    let prefixed = format!("models/{MODEL}");
    let req = request(&prefixed, "sys", &req_msgs);
    // `s2` points at `s`'s mock through its own base.
    assert_eq!(
        s2.provider
            .stream(&req, &mut |_| {})
            .await
            .unwrap()
            .message
            .text(),
        "again"
    );
    assert_eq!(s.mock.requests_to(&path()).len(), 2);
}

#[tokio::test]
async fn the_thinking_budget_comes_from_the_configuration() {
    let s = setup(&[("THINKING_BUDGET", "2048")]);
    let model = "gemini-2.5-flash";
    s.mock.enqueue("POST", &stream_path(model), answer("ok"));
    let msgs = [Message::user_text("hi")];
    s.provider
        .stream(&request(model, "sys", &msgs), &mut |_| {})
        .await
        .unwrap();
    let body = s.mock.requests_to(&stream_path(model))[0].json();
    assert_eq!(
        body["generationConfig"]["thinkingConfig"],
        json!({"includeThoughts": true, "thinkingBudget": 2048})
    );
}

#[tokio::test]
async fn a_missing_key_is_a_configuration_error_naming_it() {
    let mock = MockServer::start();
    let dir = tempfile::tempdir().unwrap();
    let e = open(
        &config(&mock, dir.path(), &[("GEMINI_API_KEY", "")]),
        OpenOptions::default(),
    )
    .err()
    .unwrap();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("GEMINI_API_KEY is not set"), "{e}");
}

#[tokio::test]
async fn rejected_keys_are_auth_failures_and_not_retried() {
    let s = setup(&[]);
    s.mock.enqueue(
        "POST",
        &path(),
        MockResponse::json(
            401,
            error_body(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
                json!([]),
            ),
        ),
    );
    let e = call(&s).await.unwrap_err();
    assert_eq!(e.exit_code(), 3, "{e}");
    assert!(e.to_string().contains("GEMINI_API_KEY"), "{e}");
    assert_eq!(s.mock.requests_to(&path()).len(), 1);
}

#[tokio::test]
async fn rate_limits_and_overload_are_retried_with_the_servers_delay() {
    let s = setup(&[]);
    s.mock.enqueue(
        "POST",
        &path(),
        MockResponse::json(
            429,
            error_body(
                429,
                "RESOURCE_EXHAUSTED",
                "Resource exhausted",
                json!([
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.01s"}
                ]),
            ),
        ),
    );
    s.mock.enqueue(
        "POST",
        &path(),
        MockResponse::json(
            503,
            error_body(503, "UNAVAILABLE", "The model is overloaded.", json!([])),
        ),
    );
    s.mock.enqueue("POST", &path(), answer("finally"));
    let mut retries = Vec::new();
    let msgs = [Message::user_text("hi")];
    let req = request(MODEL, "sys", &msgs);
    let c = s
        .provider
        .stream(&req, &mut |e| {
            if let StreamEvent::Retry { delay, reason, .. } = e {
                retries.push((delay, reason.to_string()));
            }
        })
        .await
        .unwrap();
    assert_eq!(c.message.text(), "finally");
    assert_eq!(retries.len(), 2, "{retries:?}");
    assert_eq!(
        retries[0].0,
        std::time::Duration::from_millis(10),
        "RetryInfo honoured"
    );
    assert!(retries[1].1.contains("overloaded"), "{retries:?}");
    let reqs = s.mock.requests_to(&path());
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].body, reqs[2].body, "a retry is the same request");
}

#[tokio::test]
async fn the_catalog_is_read_page_by_page() {
    let s = setup(&[]);
    s.mock.enqueue(
        "GET",
        MODELS_PATH,
        MockResponse::json(200, json!({"models": [
            {"name": "models/gemini-3.8-flash", "displayName": "Gemini 3.8 Flash", "supportedGenerationMethods": ["generateContent"]},
            {"name": "models/embedding-001", "supportedGenerationMethods": ["embedContent"]}
        ], "nextPageToken": "page+2/="})),
    );
    s.mock.enqueue(
        "GET",
        MODELS_PATH,
        MockResponse::json(200, json!({"models": [
            {"name": "models/gemini-2.5-pro", "supportedGenerationMethods": ["generateContent", "countTokens"]}
        ]})),
    );
    let ids: Vec<String> = s
        .provider
        .list_models()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, ["gemini-3.8-flash", "gemini-2.5-pro"]);
    let reqs = s.mock.requests_to(MODELS_PATH);
    assert_eq!(reqs[0].query.as_deref(), Some("pageSize=1000"));
    assert_eq!(
        reqs[1].query.as_deref(),
        Some("pageSize=1000&pageToken=page%2B2%2F%3D")
    );
    assert_eq!(reqs[1].header("x-goog-api-key"), Some("gm-test-key"));
}

/// The mock's next `cachedContents.create` answer: entry `name`, expiring at `expire`.
fn created(s: &Setup, name: &str, expire: &str) {
    s.mock.enqueue(
        "POST",
        CACHED_CONTENTS_PATH,
        MockResponse::json(200, cache_created(name, expire, 5000)),
    );
}

/// The `cachedContent` each model request named, in order.
fn cache_names(s: &Setup) -> Vec<Value> {
    s.mock
        .requests_to(&path())
        .iter()
        .map(|r| r.json()["cachedContent"].clone())
        .collect()
}

#[tokio::test]
async fn a_large_prefix_is_cached_once_and_reused_by_name() {
    let s = setup(&[]);
    let system = big_system();
    created(&s, "cachedContents/c1", "2099-01-01T00:00:00Z");
    s.mock.enqueue("POST", &path(), cached_answer(5000));
    s.mock.enqueue("POST", &path(), cached_answer(5000));
    let (_, usage) = call_with(&s, &system).await.unwrap();
    assert_eq!(usage.cache_read_tokens, 5000);
    call_with(&s, &system).await.unwrap();
    let creates = s.mock.requests_to(CACHED_CONTENTS_PATH);
    assert_eq!(creates.len(), 1, "created once");
    let c = creates[0].json();
    assert_eq!(c["model"], format!("models/{MODEL}"));
    assert_eq!(c["ttl"], "600s");
    assert_eq!(c["systemInstruction"]["parts"][0]["text"], system.as_str());
    assert_eq!(creates[0].header("x-goog-api-key"), Some("gm-test-key"));
    for r in s.mock.requests_to(&path()) {
        let b = r.json();
        assert_eq!(b["cachedContent"], "cachedContents/c1");
        assert!(b.get("systemInstruction").is_none(), "{b}");
    }
}

#[tokio::test]
async fn an_expired_entry_is_recreated() {
    let s = setup(&[]);
    let system = big_system();
    created(&s, "cachedContents/old", "2020-01-01T00:00:00Z");
    created(&s, "cachedContents/new", "2099-01-01T00:00:00Z");
    s.mock.enqueue("POST", &path(), cached_answer(5000));
    s.mock.enqueue("POST", &path(), cached_answer(5000));
    call_with(&s, &system).await.unwrap();
    call_with(&s, &system).await.unwrap();
    let names = cache_names(&s);
    assert_eq!(
        names,
        [json!("cachedContents/old"), json!("cachedContents/new")]
    );
    assert_eq!(s.mock.requests_to(CACHED_CONTENTS_PATH).len(), 2);
}

#[tokio::test]
async fn an_entry_gone_on_the_server_is_recreated_and_the_call_sent_again_once() {
    let s = setup(&[]);
    let system = big_system();
    created(&s, "cachedContents/gone", "2099-01-01T00:00:00Z");
    created(&s, "cachedContents/fresh", "2099-01-01T00:00:00Z");
    s.mock.enqueue(
        "POST",
        &path(),
        MockResponse::json(
            403,
            error_body(
                403,
                "PERMISSION_DENIED",
                "CachedContent not found (or permission denied)",
                json!([]),
            ),
        ),
    );
    s.mock.enqueue("POST", &path(), cached_answer(5000));
    let (text, _) = call_with(&s, &system).await.unwrap();
    assert_eq!(text, "ok");
    let names = cache_names(&s);
    assert_eq!(
        names,
        [json!("cachedContents/gone"), json!("cachedContents/fresh")]
    );

    // Gone again right after being made: reported, not looped on.
    created(&s, "cachedContents/x", "2099-01-01T00:00:00Z");
    for _ in 0..2 {
        s.mock.enqueue(
            "POST",
            &path(),
            MockResponse::json(
                404,
                error_body(404, "NOT_FOUND", "cachedContents/x is not found", json!([])),
            ),
        );
    }
    let e = call_with(&s, &system).await.unwrap_err();
    assert!(e.to_string().contains("not found"), "{e}");
    assert_eq!(s.mock.requests_to(&path()).len(), 4);
}

#[tokio::test]
async fn a_small_prefix_or_cache_off_means_no_entry() {
    let s = setup(&[]);
    s.mock.enqueue("POST", &path(), answer("a"));
    call_with(&s, "short").await.unwrap();
    assert!(s.mock.requests_to(CACHED_CONTENTS_PATH).is_empty());
    assert!(
        s.mock.requests_to(&path())[0]
            .json()
            .get("cachedContent")
            .is_none()
    );

    let s = setup(&[("GEMINI_CACHE", "0")]);
    s.mock.enqueue("POST", &path(), answer("a"));
    call_with(&s, &big_system()).await.unwrap();
    assert!(s.mock.requests_to(CACHED_CONTENTS_PATH).is_empty());
    let b = s.mock.requests_to(&path())[0].json();
    assert!(b.get("cachedContent").is_none() && b.get("systemInstruction").is_some());
    assert_eq!(s.provider.capabilities().caching, Caching::Automatic);
}

#[tokio::test]
async fn a_refused_prefix_is_not_offered_again_and_a_transient_failure_only_skips_a_call() {
    let s = setup(&[]);
    let system = big_system();
    s.mock.enqueue(
        "POST",
        CACHED_CONTENTS_PATH,
        MockResponse::json(
            400,
            error_body(
                400,
                "INVALID_ARGUMENT",
                "Cached content is too small. total_token_count=3000, min_total_token_count=4096",
                json!([]),
            ),
        ),
    );
    s.mock.enqueue("POST", &path(), answer("a"));
    s.mock.enqueue("POST", &path(), answer("b"));
    call_with(&s, &system).await.unwrap();
    call_with(&s, &system).await.unwrap();
    assert_eq!(s.mock.requests_to(CACHED_CONTENTS_PATH).len(), 1);
    assert!(
        s.mock
            .requests_to(&path())
            .iter()
            .all(|r| r.json().get("systemInstruction").is_some())
    );

    let s = setup(&[]);
    s.mock.enqueue(
        "POST",
        CACHED_CONTENTS_PATH,
        MockResponse::json(503, error_body(503, "UNAVAILABLE", "busy", json!([]))),
    );
    created(&s, "cachedContents/later", "2099-01-01T00:00:00Z");
    s.mock.enqueue("POST", &path(), answer("a"));
    s.mock.enqueue("POST", &path(), cached_answer(5000));
    call_with(&s, &system).await.unwrap();
    call_with(&s, &system).await.unwrap();
    let names = cache_names(&s);
    assert_eq!(names, [Value::Null, json!("cachedContents/later")]);
}
