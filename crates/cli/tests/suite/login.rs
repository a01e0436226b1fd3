//! `scorpiox-codex-login` end to end against the loopback mock as the OAuth issuer: the device
//! code flow (pending, slow_down, denied, expired, not enabled), the browser PKCE flow driven by
//! a scripted callback (and the paste fallback), and where and how the login is written.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use sx_testkit::auth::{ACCOUNT_ID, AuthJson, CLIENT_ID, EMAIL};
use sx_testkit::{MockResponse, OAUTH_TOKEN_PATH};
use sxnet::auth::AuthFile;
use sxnet::auth::oauth::{SCOPE, parse_query, s256};

use super::common::{Cmd, Env, assert_no_panic, error_line, read_json, stderr_of};

const BIN: &str = "scorpiox-codex-login";
const USERCODE: &str = "/api/accounts/deviceauth/usercode";
const DEVICE_TOKEN: &str = "/api/accounts/deviceauth/token";
const USER_CODE: &str = "WXYZ-9876";

fn login(env: &Env) -> Cmd {
    let mut c = env.cmd(BIN);
    c.args(["-e", &format!("CODEX_AUTH_URL={}", env.server.url())]);
    c
}

fn tokens_body(auth: &AuthJson, refresh_token: &str) -> Value {
    json!({
        "id_token": auth.id_token(),
        "access_token": auth.access_token(),
        "refresh_token": refresh_token,
    })
}

fn usercode(env: &Env) {
    env.server.enqueue(
        "POST",
        USERCODE,
        MockResponse::json(
            200,
            json!({"device_auth_id": "dev-1", "user_code": USER_CODE, "interval": "0"}),
        ),
    );
}

