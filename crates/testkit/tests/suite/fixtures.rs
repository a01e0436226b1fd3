use serde_json::{Value, json};
use sx_testkit::sse::{self, LineEnding};
use sx_testkit::{MockResponse, MockServer, auth, fixture, fixture_json, fixture_str, responses};

use super::http::request;

const SSE_FILES: &[&str] = &[
    "text.sse",
    "reasoning.sse",
    "function_call.sse",
    "usage.sse",
    "failed_context_window.sse",
    "failed_rate_limit.sse",
    "failed_quota.sse",
    "incomplete.sse",
    "truncated.sse",
];

const JSON_FILES: &[&str] = &[
    "http_429_usage_limit.json",
    "http_429_rate_limit.json",
    "http_400_invalid.json",
    "http_401.json",
    "http_500.json",
    "http_503_overloaded.json",
    "oauth_refresh_ok.json",
    "oauth_refresh_expired.json",
    "oauth_refresh_reused.json",
    "oauth_refresh_invalidated.json",
    "response_text.json",
    "response_reasoning_call.json",
    "response_incomplete.json",
];

fn events(name: &str) -> Vec<Value> {
    sse::decode(&fixture_str(&format!("codex/{name}")))
}

fn last_type(name: &str) -> String {
    events(name).last().unwrap()["type"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn the_fixture_directory_holds_exactly_the_documented_files() {
    let dir = sx_testkit::fixtures_dir().join("codex");
    assert!(dir.is_dir(), "{}", dir.display());
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let mut expected: Vec<String> = SSE_FILES
        .iter()
        .chain(JSON_FILES)
        .map(|s| (*s).to_owned())
        .collect();
    expected.push("README.md".to_owned());
    expected.sort();
    assert_eq!(on_disk, expected);
    let readme = fixture_str("codex/README.md");
    for name in SSE_FILES.iter().chain(JSON_FILES) {
        assert!(
            readme.contains(&format!("`{name}`")),
            "README does not describe {name}"
        );
    }
}

#[test]
fn every_sse_data_line_is_json_with_type_and_sequence() {
    for name in SSE_FILES {
        let text = fixture_str(&format!("codex/{name}"));
        assert!(text.ends_with("\n\n"), "{name} ends with a blank line");
        assert!(!text.contains('\r'), "{name} uses LF framing");
        let data_lines: Vec<&str> = text
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .collect();
        assert!(!data_lines.is_empty(), "{name}");
        for (seq, line) in data_lines.iter().enumerate() {
            let event: Value = serde_json::from_str(line).unwrap_or_else(|err| {
                panic!("{name}: data line {seq} is not JSON ({err}): {line}")
            });
            assert_eq!(event["sequence_number"], json!(seq), "{name}: {line}");
        }
        // The event: line names the payload's type.
        for event in sse::parse(&text) {
            let payload: Value = serde_json::from_str(&event.data).unwrap();
            assert_eq!(event.name.as_deref(), payload["type"].as_str(), "{name}");
        }
        // And `type` is the first key, like the real server.
        assert!(
            data_lines.iter().all(|l| l.starts_with("{\"type\":")),
            "{name}"
        );
    }
}

#[test]
fn json_fixtures_parse() {
    for name in JSON_FILES {
        let value = fixture_json(&format!("codex/{name}"));
        assert!(value.is_object(), "{name}");
    }
}

#[test]
fn stream_fixtures_equal_the_builders() {
    assert_eq!(
        events("text.sse"),
        responses::text_turn("Hello from the mock.")
    );
    assert_eq!(
        events("reasoning.sse"),
        responses::reasoning_then_text(
            "**Inspecting the workspace** Listing the crates first.",
            "The workspace has five crates."
        )
    );
    assert_eq!(
        events("function_call.sse"),
        responses::function_call_turn(
            "call_mock_0001",
            "exec_command",
            r#"{"cmd":"echo hi","workdir":"/tmp"}"#
        )
    );
}

#[test]
fn terminal_events_are_the_documented_ones() {
    assert_eq!(last_type("text.sse"), "response.completed");
    assert_eq!(last_type("incomplete.sse"), "response.incomplete");
    assert_eq!(last_type("truncated.sse"), "response.output_text.delta");
    assert!(
        events("truncated.sse")
            .iter()
            .all(|e| e["type"] != "response.completed")
    );

    let usage = events("usage.sse").pop().unwrap()["response"]["usage"].take();
    assert_eq!(
        usage,
        json!({"input_tokens": 12000, "input_tokens_details": {"cached_tokens": 9000},
               "output_tokens": 800, "output_tokens_details": {"reasoning_tokens": 512},
               "total_tokens": 12800})
    );

    let reasoning = events("reasoning.sse");
    let item = reasoning
        .iter()
        .find(|e| e["type"] == "response.output_item.done" && e["item"]["type"] == "reasoning")
        .unwrap();
    assert_eq!(
        item["item"]["encrypted_content"],
        responses::ENCRYPTED_CONTENT
    );

    let incomplete = events("incomplete.sse");
    let reason = &incomplete.last().unwrap()["response"]["incomplete_details"]["reason"];
    assert_eq!(reason, "max_output_tokens");
}

#[test]
fn failure_streams_carry_codex_md_payloads() {
    // docs/protocols/codex.md §C.5, byte for byte apart from our id and sequence number.
    let failed = events("failed_context_window.sse").pop().unwrap();
    assert_eq!(
        failed,
        json!({"type": "response.failed", "sequence_number": 2, "response": {
            "id": "resp_mock_0001", "status": "failed", "error": {
                "code": "context_length_exceeded",
                "message": "Your input exceeds the context window of this model. \
                            Please adjust your input and try again."}}})
    );
    let rate = events("failed_rate_limit.sse").pop().unwrap();
    assert_eq!(rate["response"]["error"]["code"], "rate_limit_exceeded");
    assert!(
        rate["response"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Please try again in 1.5s")
    );
    let quota = events("failed_quota.sse").pop().unwrap();
    assert_eq!(quota["response"]["error"]["code"], "insufficient_quota");
}

#[test]
fn http_error_bodies_have_the_documented_codes() {
    assert_eq!(
        fixture_json("codex/http_429_usage_limit.json"),
        json!({"error": {"type": "usage_limit_reached", "message": "The usage limit has been reached",
                         "plan_type": "plus", "resets_at": 1_767_225_600}})
    );
    assert_eq!(
        fixture_json("codex/http_429_rate_limit.json")["error"]["code"],
        "rate_limit_exceeded"
    );
    assert_eq!(
        fixture_json("codex/http_400_invalid.json")["error"]["type"],
        "invalid_request_error"
    );
    assert_eq!(
        fixture_json("codex/http_401.json")["error"]["code"],
        "token_expired"
    );
    assert_eq!(
        fixture_json("codex/http_500.json")["error"]["type"],
        "server_error"
    );
    assert_eq!(
        fixture_json("codex/http_503_overloaded.json")["error"]["code"],
        "server_is_overloaded"
    );
}

#[test]
fn oauth_fixtures_match_the_auth_helpers() {
    for code in ["expired", "reused", "invalidated"] {
        assert_eq!(
            fixture_json(&format!("codex/oauth_refresh_{code}.json")),
            auth::oauth_error(&format!("refresh_token_{code}"))
        );
    }
    let ok = fixture_json("codex/oauth_refresh_ok.json");
    let access = auth::jwt_claims(ok["access_token"].as_str().unwrap());
    assert_eq!(access[auth::MARKER_CLAIM], "fixture-refresh");
    assert_eq!(access["exp"], 4_102_444_800_i64);
    let id = auth::jwt_claims(ok["id_token"].as_str().unwrap());
    assert_eq!(id[auth::AUTH_CLAIM]["chatgpt_account_id"], auth::ACCOUNT_ID);
    assert_eq!(ok["refresh_token"], "rt-sx-test-rotated");
    // Same token shape as the builder (all claims but the times and marker).
    let built = auth::jwt_claims(&auth::AuthJson::new().access_token());
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.retain(|k| k != auth::MARKER_CLAIM);
        k.sort();
        k
    };
    assert_eq!(keys(&access), keys(&built));
}

#[test]
fn every_line_ending_parses_to_the_same_events() {
    for name in SSE_FILES {
        let text = fixture_str(&format!("codex/{name}"));
        let lf = sse::decode(&text);
        for ending in [LineEnding::CrLf, LineEnding::Cr] {
            let rewritten = sse::with_line_endings(&text, ending);
            assert_eq!(
                rewritten.len(),
                text.len() + text.matches('\n').count() * (ending.as_str().len() - 1)
            );
            assert_eq!(sse::decode(&rewritten), lf, "{name} with {ending:?}");
        }
    }
}

#[test]
fn fixtures_are_served_byte_for_byte() {
    let server = MockServer::start();
    let raw = fixture("codex/reasoning.sse");
    server.enqueue("POST", "/r", MockResponse::sse(raw.clone()));
    let crlf = sse::with_line_endings(&fixture_str("codex/text.sse"), LineEnding::CrLf);
    server.enqueue("POST", "/r", MockResponse::sse(crlf.clone()));
    assert_eq!(request(server.addr(), "POST", "/r", &[], b"").body, raw);
    assert_eq!(request(server.addr(), "POST", "/r", &[], b"").text(), crlf);
}
