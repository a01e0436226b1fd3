//! `scorpiox-codex-fetchtoken` (local, remote), `scorpiox-codex-refreshtoken`, and `sx` with
//! a remote token source — against the loopback mock (backend, OAuth issuer, token service).

use std::os::unix::fs::PermissionsExt;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use sx_testkit::auth::{
    ACCOUNT_ID, AuthJson, MARKER_CLAIM, jwt_claims, oauth_error, oauth_refresh_ok,
};
use sx_testkit::{CODEX_RESPONSES_PATH, ClosedPort, MockResponse, OAUTH_TOKEN_PATH, fixture};

use super::common::{Env, error_line, read_json, stderr_of};

fn fetch(env: &Env, args: &[&str]) -> std::process::Output {
    env.cmd("scorpiox-codex-fetchtoken")
        .arg("-e")
        .arg(format!("CODEX_AUTH_URL={}", env.server.url()))
        .args(args)
        .output()
        .unwrap()
}

fn line(out: &std::process::Output) -> Value {
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(s.lines().count(), 1, "one line: {s:?}");
    serde_json::from_str(s.trim()).unwrap()
}

#[test]
fn local_prints_the_one_json_line() {
    let env = Env::new();
    let auth = env.login(AuthJson::new().expires_in(3600));
    for args in [
        &[][..],
        &["--source", "local"][..],
        &["-local"][..],
        &["-config"][..],
    ] {
        let out = fetch(&env, args);
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
        let v = line(&out);
        assert_eq!(
            v,
            json!({"access_token": auth.access_token(), "account_id": ACCOUNT_ID, "expires_at": auth.expires_at(), "source": "local"}),
            "{args:?}"
        );
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["access_token", "account_id", "expires_at", "source"]);
    }
    assert!(
        env.server.requests().is_empty(),
        "no network for a fresh token"
    );
}

#[test]
fn local_refreshes_an_expiring_token_first() {
    let env = Env::new();
    env.login(AuthJson::new().expires_in(60));
    env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(200, oauth_refresh_ok(3600, "fresh", None)),
    );
    let out = fetch(&env, &[]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        jwt_claims(line(&out)["access_token"].as_str().unwrap())[MARKER_CLAIM],
        "fresh"
    );
    assert_eq!(env.server.requests_to(OAUTH_TOKEN_PATH).len(), 1);
}

#[test]
fn verbose_names_each_setting_and_its_tier_but_no_secret() {
    let env = Env::new();
    let auth = env.login(AuthJson::new());
    let out = fetch(&env, &["--verbose"]);
    assert!(out.status.success());
    let err = stderr_of(&out);
    assert!(err.contains("CODEX_TOKEN_SOURCE=local (default)"), "{err}");
    assert!(
        err.contains(&format!(
            "CODEX_CREDENTIALS_FILE={} (default)",
            env.auth_path().display()
        )),
        "{err}"
    );
    assert!(
        err.contains("CODEX_AUTH_URL=") && err.contains("(command line)"),
        "{err}"
    );
    assert!(
        err.contains("token: source=local account=acct-sx-test-0000, expires in"),
        "{err}"
    );
    assert!(!err.contains(&auth.access_token()));

    let closed = ClosedPort::bind();
    let out = fetch(
        &env,
        &[
            "-remote",
            "--verbose",
            "-e",
            &format!("CODEX_REMOTE_URL={}/x", closed.url()),
            "-e",
            "TOKEN_HTTP_API_KEY=super-secret-key",
        ],
    );
    let err = stderr_of(&out);
    assert!(
        err.contains("TOKEN_HTTP_API_KEY=*** (command line)"),
        "{err}"
    );
    assert!(!err.contains("super-secret-key"), "{err}");
}