/// A device flow that ends with the mock's tokens after `polls`.
fn device_flow(env: &Env, polls: Vec<MockResponse>, auth: &AuthJson) {
    usercode(env);
    for p in polls {
        env.server.enqueue("POST", DEVICE_TOKEN, p);
    }
    env.server.enqueue(
        "POST",
        DEVICE_TOKEN,
        MockResponse::json(
            200,
            json!({"authorization_code": "ac-1", "code_challenge": "ch-1", "code_verifier": "ver-1"}),
        ),
    );
    env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(200, tokens_body(auth, "rt-new")),
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn assert_no_secrets(out: &str, auth: &AuthJson) {
    for secret in [auth.access_token(), auth.id_token(), "rt-new".to_string()] {
        assert!(!out.contains(&secret), "a token was printed: {out}");
    }
}

#[test]
fn device_code_pending_then_success_writes_the_official_auth_json() {
    let env = Env::new();
    let auth = AuthJson::new().access_marker("from-login");
    device_flow(
        &env,
        vec![
            MockResponse::status(403),
            MockResponse::status(404),
            MockResponse::json(400, json!({"error": "authorization_pending"})),
        ],
        &auth,
    );
    let out = login(&env).output().unwrap();
    let stderr = stderr_of(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("\n    {}/codex/device\n", env.server.url())),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("\n    {USER_CODE}\n")), "{stderr}");
    assert!(
        stdout.contains(&format!(
            "Signed in as {EMAIL} (plan: pro, account: {ACCOUNT_ID})"
        )),
        "{stdout}"
    );
    let path = env.auth_path();
    assert!(stdout.contains(&path.display().to_string()), "{stdout}");
    assert_no_secrets(&format!("{stdout}{stderr}"), &auth);

    // The official shape, private, and loadable by sx.
    assert_eq!(mode(&path), 0o600);
    let doc = read_json(&path);
    assert_eq!(doc["auth_mode"], "chatgpt");
    assert_eq!(
        doc["OPENAI_API_KEY"],
        Value::Null,
        "no key mint in the device flow"
    );
    assert_eq!(
        doc["tokens"],
        json!({
            "id_token": auth.id_token(),
            "access_token": auth.access_token(),
            "refresh_token": "rt-new",
            "account_id": ACCOUNT_ID,
        })
    );
    let last_refresh = doc["last_refresh"].as_str().unwrap();
    assert!(
        last_refresh.len() > 20
            && last_refresh.ends_with('Z')
            && last_refresh.as_bytes()[10] == b'T',
        "RFC 3339 UTC: {last_refresh}"
    );
    let loaded = AuthFile::load(&path).unwrap();
    assert_eq!(loaded.account_id(), Some(ACCOUNT_ID));
    assert_eq!(loaded.access_token, auth.access_token());

    // What was sent.
    let r = &env.server.requests_to(USERCODE)[0];
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json(), json!({"client_id": CLIENT_ID}));
    let polls = env.server.requests_to(DEVICE_TOKEN);
    assert_eq!(polls.len(), 4);
    for p in &polls {
        assert_eq!(
            p.json(),
            json!({"device_auth_id": "dev-1", "user_code": USER_CODE})
        );
    }
    let x = &env.server.requests_to(OAUTH_TOKEN_PATH)[0];
    assert_eq!(
        x.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let redirect = format!("{}/deviceauth/callback", env.server.url());
    assert_eq!(
        parse_query(&x.text()),
        [
            ("grant_type", "authorization_code"),
            ("code", "ac-1"),
            ("redirect_uri", redirect.as_str()),
            ("client_id", CLIENT_ID),
            ("code_verifier", "ver-1"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec()
    );
    assert_eq!(env.server.requests().len(), 6, "nothing else: no key mint");
    assert!(
        stdout.contains("--write-profile"),
        "not a terminal: no prompt, a hint: {stdout}"
    );
    assert!(!env.home.join(".scorpiox").exists());
}

#[test]
fn device_code_slow_down_polls_less_often() {
    let env = Env::new();
    let auth = AuthJson::new();
    device_flow(
        &env,
        vec![MockResponse::json(400, json!({"error": "slow_down"}))],
        &auth,
    );
    let out = login(&env).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let polls = env.server.requests_to(DEVICE_TOKEN);
    assert_eq!(polls.len(), 2);
    // Not a speed check: the mock stamps each poll on arrival and sx sleeps the interval
    // between answer and next poll, so load can only widen the gap; no event replaces it.
    let gap = polls[1].received_at - polls[0].received_at;
    assert!(
        gap >= Duration::from_secs(5),
        "slow_down adds 5 s to the interval: {gap:?}"
    );
}

#[test]
fn device_code_denied_expired_and_server_errors() {
    let cases = [
        (
            MockResponse::json(400, json!({"error": "access_denied"})),
            3,
            "the sign-in was denied",
        ),
        (
            MockResponse::json(400, json!({"error": "expired_token"})),
            3,
            "error: the code expired; run scorpiox-codex-login again",
        ),
        (
            MockResponse::json(500, json!({"error": {"message": "down for maintenance"}})),
            1,
            "HTTP 500: down for maintenance",
        ),
    ];
    for (resp, code, message) in cases {
        let env = Env::new();
        usercode(&env);
        env.server
            .enqueue("POST", DEVICE_TOKEN, MockResponse::status(403));
        env.server.enqueue("POST", DEVICE_TOKEN, resp);
        let out = login(&env).output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{}", stderr_of(&out));
        let line = error_line(&out);
        assert!(line.contains(message), "{line}");
        assert!(!env.auth_path().exists());
        assert!(env.server.requests_to(OAUTH_TOKEN_PATH).is_empty());
    }
}

#[test]
fn device_code_not_enabled_points_to_the_browser_flow() {
    let env = Env::new();
    env.server
        .enqueue("POST", USERCODE, MockResponse::status(404));
    let out = login(&env).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let line = error_line(&out);
    assert!(
        line.starts_with("error: device code login is not enabled for this issuer"),
        "{line}"
    );
    assert!(
        line.ends_with("; run scorpiox-codex-login --browser"),
        "{line}"
    );
}

#[test]
fn a_refused_code_exchange_writes_nothing() {
    let env = Env::new();
    usercode(&env);
    env.server.enqueue(
        "POST",
        DEVICE_TOKEN,
        MockResponse::json(
            200,
            json!({"authorization_code": "ac", "code_challenge": "c", "code_verifier": "v"}),
        ),
    );
    env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(
            400,
            json!({"error": "invalid_grant", "error_description": "Invalid authorization code"}),
        ),
    );
    let out = login(&env).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        error_line(&out).contains("HTTP 400: Invalid authorization code"),
        "{}",
        stderr_of(&out)
    );
    assert!(!env.auth_path().exists());
}

