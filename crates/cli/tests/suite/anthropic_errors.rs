//! Failures on the anthropic provider through the binary: each gives one `error:` line with
//! its fix, the documented exit code (docs/spec.md §1: 1 runtime, 2 configuration, 3 auth) and
//! no panic — a missing or rejected key, a gateway token, an unknown model, a proxy's HTML
//! page, a rate limit, a truncated or aborted stream, an event that is not JSON.

use pretty_assertions::assert_eq;
use serde_json::json;
use sx_testkit::anthropic::{self as a, MESSAGES_PATH};
use sx_testkit::{Chunk, Expect, MockResponse, fixture, sse};

use super::anthropic::{KEY, error_reply, reply, requests, stream_fixture, sx};
use super::common::{Env, error_line, json_lines, stderr_of};

fn sessions(env: &Env) -> usize {
    std::fs::read_dir(env.proj.join(".scorpiox/sessions")).map_or(0, |d| d.count())
}

#[test]
fn without_a_key_the_error_names_it_and_nothing_is_sent() {
    let env = Env::new();
    let out = env
        .cmd("sx")
        .args(["--provider", "anthropic", "-p", "hi"])
        .arg("-e")
        .arg(format!("ANTHROPIC_BASE_URL={}", env.server.url()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let line = error_line(&out);
    assert!(
        line.contains("ANTHROPIC_API_KEY") && line.contains("scorpiox-config --set"),
        "{line}"
    );
    assert!(env.server.requests().is_empty());
    assert_eq!(sessions(&env), 0, "no empty session is left behind");
}

#[test]
fn a_rejected_key_exits_3_naming_the_key_and_is_not_retried() {
    let env = Env::new();
    reply(&env, error_reply(401, "http_401.json"));
    let out = sx(&env).args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let line = error_line(&out);
    assert!(
        line.contains("Anthropic rejected ANTHROPIC_API_KEY") && line.contains("invalid x-api-key"),
        "{line}"
    );
    assert!(!stderr_of(&out).contains(KEY), "the key is never printed");
    assert_eq!(requests(&env).len(), 1);
}

#[test]
fn a_gateway_token_is_sent_as_a_bearer_and_named_when_rejected() {
    let env = Env::new();
    env.server.expect(
        "POST",
        MESSAGES_PATH,
        Expect::new().bearer("gw-secret").no_header("x-api-key"),
    );
    stream_fixture(&env, "text.sse");
    reply(&env, error_reply(401, "http_401.json"));
    let token = ["-e", "ANTHROPIC_AUTH_TOKEN=gw-secret"];
    let out = sx(&env).args(token).args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = sx(&env).args(token).args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        error_line(&out).contains("ANTHROPIC_AUTH_TOKEN"),
        "{}",
        error_line(&out)
    );
    env.server.verify();
}

#[test]
fn an_unknown_model_exits_2_pointing_at_model() {
    let env = Env::new();
    reply(&env, error_reply(404, "http_404_model.json"));
    let out = sx(&env)
        .args(["-p", "hi", "-m", "claude-nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let line = error_line(&out);
    assert!(
        line.contains("model: claude-nope") && line.contains("--list-models"),
        "{line}"
    );
    assert_eq!(requests(&env).len(), 1);
}

#[test]
fn a_proxys_html_page_is_one_quoted_line_after_the_retries() {
    let env = Env::new();
    for _ in 0..2 {
        reply(
            &env,
            MockResponse::status(502)
                .content_type("text/html")
                .body(fixture("anthropic/http_502.html")),
        );
    }
    let out = sx(&env)
        .args(["-p", "hi", "-e", "REQUEST_MAX_RETRIES=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let line = error_line(&out);
    assert!(
        line.contains("HTTP 502") && line.contains("502 Bad Gateway"),
        "{line}"
    );
    assert!(!line.contains('\r'), "{line:?}");
    assert_eq!(requests(&env).len(), 2);

    // A 404 page: the base URL is wrong, and the error says which key sets it.
    reply(
        &env,
        MockResponse::status(404)
            .content_type("text/html")
            .body("<html><body><h1>Not Found</h1></body></html>"),
    );
    let out = sx(&env).args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = error_line(&out);
    assert!(
        line.contains("ANTHROPIC_BASE_URL") && line.contains("Not Found"),
        "{line}"
    );
}

#[test]
fn a_rate_limit_waits_for_retry_after() {
    let env = Env::new();
    reply(
        &env,
        error_reply(429, "http_429.json").header("retry-after", "0.01"),
    );
    stream_fixture(&env, "text.sse");
    let out = sx(&env)
        .args(["-p", "hi", "--output-format", "stream-json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let retry = json_lines(&out.stdout)
        .into_iter()
        .find(|e| e["type"] == "retry")
        .expect("a retry event");
    assert_eq!(retry["delay_ms"], 10);
    assert!(
        retry["reason"].as_str().unwrap().contains("rate limit"),
        "{retry}"
    );
}

#[test]
fn a_truncated_or_aborted_stream_is_retried_then_reported() {
    let env = Env::new();
    stream_fixture(&env, "truncated.sse");
    let mut events = vec![a::message_start(a::TURN_USAGE)];
    events.extend(a::text_block(0, "cut in the middle"));
    let mut chunks = Chunk::events(&events);
    chunks.push(Chunk::Abort);
    reply(&env, MockResponse::sse_chunks(chunks));
    let out = sx(&env)
        .args(["-p", "hi", "-e", "STREAM_MAX_RETRIES=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let line = error_line(&out);
    assert!(line.contains("ended before it was complete"), "{line}");
    assert_eq!(requests(&env).len(), 2);
}

#[test]
fn an_event_that_is_not_json_is_one_error_line() {
    let env = Env::new();
    let body = format!(
        "{}event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":<oops>\n\n",
        sse::encode(&[a::message_start(a::TURN_USAGE), a::text_start(0)])
    );
    reply(&env, MockResponse::sse(body));
    let out = sx(&env).args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let line = error_line(&out);
    assert!(
        line.contains("malformed response") && line.contains("<oops>"),
        "{line}"
    );
    assert_eq!(requests(&env).len(), 1, "not retried");
}

#[test]
fn a_non_retryable_error_inside_a_200_stream_is_reported_once() {
    let env = Env::new();
    let events = vec![
        a::message_start(a::TURN_USAGE),
        json!({"type": "error", "error": {"type": "invalid_request_error",
               "message": "tools.0.input_schema: JSON schema is invalid"}}),
    ];
    reply(&env, MockResponse::sse(sse::encode(&events)));
    let out = sx(&env).args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        error_line(&out).contains("JSON schema is invalid"),
        "{}",
        error_line(&out)
    );
    assert_eq!(requests(&env).len(), 1);
}
