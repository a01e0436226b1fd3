//! `scorpiox-token-server` (docs/spec.md §4.2), run as the real binary and spoken to over real HTTP:
//! bearer keys, one token per account, central refresh (one upstream request however many
//! callers), error statuses, request limits, the access log, startup errors, and `sx` fetching
//! its token from it end to end. The mock is the OAuth issuer and the Codex backend.

use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use sx_testkit::auth::{AuthJson, MARKER_CLAIM, jwt_claims, oauth_error, oauth_refresh_ok};
use sx_testkit::{CODEX_RESPONSES_PATH, MockResponse, OAUTH_TOKEN_PATH, fixture};

use super::common::{Env, error_line, read_json, stderr_of};
use super::service::{Resp, Server, accept_within_a_minute, read_request};

const BIN: &str = "scorpiox-token-server";

/// Two accounts, alice (`~/.codex/accounts/alice.json`, written with `~` in the key map) and
/// bob (an absolute path), each with its own long random key.
struct Team {
    env: Env,
    alice: AuthJson,
    bob: AuthJson,
    alice_key: String,
    bob_key: String,
}

impl Team {
    fn new(alice: AuthJson) -> Team {
        let env = Env::new();
        let alice = alice.access_marker("alice").account_id("acct-alice");
        let bob = AuthJson::new().access_marker("bob").account_id("acct-bob");
        alice.write(env.home.join(".codex/accounts/alice.json"));
        bob.write(env.home.join("srv/bob.json"));
        let key = || uuid::Uuid::new_v4().simple().to_string();
        Team {
            env,
            alice,
            bob,
            alice_key: key(),
            bob_key: key(),
        }
    }

    fn alice_path(&self) -> PathBuf {
        self.env.home.join(".codex/accounts/alice.json")
    }

    fn keys(&self) -> String {
        format!(
            "{}=~/.codex/accounts/alice.json,{}={}",
            self.alice_key,
            self.bob_key,
            self.env.home.join("srv/bob.json").display()
        )
    }

    fn command(&self, keys: &str) -> Command {
        self.command_on("127.0.0.1:0", keys, &self.env.server.url())
    }

    /// The server on `listen`, refreshing at the issuer `auth_url`.
    fn command_on(&self, listen: &str, keys: &str, auth_url: &str) -> Command {
        let mut c = Command::new(super::common::bin_path(BIN));
        c.env_clear()
            .env("HOME", &self.env.home)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(&self.env.proj)
            .args(["--listen", listen, "-e"])
            .arg(format!("TOKEN_SERVER_KEYS={keys}"))
            .arg("-e")
            .arg(format!("CODEX_AUTH_URL={auth_url}"));
        c
    }

    fn start(&self) -> Server {
        Server::start(self.command(&self.keys()))
    }

    /// Every secret the server holds: no log line and no refusal may contain one.
    fn secrets(&self) -> Vec<String> {
        vec![
            self.alice_key.clone(),
            self.bob_key.clone(),
            self.alice.access_token(),
            self.bob.access_token(),
            sx_testkit::auth::REFRESH_TOKEN.to_string(),
        ]
    }
}

fn marker(token: &str) -> Value {
    jwt_claims(token)[MARKER_CLAIM].clone()
}