// --- where the login goes ------------------------------------------------------------------

#[test]
fn an_existing_login_needs_force() {
    let env = Env::new();
    let old = env.login(AuthJson::new().account_id("acct-old"));
    let out = login(&env).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let line = error_line(&out);
    assert!(
        line.contains(&env.auth_path().display().to_string()) && line.contains("--force"),
        "{line}"
    );
    assert!(
        env.server.requests().is_empty(),
        "checked before the flow starts"
    );
    assert_eq!(read_json(&env.auth_path()), old.to_json());

    let auth = AuthJson::new().access_marker("new");
    device_flow(&env, vec![], &auth);
    let out = login(&env).arg("--force").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let doc = read_json(&env.auth_path());
    assert_eq!(doc["tokens"]["access_token"], auth.access_token());
    assert_eq!(doc["tokens"]["account_id"], ACCOUNT_ID);
    assert_eq!(mode(&env.auth_path()), 0o600);
}

#[test]
fn codex_home_decides_the_default_file() {
    let env = Env::new();
    let codex_home = env.home.join("elsewhere");
    std::fs::create_dir_all(&codex_home).unwrap();
    let auth = AuthJson::new();
    device_flow(&env, vec![], &auth);
    let out = login(&env).env("CODEX_HOME", &codex_home).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(AuthFile::load(&codex_home.join("auth.json")).is_ok());
    assert!(!env.auth_path().exists());
}

