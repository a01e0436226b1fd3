//! `sx -p` through the `openai` provider when the server fails: what is retried (as the same
//! request), what is reported at once, and the one `error:` line with its exit code — rate
//! limits, server errors and HTML pages, errors inside a 200 stream, keys and 401s, a missing
//! model, a truncated stream, a server that is not running.

use pretty_assertions::assert_eq;
use serde_json::json;
use sx_testkit::openai::{self as chat, CHAT_PATH};
use sx_testkit::{ClosedPort, Expect, MockResponse, fixture, fixture_json};

use super::common::{Env, error_line, json_lines, stderr_of};
use super::openai::{answer_fixture, answer_with, events_of, sx, sx_at};

#[test]
fn rate_limits_and_server_errors_are_retried_as_the_same_request() {
    let env = Env::new();
    env.server.expect(
        "POST",
        CHAT_PATH,
        Expect::new().bearer("sk-test").same_body_as_first(),
    );
    env.server.enqueue(
        "POST",
        CHAT_PATH,
        MockResponse::json(429, fixture_json("openai/http_429.json")).header("retry-after", "0"),
    );
    env.server.enqueue(
        "POST",
        CHAT_PATH,
        MockResponse::json(500, fixture_json("openai/http_500.json")),
    );
    env.server.enqueue(
        "POST",
        CHAT_PATH,
        MockResponse::status(502)
            .content_type("text/html")
            .body(fixture("openai/html_502.html")),
    );
    answer_fixture(&env, "text.sse");
    let out = sx(&env)
        .args(["-p", "hi", "--output-format", "stream-json"])
        .env("OPENAI_API_KEY", "sk-test")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let events = json_lines(&out.stdout);
    let retries = events_of(&events, "retry");
    assert_eq!(retries.len(), 3, "{retries:?}");
    assert!(
        retries[0]["reason"]
            .as_str()
            .unwrap()
            .contains("Rate limit reached")
    );
    assert!(
        retries[2]["reason"]
            .as_str()
            .unwrap()
            .contains("502 Bad Gateway")
    );
    assert_eq!(env.server.requests_to(CHAT_PATH).len(), 4);
    assert_eq!(events.last().unwrap()["text"], "Hello from the mock.");
    env.server.verify();
}