#[test]
fn each_key_gets_its_own_account_and_no_key_gets_nothing() {
    let team = Team::new(AuthJson::new());
    let server = team.start();

    let none = server.get("/codex", None);
    assert_eq!(none.status, 401, "{none:?}");
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    assert!(
        none.error_message().contains("TOKEN_HTTP_API_KEY"),
        "{none:?}"
    );
    let wrong = server.get("/codex", Some(&uuid::Uuid::new_v4().simple().to_string()));
    assert_eq!(wrong.status, 401, "{wrong:?}");
    assert_eq!(wrong.header("www-authenticate"), Some("Bearer"));
    let prefix = server.get("/codex", Some(&team.alice_key[..31]));
    assert_eq!(prefix.status, 401, "a prefix of a key is not the key");
    let basic = server.raw(&format!(
        "GET /codex HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\nConnection: close\r\n\r\n",
        team.alice_key
    ));
    assert_eq!(basic.status, 401);
    for r in [&none, &wrong, &prefix, &basic] {
        assert!(
            !r.body.contains("access_token") && !r.body.contains("eyJ"),
            "{r:?}"
        );
    }

    for (key, auth, account) in [
        (&team.alice_key, &team.alice, "acct-alice"),
        (&team.bob_key, &team.bob, "acct-bob"),
    ] {
        // The scheme is case-insensitive.
        for scheme in ["Bearer", "bearer"] {
            let r = server.raw(&format!(
                "GET /codex HTTP/1.1\r\nHost: x\r\nAuthorization: {scheme} {key}\r\nConnection: close\r\n\r\n"
            ));
            assert_eq!(r.status, 200, "{r:?}");
            assert_eq!(r.header("content-type"), Some("application/json"));
            assert_eq!(r.header("cache-control"), Some("no-store"));
            assert_eq!(r.body.lines().count(), 1, "one JSON line: {r:?}");
            let v = r.json();
            assert_eq!(
                v,
                json!({"access_token": auth.access_token(), "account_id": account,
                       "expires_at": auth.expires_at(), "source": "local"})
            );
            let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["access_token", "account_id", "expires_at", "source"]);
            assert_eq!(
                jwt_claims(v["access_token"].as_str().unwrap())["exp"],
                v["expires_at"]
            );
        }
    }
    assert!(
        team.env.server.requests().is_empty(),
        "fresh tokens need no refresh"
    );

    let (status, log) = server.stop();
    assert!(status.success(), "SIGTERM is a clean exit: {status}; {log}");
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(" GET /codex ")).collect();
    assert_eq!(lines.len(), 8, "one access-log line per request: {log}");
    for l in &lines {
        let f: Vec<&str> = l.split(' ').collect();
        assert_eq!(
            f.len(),
            7,
            "time peer method path status account latency: {l}"
        );
        assert!(
            f[0].len() >= 20 && f[0].as_bytes()[10] == b'T' && f[0].ends_with('Z'),
            "{l}"
        );
        assert!(f[1].starts_with("127.0.0.1:"), "{l}");
        assert!(f[6].ends_with("ms"), "{l}");
    }
    let pairs: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f[4], f[5])
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("401", "-"),
            ("401", "-"),
            ("401", "-"),
            ("401", "-"),
            ("200", "alice"),
            ("200", "alice"),
            ("200", "bob"),
            ("200", "bob")
        ]
    );
    for s in team.secrets() {
        assert!(!log.contains(&s), "a secret in the log: {log}");
    }
    assert!(
        !log.contains("Bearer") && !log.contains("uthorization"),
        "{log}"
    );
}