#[test]
fn name_writes_an_account_file_and_its_profile() {
    let env = Env::new();
    let existing = env.login(AuthJson::new().account_id("acct-default"));
    let auth = AuthJson::new().account_id("acct-work");
    device_flow(&env, vec![], &auth);
    let out = login(&env)
        .args(["--name", "work.1", "--write-profile"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let file = env.home.join(".codex/accounts/work.1.json");
    assert_eq!(mode(&file), 0o600);
    assert_eq!(
        AuthFile::load(&file).unwrap().account_id(),
        Some("acct-work")
    );
    assert_eq!(
        read_json(&env.auth_path()),
        existing.to_json(),
        "the default login is untouched"
    );
    let profile = env.home.join(".scorpiox/scorpiox-env/codex-work.1.txt");
    assert_eq!(
        std::fs::read_to_string(&profile).unwrap(),
        "PROVIDER=codex\nCODEX_TOKEN_SOURCE=local\nCODEX_CREDENTIALS_FILE=~/.codex/accounts/work.1.json\n"
    );
    assert!(stdout.contains("ACTIVE_PROFILE=codex-work.1"), "{stdout}");

    // The same name again needs --force.
    let out = login(&env).args(["--name", "work.1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(error_line(&out).contains("work.1.json"));
}

#[test]
fn write_profile_without_a_name() {
    let env = Env::new();
    device_flow(&env, vec![], &AuthJson::new());
    let out = login(&env).arg("--write-profile").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let profile = env.home.join(".scorpiox/scorpiox-env/codex.txt");
    assert_eq!(
        std::fs::read_to_string(profile).unwrap(),
        "PROVIDER=codex\nCODEX_TOKEN_SOURCE=local\n"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ACTIVE_PROFILE=codex"));
}

#[test]
fn invalid_account_names_are_usage_errors() {
    let env = Env::new();
    for bad in [".hidden", "a/b", "two words", "", "../x"] {
        let out = login(&env).args(["--name", bad]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(error_line(&out).contains("invalid account name"), "{bad:?}");
    }
    let out = login(&env)
        .args(["--write-profile", "--no-profile"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(env.server.requests().is_empty());
}

// --- the browser flow ----------------------------------------------------------------------

/// The binary running `--browser --no-open --port 0`, its stderr read line by line.
pub(super) struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: String,
}

impl Running {
    fn start(env: &Env) -> Running {
        Running::start_on(env, "0")
    }

    /// With the callback ports `ports` (the hidden test-only `--port P[,Q…]`).
    pub(super) fn start_on(env: &Env, ports: &str) -> Running {
        let mut child = Command::new(super::common::bin_path(BIN))
            .env_clear()
            .env("HOME", &env.home)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(&env.proj)
            .args(["-e", &format!("CODEX_AUTH_URL={}", env.server.url())])
            .args(["--browser", "--no-open", "--port", ports])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            stderr: String::new(),
        }
    }

    /// The authorize URL the binary printed.
    pub(super) fn authorize_url(&mut self, issuer: &str) -> String {
        let prefix = format!("{issuer}/oauth/authorize?");
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|e| panic!("no authorize URL ({e}); stderr: {}", self.stderr));
            self.stderr.push_str(&line);
            self.stderr.push('\n');
            if let Some(url) = line.trim().strip_prefix(&prefix) {
                return format!("{prefix}{url}");
            }
        }
    }

    fn paste(&mut self, text: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Wait for the exit (killing a hung binary); exit status, stdout, all of stderr.
    pub(super) fn finish(mut self) -> (ExitStatus, String, String) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("{BIN} did not exit; stderr: {}", self.stderr);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stdout = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            self.stderr.push_str(&line);
            self.stderr.push('\n');
        }
        assert_no_panic(&self.stderr);
        (status, stdout, self.stderr)
    }
}

/// The authorize URL's parameters, checked against docs/protocols/codex.md §A.4; returns (port, state,
/// code_challenge).
pub(super) fn check_authorize_url(url: &str) -> (u16, String, String) {
    let query = url.split_once('?').unwrap().1;
    let params = parse_query(query);
    let keys: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "code_challenge",
            "code_challenge_method",
            "id_token_add_organizations",
            "codex_cli_simplified_flow",
            "state",
            "originator",
        ]
    );
    let v = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let redirect = v("redirect_uri");
    let port: u16 = redirect
        .strip_prefix("http://localhost:")
        .and_then(|r| r.strip_suffix("/auth/callback"))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("redirect_uri {redirect}"));
    assert_ne!(port, 0);
    assert_eq!(v("response_type"), "code");
    assert_eq!(v("client_id"), CLIENT_ID);
    assert_eq!(v("scope"), SCOPE);
    assert_eq!(v("code_challenge_method"), "S256");
    assert_eq!(v("id_token_add_organizations"), "true");
    assert_eq!(v("codex_cli_simplified_flow"), "true");
    assert_eq!(v("originator"), "sx");
    assert_eq!(v("state").len(), 43);
    assert_eq!(v("code_challenge").len(), 43);
    // Values are percent-encoded the way the official client encodes them.
    assert!(
        query.contains(&format!(
            "&redirect_uri=http%3A%2F%2Flocalhost%3A{port}%2Fauth%2Fcallback&scope=openid%20profile%20email%20offline_access%20api.connectors.read%20api.connectors.invoke&"
        )),
        "{query}"
    );
    (port, v("state"), v("code_challenge"))
}

/// A plain HTTP/1.1 GET to the callback server: (status, head and body).
pub(super) fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    (status, text)
}

pub(super) fn enqueue_exchange(env: &Env, auth: &AuthJson, minted: Option<&str>) {
    env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(200, tokens_body(auth, "rt-new")),
    );
    if let Some(key) = minted {
        env.server.enqueue(
            "POST",
            OAUTH_TOKEN_PATH,
            MockResponse::json(200, json!({"access_token": key})),
        );
    }
}

fn exchange_params(env: &Env) -> Vec<(String, String)> {
    parse_query(&env.server.requests_to(OAUTH_TOKEN_PATH)[0].text())
}

