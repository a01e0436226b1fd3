//! Expectations on requests: a request that falls short gets 417 naming what differed, and
//! the test's final check (or the server's drop) reports it.

use serde_json::json;
use sx_testkit::{Expect, MISMATCH_STATUS, MockResponse, MockServer};

use super::http::request;

const PATH: &str = "/backend-api/codex/responses";

fn post(server: &MockServer, auth: &str, body: &[u8]) -> super::http::Response {
    request(
        server.addr(),
        "POST",
        PATH,
        &[
            ("authorization", auth),
            ("content-type", "application/json"),
        ],
        body,
    )
}

/// A server whose route wants `Bearer tok` and the body `{"model":"gpt-5.5"}`, with one
/// answer scripted.
fn expecting_tok_and_model() -> MockServer {
    let server = MockServer::start();
    server.expect(
        "POST",
        PATH,
        Expect::new()
            .bearer("tok")
            .body_json(json!({"model": "gpt-5.5"})),
    );
    server.enqueue("POST", PATH, MockResponse::json(200, json!({"ok": true})));
    server
}

#[test]
fn a_matching_request_gets_its_scripted_answer() {
    let server = expecting_tok_and_model();
    let resp = post(&server, "Bearer tok", br#"{"model":"gpt-5.5"}"#);
    assert_eq!(resp.head.status, 200);
    assert_eq!(resp.json(), json!({"ok": true}));
    server.verify();
}

#[test]
fn a_mismatch_is_answered_417_naming_each_difference_and_recorded() {
    let server = expecting_tok_and_model();
    let resp = post(&server, "Bearer other", br#"{"model":"gpt-5.4"}"#);
    assert_eq!(resp.head.status, MISMATCH_STATUS);
    let error = &resp.json()["error"];
    assert_eq!(error["type"], "mock_expectation_failed");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(r#"header authorization: expected "Bearer tok", got "Bearer other""#)
            && message.contains(r#"model: expected "gpt-5.5", got "gpt-5.4""#),
        "{message}"
    );
    assert_eq!(server.requests().len(), 1, "recorded like any request");
    assert_eq!(
        server.remaining("POST", PATH),
        0,
        "the mismatch took the scripted answer's turn"
    );
    let mismatches = server.take_mismatches();
    assert_eq!(mismatches.len(), 1);
    assert_eq!(mismatches[0].index, 0);
    assert_eq!(mismatches[0].path, PATH);
    assert_eq!(mismatches[0].problems.len(), 2);
    assert!(server.mismatches().is_empty(), "taken");
}

#[test]
fn a_retry_must_repeat_the_first_request_byte_for_byte() {
    let server = MockServer::start();
    server.expect(
        "POST",
        PATH,
        Expect::new()
            .same_body_as_first()
            .same_header_as_first("authorization"),
    );
    let body = br#"{"input":[{"type":"message"}]}"#;
    assert_eq!(
        post(&server, "Bearer a", body).head.status,
        500,
        "nothing scripted: the mock's 500, no mismatch"
    );
    assert_eq!(post(&server, "Bearer a", body).head.status, 500);
    assert!(server.mismatches().is_empty());
    let resp = post(&server, "Bearer b", br#"{"input":[]}"#);
    assert_eq!(resp.head.status, MISMATCH_STATUS);
    let mismatch = &server.take_mismatches()[0];
    assert_eq!(mismatch.index, 2);
    let text = mismatch.to_string();
    assert!(
        text.contains("body differs from the first request to this route")
            && text.contains("input: expected 1 items, got 0")
            && text.contains(
                r#"expected "Bearer a" (as on the first request to this route), got "Bearer b""#
            ),
        "{text}"
    );
}

#[test]
fn a_scripted_response_can_carry_its_own_expectation() {
    let server = MockServer::start();
    server.enqueue(
        "POST",
        PATH,
        MockResponse::status(401).expecting(Expect::new().bearer("old")),
    );
    server.enqueue(
        "POST",
        PATH,
        MockResponse::json(200, json!({})).expecting(Expect::new().bearer("new")),
    );
    assert_eq!(post(&server, "Bearer old", b"{}").head.status, 401);
    assert_eq!(
        post(&server, "Bearer old", b"{}").head.status,
        MISMATCH_STATUS,
        "the second answer wants the new token"
    );
    let mismatches = server.take_mismatches();
    assert_eq!(mismatches.len(), 1);
    assert_eq!(mismatches[0].index, 1);
}

#[test]
#[should_panic(expected = "did not meet the test's expectations:\n  request #0 POST")]
fn verify_fails_the_test() {
    let server = MockServer::start();
    server.expect("POST", PATH, Expect::new().header("originator", "sx"));
    post(&server, "Bearer x", b"{}");
    server.verify();
}

#[test]
#[should_panic(expected = "(never verified)")]
fn an_unverified_mismatch_fails_the_test_when_the_server_drops() {
    let server = MockServer::start();
    server.expect("POST", PATH, Expect::new().no_header("authorization"));
    post(&server, "Bearer x", b"{}");
    drop(server);
}

#[test]
fn other_routes_are_not_held_to_a_routes_expectations() {
    let server = MockServer::start();
    server.expect("POST", PATH, Expect::new().bearer("tok"));
    server.enqueue("GET", PATH, MockResponse::json(200, json!({})));
    let resp = request(server.addr(), "GET", PATH, &[], b"");
    assert_eq!(resp.head.status, 200, "GET is another route");
    server.verify();
}
