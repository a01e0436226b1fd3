//! `sx` with `CODEX_TOKEN_SOURCE=remote` against the real `scorpiox-token-server`, whose issuer
//! is the mock (docs/token-server.md, "The HTTP interface"; docs/troubleshooting.md): a login
//! broken on the server or a refused key is an authentication failure (exit 3, asked once, not
//! retried) told in one line that carries the server's message with its one fix, never the
//! server's raw JSON; a passing failure (503) is retried.

use std::process::Output;

use sx_testkit::auth::{AuthJson, oauth_error, oauth_refresh_ok};
use sx_testkit::{CODEX_RESPONSES_PATH, MockResponse, OAUTH_TOKEN_PATH, fixture};

use super::common::{Env, error_line, stderr_of};
use super::service::Server;

const ALICE: &str = ".codex/accounts/alice.json";

/// Alice's login (`~/.codex/accounts/alice.json`, as `--name alice` writes it) behind a token
/// server that refreshes at the mock; `key` is hers.
struct Setup {
    env: Env,
    key: String,
    server: Server,
}

impl Setup {
    fn new(alice: AuthJson) -> Setup {
        let env = Env::new();
        alice.write(env.home.join(ALICE));
        let key = uuid::Uuid::new_v4().simple().to_string();
        let mut c = std::process::Command::new(super::common::bin_path("scorpiox-token-server"));
        c.env_clear()
            .env("HOME", &env.home)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(&env.proj)
            .args(["--listen", "127.0.0.1:0", "-e"])
            .arg(format!("TOKEN_SERVER_KEYS={key}=~/{ALICE}"))
            .arg("-e")
            .arg(format!("CODEX_AUTH_URL={}", env.server.url()));
        let server = Server::start(c);
        Setup { env, key, server }
    }

    /// `sx -p hi` with its token from the server, presenting `key`.
    fn sx(&self, key: &str) -> Output {
        self.env
            .cmd("sx")
            .args(["-p", "hi", "--provider", "codex", "-e"])
            .arg("CODEX_TOKEN_SOURCE=remote")
            .arg("-e")
            .arg(format!("CODEX_REMOTE_URL={}/codex", self.server.base()))
            .arg("-e")
            .arg(format!("TOKEN_HTTP_API_KEY={key}"))
            .arg("-e")
            .arg(format!("CODEX_BASE_URL={}", self.env.server.codex_base()))
            .args(["-e", "REQUEST_MAX_RETRIES=3"])
            .output()
            .unwrap()
    }
}

/// The one `error:` line of a failed run, checked to be the only line that says anything, to
/// carry no JSON, and to give exactly one fix.
fn one_line(out: &Output) -> String {
    let stderr = stderr_of(out);
    let line = error_line(out);
    assert_eq!(
        stderr.lines().filter(|l| !l.trim().is_empty()).count(),
        1,
        "one line: {stderr}"
    );
    assert!(
        !line.contains('{') && !line.contains("\"message\""),
        "no raw JSON: {line}"
    );
    assert!(!line.contains("try again"), "nothing to retry: {line}");
    line
}

#[test]
fn a_login_broken_on_the_server_is_exit_3_in_one_line_with_the_servers_fix() {
    let s = Setup::new(AuthJson::new().expires_in(-60));
    s.env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(401, oauth_error("refresh_token_reused")),
    );
    let out = s.sx(&s.key);
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let line = one_line(&out);
    assert!(
        line.starts_with("error: the token server at ")
            && line.contains("(HTTP 502)")
            && line.contains("account 'alice'")
            && line.contains("already used"),
        "{line}"
    );
    assert_eq!(
        line.matches("scorpiox-codex-login --name alice --force")
            .count(),
        1,
        "one fix, naming the account: {line}"
    );
    assert_eq!(line.matches("sign in again").count(), 1, "{line}");
    assert!(
        s.env.server.requests_to(CODEX_RESPONSES_PATH).is_empty(),
        "no model call without a token"
    );
    let (_, log) = s.server.stop();
    assert_eq!(
        log.matches(" GET /codex 502 alice ").count(),
        1,
        "asked once, not retried: {log}"
    );
    // The operator's line names the account's login command too.
    let warning = log
        .lines()
        .find(|l| l.starts_with("warning: account 'alice': "))
        .unwrap_or_else(|| panic!("the operator sees why: {log}"));
    assert!(
        warning.contains("run scorpiox-codex-login --name alice --force to sign in again"),
        "{warning}"
    );
}

#[test]
fn a_refused_key_is_exit_3_in_one_line_and_not_retried() {
    let s = Setup::new(AuthJson::new());
    let out = s.sx("not-a-key-of-this-server");
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let line = one_line(&out);
    assert!(
        line.contains("(HTTP 401)") && line.contains("check TOKEN_HTTP_API_KEY"),
        "{line}"
    );
    assert_eq!(line.matches("TOKEN_HTTP_API_KEY").count(), 1, "{line}");
    let (_, log) = s.server.stop();
    assert_eq!(log.matches(" GET /codex 401 - ").count(), 1, "{log}");
}

#[test]
fn a_passing_failure_on_the_server_is_retried() {
    let s = Setup::new(AuthJson::new().expires_in(-60));
    // OpenAI is down for the first refresh (the server answers 503), back for the next.
    s.env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::status(500).body("upstream down"),
    );
    s.env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(200, oauth_refresh_ok(3600, "later", None)),
    );
    s.env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/text.sse")),
    );
    let out = s.sx(&s.key);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello from the mock.\n",
        "{}",
        stderr_of(&out)
    );
    assert!(out.status.success());
    let (_, log) = s.server.stop();
    assert!(
        log.contains(" GET /codex 503 alice ") && log.contains(" GET /codex 200 alice "),
        "{log}"
    );
}
