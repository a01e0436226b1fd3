use serde_json::json;
use sx_testkit::capture::{Capture, Kind, allow, compare};
use sx_testkit::{MockResponse, MockServer};

use super::http::request;

#[test]
fn loads_a_single_request_capture() {
    let cap = Capture::load("codex-chatgpt-request.json");
    assert_eq!(cap.method, "POST");
    assert_eq!(cap.path, "/backend-api/codex/responses");
    assert_eq!(cap.seq, None);
    let names = cap.header_names();
    assert!(
        names.contains(&"chatgpt-account-id".to_owned()),
        "{names:?}"
    );
    assert!(names.iter().all(|n| *n == n.to_ascii_lowercase()));
    assert_eq!(cap.header("Content-Encoding"), Some("zstd"));
    assert!(cap.body_keys().contains(&"prompt_cache_key".to_owned()));
    assert!(
        !cap.body_keys().contains(&"instructions".to_owned()),
        "captures.md §2: no instructions"
    );
    assert_eq!(cap.body()["stream"], true);
    let types = cap.input_item_types();
    assert_eq!(types.first().map(String::as_str), Some("additional_tools"));
    assert_eq!(
        types.last().map(String::as_str),
        Some("configuration_update")
    );
    assert!(cap.body_paths().contains("reasoning.effort"));
}

#[test]
fn loads_requests_from_a_sequence_file() {
    let first = Capture::load_seq("codex-refresh-request.json", 1);
    assert_eq!(first.path, "/oauth/token");
    assert_eq!(first.body()["refresh_reason"], "proactive_expiry");
    let last = Capture::load("codex-refresh-request.json");
    assert_eq!(last.seq, Some(16));
    assert_eq!(last.body()["refresh_reason"], "unauthorized_recovery");
    assert_eq!(Capture::load_all("codex-chatgpt-ws-request.json").len(), 3);
}

#[test]
#[should_panic(expected = "has no request with seq 2")]
fn a_missing_seq_says_which_exist() {
    Capture::load_seq("codex-refresh-request.json", 2);
}

fn replay(server: &MockServer, cap: &Capture, skip_header: &str, extra: &[(&str, &str)]) {
    replay_body(server, cap, cap.body(), skip_header, extra);
}

/// `cap`'s method, path and headers (but `skip_header`, plus `extra`) with `body`.
fn replay_body(
    server: &MockServer,
    cap: &Capture,
    body: &serde_json::Value,
    skip_header: &str,
    extra: &[(&str, &str)],
) {
    let mut headers: Vec<(&str, &str)> = cap
        .headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case(skip_header))
        .filter(|(n, _)| !["host", "content-length"].contains(&n.as_str()))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    headers.extend_from_slice(extra);
    let body = serde_json::to_vec(body).unwrap();
    request(server.addr(), &cap.method, &cap.path, &headers, &body);
}

#[test]
fn an_exact_replay_has_no_shape_difference() {
    let server = MockServer::start();
    server.enqueue(
        "POST",
        "/oauth/token",
        MockResponse::json(200, sx_testkit::auth::oauth_refresh_ok(3600, "m", None)),
    );
    let cap = Capture::load_seq("codex-refresh-request.json", 1);
    replay(&server, &cap, "", &[]);
    let diff = compare(&server.requests()[0], &cap);
    assert!(diff.is_empty(), "{diff}");
}

#[test]
fn compare_finds_a_missing_header_and_extras() {
    let server = MockServer::start();
    let cap = Capture::load_seq("codex-refresh-request.json", 16);
    replay(
        &server,
        &cap,
        "originator",
        &[("X-Extra", "1"), ("Connection", "keep-alive")],
    );
    let rec = &server.requests()[0];
    let diff = compare(rec, &cap);
    assert_eq!(diff.missing_headers, ["originator"]);
    assert_eq!(diff.extra_headers, ["x-extra"], "connection is ignored");
    assert!(diff.missing_body_paths.is_empty() && diff.extra_body_paths.is_empty());
    assert!(diff.header_value_diffs.is_empty());
    assert!(diff.to_string().contains("header missing: originator"));
}

