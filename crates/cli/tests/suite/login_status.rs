//! `scorpiox-codex-login --status` and `--logout` (docs/login.md, "Status and signing out"):
//! the login sx uses — account, plan, expiry, where it comes from — never a token; exit 3 when
//! there is none; signing out revokes and removes the file as `codex logout` does.

use pretty_assertions::assert_eq;
use serde_json::json;
use sx_testkit::MockResponse;
use sx_testkit::auth::{ACCOUNT_ID, AuthJson, CLIENT_ID, EMAIL};

use super::common::{Cmd, Env, error_line, stderr_of};

const BIN: &str = "scorpiox-codex-login";
const REVOKE_PATH: &str = "/oauth/revoke";

fn login(env: &Env) -> Cmd {
    let mut c = env.cmd(BIN);
    c.args(["-e", &format!("CODEX_AUTH_URL={}", env.server.url())]);
    c
}

/// stdout and stderr of a run, with no token of `auth` (nor `extra` secrets) in either.
fn run_clean(c: &mut Cmd, auth: &AuthJson, extra: &[&str]) -> (Option<i32>, String, String) {
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = stderr_of(&out);
    let all = format!("{stdout}{stderr}");
    for secret in [auth.access_token(), auth.id_token()]
        .iter()
        .map(String::as_str)
        .chain(extra.iter().copied())
    {
        assert!(!all.contains(secret), "a secret was printed: {all}");
    }
    (out.status.code(), stdout, stderr)
}

