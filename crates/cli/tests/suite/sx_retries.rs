//! `sx -p` through the Codex provider when the backend fails: what is retried (with a
//! `retry` event, the request count the budget allows, and the *same* request each time:
//! same body bytes, token, account and session — held by the mock's expectations), what is
//! reported at once, and the one error line.

use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use sx_testkit::auth::{ACCOUNT_ID, AuthJson};
use sx_testkit::{
    CODEX_RESPONSES_PATH, Chunk, Expect, MockResponse, fixture, fixture_json, responses, sse,
};

use super::common::{Env, error_line, json_lines, stderr_of};
use super::sx_codex::text_answer;

/// Logs in and holds every model request to the first one: the login's token and account,
/// the same body bytes on the wire and the same session — a retry is the same request.
fn login_expecting_the_same_request(env: &Env) {
    let auth = env.login(AuthJson::new());
    env.server.expect(
        "POST",
        CODEX_RESPONSES_PATH,
        Expect::new()
            .bearer(&auth.access_token())
            .header("chatgpt-account-id", ACCOUNT_ID)
            .same_body_as_first()
            .same_header_as_first("session-id")
            .same_header_as_first("x-client-request-id"),
    );
}

fn retry_events(stdout: &[u8]) -> Vec<Value> {
    json_lines(stdout)
        .into_iter()
        .filter(|e| e["type"] == "retry")
        .collect()
}