#[test]
fn errors_inside_a_200_stream() {
    // A server error in the stream is retried; the retry's answer is the answer.
    let env = Env::new();
    answer_fixture(&env, "error_in_stream.sse");
    answer_fixture(&env, "text.sse");
    let out = sx(&env).args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(env.server.requests_to(CHAT_PATH).len(), 2);
    assert!(
        String::from_utf8_lossy(&out.stdout).ends_with("Hello from the mock.\n"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // One the server says will not pass is reported once.
    let env = Env::new();
    answer_with(
        &env,
        chat::encode(&[
            chat::role(),
            chat::error("Invalid tool schema", "invalid_request_error", None),
        ]),
    );
    let out = sx(&env).args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = error_line(&out);
    assert!(
        line.contains("invalid_request_error: Invalid tool schema"),
        "{line}"
    );
    assert_eq!(env.server.requests_to(CHAT_PATH).len(), 1);

    // llama.cpp's context overflow in the stream: the agent compacts and goes on.
    let env = Env::new();
    answer_fixture(&env, "error_context_llamacpp.sse");
    answer_with(&env, chat::text_turn("continuing"));
    let out = sx(&env).args(["-p", "a big task"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("context compacted"));
    let reqs = env.server.requests_to(CHAT_PATH);
    assert_eq!(reqs.len(), 2);
    let note = reqs[1].json()["messages"][1]["content"].clone();
    assert!(
        note.as_str().unwrap().starts_with("[Context compacted]"),
        "{note}"
    );
}

#[test]
fn without_a_key_nothing_is_sent_and_a_401_says_to_set_one() {
    let env = Env::new();
    env.server
        .expect("POST", CHAT_PATH, Expect::new().no_header("authorization"));
    env.server.enqueue(
        "POST",
        CHAT_PATH,
        MockResponse::json(
            401,
            json!({"error": {"message": "Missing bearer token", "type": "authentication_error"}}),
        ),
    );
    let out = sx(&env).args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let line = error_line(&out);
    assert!(
        line.contains("requires authentication")
            && line.contains("Missing bearer token")
            && line.contains("set OPENAI_API_KEY"),
        "{line}"
    );
    assert_eq!(env.server.requests_to(CHAT_PATH).len(), 1);
    env.server.verify();
}

#[test]
fn a_rejected_key_is_named_and_never_shown() {
    let env = Env::new();
    let key = "sk-proj-secret-4242";
    env.server
        .expect("POST", CHAT_PATH, Expect::new().bearer(key));
    env.server.enqueue(
        "POST",
        CHAT_PATH,
        MockResponse::json(401, fixture_json("openai/http_401.json")),
    );
    let out = sx(&env)
        .args(["-p", "hi"])
        .env("OPENAI_API_KEY", key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let line = error_line(&out);
    assert!(
        line.contains("rejected OPENAI_API_KEY") && line.contains("Incorrect API key"),
        "{line}"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains(key));
    assert_eq!(
        env.server.requests_to(CHAT_PATH).len(),
        1,
        "a key is not retried"
    );
    // Nor does it reach the session's traffic log.
    let mut stack = vec![env.proj.join(".scorpiox")];
    let mut files = 0;
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files += 1;
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                assert!(!text.contains(key), "{} holds the key", path.display());
            }
        }
    }
    assert!(files > 0, "the session and its traffic were written");
    env.server.verify();
}

#[test]
fn html_and_missing_model_errors_are_one_line() {
    let env = Env::new();
    env.server.enqueue(
        "POST",
        CHAT_PATH,
        MockResponse::status(404)
            .content_type("text/html")
            .body(fixture("openai/html_404.html")),
    );
    let out = sx(&env).args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = error_line(&out);
    assert!(
        line.contains("unexpected HTTP 404")
            && line.contains("404 Not Found")
            && line.contains("OPENAI_BASE_URL"),
        "{line}"
    );

    env.server.enqueue(
        "POST",
        CHAT_PATH,
        MockResponse::json(404, fixture_json("openai/http_404_model_ollama.json")),
    );
    let out = sx(&env)
        .args(["-p", "hi", "-m", "llama9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let line = error_line(&out);
    assert!(
        line.contains("model \"llama9\" not found") && line.contains("set MODEL"),
        "{line}"
    );
    assert_eq!(
        env.server.requests_to(CHAT_PATH).len(),
        2,
        "neither is retried"
    );
}

#[test]
fn a_truncated_stream_is_retried_then_reported() {
    let env = Env::new();
    answer_fixture(&env, "truncated.sse");
    answer_fixture(&env, "text.sse");
    let out = sx(&env).args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(env.server.requests_to(CHAT_PATH).len(), 2);

    let env = Env::new();
    for _ in 0..3 {
        answer_fixture(&env, "truncated.sse");
    }
    let out = sx(&env)
        .args(["-p", "hi", "-e", "STREAM_MAX_RETRIES=2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = error_line(&out);
    assert!(line.contains("ended before it was complete"), "{line}");
    assert_eq!(env.server.requests_to(CHAT_PATH).len(), 3);
}

#[test]
fn a_local_server_that_is_not_running_is_named() {
    let env = Env::new();
    let closed = ClosedPort::bind();
    let out = sx_at(&env, &closed.url())
        .args(["-p", "hi", "-e", "REQUEST_MAX_RETRIES=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = error_line(&out);
    assert!(
        line.contains(&format!("{}/v1/chat/completions", closed.url()))
            && line.contains("check your network or OPENAI_BASE_URL"),
        "{line}"
    );
}

#[test]
fn a_non_json_event_is_skipped_and_a_stream_of_nothing_else_fails() {
    let env = Env::new();
    let mut sse = String::from("data: {not json\n\ndata: <html>\n\n");
    sse.push_str(&chat::text_turn("Still here."));
    answer_with(&env, sse);
    let out = sx(&env).args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Still here.\n");

    answer_with(&env, "data: {not json\n\ndata: [1, 2\n\n");
    let out = sx(&env)
        .args(["-p", "hi", "-e", "STREAM_MAX_RETRIES=0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = error_line(&out);
    assert!(line.contains("ended before it was complete"), "{line}");
}