#[test]
fn health_unknown_paths_methods_and_request_limits() {
    let team = Team::new(AuthJson::new());
    // A short key for alice: accepted, with a warning that does not show it.
    let short = "tiny-key";
    let keys = format!(
        "{short}=~/.codex/accounts/alice.json,{}={}",
        team.bob_key,
        team.env.home.join("srv/bob.json").display()
    );
    let server = Server::start(team.command(&keys));

    let h = server.get("/healthz", None);
    assert_eq!((h.status, h.body.trim()), (200, "ok"));
    let h = server.get("/readyz", None);
    assert_eq!((h.status, h.body.trim()), (200, "ok"));
    let m = server.get("/metrics", None);
    assert_eq!(m.status, 200);
    for want in [
        "scorpiox_token_server_requests_total{path=\"/healthz\",status=\"200\"} 1",
        "scorpiox_token_server_requests_total{path=\"/readyz\",status=\"200\"} 1",
        "# TYPE scorpiox_token_server_token_failures_total counter",
    ] {
        assert!(m.body.contains(want), "{want}: {}", m.body);
    }
    let r = server.get("/nope", Some(&team.bob_key));
    assert_eq!(r.status, 404);
    assert!(r.error_message().contains("GET /codex"), "{r:?}");
    let r = server
        .raw("POST /codex HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 405, "{r:?}");
    assert!(
        r.header("allow").is_some_and(|a| a.contains("GET")),
        "{r:?}"
    );
    assert_eq!(
        server
            .raw("DELETE /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .status,
        405
    );

    // A head over 16 KiB.
    let big = "x".repeat(20 * 1024);
    let r = server.raw(&format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(r.status, 431, "{r:?}");
    // A body announced over 4 KiB is refused before it is read; a small one is read and ignored.
    let r = server.raw(
        "GET /codex HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 413, "{r:?}");
    let small = "y".repeat(100);
    let r = server.raw(&format!(
        "GET /codex HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {short}\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{small}"
    ));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(marker(r.json()["access_token"].as_str().unwrap()), "alice");

    let (status, log) = server.stop();
    assert!(status.success(), "{status}: {log}");
    let warnings: Vec<&str> = log.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(
        warnings[0].contains("entry 1 (account 'alice')")
            && warnings[0].contains("shorter than 24"),
        "{log}"
    );
    assert!(
        !log.contains(short),
        "the short key itself is never shown: {log}"
    );
    assert!(log.contains(" GET /healthz 431 - "), "{log}");
    assert!(log.contains(" GET /codex 413 - "), "{log}");
    assert!(log.contains(" POST /codex 405 - "), "{log}");
    assert!(log.contains(" GET /nope 404 - "), "{log}");
    assert!(log.contains(" GET /codex 200 alice "), "{log}");
}

#[test]
fn fifty_callers_across_an_expiry_cause_exactly_one_refresh() {
    let team = Team::new(AuthJson::new().expires_in(-60));
    // Exactly one answer: a second refresh would get the mock's 500 and fail its caller.
    team.env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(200, oauth_refresh_ok(3600, "fresh", Some("rt-rotated"))),
    );
    let server = Arc::new(team.start());
    let barrier = Arc::new(Barrier::new(50));
    let callers: Vec<_> = (0..50)
        .map(|_| {
            let (server, barrier, key) = (
                Arc::clone(&server),
                Arc::clone(&barrier),
                team.alice_key.clone(),
            );
            std::thread::spawn(move || {
                barrier.wait();
                server.get("/codex", Some(&key))
            })
        })
        .collect();
    let answers: Vec<Resp> = callers.into_iter().map(|c| c.join().unwrap()).collect();
    let first = answers[0].json();
    assert_eq!(
        marker(first["access_token"].as_str().unwrap()),
        "fresh",
        "{first}"
    );
    for a in &answers {
        assert_eq!(a.status, 200, "{a:?}");
        assert_eq!(a.json(), first, "every caller gets the same fresh token");
    }
    assert_eq!(
        team.env.server.requests_to(OAUTH_TOKEN_PATH).len(),
        1,
        "one refresh upstream"
    );
    let saved = read_json(&team.alice_path());
    assert_eq!(saved["tokens"]["access_token"], first["access_token"]);
    assert_eq!(saved["tokens"]["refresh_token"], "rt-rotated");
    // Bob's login was not touched.
    let b = server.get("/codex", Some(&team.bob_key)).json();
    assert_eq!(marker(b["access_token"].as_str().unwrap()), "bob");
}

#[test]
fn a_rejected_refresh_is_a_502_that_says_what_to_do() {
    let team = Team::new(AuthJson::new().expires_in(-60));
    team.env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(401, oauth_error("refresh_token_reused")),
    );
    let server = team.start();
    for _ in 0..2 {
        let r = server.get("/codex", Some(&team.alice_key));
        assert_eq!(r.status, 502, "{r:?}");
        let m = r.error_message();
        assert!(
            m.contains("account 'alice'") && m.contains("already used"),
            "{m}"
        );
        assert!(m.contains("scorpiox-codex-login --name alice"), "{m}");
        for s in team.secrets() {
            assert!(!r.body.contains(&s), "{r:?}");
        }
        assert!(
            !r.body.contains(&team.env.home.display().to_string()),
            "no server paths: {r:?}"
        );
    }
    assert_eq!(
        team.env.server.requests_to(OAUTH_TOKEN_PATH).len(),
        1,
        "a refresh token refused for good is not sent again"
    );
    assert_eq!(
        server.get("/codex", Some(&team.bob_key)).status,
        200,
        "other accounts still work"
    );
    let (_, log) = server.stop();
    assert!(log.contains(" GET /codex 502 alice "), "{log}");
    assert!(
        log.lines()
            .any(|l| l.starts_with("warning: account 'alice': ")),
        "the operator sees why: {log}"
    );
}

#[test]
fn a_transient_refresh_failure_is_a_503_with_retry_after() {
    let team = Team::new(AuthJson::new().expires_in(-60));
    team.env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::status(500).body("upstream down"),
    );
    team.env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(200, oauth_refresh_ok(3600, "later", None)),
    );
    let server = team.start();
    let r = server.get("/codex", Some(&team.alice_key));
    assert_eq!(r.status, 503, "{r:?}");
    assert!(
        r.header("retry-after")
            .is_some_and(|s| s.parse::<u64>().is_ok()),
        "{r:?}"
    );
    assert!(r.error_message().contains("try again"), "{r:?}");
    // The next call refreshes successfully.
    let r = server.get("/codex", Some(&team.alice_key));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(marker(r.json()["access_token"].as_str().unwrap()), "later");
}

