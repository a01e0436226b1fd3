//! The Codex wire level with the official client, through the binary (docs/providers.md,
//! "Codex"): rate-limit headers reach the user, a stream `error` event's message is what sx
//! reports, the turn state follows one turn's tool loop and not the next, and the usage-limit
//! error says when the window resets.

use serde_json::json;
use sx_testkit::auth::AuthJson;
use sx_testkit::{CODEX_RESPONSES_PATH, MockResponse, fixture, responses, sse};

use super::common::{Env, error_line, json_lines, stderr_of};

fn text_answer() -> MockResponse {
    MockResponse::sse(fixture("codex/text.sse"))
}

#[test]
fn rate_limits_are_a_stream_json_event_and_a_warning_above_90_percent() {
    let env = Env::new();
    env.login(AuthJson::new());
    let limited = || {
        text_answer()
            .header("x-codex-primary-used-percent", "93.5")
            .header("x-codex-primary-window-minutes", "300")
            .header("x-codex-primary-reset-at", "1767225600")
            .header("x-codex-secondary-used-percent", "12")
            .header("x-codex-secondary-window-minutes", "10080")
    };
    env.server.enqueue("POST", CODEX_RESPONSES_PATH, limited());
    let out = env
        .sx()
        .args(["-p", "hi", "--output-format", "stream-json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let events = json_lines(&out.stdout);
    let limits: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "rate_limits")
        .collect();
    assert_eq!(limits.len(), 1, "{events:?}");
    assert_eq!(
        *limits[0],
        json!({"type":"rate_limits",
               "primary":{"used_percent":93.5,"window_minutes":300,"resets_at":1767225600},
               "secondary":{"used_percent":12.0,"window_minutes":10080}})
    );
    // Before the answer: the headers arrive first.
    let pos = |t: &str| events.iter().position(|e| e["type"] == t).unwrap();
    assert!(pos("rate_limits") < pos("text_delta"));

    env.server.enqueue("POST", CODEX_RESPONSES_PATH, limited());
    let out = env.sx().args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success());
    let err = stderr_of(&out);
    assert_eq!(
        err.matches(
            "sx: warning: 94% of the 5h usage window is used; it resets at 2026-01-01T00:00:00Z"
        )
        .count(),
        1,
        "{err}"
    );

    // Below 90 %: no warning in text mode.
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        text_answer().header("x-codex-primary-used-percent", "42"),
    );
    let out = env.sx().args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success());
    assert!(!stderr_of(&out).contains("warning"), "{}", stderr_of(&out));
}

#[test]
fn a_stream_error_event_is_reported_with_its_message_and_not_retried() {
    let env = Env::new();
    env.login(AuthJson::new());
    let events = vec![
        responses::created(responses::RESP_ID),
        json!({"type":"error","code":"invalid_request_error",
               "message":"The tool schema for 'bash' is invalid.","param":"tools","sequence_number":1}),
    ];
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&events)),
    );
    env.server
        .enqueue("POST", CODEX_RESPONSES_PATH, text_answer());
    let out = env.sx().args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let line = error_line(&out);
    assert!(
        line.contains("The tool schema for 'bash' is invalid."),
        "{line}"
    );
    assert!(!stderr_of(&out).contains("retrying"), "{}", stderr_of(&out));
    assert_eq!(env.server.requests_to(CODEX_RESPONSES_PATH).len(), 1);
}

#[test]
fn a_retryable_stream_error_event_is_retried() {
    let env = Env::new();
    env.login(AuthJson::new());
    let events = vec![
        responses::created(responses::RESP_ID),
        json!({"type":"error","code":"rate_limit_exceeded",
               "message":"Rate limit reached. Please try again in 10ms.","param":null,"sequence_number":1}),
    ];
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&events)),
    );
    env.server
        .enqueue("POST", CODEX_RESPONSES_PATH, text_answer());
    let out = env
        .sx()
        .args(["-p", "hi", "--output-format", "stream-json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let retries: Vec<_> = json_lines(&out.stdout)
        .into_iter()
        .filter(|e| e["type"] == "retry")
        .collect();
    assert_eq!(retries.len(), 1);
    assert_eq!(retries[0]["delay_ms"], 10);
    assert!(
        retries[0]["reason"]
            .as_str()
            .unwrap()
            .contains("Rate limit reached"),
        "{retries:?}"
    );
    assert_eq!(env.server.requests_to(CODEX_RESPONSES_PATH).len(), 2);
}

#[test]
fn the_turn_state_follows_one_turns_tool_loop_and_not_the_next_turn() {
    let env = Env::new();
    env.login(AuthJson::new());
    let call = responses::function_call_turn("call_1", "list_dir", r#"{"path":"."}"#);
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&call)).header("x-codex-turn-state", "sticky-1"),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        text_answer().header("x-codex-turn-state", "not-the-first"),
    );
    let out = env.sx().args(["-p", "look around"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    // The next turn of the same session starts without it.
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        text_answer().header("x-codex-turn-state", "sticky-2"),
    );
    let out = env
        .sx()
        .args(["-p", "and now?", "--continue"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
    let sent: Vec<Option<&str>> = reqs
        .iter()
        .map(|r| r.header("x-codex-turn-state"))
        .collect();
    assert_eq!(sent, [None, Some("sticky-1"), None]);
    // One turn id per user prompt, in the body's metadata.
    let turn = |i: usize| reqs[i].json()["client_metadata"]["turn_id"].clone();
    assert_eq!(turn(0), turn(1));
    assert_ne!(turn(1), turn(2));
}

#[test]
fn the_usage_limit_error_says_when_the_window_resets() {
    let env = Env::new();
    env.login(AuthJson::new());
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::json(
            429,
            json!({"error":{"type":"usage_limit_reached","message":"The usage limit has been reached","plan_type":"plus"}}),
        )
        .header("x-codex-primary-used-percent", "100")
        .header("x-codex-primary-window-minutes", "300")
        .header("x-codex-primary-reset-at", "1767225600"),
    );
    let out = env.sx().args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = error_line(&out);
    assert!(
        line.starts_with(
            "error: Codex usage limit reached on the plus plan until 2026-01-01T00:00:00Z"
        ),
        "{line}"
    );
    assert!(line.contains("upgrade to Pro or buy credits"), "{line}");
    assert_eq!(env.server.requests_to(CODEX_RESPONSES_PATH).len(), 1);
}
