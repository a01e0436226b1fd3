//! `sx -p` end to end through the Codex provider, against the loopback mock backend and mock
//! OAuth issuer: what is sent (checked against the official client's captures), what is shown,
//! token refresh, retries, and one clear error line for every failure.

use std::os::unix::fs::PermissionsExt;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use sx_testkit::auth::{
    ACCOUNT_ID, AuthJson, MARKER_CLAIM, jwt_claims, oauth_error, oauth_refresh_ok,
};
use sx_testkit::capture::Capture;
use sx_testkit::{
    CODEX_RESPONSES_PATH, Expect, MockResponse, OAUTH_TOKEN_PATH, fixture, fixture_json,
};

use super::common::{Env, error_line, json_lines, read_json, stderr_of};

pub(super) fn text_answer(env: &Env) {
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/text.sse")),
    );
}

fn bearer_marker(rec: &sx_testkit::Recorded) -> Value {
    let auth = rec.header("authorization").expect("authorization header");
    let token = auth.strip_prefix("Bearer ").expect("a bearer token");
    jwt_claims(token)[MARKER_CLAIM].clone()
}

#[test]
fn answer_streams_to_stdout_and_the_request_carries_the_documented_headers_and_body() {
    let env = Env::new();
    let auth = env.login(AuthJson::new());
    text_answer(&env);
    let out = env.sx().args(["-p", "say hi"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello from the mock.\n",
        "stderr: {}",
        stderr_of(&out)
    );
    assert!(out.status.success());

    let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {}", auth.access_token()).as_str())
    );
    assert_eq!(r.header("chatgpt-account-id"), Some(ACCOUNT_ID));
    assert_eq!(r.header("originator"), Some("sx"));
    assert!(
        r.header("user-agent").unwrap().starts_with("sx/0.1.0 ("),
        "{:?}",
        r.header("user-agent")
    );
    assert_eq!(r.header("accept"), Some("text/event-stream"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.content_encoding.as_deref(),
        Some("zstd"),
        "ChatGPT-backend bodies are zstd, as the official client sends them"
    );
    let session = r.header("session-id").unwrap();
    assert!(
        uuid::Uuid::parse_str(session).is_ok_and(|u| u.get_version_num() == 7),
        "{session}"
    );
    assert_eq!(r.header("thread-id"), Some(session));
    assert_eq!(r.header("x-client-request-id"), Some(session));

    // The shape against the official client's captures: captures.rs.

    let body = r.json();
    assert_eq!(
        body["model"], "gpt-5.4",
        "MODEL defaults to sonnet, which is gpt-5.4 on codex"
    );
    assert_eq!(body["stream"], true);
    assert_eq!(body["store"], false);
    assert_eq!(body["tool_choice"], "auto");
    assert_eq!(body["prompt_cache_key"], session);
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(
        body["reasoning"],
        json!({"effort": "xhigh", "summary": "auto"})
    );
    assert_eq!(
        body["input"][0]["role"], "developer",
        "the system prompt is the first developer message"
    );
    assert!(
        body["input"][0]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("You are sx")
    );
    assert_eq!(
        body["input"][1],
        json!({"type":"message","role":"user","content":[{"type":"input_text","text":"say hi"}]})
    );
    assert!(body.get("instructions").is_none());
}

#[test]
fn stream_json_emits_the_spec_events_in_order() {
    let env = Env::new();
    env.login(AuthJson::new());
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/reasoning.sse")),
    );
    let out = env
        .sx()
        .args(["-p", "think first", "--output-format", "stream-json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let events = json_lines(&out.stdout);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let mut collapsed: Vec<&str> = types.clone();
    collapsed.dedup();
    assert_eq!(
        collapsed,
        ["session", "thinking_delta", "text_delta", "usage", "done"]
    );
    let session = &events[0];
    assert_eq!(session["provider"], "codex");
    assert_eq!(session["model"], "gpt-5.4");
    assert!(session["id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(session["cwd"].as_str().unwrap().ends_with("/proj"));
    let thinking: String = events
        .iter()
        .filter(|e| e["type"] == "thinking_delta")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    let text: String = events
        .iter()
        .filter(|e| e["type"] == "text_delta")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(!thinking.is_empty());
    let done = events.last().unwrap();
    assert_eq!(done["stop_reason"], "end_turn");
    assert_eq!(done["text"].as_str().unwrap(), text);
    let usage = events.iter().find(|e| e["type"] == "usage").unwrap();
    for k in [
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
    ] {
        assert!(usage[k].is_u64(), "usage.{k}");
    }
}

#[test]
fn text_mode_keeps_thinking_off_stdout() {
    let env = Env::new();
    env.login(AuthJson::new());
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/reasoning.sse")),
    );
    let out = env.sx().args(["-p", "think first"]).output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let stderr = stderr_of(&out);
    let summary: String = sx_testkit::sse::decode(&fixture_str_of("codex/reasoning.sse"))
        .iter()
        .filter(|e| e["type"] == "response.reasoning_summary_text.delta")
        .map(|e| e["delta"].as_str().unwrap().to_string())
        .collect();
    assert!(!summary.is_empty());
    assert!(stderr.contains(&summary), "thinking on stderr: {stderr}");
    assert!(
        !stdout.contains(&summary),
        "thinking not on stdout: {stdout}"
    );
    assert!(!stdout.is_empty());
}

fn fixture_str_of(rel: &str) -> String {
    sx_testkit::fixture_str(rel)
}

#[test]
fn json_output_is_one_object() {
    let env = Env::new();
    env.login(AuthJson::new());
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/usage.sse")),
    );
    let out = env
        .sx()
        .args(["-p", "hi", "--output-format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1);
    let v = &lines[0];
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(v["session"]["provider"], "codex");
    assert_eq!(v["tool_calls"], json!([]));
    assert_eq!(
        v["usage"],
        json!({"input_tokens":12000,"output_tokens":800,"cache_read_tokens":9000,"cache_write_tokens":0,"reasoning_tokens":512})
    );
    assert!(!v["text"].as_str().unwrap().is_empty());
}

#[test]
fn prompt_from_stdin_and_positional_words() {
    let env = Env::new();
    env.login(AuthJson::new());
    text_answer(&env);
    text_answer(&env);
    let out = env
        .sx()
        .arg("-p")
        .write_stdin("from stdin\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = env.sx().args(["two", "words"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!(
        reqs[0].json()["input"][1]["content"][0]["text"],
        "from stdin\n"
    );
    assert_eq!(
        reqs[1].json()["input"][1]["content"][0]["text"],
        "two words"
    );
}

#[test]
fn model_alias_and_reasoning_effort() {
    let env = Env::new();
    env.login(AuthJson::new());
    text_answer(&env);
    let out = env
        .sx()
        .args([
            "-p",
            "hi",
            "-m",
            "opus",
            "-e",
            "REASONING_EFFORT=low",
            "-e",
            "THINKING=0",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let body = env.server.requests_to(CODEX_RESPONSES_PATH)[0].json();
    assert_eq!(body["model"], "gpt-5.5");
    assert_eq!(body["reasoning"], json!({"effort": "low"}));
}

// --- tokens -------------------------------------------------------------------------------

fn refresh_then_answer(env: &Env, rotate_to: Option<&str>) {
    env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(200, oauth_refresh_ok(3600, "fresh", rotate_to)),
    );
    text_answer(env);
}

#[test]
fn an_expired_token_is_refreshed_first_and_written_back_privately() {
    let env = Env::new();
    let old = env.login(
        AuthJson::new()
            .expires_in(-60)
            .access_marker("stale")
            .refresh_token("rt-old"),
    );
    refresh_then_answer(&env, Some("rt-new"));
    let out = env.sx().args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));

    let oauth = env.server.requests_to(OAUTH_TOKEN_PATH);
    assert_eq!(oauth.len(), 1);
    assert_eq!(oauth[0].header("content-type"), Some("application/json"));
    assert_eq!(oauth[0].header("originator"), Some("sx"));
    assert_eq!(
        oauth[0].json(),
        json!({"client_id":"app_EMoamEEZ73f0CkXaXp7hrann","grant_type":"refresh_token","refresh_reason":"proactive_expiry","refresh_token":"rt-old"})
    );
    // The same shape as the official client's refresh (tests/fixtures/captures/codex-refresh-request.json).
    let cap = Capture::load_seq("codex-refresh-request.json", 1);
    let mut want: Vec<String> = cap.body_keys();
    want.sort();
    let mut have: Vec<String> = oauth[0]
        .json()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    have.sort();
    assert_eq!(have, want);

    let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!(bearer_marker(&reqs[0]), "fresh");
    let saved = read_json(&env.auth_path());
    assert_eq!(saved["tokens"]["refresh_token"], "rt-new");
    assert_eq!(
        jwt_claims(saved["tokens"]["access_token"].as_str().unwrap())[MARKER_CLAIM],
        "fresh"
    );
    assert_eq!(
        saved["tokens"]["account_id"], ACCOUNT_ID,
        "a refresh keeps the account id"
    );
    assert_eq!(saved["auth_mode"], "chatgpt");
    assert_ne!(saved["last_refresh"], old.to_json()["last_refresh"]);
    let mode = std::fs::metadata(env.auth_path())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn a_token_expiring_within_five_minutes_is_refreshed() {
    let env = Env::new();
    env.login(AuthJson::new().expires_in(120));
    refresh_then_answer(&env, None);
    let out = env.sx().args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(env.server.requests_to(OAUTH_TOKEN_PATH).len(), 1);
    let saved = read_json(&env.auth_path());
    assert_eq!(
        saved["tokens"]["refresh_token"],
        sx_testkit::auth::REFRESH_TOKEN,
        "not rotated: kept"
    );
}

#[test]
fn a_fresh_token_needs_no_network_but_the_model_call() {
    let env = Env::new();
    env.login(AuthJson::new().expires_in(3600));
    text_answer(&env);
    assert!(
        env.sx()
            .args(["-p", "hi"])
            .output()
            .unwrap()
            .status
            .success()
    );
    assert_eq!(env.server.requests().len(), 1);
}

/// A 401 recovery resends the same request (same body bytes, same session) with the new
/// token: the first request must carry `stale`, the one answered by `then` the token of
/// `refreshed`.
fn recover_from_401(env: &Env, stale: &AuthJson, refreshed: Value, then: MockResponse) {
    let fresh = refreshed["access_token"].as_str().unwrap().to_owned();
    env.server.expect(
        "POST",
        CODEX_RESPONSES_PATH,
        Expect::new()
            .header("chatgpt-account-id", ACCOUNT_ID)
            .same_body_as_first()
            .same_header_as_first("session-id"),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::json(401, fixture_json("codex/http_401.json"))
            .expecting(Expect::new().bearer(&stale.access_token())),
    );
    env.server
        .enqueue("POST", OAUTH_TOKEN_PATH, MockResponse::json(200, refreshed));
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        then.expecting(Expect::new().bearer(&fresh)),
    );
}

#[test]
fn a_401_triggers_one_refresh_and_one_retry() {
    let env = Env::new();
    let stale = env.login(AuthJson::new().access_marker("revoked-server-side"));
    recover_from_401(
        &env,
        &stale,
        oauth_refresh_ok(3600, "fresh", Some("rt-2")),
        MockResponse::sse(fixture("codex/text.sse")),
    );
    let out = env.sx().args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    env.server.verify();
    let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!(reqs.len(), 2);
    assert_eq!(bearer_marker(&reqs[0]), "revoked-server-side");
    assert_eq!(bearer_marker(&reqs[1]), "fresh");
    assert_eq!(
        env.server.requests_to(OAUTH_TOKEN_PATH)[0].json()["refresh_reason"],
        "unauthorized_recovery"
    );
}

#[test]
fn a_401_after_refresh_is_an_auth_error() {
    let env = Env::new();
    let auth = env.login(AuthJson::new());
    recover_from_401(
        &env,
        &auth,
        oauth_refresh_ok(3600, "fresh", None),
        MockResponse::json(401, fixture_json("codex/http_401.json")),
    );
    let out = env.sx().args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    env.server.verify();
    assert_eq!(
        env.server.requests_to(CODEX_RESPONSES_PATH).len(),
        2,
        "one recovery, then the error"
    );
    let line = error_line(&out);
    assert!(
        line.contains("rejected the Codex token") && line.contains("scorpiox-codex-login"),
        "{line}"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&auth.access_token()));
}

#[test]
fn refresh_rejections_name_the_reason_and_exit_3() {
    for (code, words) in [
        ("refresh_token_expired", "expired"),
        ("refresh_token_reused", "already used"),
        ("refresh_token_invalidated", "revoked"),
        ("something_else", "could not be refreshed"),
    ] {
        let env = Env::new();
        env.login(
            AuthJson::new()
                .expires_in(-10)
                .refresh_token("rt-secret-value"),
        );
        env.server.enqueue(
            "POST",
            OAUTH_TOKEN_PATH,
            MockResponse::json(401, oauth_error(code)),
        );
        let out = env.sx().args(["-p", "hi"]).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{code}");
        let line = error_line(&out);
        assert!(
            line.contains(words) && line.contains("scorpiox-codex-login"),
            "{code}: {line}"
        );
        assert!(!line.contains("rt-secret-value"));
        assert!(
            env.server.requests_to(CODEX_RESPONSES_PATH).is_empty(),
            "no model call with a dead login"
        );
        assert_eq!(
            read_json(&env.auth_path())["tokens"]["refresh_token"],
            "rt-secret-value",
            "{code}: file untouched"
        );
    }
}

#[test]
fn a_transient_refresh_failure_with_an_expired_token_is_a_runtime_error() {
    let env = Env::new();
    env.login(AuthJson::new().expires_in(-10));
    env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::status(502).body("bad gateway"),
    );
    let out = env.sx().args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = error_line(&out);
    assert!(
        line.contains("failed to refresh the Codex token (HTTP 502: bad gateway)"),
        "{line}"
    );
}

#[test]
fn concurrent_processes_refresh_once() {
    let env = Env::new();
    env.login(
        AuthJson::new()
            .expires_in(-60)
            .refresh_token("rt-single-use"),
    );
    // Exactly one refresh is scripted: a second one would get the mock's 500 and fail its run.
    env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(200, oauth_refresh_ok(3600, "fresh", Some("rt-rotated"))),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/text.sse")).repeat(),
    );
    let children: Vec<_> = (0..6)
        .map(|_| {
            let mut c = env.sx_std();
            c.args(["-p", "hi"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stderr = stderr_of(&out);
        assert!(out.status.success(), "{stderr}");
    }
    assert_eq!(env.server.requests_to(OAUTH_TOKEN_PATH).len(), 1);
    assert_eq!(
        read_json(&env.auth_path())["tokens"]["refresh_token"],
        "rt-rotated"
    );
    for r in env.server.requests_to(CODEX_RESPONSES_PATH) {
        assert_eq!(bearer_marker(&r), "fresh");
    }
}

// --- malformed input: one clear line, the documented exit code, no panic -------------------

#[test]
fn malformed_inputs_give_one_line_and_the_right_exit_code() {
    struct Case {
        name: &'static str,
        setup: fn(&Env),
        args: &'static [&'static str],
        code: i32,
        words: &'static [&'static str],
    }
    let cases = [
        Case {
            name: "config line",
            setup: |env| {
                env.login(AuthJson::new());
                std::fs::write(
                    env.proj.join("scorpiox-env.txt"),
                    "MODEL=gpt-5.5\nthis is not a setting\n",
                )
                .unwrap();
            },
            args: &["-p", "hi"],
            code: 2,
            words: &["scorpiox-env.txt:2", "KEY=VALUE"],
        },
        Case {
            name: "bad -e",
            setup: |_| {},
            args: &["-p", "hi", "-e", "NOEQUALS"],
            code: 2,
            words: &["NOEQUALS"],
        },
        Case {
            name: "no login",
            setup: |_| {},
            args: &["-p", "hi"],
            code: 3,
            words: &["no Codex login found", "scorpiox-codex-login"],
        },
        Case {
            name: "auth.json not JSON",
            setup: |env| {
                std::fs::create_dir_all(env.home.join(".codex")).unwrap();
                std::fs::write(env.auth_path(), "{ not json").unwrap();
            },
            args: &["-p", "hi"],
            code: 3,
            words: &["not a valid Codex auth.json", "not JSON"],
        },
        Case {
            name: "auth.json without tokens",
            setup: |env| {
                std::fs::create_dir_all(env.home.join(".codex")).unwrap();
                std::fs::write(
                    env.auth_path(),
                    r#"{"auth_mode":"chatgpt","tokens":{"access_token":"x"}}"#,
                )
                .unwrap();
            },
            args: &["-p", "hi"],
            code: 3,
            words: &["tokens.refresh_token"],
        },
        // An API-key auth.json (`codex login --with-api-key`) is no longer an error: codex uses
        // its key, as the official client does (codex_apikey::an_api_key_login_of_the_official_cli_is_used).
        Case {
            name: "bad JWT",
            setup: |env| {
                let mut doc = AuthJson::new().to_json();
                doc["tokens"]["access_token"] = json!("not-a-jwt");
                std::fs::create_dir_all(env.home.join(".codex")).unwrap();
                std::fs::write(env.auth_path(), doc.to_string()).unwrap();
            },
            args: &["-p", "hi"],
            code: 3,
            words: &["access token", "not a valid JWT"],
        },
        Case {
            name: "SSE junk",
            setup: |env| {
                env.login(AuthJson::new());
                env.server.enqueue(
                    "POST",
                    CODEX_RESPONSES_PATH,
                    MockResponse::sse("data: {\"type\": \n\nthis is not sse\n\n"),
                );
            },
            args: &["-p", "hi", "-e", "STREAM_MAX_RETRIES=0"],
            code: 1,
            words: &["ended before it was complete"],
        },
        Case {
            name: "HTTP error body that is not JSON",
            setup: |env| {
                env.login(AuthJson::new());
                env.server.enqueue(
                    "POST",
                    CODEX_RESPONSES_PATH,
                    MockResponse::status(400).body("<html>\n<b>Bad</b> request\n</html>"),
                );
            },
            args: &["-p", "hi"],
            code: 1,
            words: &["HTTP 400", "<html> <b>Bad</b> request </html>"],
        },
        Case {
            name: "HTTP 400 JSON error",
            setup: |env| {
                env.login(AuthJson::new());
                env.server.enqueue(
                    "POST",
                    CODEX_RESPONSES_PATH,
                    MockResponse::json(400, fixture_json("codex/http_400_invalid.json")),
                );
            },
            args: &["-p", "hi"],
            code: 1,
            words: &["HTTP 400"],
        },
        Case {
            name: "empty prompt",
            setup: |_| {},
            args: &["-p", "   "],
            code: 2,
            words: &["prompt is empty"],
        },
        Case {
            name: "unknown flag",
            setup: |_| {},
            args: &["--frobnicate"],
            code: 2,
            words: &["--frobnicate", "sx --help"],
        },
        Case {
            name: "bad --cwd",
            setup: |_| {},
            args: &["-p", "hi", "--cwd", "/nonexistent/dir"],
            code: 2,
            words: &["--cwd"],
        },
        Case {
            name: "bad output format",
            setup: |_| {},
            args: &["-p", "hi", "--output-format", "yaml"],
            code: 2,
            words: &["yaml"],
        },
    ];
    // Flags of the bare binary (no mock wiring), checked the same way.
    for (args, words) in [
        (
            &["-p", "hi", "-e", "PROVIDER=nope"][..],
            &["PROVIDER", "codex, claude_code"][..],
        ),
        (
            &["-p", "hi", "--provider", "nope"][..],
            &["PROVIDER", "allowed"][..],
        ),
        (&["-p", "hi", "-e", "TOOLS=maybe"][..], &["TOOLS"][..]),
    ] {
        let env = Env::new();
        let out = env.cmd("sx").args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = error_line(&out);
        for w in words {
            assert!(line.contains(w), "{args:?}: {line:?} should mention {w:?}");
        }
    }
    for case in cases {
        let env = Env::new();
        (case.setup)(&env);
        let out = env.sx().args(case.args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(case.code),
            "{}: stderr {}",
            case.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let line = error_line(&out);
        for w in case.words {
            assert!(
                line.contains(w),
                "{}: {line:?} should mention {w:?}",
                case.name
            );
        }
    }
}

#[test]
fn an_untrusted_project_cannot_redirect_the_token() {
    let env = Env::new();
    env.login(AuthJson::new());
    let evil = sx_testkit::MockServer::start();
    std::fs::create_dir_all(env.home.join(".scorpiox")).unwrap();
    std::fs::write(
        env.home.join(".scorpiox/scorpiox-env.txt"),
        format!(
            "PROVIDER=codex\nCODEX_BASE_URL={}\nRETRY_BASE_DELAY_MS=5\n",
            env.server.codex_base()
        ),
    )
    .unwrap();
    std::fs::write(
        env.proj.join("scorpiox-env.txt"),
        format!("CODEX_BASE_URL={}\n", evil.codex_base()),
    )
    .unwrap();
    text_answer(&env);
    let out = env.cmd("sx").args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("warning: ignoring CODEX_BASE_URL")
            && stderr.contains("scorpiox-config --trust"),
        "{stderr}"
    );
    assert!(
        evil.requests().is_empty(),
        "the untrusted project's server got nothing"
    );
    assert_eq!(env.server.requests_to(CODEX_RESPONSES_PATH).len(), 1);

    // Once the user trusts the project, its setting applies.
    let trusted = env.cmd("scorpiox-config").arg("--trust").output().unwrap();
    assert!(
        trusted.status.success(),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    evil.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/text.sse")),
    );
    let out = env.cmd("sx").args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(evil.requests().len(), 1);
}

#[test]
fn a_tool_call_always_gets_a_paired_result_in_the_next_request() {
    let env = Env::new();
    env.login(AuthJson::new());
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/function_call.sse")),
    );
    text_answer(&env);
    let out = env
        .sx()
        .args(["-p", "hi", "-e", "TOOLS=0", "--output-format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!(reqs.len(), 2);
    let input = reqs[1].json()["input"].as_array().unwrap().clone();
    let call = input
        .iter()
        .find(|i| i["type"] == "function_call")
        .expect("the call is replayed");
    let output = input
        .iter()
        .find(|i| i["type"] == "function_call_output")
        .expect("with its result");
    assert_eq!(call["call_id"], output["call_id"]);
    assert!(
        output["output"]
            .as_str()
            .unwrap()
            .contains("no tools are available in this session")
    );
    let v = &json_lines(&out.stdout)[0];
    assert_eq!(v["tool_calls"].as_array().unwrap().len(), 1);
    assert_eq!(v["text"], "Hello from the mock.");
}

const MODELS_PATH: &str = "/backend-api/codex/models";

/// The built-in list `--list-models` prints without a catalog, then the aliases.
const BUILT_IN: &str = "gpt-5.5\ngpt-5.4\ngpt-5.4-mini\ngpt-5.3-codex\ngpt-5.2\ngpt-6.1-sol\n\
    opus -> gpt-5.5\nsonnet -> gpt-5.4\nhaiku -> gpt-5.4-mini\n";

#[test]
fn list_models_reads_the_live_catalog_and_falls_back() {
    let env = Env::new();
    let auth = env.login(AuthJson::new());
    env.server.expect(
        "GET",
        MODELS_PATH,
        Expect::new()
            .bearer(&auth.access_token())
            .header("chatgpt-account-id", ACCOUNT_ID)
            .header("originator", "sx"),
    );
    env.server.enqueue(
        "GET",
        MODELS_PATH,
        MockResponse::json(
            200,
            json!({"models": [
                {"slug": "gpt-5.4", "display_name": "GPT-5.4", "visibility": "list", "priority": 2},
                {"slug": "gpt-5.5", "display_name": "GPT-5.5", "visibility": "list", "priority": 0},
                {"slug": "codex-auto-review", "visibility": "hide", "priority": 29}
            ]}),
        ),
    );
    let out = env.sx().arg("--list-models").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "gpt-5.5  (GPT-5.5)\ngpt-5.4  (GPT-5.4)\nopus -> gpt-5.5\nsonnet -> gpt-5.4\nhaiku -> gpt-5.4-mini\n"
    );
    let req = &env.server.requests_to(MODELS_PATH)[0];
    assert_eq!(req.query.as_deref(), Some("client_version=0.169.0"));

    // No catalog (404): the built-in list, with the reason on stderr.
    env.server.enqueue(
        "GET",
        MODELS_PATH,
        MockResponse::json(404, json!({"detail": "Not Found"})),
    );
    let out = env.sx().arg("--list-models").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), BUILT_IN);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("showing the built-in model list") && stderr.contains("HTTP 404"),
        "{stderr}"
    );
    assert_eq!(env.server.requests_to(MODELS_PATH).len(), 2);
    assert_eq!(env.server.remaining("GET", MODELS_PATH), 0);
    env.server.verify();
}

#[test]
fn list_models_without_a_login_shows_the_built_in_list() {
    let env = Env::new();
    let out = env.sx().arg("--list-models").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), BUILT_IN);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("showing the built-in model list") && stderr.contains("no Codex login"),
        "{stderr}"
    );
    assert!(
        env.server.requests().is_empty(),
        "no login: nothing is asked of the backend"
    );
}