#[test]
fn startup_errors_are_one_line_with_exit_2() {
    let team = Team::new(AuthJson::new());
    let run = |cmd: &mut Command| {
        let out = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
        assert!(out.stdout.is_empty(), "nothing listened");
        let line = error_line(&out);
        for s in team.secrets() {
            assert!(!line.contains(&s), "{line}");
        }
        line
    };

    let mut no_keys = team.command("");
    let line = run(&mut no_keys);
    assert!(
        line.contains("TOKEN_SERVER_KEYS is not set") && line.contains("KEY=CREDENTIALS_FILE"),
        "{line}"
    );

    let missing = format!(
        "{}=~/.codex/accounts/alice.json,{}=/nonexistent/bob.json",
        team.alice_key, team.bob_key
    );
    let line = run(&mut team.command(&missing));
    assert!(
        line.contains("entry 2 (account 'bob')")
            && line.contains("/nonexistent/bob.json does not exist"),
        "{line}"
    );
    assert!(line.contains("scorpiox-codex-login --name bob"), "{line}");

    let malformed = format!(
        "{}=~/.codex/accounts/alice.json,{}",
        team.alice_key, team.bob_key
    );
    let line = run(&mut team.command(&malformed));
    assert!(
        line.contains("entry 2 is malformed") && line.contains("KEY=CREDENTIALS_FILE"),
        "{line}"
    );

    let duplicate = format!(
        "{k}=~/.codex/accounts/alice.json,{k}={}",
        team.env.home.join("srv/bob.json").display(),
        k = team.alice_key
    );
    let line = run(&mut team.command(&duplicate));
    assert!(line.contains("entries 1 and 2 have the same key"), "{line}");

    AuthJson::new().write(team.env.home.join("srv/alice.json"));
    let same_name = format!(
        "{}=~/.codex/accounts/alice.json,{}={}",
        team.alice_key,
        team.bob_key,
        team.env.home.join("srv/alice.json").display()
    );
    let line = run(&mut team.command(&same_name));
    assert!(
        line.contains("entry 2 (account 'alice') and entry 1 are different files"),
        "{line}"
    );

    let line = run(&mut team.command_on("not an address", &team.keys(), "http://127.0.0.1:1"));
    assert!(
        line.contains("--listen not an address") && line.contains("HOST:PORT"),
        "{line}"
    );
}

#[test]
fn sx_fetches_its_token_from_the_server_end_to_end() {
    let team = Team::new(AuthJson::new());
    let server = team.start();
    team.env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/text.sse")),
    );
    let out = team
        .env
        .cmd("sx")
        .args([
            "-p",
            "hi",
            "--provider",
            "codex",
            "-e",
            "CODEX_TOKEN_SOURCE=remote",
            "-e",
        ])
        .arg(format!("CODEX_REMOTE_URL={}/codex", server.base()))
        .arg("-e")
        .arg(format!("TOKEN_HTTP_API_KEY={}", team.alice_key))
        .arg("-e")
        .arg(format!("CODEX_BASE_URL={}", team.env.server.codex_base()))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello from the mock.\n",
        "{}",
        stderr_of(&out)
    );
    assert!(out.status.success());
    let reqs = team.env.server.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].header("authorization"),
        Some(format!("Bearer {}", team.alice.access_token()).as_str()),
        "alice's token from the server"
    );
    assert_eq!(reqs[0].header("chatgpt-account-id"), Some("acct-alice"));
    let (_, log) = server.stop();
    assert!(log.contains(" GET /codex 200 alice "), "{log}");
}