#[test]
fn server_errors_are_retried_with_a_retry_event() {
    let env = Env::new();
    login_expecting_the_same_request(&env);
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::json(500, fixture_json("codex/http_500.json")),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::json(503, fixture_json("codex/http_503_overloaded.json")),
    );
    text_answer(&env);
    let out = env
        .sx()
        .args(["-p", "hi", "--output-format", "stream-json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let events = json_lines(&out.stdout);
    let retries: Vec<&Value> = events.iter().filter(|e| e["type"] == "retry").collect();
    assert_eq!(retries.len(), 2);
    assert_eq!(retries[0]["attempt"], 1);
    assert_eq!(retries[1]["attempt"], 2);
    assert!(retries[0]["delay_ms"].is_u64());
    assert!(retries[0]["reason"].as_str().unwrap().contains("HTTP 500"));
    assert_eq!(events.last().unwrap()["stop_reason"], "end_turn");
    assert_eq!(env.server.requests_to(CODEX_RESPONSES_PATH).len(), 3);
    env.server.verify();
}

#[test]
fn rate_limits_honour_retry_after() {
    let env = Env::new();
    login_expecting_the_same_request(&env);
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::json(429, fixture_json("codex/http_429_rate_limit.json"))
            .header("retry-after", "0.05"),
    );
    text_answer(&env);
    let out = env
        .sx()
        .args(["-p", "hi", "--output-format", "stream-json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let retry = json_lines(&out.stdout)
        .into_iter()
        .find(|e| e["type"] == "retry")
        .unwrap();
    assert_eq!(
        retry["delay_ms"], 50,
        "the server's Retry-After, not our backoff"
    );
    assert_eq!(env.server.requests_to(CODEX_RESPONSES_PATH).len(), 2);
    env.server.verify();
}

#[test]
fn usage_limit_is_not_retried_and_names_the_reset() {
    let env = Env::new();
    login_expecting_the_same_request(&env);
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::json(429, fixture_json("codex/http_429_usage_limit.json")),
    );
    let out = env.sx().args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = error_line(&out);
    assert!(
        line.contains("usage limit reached on the plus plan until 2026-01-01T00:00:00Z"),
        "{line}"
    );
    assert_eq!(env.server.requests_to(CODEX_RESPONSES_PATH).len(), 1);
    env.server.verify();
}

#[test]
fn truncated_and_aborted_streams_are_retried() {
    let env = Env::new();
    login_expecting_the_same_request(&env);
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/truncated.sse")),
    );
    let events = responses::text_turn("complete answer");
    let mut chunks = Chunk::events(&events[..3]);
    chunks.push(Chunk::Abort);
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse_chunks(chunks),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&events)),
    );
    let out = env
        .sx()
        .args(["-p", "hi", "--output-format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(json_lines(&out.stdout)[0]["text"], "complete answer");
    assert_eq!(env.server.requests_to(CODEX_RESPONSES_PATH).len(), 3);
    env.server.verify();
}

#[test]
fn a_stream_that_never_completes_fails_after_the_retry_budget() {
    let env = Env::new();
    login_expecting_the_same_request(&env);
    for _ in 0..3 {
        env.server.enqueue(
            "POST",
            CODEX_RESPONSES_PATH,
            MockResponse::sse(fixture("codex/truncated.sse")),
        );
    }
    let out = env
        .sx()
        .args(["-p", "hi", "-e", "STREAM_MAX_RETRIES=2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = error_line(&out);
    assert!(
        line.contains("ended before it was complete") && line.contains("response.completed"),
        "{line}"
    );
    assert_eq!(env.server.requests_to(CODEX_RESPONSES_PATH).len(), 3);
    env.server.verify();
}

#[test]
fn a_stalled_stream_hits_the_idle_timeout_and_is_retried() {
    let env = Env::new();
    login_expecting_the_same_request(&env);
    let events = responses::text_turn("after the stall");
    let mut chunks = Chunk::events(&events[..2]);
    chunks.push(Chunk::Stall);
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse_chunks(chunks),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&events)),
    );
    let out = env
        .sx()
        .args([
            "-p",
            "hi",
            "-e",
            // Long enough that a loaded machine does not trip it before the first event.
            "STREAM_IDLE_TIMEOUT_MS=2000",
            "--output-format",
            "stream-json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let retries = retry_events(&out.stdout);
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert!(
        retries[0]["reason"].as_str().unwrap().contains("stalled"),
        "{retries:?}"
    );
    assert_eq!(
        json_lines(&out.stdout).last().unwrap()["text"],
        "after the stall"
    );
    assert_eq!(env.server.requests_to(CODEX_RESPONSES_PATH).len(), 2);
    env.server.verify();
    assert!(
        env.server.wait_for_streams_closed(Duration::from_secs(5)),
        "sx hung up on the stalled stream"
    );
}

#[test]
fn in_stream_failures_map_to_clear_errors() {
    // A context overflow is compacted once (a new session) and retried; a second overflow is
    // reported. Quota errors are reported at once.
    let cases = [
        ("codex/failed_context_window.sse", "context window", 2),
        ("codex/failed_quota.sse", "quota exceeded", 1),
    ];
    for (fixture_name, words, requests) in cases {
        let env = Env::new();
        let auth = env.login(AuthJson::new());
        // After compaction the request is a new one (a new session), with the same login.
        env.server.expect(
            "POST",
            CODEX_RESPONSES_PATH,
            Expect::new()
                .bearer(&auth.access_token())
                .header("chatgpt-account-id", ACCOUNT_ID),
        );
        for _ in 0..requests {
            env.server.enqueue(
                "POST",
                CODEX_RESPONSES_PATH,
                MockResponse::sse(fixture(fixture_name)),
            );
        }
        let out = env.sx().args(["-p", "hi"]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{fixture_name}");
        let line = error_line(&out);
        assert!(line.contains(words), "{fixture_name}: {line}");
        assert_eq!(
            env.server.requests_to(CODEX_RESPONSES_PATH).len(),
            requests,
            "{fixture_name}: not retried"
        );
        env.server.verify();
    }
}

#[test]
fn in_stream_rate_limits_wait_the_requested_delay() {
    let env = Env::new();
    login_expecting_the_same_request(&env);
    let failed = responses::failed(
        "rate_limit_exceeded",
        "Rate limit reached for gpt-5.5. Please try again in 40ms.",
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&[
            responses::created(responses::RESP_ID),
            failed,
        ])),
    );
    text_answer(&env);
    let out = env
        .sx()
        .args(["-p", "hi", "--output-format", "stream-json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let retry = json_lines(&out.stdout)
        .into_iter()
        .find(|e| e["type"] == "retry")
        .unwrap();
    assert_eq!(retry["delay_ms"], 40);
    assert_eq!(env.server.requests_to(CODEX_RESPONSES_PATH).len(), 2);
    env.server.verify();
}

#[test]
fn incomplete_responses_are_retried_then_reported() {
    let env = Env::new();
    login_expecting_the_same_request(&env);
    // Three answers scripted for a budget of one retry: a build that retried more would get
    // the third; one that never retried would leave two.
    for _ in 0..3 {
        env.server.enqueue(
            "POST",
            CODEX_RESPONSES_PATH,
            MockResponse::sse(fixture("codex/incomplete.sse")),
        );
    }
    let out = env
        .sx()
        .args([
            "-p",
            "hi",
            "-e",
            "STREAM_MAX_RETRIES=1",
            "--output-format",
            "stream-json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(error_line(&out).contains("max_output_tokens"));
    let retries = retry_events(&out.stdout);
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert_eq!(retries[0]["attempt"], 1);
    assert!(
        retries[0]["reason"]
            .as_str()
            .unwrap()
            .contains("the model stopped early (max_output_tokens)"),
        "{retries:?}"
    );
    assert_eq!(env.server.requests_to(CODEX_RESPONSES_PATH).len(), 2);
    assert_eq!(env.server.remaining("POST", CODEX_RESPONSES_PATH), 1);
    env.server.verify();
}

#[test]
fn stream_json_reports_errors_as_events_too() {
    let env = Env::new();
    login_expecting_the_same_request(&env);
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/failed_quota.sse")),
    );
    let out = env
        .sx()
        .args(["-p", "hi", "--output-format", "stream-json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let events = json_lines(&out.stdout);
    let n = events.len();
    assert_eq!(events[n - 2]["type"], "error");
    assert_eq!(events[n - 2]["retryable"], false);
    assert_eq!(
        events[n - 1],
        json!({"type":"done","stop_reason":"error","text":""})
    );
    env.server.verify();
}