#[test]
fn compare_reports_body_keys_and_changed_stable_values() {
    let server = MockServer::start();
    let cap = Capture::load_seq("codex-refresh-request.json", 1);
    let mut body = cap.body().clone();
    body.as_object_mut().unwrap().remove("refresh_reason");
    body["scope"] = serde_json::json!("openid profile email");
    let headers = [
        ("content-type", "application/json"),
        ("originator", "sx"),
        ("user-agent", "sx/0.1"),
        ("accept", "*/*"),
    ];
    request(
        server.addr(),
        "POST",
        "/oauth/token",
        &headers,
        &serde_json::to_vec(&body).unwrap(),
    );
    let diff = compare(&server.requests()[0], &cap);
    assert_eq!(diff.missing_body_paths, ["refresh_reason"]);
    assert_eq!(diff.extra_body_paths, ["scope"]);
    let changed: Vec<&str> = diff
        .header_value_diffs
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(changed, ["originator"], "user-agent is volatile");
    assert_eq!(diff.header_value_diffs[0].expected, "codex_exec");
    assert_eq!(diff.header_value_diffs[0].actual, "sx");
}

#[test]
fn compare_sees_nested_paths_per_item_type() {
    // The follow-up capture replayed with its call's `status` moved onto its output: the
    // key set of `input[]` is unchanged (compare_capture.py would see nothing), the typed
    // paths are not.
    let server = MockServer::start();
    let cap = Capture::load("codex-followup-request.json");
    let mut body = cap.body().clone();
    for item in body["input"].as_array_mut().unwrap() {
        match item["type"].as_str().unwrap() {
            "function_call" => {
                item.as_object_mut().unwrap().remove("status");
            }
            "function_call_output" => item["status"] = json!("completed"),
            _ => {}
        }
    }
    body["reasoning"]["summary"] = json!("auto");
    replay_body(&server, &cap, &body, "", &[]);
    let diff = compare(&server.requests()[0], &cap);
    assert_eq!(diff.missing_body_paths, ["input[function_call].status"]);
    assert_eq!(
        diff.extra_body_paths,
        ["input[function_call_output].status", "reasoning.summary"]
    );
    assert!(diff.missing_headers.is_empty() && diff.header_value_diffs.is_empty());

    // The allow-list: each entry must match, each difference must be matched.
    let allowed = [
        allow(Kind::PathMissing, "input[function_call].status", "test"),
        allow(Kind::PathExtra, "input[function_call_output]*", "test"),
    ];
    assert_eq!(
        diff.unexplained(&allowed),
        ["body path extra: reasoning.summary"]
    );
    let stale = [
        allow(Kind::PathMissing, "input[function_call].status", "test"),
        allow(Kind::PathExtra, "*", "everything extra"),
        allow(Kind::HeaderMissing, "originator", "no longer true"),
    ];
    assert_eq!(
        diff.unexplained(&stale),
        [
            "allowed but no such difference (stale entry): header missing originator (no longer true)"
        ]
    );
    diff.clone().body().assert_explained(
        "body",
        &[
            allow(Kind::PathMissing, "input[function_call].status", "test"),
            allow(Kind::PathExtra, "*", "test"),
        ],
    );
    diff.headers().assert_explained("headers", &[]);
}

#[test]
#[should_panic(expected = "header value differs: originator | capture: codex_exec | recorded: sx")]
fn assert_explained_names_what_is_not_allowed() {
    let server = MockServer::start();
    let cap = Capture::load_seq("codex-refresh-request.json", 1);
    replay(&server, &cap, "originator", &[("originator", "sx")]);
    compare(&server.requests()[0], &cap).assert_explained("refresh", &[]);
}