// --- lifecycle (docs/token-server.md § Running it, § Creating the account files) ------------

/// Read one HTTP request (head and `content-length` body) from `conn`.
#[test]
fn sigterm_and_sigint_let_an_open_request_finish_then_exit_0() {
    for signal in ["-TERM", "-INT"] {
        let team = Team::new(AuthJson::new().expires_in(-60));
        // The OAuth issuer is ours: it answers the refresh only once the server is stopping,
        // so alice's request is still open when the signal arrives.
        let issuer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let auth_url = format!("http://{}", issuer.local_addr().unwrap());
        let server = Server::start(team.command_on("127.0.0.1:0", &team.keys(), &auth_url));
        let answer = std::thread::scope(|s| {
            let caller = s.spawn(|| server.get("/codex", Some(&team.alice_key)));
            let mut upstream = accept_within_a_minute(&issuer);
            let refresh = read_request(&mut upstream);
            assert!(refresh.starts_with("POST /oauth/token "), "{refresh}");

            server.signal(signal);
            assert!(
                server.stderr.wait_for("shutting down"),
                "{signal}: {}",
                server.stderr.text()
            );
            // It stops accepting (new connections are refused) ...
            let deadline = Instant::now() + Duration::from_secs(60);
            while TcpStream::connect(&server.addr).is_ok() {
                assert!(Instant::now() < deadline, "{signal}: still accepting");
                std::thread::sleep(Duration::from_millis(10));
            }
            // ... while the open request still gets its answer.
            let body = oauth_refresh_ok(3600, "fresh", Some("rt-rotated")).to_string();
            write!(
                upstream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            caller.join().unwrap()
        });
        assert_eq!(answer.status, 200, "{signal}: {answer:?}");
        assert_eq!(
            marker(answer.json()["access_token"].as_str().unwrap()),
            "fresh"
        );
        let (status, log) = server.wait();
        assert_eq!(status.code(), Some(0), "{signal}: {log}");
        assert!(log.contains(" GET /codex 200 alice "), "{log}");
        assert_eq!(
            read_json(&team.alice_path())["tokens"]["refresh_token"],
            "rt-rotated",
            "the refresh was saved before the exit"
        );
    }
}

#[test]
fn an_address_in_use_is_exit_1() {
    let team = Team::new(AuthJson::new());
    // Held by this test for the whole run: nobody else can take it in between.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = team
        .command_on(&addr, &team.keys(), &team.env.server.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(out.stdout.is_empty(), "no address announced");
    let line = error_line(&out);
    assert!(
        line.contains(&format!("cannot listen on {addr}")) && line.contains("--listen"),
        "{line}"
    );
    for s in team.secrets() {
        assert!(!line.contains(&s), "{line}");
    }
    drop(taken);
}

#[test]
fn a_login_replaced_on_disk_is_served_without_a_restart() {
    // Alice's refresh token was used elsewhere: her callers get 502 "sign in again".
    let team = Team::new(AuthJson::new().expires_in(-60));
    team.env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(401, oauth_error("refresh_token_reused")),
    );
    let server = team.start();
    let r = server.get("/codex", Some(&team.alice_key));
    assert_eq!(r.status, 502, "{r:?}");

    // She signs in again (scorpiox-codex-login --name alice --force writes the file) ...
    let again = AuthJson::new()
        .access_marker("alice-again")
        .account_id("acct-alice")
        .refresh_token("rt-new-login");
    again.write(team.alice_path());
    // ... and the same server process serves the new login.
    let r = server.get("/codex", Some(&team.alice_key));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["access_token"], again.access_token());

    // A working login replaced on disk is picked up too: nothing is cached.
    let third = AuthJson::new()
        .access_marker("alice-third")
        .account_id("acct-alice");
    third.write(team.alice_path());
    let r = server.get("/codex", Some(&team.alice_key));
    assert_eq!(
        marker(r.json()["access_token"].as_str().unwrap()),
        "alice-third"
    );

    assert_eq!(
        team.env.server.requests_to(OAUTH_TOKEN_PATH).len(),
        1,
        "fresh logins need no refresh"
    );
    let (status, log) = server.stop();
    assert!(status.success(), "{status}: {log}");
}