#[test]
fn status_shows_the_login_and_never_a_token() {
    let env = Env::new();
    let auth = env.login(AuthJson::new().refresh_token("rt-status").expires_in(3600));
    let (code, stdout, stderr) = run_clean(login(&env).arg("--status"), &auth, &["rt-status"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains(&format!(
            "Signed in as {EMAIL} (plan: pro, account: {ACCOUNT_ID})"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("Access token: valid until "), "{stdout}");
    assert!(
        stdout.contains("(in 59m)") || stdout.contains("(in 60m)"),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("Source: local file ~/.codex/auth.json (shared with the official Codex CLI)"),
        "{stdout}"
    );
    assert!(
        env.server.requests().is_empty(),
        "no network for a local login"
    );
}

#[test]
fn status_of_an_expired_token_says_when_it_is_refreshed_and_does_not_refresh() {
    let env = Env::new();
    let auth = env.login(AuthJson::new().expires_in(-600));
    let (code, stdout, _) = run_clean(login(&env).arg("--status"), &auth, &[]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("Access token: expired at ") && stdout.contains("(10m ago)"),
        "{stdout}"
    );
    assert!(stdout.contains("refreshed on the next use"), "{stdout}");
    assert!(env.server.requests().is_empty());
}

#[test]
fn status_without_a_login_exits_3_and_says_how_to_sign_in() {
    let env = Env::new();
    let out = login(&env).arg("--status").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let line = error_line(&out);
    assert!(
        line.contains("not signed in") && line.contains("~/.codex/auth.json"),
        "{line}"
    );
    assert!(
        line.ends_with("run scorpiox-codex-login to sign in"),
        "{line}"
    );
    assert!(out.stdout.is_empty());

    let out = login(&env)
        .args(["--status", "--name", "alice"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let line = error_line(&out);
    assert!(
        line.contains("~/.codex/accounts/alice.json")
            && line.contains("run scorpiox-codex-login --name alice to sign in"),
        "{line}"
    );

    // With OPENAI_API_KEY, codex works meanwhile: said, but still not signed in.
    let out = login(&env)
        .args(["--status", "-e", "OPENAI_API_KEY=sk-meanwhile"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let line = error_line(&out);
    assert!(
        line.contains("uses OPENAI_API_KEY") && !line.contains("sk-meanwhile"),
        "{line}"
    );
}

#[test]
fn status_of_a_named_account_and_of_a_codex_api_key() {
    let env = Env::new();
    let auth = AuthJson::new()
        .account_id("acct-alice")
        .email("alice@example.com");
    auth.write(env.home.join(".codex/accounts/alice.json"));
    let (code, stdout, _) = run_clean(
        login(&env).args(["--status", "--name", "alice", "-e", "CODEX_API_KEY=sk-ck"]),
        &auth,
        &["sk-ck"],
    );
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("alice@example.com") && stdout.contains("acct-alice"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Source: local file ~/.codex/accounts/alice.json\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("official Codex CLI"), "{stdout}");
    assert!(stdout.contains("CODEX_API_KEY is set"), "{stdout}");
}

#[test]
fn status_of_a_remote_source_names_the_service_not_its_key() {
    let env = Env::new();
    let served = AuthJson::new().account_id("acct-remote");
    env.server.enqueue(
        "GET",
        "/codex",
        MockResponse::json(
            200,
            json!({"access_token": served.access_token(), "account_id": "acct-remote",
                   "expires_at": served.expires_at(), "source": "local"}),
        ),
    );
    let url = env.server.url().replace("http://", "http://user:pw@");
    let (code, stdout, stderr) = run_clean(
        login(&env).args([
            "--status",
            "-e",
            "CODEX_TOKEN_SOURCE=remote",
            "-e",
            &format!("CODEX_REMOTE_URL={url}/codex"),
            "-e",
            "TOKEN_HTTP_API_KEY=team-key-secret",
        ]),
        &served,
        &["team-key-secret", "user:pw"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("account: acct-remote"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "Source: remote token service {}/codex",
            env.server.url()
        )),
        "{stdout}"
    );
    assert_eq!(env.server.requests().len(), 1);
}

#[test]
fn logout_revokes_and_removes_the_shared_file_as_codex_logout_does() {
    let env = Env::new();
    let auth = env.login(AuthJson::new().refresh_token("rt-out"));
    let lock = env.home.join(".codex/auth.json.lock");
    std::fs::write(&lock, "").unwrap();
    env.server
        .enqueue("POST", REVOKE_PATH, MockResponse::json(200, json!({})));
    let (code, stdout, stderr) = run_clean(login(&env).arg("--logout"), &auth, &["rt-out"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!env.auth_path().exists() && !lock.exists());
    assert!(
        stdout.contains("Signed out: removed ~/.codex/auth.json."),
        "{stdout}"
    );
    assert!(stdout.contains("official Codex CLI"), "{stdout}");
    let r = &env.server.requests_to(REVOKE_PATH)[0];
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        json!({"token": "rt-out", "token_type_hint": "refresh_token", "client_id": CLIENT_ID})
    );
    // Signed out: --status says so.
    let out = login(&env).arg("--status").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn logout_of_a_named_account_leaves_the_shared_login_alone() {
    let env = Env::new();
    let shared = env.login(AuthJson::new());
    let file = env.home.join(".codex/accounts/work.json");
    AuthJson::new().refresh_token("rt-work").write(&file);
    env.server
        .enqueue("POST", REVOKE_PATH, MockResponse::json(200, json!({})));
    let (code, stdout, _) = run_clean(
        login(&env).args(["--logout", "--name", "work"]),
        &shared,
        &["rt-work"],
    );
    assert_eq!(code, Some(0));
    assert!(!file.exists());
    assert!(env.auth_path().exists(), "the default login stays");
    assert!(!stdout.contains("official Codex CLI"), "{stdout}");
    assert!(
        stdout.contains("scorpiox-codex-login --name work"),
        "{stdout}"
    );
    assert_eq!(
        env.server.requests_to(REVOKE_PATH)[0].json()["token"],
        "rt-work"
    );
}

#[test]
fn logout_removes_the_file_even_when_the_issuer_refuses_or_there_is_nothing() {
    let env = Env::new();
    let auth = env.login(AuthJson::new());
    env.server.enqueue(
        "POST",
        REVOKE_PATH,
        MockResponse::json(500, json!({"error": "server_error"})),
    );
    let (code, _, stderr) = run_clean(login(&env).arg("--logout"), &auth, &[]);
    assert_eq!(code, Some(0));
    assert!(!env.auth_path().exists());
    assert!(
        stderr.contains("not revoked at the issuer") && stderr.contains("HTTP 500"),
        "{stderr}"
    );

    // Nothing there: said, exit 0, nothing sent.
    let asked = env.server.requests().len();
    let (code, stdout, _) = run_clean(login(&env).arg("--logout"), &auth, &[]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("Not signed in"), "{stdout}");
    assert_eq!(env.server.requests().len(), asked);

    // An API-key auth.json (codex login --with-api-key) is removed, nothing revoked.
    std::fs::write(
        env.auth_path(),
        json!({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-old"}).to_string(),
    )
    .unwrap();
    let (code, _, _) = run_clean(login(&env).arg("--logout"), &auth, &["sk-old"]);
    assert_eq!(code, Some(0));
    assert!(!env.auth_path().exists());
    assert_eq!(env.server.requests().len(), asked);
}

#[test]
fn logout_of_a_remote_source_is_a_usage_error() {
    let env = Env::new();
    let out = login(&env)
        .args(["--logout", "-e", "CODEX_TOKEN_SOURCE=remote"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(error_line(&out).contains("token source"));
    for bad in [["--status", "--logout"], ["--status", "--force"]] {
        let out = login(&env).args(bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}