#[test]
fn browser_flow_via_the_callback() {
    let env = Env::new();
    let auth = AuthJson::new();
    enqueue_exchange(&env, &auth, Some("sk-minted-key"));
    let mut run = Running::start(&env);
    let url = run.authorize_url(&env.server.url());
    let (port, state, challenge) = check_authorize_url(&url);

    let (status, head) = http_get(
        port,
        &format!("/auth/callback?code=auth-code-1&state={state}"),
    );
    assert_eq!(status, 302, "{head}");
    assert!(
        head.contains(&format!("Location: http://localhost:{port}/success\r\n")),
        "{head}"
    );
    let (status, page) = http_get(port, "/success");
    assert_eq!(status, 200);
    assert!(page.contains("Signed in"), "{page}");
    let (status, stdout, stderr) = run.finish();
    assert!(status.success(), "{stderr}");
    assert!(
        stdout.contains(&format!("Signed in as {EMAIL}")),
        "{stdout}"
    );
    assert_no_secrets(&format!("{stdout}{stderr}"), &auth);
    assert!(!stdout.contains("sk-minted-key") && !stderr.contains("sk-minted-key"));

    let reqs = env.server.requests_to(OAUTH_TOKEN_PATH);
    assert_eq!(reqs.len(), 2, "the exchange, then the API-key mint");
    let p = exchange_params(&env);
    let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("grant_type"), Some("authorization_code"));
    assert_eq!(get("code"), Some("auth-code-1"));
    assert_eq!(
        get("redirect_uri"),
        Some(format!("http://localhost:{port}/auth/callback").as_str())
    );
    assert_eq!(get("client_id"), Some(CLIENT_ID));
    let verifier = get("code_verifier").unwrap();
    assert_eq!(verifier.len(), 86);
    assert_eq!(
        s256(verifier),
        challenge,
        "the verifier matches the challenge"
    );
    let mint = parse_query(&reqs[1].text());
    assert_eq!(
        mint[0],
        (
            "grant_type".to_string(),
            "urn:ietf:params:oauth:grant-type:token-exchange".to_string()
        )
    );
    assert!(mint.contains(&("subject_token".to_string(), auth.id_token())));

    let doc = read_json(&env.auth_path());
    assert_eq!(doc["OPENAI_API_KEY"], "sk-minted-key");
    assert_eq!(doc["auth_mode"], "chatgpt");
    assert_eq!(doc["tokens"]["account_id"], ACCOUNT_ID);
    assert_eq!(mode(&env.auth_path()), 0o600);
    assert!(AuthFile::load(&env.auth_path()).is_ok());
}

#[test]
fn browser_flow_refuses_a_wrong_state() {
    let env = Env::new();
    enqueue_exchange(&env, &AuthJson::new(), None);
    let mut run = Running::start(&env);
    let url = run.authorize_url(&env.server.url());
    let (port, _, _) = check_authorize_url(&url);
    let (status, page) = http_get(port, "/auth/callback?code=c&state=forged");
    assert_eq!(status, 400);
    assert!(page.contains("State mismatch"), "{page}");
    let (status, _, stderr) = run.finish();
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("error: the sign-in callback's state did not match"),
        "{stderr}"
    );
    assert!(!env.auth_path().exists());
    assert!(env.server.requests().is_empty(), "no code exchange");
}

#[test]
fn browser_flow_paste_fallback() {
    let env = Env::new();
    let auth = AuthJson::new();
    enqueue_exchange(&env, &auth, None);
    let mut run = Running::start(&env);
    let url = run.authorize_url(&env.server.url());
    let (port, state, _) = check_authorize_url(&url);
    run.paste("\n");
    run.paste(&format!(
        "http://localhost:{port}/auth/callback?code=pasted-code&scope=openid&state={state}\n"
    ));
    let (status, stdout, stderr) = run.finish();
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("Signed in as"), "{stdout}");
    let p = exchange_params(&env);
    assert!(p.contains(&("code".to_string(), "pasted-code".to_string())));
    assert!(p.contains(&(
        "redirect_uri".to_string(),
        format!("http://localhost:{port}/auth/callback")
    )));
    assert!(AuthFile::load(&env.auth_path()).is_ok());
    // The key mint failed (nothing scripted): best effort, no key.
    assert_eq!(read_json(&env.auth_path())["OPENAI_API_KEY"], Value::Null);
}

