//! Promises of `docs/providers.md`, `docs/architecture.md` and `docs/agent.md` that no other
//! test pinned: a transient refresh failure with a still-valid token, the statuses and stream
//! endings that are retried (`response.incomplete`, 529, 408, 409), an HTTP 400
//! `context_length_exceeded` compacting like its in-stream twin, and a provider that cannot
//! start leaving nothing behind. Each drives the real `sx` against the mock.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use sx_testkit::auth::{AuthJson, MARKER_CLAIM, jwt_claims};
use sx_testkit::{CODEX_RESPONSES_PATH, MockResponse, OAUTH_TOKEN_PATH, Recorded, fixture};

use super::agent::{answer, sessions};
use super::common::{Env, error_line, json_lines, read_json, stderr_of};

const PATH: &str = CODEX_RESPONSES_PATH;

fn marker(rec: &Recorded) -> Value {
    let auth = rec.header("authorization").expect("authorization header");
    let token = auth.strip_prefix("Bearer ").expect("a bearer token");
    jwt_claims(token)[MARKER_CLAIM].clone()
}

/// `sx -p hi` in stream-json: the events, after checking it succeeded.
fn run_ok(env: &Env) -> Vec<Value> {
    let out = env
        .sx()
        .args(["-p", "hi", "--output-format", "stream-json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    json_lines(&out.stdout)
}

/// The run made exactly two model requests, the second the same request as the first (body
/// and token): a retry repeats the request, it does not change it.
fn assert_retried_once_unchanged(env: &Env) {
    let reqs = env.server.requests_to(PATH);
    assert_eq!(reqs.len(), 2, "one failure, one retry");
    assert_eq!(
        reqs[1].json(),
        reqs[0].json(),
        "the retry sends the same body"
    );
    assert_eq!(
        reqs[1].header("authorization"),
        reqs[0].header("authorization")
    );
}

// --- docs/providers.md § Tokens: "a still-valid token is used anyway" ---------------------

#[test]
fn a_transient_refresh_failure_uses_the_still_valid_token() {
    let env = Env::new();
    // Due for refresh (within 5 minutes of expiry) but still valid for two.
    let before = env.login(
        AuthJson::new()
            .expires_in(120)
            .access_marker("still-valid")
            .refresh_token("rt-keep"),
    );
    env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::status(502).body("bad gateway"),
    );
    answer(&env, "answered anyway");
    let events = run_ok(&env);
    assert_eq!(events.last().unwrap()["text"], "answered anyway");

    assert_eq!(
        env.server.requests_to(OAUTH_TOKEN_PATH).len(),
        1,
        "the refresh was tried"
    );
    let reqs = env.server.requests_to(PATH);
    assert_eq!(reqs.len(), 1);
    assert_eq!(marker(&reqs[0]), "still-valid", "the old token was sent");
    assert_eq!(
        read_json(&env.auth_path()),
        before.to_json(),
        "a failed refresh leaves auth.json as it was"
    );
}

// --- docs/providers.md § Errors and docs/architecture.md § Retries: what is retried -------

#[test]
fn an_incomplete_response_is_retried_and_the_retry_answers() {
    let env = Env::new();
    env.login(AuthJson::new());
    env.server.enqueue(
        "POST",
        PATH,
        MockResponse::sse(fixture("codex/incomplete.sse")),
    );
    answer(&env, "the whole answer");
    let events = run_ok(&env);

    let retries: Vec<&Value> = events.iter().filter(|e| e["type"] == "retry").collect();
    assert_eq!(retries.len(), 1, "{events:?}");
    let reason = retries[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("the model stopped early (max_output_tokens)"),
        "{reason}"
    );
    assert_eq!(events.last().unwrap()["stop_reason"], "end_turn");
    assert_eq!(
        events.last().unwrap()["text"],
        "the whole answer",
        "the cut-off attempt's text is void"
    );
    assert_retried_once_unchanged(&env);
}

#[test]
fn http_529_408_and_409_are_retried() {
    let body = |message: &str| json!({"error": {"message": message, "type": "server_error", "code": null}});
    for (status, reason) in [
        (529, "the model is at capacity (HTTP 529: busy)"),
        (408, "server error (HTTP 408: too slow)"),
        (409, "server error (HTTP 409: conflict)"),
    ] {
        let env = Env::new();
        env.login(AuthJson::new());
        let message = reason.rsplit_once(": ").unwrap().1.trim_end_matches(')');
        env.server
            .enqueue("POST", PATH, MockResponse::json(status, body(message)));
        answer(&env, "after the retry");
        let events = run_ok(&env);
        let retries: Vec<&Value> = events.iter().filter(|e| e["type"] == "retry").collect();
        assert_eq!(retries.len(), 1, "{status}: {events:?}");
        assert_eq!(retries[0]["attempt"], 1, "{status}");
        let got = retries[0]["reason"].as_str().unwrap();
        assert!(got.contains(reason), "{status}: {got}");
        assert_eq!(
            events.last().unwrap()["text"],
            "after the retry",
            "{status}"
        );
        assert_retried_once_unchanged(&env);
    }
}

// --- docs/providers.md § Errors, docs/agent.md § Context compaction -------------------------

fn http_400_context_length(env: &Env) {
    env.server.enqueue(
        "POST",
        PATH,
        MockResponse::json(
            400,
            json!({"error": {
                "message": "Your input exceeds the context window of this model. Please adjust your input and try again.",
                "type": "invalid_request_error",
                "param": "input",
                "code": "context_length_exceeded",
            }}),
        ),
    );
}

#[test]
fn an_http_400_context_length_exceeded_compacts_once_then_reports() {
    let env = Env::new();
    env.login(AuthJson::new());
    http_400_context_length(&env);
    answer(&env, "continuing in a new session");
    let out = env
        .sx()
        .args(["-p", "a big task", "--output-format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        json_lines(&out.stdout)[0]["text"],
        "continuing in a new session"
    );
    assert!(stderr_of(&out).contains("context compacted"));
    let reqs = env.server.requests_to(PATH);
    assert_eq!(reqs.len(), 2, "compacted and sent again, not retried as is");
    assert_ne!(reqs[0].header("session-id"), reqs[1].header("session-id"));
    let note = reqs[1].json()["input"][1]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        note.starts_with("[Context compacted]") && note.contains("a big task"),
        "{note}"
    );
    assert_eq!(sessions(&env).len(), 2, "a continuation session");

    // Still too big after compacting: reported (exit 1), no third request.
    let env = Env::new();
    env.login(AuthJson::new());
    http_400_context_length(&env);
    http_400_context_length(&env);
    let out = env.sx().args(["-p", "a big task"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let line = error_line(&out);
    assert!(
        line.contains("no longer fits in the model's context window"),
        "{line}"
    );
    assert_eq!(env.server.requests_to(PATH).len(), 2, "compacted once only");
}

// --- docs/providers.md: a provider that cannot start ----------------------------------------------

#[test]
fn a_provider_that_cannot_start_leaves_nothing_behind() {
    // The provider is opened before the session is created: a start that fails writes
    // neither a session folder nor the project's .gitignore.
    let env = Env::new();
    let out = env
        .sx()
        .args([
            "-p",
            "hi",
            "-e",
            "CODEX_TOKEN_SOURCE=remote",
            "-e",
            "CODEX_REMOTE_URL=",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(
        error_line(&out).contains("CODEX_REMOTE_URL"),
        "{}",
        stderr_of(&out)
    );
    assert!(!env.proj.join(".scorpiox").exists(), "no .scorpiox folder");
    assert!(
        !env.proj.join(".gitignore").exists(),
        "the .gitignore is untouched"
    );
    assert!(env.server.requests().is_empty());
}