#[test]
fn local_failures_are_one_line_with_exit_3() {
    let env = Env::new();
    let out = fetch(&env, &[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(error_line(&out).contains("no Codex login found"));
    env.login(AuthJson::new().expires_in(-5));
    env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(401, oauth_error("refresh_token_expired")),
    );
    let out = fetch(&env, &[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(error_line(&out).contains("refresh token has expired"));
    let out = fetch(&env, &["--source", "carrier-pigeon"]);
    assert_eq!(out.status.code(), Some(2));
}

// --- remote ---------------------------------------------------------------------------------

const TOKEN_PATH: &str = "/codex";

fn remote_args(env: &Env) -> Vec<String> {
    vec![
        "--source".into(),
        "remote".into(),
        "-e".into(),
        format!("CODEX_REMOTE_URL={}{TOKEN_PATH}", env.server.url()),
    ]
}

#[test]
fn remote_fetches_the_line_with_the_bearer_key_and_never_refreshes() {
    let env = Env::new();
    // An expired token from the service is passed on as is: only the service refreshes.
    let served = AuthJson::new()
        .expires_in(-30)
        .access_marker("from-service");
    let body = json!({"access_token": served.access_token(), "account_id": "acct-remote", "expires_at": served.expires_at(), "source": "local"});
    env.server
        .enqueue("GET", TOKEN_PATH, MockResponse::json(200, body));
    let mut args = remote_args(&env);
    args.extend(["-e".into(), "TOKEN_HTTP_API_KEY=team-key-123".into()]);
    let out = env
        .cmd("scorpiox-codex-fetchtoken")
        .args(&args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v = line(&out);
    assert_eq!(v["access_token"], served.access_token());
    assert_eq!(v["account_id"], "acct-remote");
    assert_eq!(v["source"], "remote");
    let reqs = env.server.requests_to(TOKEN_PATH);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].header("authorization"), Some("Bearer team-key-123"));
    assert!(env.server.requests_to(OAUTH_TOKEN_PATH).is_empty());
}

#[test]
fn remote_accepts_an_auth_json_document_and_retries_5xx() {
    let env = Env::new();
    let doc = AuthJson::new().access_marker("doc").to_json();
    env.server
        .enqueue("GET", TOKEN_PATH, MockResponse::status(503).body("busy"));
    env.server
        .enqueue("GET", TOKEN_PATH, MockResponse::json(200, doc.clone()));
    let out = env
        .cmd("scorpiox-codex-fetchtoken")
        .args(remote_args(&env))
        .arg("-http")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v = line(&out);
    assert_eq!(v["access_token"], doc["tokens"]["access_token"]);
    assert_eq!(v["account_id"], ACCOUNT_ID);
    assert_eq!(env.server.requests_to(TOKEN_PATH).len(), 2);
    assert!(
        env.server.requests_to(TOKEN_PATH)[0]
            .header("authorization")
            .is_none(),
        "no key configured, none sent"
    );
}

#[test]
fn remote_failures_are_clear() {
    struct Case {
        resp: fn() -> MockResponse,
        code: i32,
        words: &'static [&'static str],
    }
    let cases = [
        Case {
            resp: || MockResponse::json(401, json!({"error": "unauthorized"})),
            code: 3,
            words: &["refused", "TOKEN_HTTP_API_KEY"],
        },
        Case {
            resp: || MockResponse::status(403).body("forbidden"),
            code: 3,
            words: &["HTTP 403"],
        },
        Case {
            resp: || MockResponse::status(404).body("nope"),
            code: 2,
            words: &["HTTP 404", "CODEX_REMOTE_URL"],
        },
        Case {
            resp: || MockResponse::status(200).body("<html>hello</html>"),
            code: 1,
            words: &["not a token", "not JSON"],
        },
        Case {
            resp: || MockResponse::json(200, json!({"token": "x"})),
            code: 1,
            words: &["no access_token"],
        },
    ];
    for case in cases {
        let env = Env::new();
        env.server.enqueue("GET", TOKEN_PATH, (case.resp)());
        let out = env
            .cmd("scorpiox-codex-fetchtoken")
            .args(remote_args(&env))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(case.code), "{}", stderr_of(&out));
        let l = error_line(&out);
        for w in case.words {
            assert!(l.contains(w), "{l:?} should mention {w:?}");
        }
    }
    let env = Env::new();
    let out = env
        .cmd("scorpiox-codex-fetchtoken")
        .args(["-remote", "-e", "CODEX_REMOTE_URL="])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(error_line(&out).contains("CODEX_REMOTE_URL"));
    // Connection refused (a port held bound but not listening): a network error, exit 1.
    let closed = ClosedPort::bind();
    let out = env
        .cmd("scorpiox-codex-fetchtoken")
        .arg("-remote")
        .arg("-e")
        .arg(format!("CODEX_REMOTE_URL={}/codex", closed.url()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(error_line(&out).contains("cannot reach the token service"));
}

#[test]
fn sx_uses_the_remote_source_and_refetches_after_a_401() {
    let env = Env::new();
    let first = AuthJson::new().access_marker("remote-1");
    let second = AuthJson::new().access_marker("remote-2");
    env.server.enqueue(
        "GET",
        TOKEN_PATH,
        MockResponse::json(
            200,
            json!({"access_token": first.access_token(), "account_id": "acct-r"}),
        ),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::json(401, json!({"error": {"message": "token revoked"}})),
    );
    env.server.enqueue(
        "GET",
        TOKEN_PATH,
        MockResponse::json(
            200,
            json!({"access_token": second.access_token(), "account_id": "acct-r"}),
        ),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/text.sse")),
    );
    let out = env
        .sx()
        .args(["-p", "hi", "-e", "CODEX_TOKEN_SOURCE=remote", "-e"])
        .arg(format!("CODEX_REMOTE_URL={}{TOKEN_PATH}", env.server.url()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
    let marker = |r: &sx_testkit::Recorded| {
        jwt_claims(
            r.header("authorization")
                .unwrap()
                .strip_prefix("Bearer ")
                .unwrap(),
        )[MARKER_CLAIM]
            .clone()
    };
    assert_eq!(marker(&reqs[0]), "remote-1");
    assert_eq!(marker(&reqs[1]), "remote-2");
    assert_eq!(reqs[1].header("chatgpt-account-id"), Some("acct-r"));
    assert!(env.server.requests_to(OAUTH_TOKEN_PATH).is_empty());
    assert!(
        !env.auth_path().exists(),
        "a remote token is never written locally"
    );
}

// --- refreshtoken ---------------------------------------------------------------------------

fn refresh(env: &Env, args: &[&str]) -> std::process::Output {
    env.cmd("scorpiox-codex-refreshtoken")
        .arg("-e")
        .arg(format!("CODEX_AUTH_URL={}", env.server.url()))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn refreshtoken_leaves_a_fresh_token_alone_unless_forced() {
    let env = Env::new();
    env.login(AuthJson::new().expires_in(3600).refresh_token("rt-a"));
    let out = refresh(&env, &[]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("still valid") && stdout.contains("--force"),
        "{stdout}"
    );
    assert!(env.server.requests().is_empty());

    env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(200, oauth_refresh_ok(7200, "forced", Some("rt-b"))),
    );
    let out = refresh(&env, &["--force", "--verbose"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("refreshed")
            && stdout.contains("old access token expires: ")
            && stdout.contains("new access token expires: "),
        "{stdout}"
    );
    assert!(
        stdout.contains("(in 59m)") && stdout.contains("(in 119m)"),
        "{stdout}"
    );
    // --verbose shows tokens masked to a prefix only.
    let saved = read_json(&env.auth_path());
    let new_access = saved["tokens"]["access_token"].as_str().unwrap();
    assert!(
        stdout.contains(&format!("new access token: {}…***", &new_access[..6])),
        "{stdout}"
    );
    assert!(
        !stdout.contains(new_access) && !stdout.contains("rt-b\n"),
        "{stdout}"
    );
    assert_eq!(saved["tokens"]["refresh_token"], "rt-b");
    // A forced refresh says what the official client says for a refresh it decides on: it
    // sends no other value (codex-refresh-request.json).
    assert_eq!(
        env.server.requests_to(OAUTH_TOKEN_PATH)[0].json()["refresh_reason"],
        "proactive_expiry"
    );
    assert_eq!(
        std::fs::metadata(env.auth_path())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
}

#[test]
fn refreshtoken_on_another_file_and_its_failures() {
    let env = Env::new();
    let other = env.home.join("accounts/bob.json");
    AuthJson::new().expires_in(30).write(&other);
    env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(200, oauth_refresh_ok(3600, "bob", None)),
    );
    let out = refresh(&env, &["--credentials-file", other.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        jwt_claims(
            read_json(&other)["tokens"]["access_token"]
                .as_str()
                .unwrap()
        )[MARKER_CLAIM],
        "bob"
    );

    env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(401, oauth_error("refresh_token_invalidated")),
    );
    let out = refresh(
        &env,
        &["--force", "--credentials-file", other.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(error_line(&out).contains("revoked"));
    let out = refresh(&env, &["--credentials-file", "/nonexistent/auth.json"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(error_line(&out).contains("/nonexistent/auth.json"));
}

#[test]
fn a_refresh_token_code_means_sign_in_again_at_any_status() {
    for (code, says) in [
        ("refresh_token_expired", "expired"),
        ("refresh_token_reused", "already used"),
        ("refresh_token_invalidated", "revoked"),
    ] {
        for status in [400, 403, 502] {
            let env = Env::new();
            let before = env.login(AuthJson::new().expires_in(-60));
            env.server.enqueue(
                "POST",
                OAUTH_TOKEN_PATH,
                MockResponse::json(status, oauth_error(code)),
            );
            // The refresh command, and sx itself (its token expired: nothing to fall back on).
            let out = refresh(&env, &[]);
            assert_eq!(out.status.code(), Some(3), "{code} {status}");
            let line = error_line(&out);
            assert!(
                line.contains(says) && line.contains("sign in again"),
                "{code} {status}: {line}"
            );
            assert_eq!(
                env.server.requests_to(OAUTH_TOKEN_PATH).len(),
                1,
                "not retried"
            );
            env.server.enqueue(
                "POST",
                OAUTH_TOKEN_PATH,
                MockResponse::json(status, oauth_error(code)),
            );
            let out = env.sx().args(["-p", "hi"]).output().unwrap();
            assert_eq!(out.status.code(), Some(3), "sx: {code} {status}");
            assert!(error_line(&out).contains("sign in again"));
            assert!(env.server.requests_to(CODEX_RESPONSES_PATH).is_empty());
            assert_eq!(read_json(&env.auth_path()), before.to_json(), "untouched");
        }
    }
}