#[test]
fn browser_flow_pasted_url_with_a_wrong_state() {
    let env = Env::new();
    let mut run = Running::start(&env);
    let url = run.authorize_url(&env.server.url());
    let (port, _, _) = check_authorize_url(&url);
    run.paste(&format!(
        "http://localhost:{port}/auth/callback?code=c&state=stale\n"
    ));
    let (status, _, stderr) = run.finish();
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("state did not match"), "{stderr}");
    assert!(!env.auth_path().exists());
    assert!(env.server.requests().is_empty());
}

// --- after the sign-in: the suggested profile command, the wording ---------------------------

/// The command `scorpiox-codex-login` suggests in its last line (between backticks, after
/// "or run"), split into words.
fn suggested(stdout: &str) -> Vec<String> {
    let after = stdout
        .rsplit_once("or run `")
        .unwrap_or_else(|| panic!("no suggestion: {stdout}"))
        .1;
    let cmd = after.split_once('`').unwrap().0;
    cmd.split_whitespace().map(String::from).collect()
}

#[test]
fn the_suggested_write_profile_works_after_a_login() {
    for name in [None, Some("work")] {
        let env = Env::new();
        device_flow(&env, vec![], &AuthJson::new());
        let mut first = login(&env);
        if let Some(n) = name {
            first.args(["--name", n]);
        }
        let out = first.output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let words = suggested(&stdout);
        assert_eq!(words[0], BIN, "{stdout}");
        let asked = env.server.requests().len();

        // Run exactly what was suggested.
        let out = login(&env).args(&words[1..]).output().unwrap();
        assert!(out.status.success(), "{name:?}: {}", stderr_of(&out));
        assert_eq!(
            env.server.requests().len(),
            asked,
            "no second sign-in: the existing login is used"
        );
        let (profile, file) = match name {
            Some(n) => (format!("codex-{n}"), format!("~/.codex/accounts/{n}.json")),
            None => ("codex".to_string(), String::new()),
        };
        let text = std::fs::read_to_string(
            env.home
                .join(".scorpiox/scorpiox-env")
                .join(format!("{profile}.txt")),
        )
        .unwrap();
        assert!(text.contains("PROVIDER=codex\n"), "{text}");
        if name.is_some() {
            assert!(
                text.contains(&format!("CODEX_CREDENTIALS_FILE={file}\n")),
                "{text}"
            );
        }
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("ACTIVE_PROFILE={profile}"))
        );
    }
}

#[test]
fn write_profile_over_a_file_that_is_no_login_says_so() {
    let env = Env::new();
    std::fs::create_dir_all(env.auth_path().parent().unwrap()).unwrap();
    std::fs::write(env.auth_path(), "{not json").unwrap();
    let out = login(&env).arg("--write-profile").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        error_line(&out).contains("--force"),
        "sign in again with --force"
    );
    assert!(!env.home.join(".scorpiox/scorpiox-env/codex.txt").exists());
    assert!(env.server.requests().is_empty());
}

#[test]
fn only_the_official_file_is_said_to_be_shared_with_the_official_cli() {
    // The default file: the official Codex CLI reads it too.
    let env = Env::new();
    device_flow(&env, vec![], &AuthJson::new());
    let out = login(&env).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stdout.contains("official Codex CLI uses this login too"),
        "{stdout}"
    );

    // --name ACCOUNT, or another CODEX_CREDENTIALS_FILE: the official CLI never reads those.
    for extra in [
        vec!["--name".to_string(), "alice".to_string()],
        vec![
            "-e".to_string(),
            format!(
                "CODEX_CREDENTIALS_FILE={}",
                env.home.join("elsewhere/auth.json").display()
            ),
        ],
    ] {
        device_flow(&env, vec![], &AuthJson::new());
        let out = login(&env).args(&extra).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert!(stdout.contains("Saved the login to "), "{stdout}");
        assert!(
            !stdout.contains("official Codex CLI"),
            "{extra:?}: {stdout}"
        );
    }
}
