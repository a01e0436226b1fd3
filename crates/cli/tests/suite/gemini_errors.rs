//! The gemini wire's failures through the real `sx` binary (docs/providers.md, "gemini",
//! "Errors"): rate limits and overload retried with the server's delay, the safety stop told to
//! the user, a rejected or missing key, and each malformed answer — an HTML error page, a
//! truncated stream, a non-JSON event, an error inside the stream — as one `error:` line with
//! its exit code.

use serde_json::json;
use sx_testkit::gemini::{Usage, chunk, encode, error_body, finish, text, text_turn};
use sx_testkit::{Chunk, MockResponse};

use super::common::{Env, error_line, stderr_of};
use super::gemini::{enqueue, gemini, path, requests};

#[test]
fn rate_limits_and_overload_are_retried() {
    let env = Env::new();
    env.server.enqueue(
        "POST",
        &path(),
        MockResponse::json(
            429,
            error_body(
                429,
                "RESOURCE_EXHAUSTED",
                "Resource has been exhausted (e.g. check quota).",
                json!([
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.3s"}
                ]),
            ),
        ),
    );
    env.server.enqueue(
        "POST",
        &path(),
        MockResponse::json(
            503,
            error_body(
                503,
                "UNAVAILABLE",
                "The model is overloaded. Please try again later.",
                json!([]),
            ),
        ),
    );
    enqueue(&env, &text_turn("made it"));
    let out = gemini(&env).args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "made it");
    let err = stderr_of(&out);
    assert_eq!(err.matches("sx: retrying").count(), 2, "{err}");
    assert!(
        err.contains("retrying in 0.3s (attempt 1)"),
        "the server's delay: {err}"
    );
    assert!(err.contains("overloaded"), "{err}");
    assert_eq!(requests(&env).len(), 3);
}

#[test]
fn a_safety_stop_tells_the_user() {
    let env = Env::new();
    enqueue(
        &env,
        &[
            chunk(vec![text("I can")]),
            finish(vec![], "SAFETY", Usage::default()),
        ],
    );
    let out = gemini(&env).args(["-p", "something"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("sx: Gemini stopped the answer for safety reasons (SAFETY)"),
        "{err}"
    );
    assert!(
        err.contains("withheld the answer for safety reasons"),
        "{err}"
    );
}

#[test]
fn a_rejected_or_missing_key_is_an_auth_or_config_error() {
    let env = Env::new();
    env.server.enqueue(
        "POST",
        &path(),
        MockResponse::json(400, error_body(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", json!([
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}
        ]))),
    );
    let out = gemini(&env).args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let line = error_line(&out);
    assert!(
        line.contains("GEMINI_API_KEY") && line.contains("API key not valid"),
        "{line}"
    );
    assert!(
        !line.contains("gm-test-key"),
        "the key is never shown: {line}"
    );
    assert_eq!(requests(&env).len(), 1, "not retried");

    let out = gemini(&env)
        .args(["-e", "GEMINI_API_KEY=", "-p", "hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(error_line(&out).contains("GEMINI_API_KEY is not set"));
    assert_eq!(requests(&env).len(), 1);
}

#[test]
fn malformed_answers_are_one_error_line() {
    let env = Env::new();
    let html = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";
    env.server.enqueue(
        "POST",
        &path(),
        MockResponse::status(502)
            .content_type("text/html")
            .body(html),
    );
    let out = gemini(&env)
        .args(["-e", "REQUEST_MAX_RETRIES=0", "-p", "hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = error_line(&out);
    assert!(
        line.contains("HTTP 502") && line.contains("502 Bad Gateway"),
        "{line}"
    );

    // A stream cut before its finish reason.
    let full = encode(&text_turn("never finished"));
    let cut = full[..full.rfind("data:").unwrap()].to_string();
    env.server.enqueue(
        "POST",
        &path(),
        MockResponse::sse_chunks(vec![Chunk::Bytes(cut.into())]),
    );
    let out = gemini(&env)
        .args(["-e", "STREAM_MAX_RETRIES=0", "-p", "hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        error_line(&out).contains("ended before it was complete"),
        "{}",
        stderr_of(&out)
    );

    // An event that is not JSON.
    env.server
        .enqueue("POST", &path(), MockResponse::sse("data: {oops\r\n\r\n"));
    let out = gemini(&env).args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        error_line(&out).contains("malformed response"),
        "{}",
        stderr_of(&out)
    );

    // An error inside a 200 stream, after some text.
    env.server.enqueue(
        "POST",
        &path(),
        MockResponse::sse(format!(
            "{}data: {}\r\n\r\n",
            encode(&[chunk(vec![text("partial")])]),
            error_body(
                400,
                "INVALID_ARGUMENT",
                "Request contains an invalid argument.",
                json!([])
            )
        )),
    );
    let out = gemini(&env).args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(error_line(&out).contains("Request contains an invalid argument."));
    assert_eq!(requests(&env).len(), 4, "nothing here was retried");
}

#[test]
fn a_context_overflow_compacts_and_continues() {
    let env = Env::new();
    env.server.enqueue(
        "POST",
        &path(),
        MockResponse::json(
            400,
            error_body(
                400,
                "INVALID_ARGUMENT",
                "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
                json!([]),
            ),
        ),
    );
    enqueue(&env, &text_turn("continuing"));
    let out = gemini(&env).args(["-p", "a big task"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("context compacted"),
        "{}",
        stderr_of(&out)
    );
    let reqs = requests(&env);
    assert_eq!(reqs.len(), 2);
    let note = reqs[1].json()["contents"][0]["parts"][0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        note.starts_with("[Context compacted]") && note.contains("a big task"),
        "{note}"
    );
}
