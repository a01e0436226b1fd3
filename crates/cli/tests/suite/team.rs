//! The token server and the router at team scale (docs/team-deployment.md,
//! docs/token-server.md "Several instances on Redis"): a real `redis-server`
//! (`sx_testkit::redis`), three token-server instances and two routers on their own loopback
//! ports, the OAuth issuer and the Codex backend a `MockServer`. Faults are real: SIGKILL of
//! an instance holding the refresh lock, of Redis, of a router in the middle of its streams.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::Value;
use sx_testkit::auth::oauth_refresh_ok;
use sx_testkit::auth::{AuthJson, MARKER_CLAIM, REFRESH_TOKEN, jwt_claims, oauth_error};
use sx_testkit::redis::RedisServer;
use sx_testkit::{CODEX_RESPONSES_PATH, Chunk, Expect, MockResponse, OAUTH_TOKEN_PATH, responses};

use super::common::Env;
use super::service::{Resp, Server, read_until};

const KEY_OF_THE_STORE: &str = "scorpiox:codex:alice";

/// Alice's account on a shared Redis; token servers started on demand.
struct Fleet {
    env: Env,
    redis: RedisServer,
    key: String,
    /// The access token of the seed login (alice's credential file).
    seed_access: String,
}

impl Fleet {
    fn new(login: AuthJson) -> Fleet {
        let env = Env::new();
        let login = login.access_marker("seed").account_id("acct-alice");
        login.write(env.home.join(".codex/accounts/alice.json"));
        Fleet {
            env,
            redis: RedisServer::start(),
            key: uuid::Uuid::new_v4().simple().to_string(),
            seed_access: login.access_token(),
        }
    }

    fn alice_path(&self) -> std::path::PathBuf {
        self.env.home.join(".codex/accounts/alice.json")
    }

    /// One token-server instance on its own port, on the shared store; ready when it returns.
    fn token_server(&self, extra: &[&str]) -> Server {
        let s = self.token_server_started(extra);
        wait_ready(&s, 200);
        s
    }

    /// One token-server instance, listening (ready or not).
    fn token_server_started(&self, extra: &[&str]) -> Server {
        let mut c = Command::new(super::common::bin_path("scorpiox-token-server"));
        c.env_clear()
            .env("HOME", &self.env.home)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(&self.env.proj)
            .args(["--listen", "127.0.0.1:0"]);
        for kv in [
            format!(
                "TOKEN_SERVER_KEYS={}=~/.codex/accounts/alice.json",
                self.key
            ),
            format!("CODEX_AUTH_URL={}", self.env.server.url()),
            format!("TOKEN_SERVER_STORE={}", self.redis.url()),
        ]
        .into_iter()
        .chain(extra.iter().map(|s| (*s).to_string()))
        {
            c.arg("-e").arg(kv);
        }
        Server::start(c)
    }

    /// A router on its own port whose Codex token comes from the token server `ts`; ready.
    fn router(&self, ts: &Server) -> Server {
        let mut c = Command::new(super::common::bin_path(super::router::BIN));
        c.env_clear()
            .env("HOME", &self.env.home)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(&self.env.proj)
            .args(["--listen", "127.0.0.1:0"]);
        for kv in [
            "ROUTER_ROUTES=*=codex".to_string(),
            format!("CODEX_BASE_URL={}", self.env.server.codex_base()),
            "CODEX_TOKEN_SOURCE=remote".into(),
            format!("CODEX_REMOTE_URL={}/codex", ts.base()),
            format!("TOKEN_HTTP_API_KEY={}", self.key),
        ] {
            c.arg("-e").arg(kv);
        }
        let r = Server::start(c);
        wait_ready(&r, 200);
        r
    }

    fn instances(&self, n: usize, extra: &[&str]) -> Vec<Arc<Server>> {
        (0..n).map(|_| Arc::new(self.token_server(extra))).collect()
    }

    /// The login the store holds for alice.
    fn stored(&self) -> Value {
        let doc = self.redis.cli(&["HGET", KEY_OF_THE_STORE, "auth"]);
        serde_json::from_str(&doc).unwrap_or_else(|e| panic!("{e}: {doc:?}"))
    }
}

/// Poll `GET /readyz` until it answers `want` (a generous minute).
fn wait_ready(s: &Server, want: u16) -> Resp {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = s.get("/readyz", None);
        if r.status == want {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz stays {} ({:?}), not {want}; {}",
            r.status,
            r.body,
            s.stderr.text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `GET /codex` on a connection left open: its answer is never read (its server is killed).
fn open_get(s: &Server, key: &str) -> std::net::TcpStream {
    let mut c = std::net::TcpStream::connect(&s.addr).unwrap();
    write!(
        c,
        "GET /codex HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n",
        s.addr
    )
    .unwrap();
    c
}

fn marker(r: &Resp) -> String {
    assert_eq!(r.status, 200, "{r:?}");
    jwt_claims(r.json()["access_token"].as_str().unwrap())[MARKER_CLAIM]
        .as_str()
        .unwrap()
        .to_string()
}

/// A counter of `GET /metrics` (0 when absent).
fn metric(s: &Server, sample: &str) -> f64 {
    let text = s.get("/metrics", None).body;
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

fn refresh_tokens_sent(env: &Env) -> Vec<String> {
    env.server
        .requests_to(OAUTH_TOKEN_PATH)
        .iter()
        .map(|r| r.json()["refresh_token"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn two_hundred_callers_on_three_instances_across_an_expiry_cause_one_refresh() {
    let fleet = Fleet::new(AuthJson::new().expires_in(-60));
    // One answer only: a second refresh would get the mock's 500 and fail its callers.
    fleet.env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(200, oauth_refresh_ok(3600, "fresh", Some("rt-rotated"))),
    );
    let servers = fleet.instances(3, &[]);
    const CALLERS: usize = 200;
    let barrier = Arc::new(Barrier::new(CALLERS));
    let callers: Vec<_> = (0..CALLERS)
        .map(|i| {
            let (server, barrier, key) = (
                Arc::clone(&servers[i % servers.len()]),
                Arc::clone(&barrier),
                fleet.key.clone(),
            );
            std::thread::spawn(move || {
                barrier.wait();
                server.get("/codex", Some(&key))
            })
        })
        .collect();
    let answers: Vec<Resp> = callers.into_iter().map(|c| c.join().unwrap()).collect();
    let tokens: BTreeSet<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(marker(a), "fresh", "{a:?}");
            a.json()["access_token"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(tokens.len(), 1, "every caller got the same token");
    assert_eq!(
        refresh_tokens_sent(&fleet.env),
        [REFRESH_TOKEN],
        "exactly one refresh reached the issuer"
    );
    let refreshes: f64 = servers
        .iter()
        .map(|s| metric(s, "scorpiox_token_server_refreshes_total{result=\"ok\"}"))
        .sum();
    assert_eq!(refreshes, 1.0, "one instance refreshed, once");
    let stored = fleet.stored();
    assert_eq!(stored["tokens"]["refresh_token"], "rt-rotated");
    assert_eq!(
        Some(stored["tokens"]["access_token"].as_str().unwrap()),
        tokens.first().map(String::as_str)
    );
    // The seed file is not written in this mode: the store holds the live login.
    let file = super::common::read_json(&fleet.alice_path());
    assert_eq!(file["tokens"]["refresh_token"], REFRESH_TOKEN);
}

#[test]
fn an_instance_killed_holding_the_lock_leaves_the_refresh_to_another_after_the_lease() {
    let fleet = Fleet::new(AuthJson::new().expires_in(-60));
    // The first refresh never answers: its instance is killed while it waits, lock held.
    fleet.env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::status(200).chunked_body(vec![Chunk::Stall]),
    );
    fleet.env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(200, oauth_refresh_ok(3600, "fresh", Some("rt-rotated"))),
    );
    let lease = "TOKEN_SERVER_LEASE_MS=8000";
    let mut servers = fleet.instances(3, &[lease]);
    let victim = servers.remove(0);
    let doomed = open_get(&victim, &fleet.key);
    fleet
        .env
        .server
        .wait_for_requests(OAUTH_TOKEN_PATH, 1, Duration::from_secs(60));
    let holder = fleet
        .redis
        .cli(&["GET", &format!("{KEY_OF_THE_STORE}:lock")]);
    assert!(!holder.is_empty(), "the victim holds the lock");
    victim.signal("-KILL");
    drop(doomed);
    assert_eq!(
        fleet.redis.cli(&["HGET", KEY_OF_THE_STORE, "refreshing"]),
        holder,
        "the store knows a refresh went out under that fencing token"
    );

    let callers: Vec<_> = (0..20)
        .map(|i| {
            let (server, key) = (Arc::clone(&servers[i % 2]), fleet.key.clone());
            std::thread::spawn(move || server.get("/codex", Some(&key)))
        })
        .collect();
    for c in callers {
        assert_eq!(marker(&c.join().unwrap()), "fresh");
    }
    assert_eq!(
        refresh_tokens_sent(&fleet.env),
        [REFRESH_TOKEN, REFRESH_TOKEN],
        "the survivor sent the same refresh token once, after the lease"
    );
    let stored = fleet.stored();
    assert_eq!(stored["tokens"]["refresh_token"], "rt-rotated");
    let writer: u64 = fleet
        .redis
        .cli(&["HGET", KEY_OF_THE_STORE, "fence"])
        .parse()
        .unwrap();
    assert!(
        writer > holder.parse().unwrap(),
        "written under a newer fence"
    );
    assert_eq!(
        fleet.redis.cli(&["HGET", KEY_OF_THE_STORE, "refreshing"]),
        ""
    );
    // Nothing torn: a new instance serves the stored login, and the stale seed file is not
    // imported over it (its refresh token was in the store before).
    let late = fleet.token_server(&[lease]);
    assert_eq!(marker(&late.get("/codex", Some(&fleet.key))), "fresh");
    assert_eq!(fleet.stored(), stored);
    assert_eq!(refresh_tokens_sent(&fleet.env).len(), 2);
}

#[test]
fn a_refresh_that_died_half_way_asks_to_sign_in_again_once_then_a_new_login_is_taken() {
    let fleet = Fleet::new(AuthJson::new().expires_in(-60));
    // The victim's refresh reached OpenAI, which rotated the token; the victim died before
    // writing. The survivor's attempt with the old token is refused as reused.
    fleet.env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::status(200).chunked_body(vec![Chunk::Stall]),
    );
    fleet.env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(401, oauth_error("refresh_token_reused")),
    );
    let lease = "TOKEN_SERVER_LEASE_MS=4000";
    let mut servers = fleet.instances(3, &[lease]);
    let victim = servers.remove(0);
    let doomed = open_get(&victim, &fleet.key);
    fleet
        .env
        .server
        .wait_for_requests(OAUTH_TOKEN_PATH, 1, Duration::from_secs(60));
    victim.signal("-KILL");
    drop(doomed);

    for s in servers.iter().chain(servers.iter()) {
        let r = s.get("/codex", Some(&fleet.key));
        assert_eq!(r.status, 502, "{r:?}");
        let m = r.error_message();
        assert!(
            m.contains("account 'alice'")
                && m.contains("sign in again")
                && m.contains("scorpiox-codex-login --name alice --force"),
            "{m}"
        );
    }
    assert_eq!(
        refresh_tokens_sent(&fleet.env).len(),
        2,
        "the refused token is not sent again, by any instance"
    );
    let log: String = servers.iter().map(|s| s.stderr.text()).collect();
    assert!(
        log.contains("was never saved") && log.contains("half-way"),
        "the operator learns why: {log}"
    );

    // Alice signs in again on the token server's machine; no restart.
    let again = AuthJson::new()
        .access_marker("again")
        .account_id("acct-alice")
        .refresh_token("rt-new-login");
    again.write(fleet.alice_path());
    for s in &servers {
        assert_eq!(marker(&s.get("/codex", Some(&fleet.key))), "again");
    }
    assert_eq!(fleet.stored()["tokens"]["refresh_token"], "rt-new-login");
    assert_eq!(refresh_tokens_sent(&fleet.env).len(), 2);
}

#[test]
fn redis_killed_and_restarted_makes_the_instances_unready_then_ready_and_loses_no_token() {
    let mut fleet = Fleet::new(AuthJson::new().expires_in(-60));
    fleet.env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(200, oauth_refresh_ok(3600, "fresh", Some("rt-rotated"))),
    );
    let servers = fleet.instances(3, &[]);
    let before: Vec<Value> = servers
        .iter()
        .map(|s| s.get("/codex", Some(&fleet.key)).json())
        .collect();
    assert!(before.iter().all(|t| *t == before[0]), "{before:?}");

    fleet.redis.kill();
    for s in &servers {
        let r = wait_ready(s, 503);
        assert!(r.body.contains("token store"), "{r:?}");
        // The token it last read is still valid: callers keep getting it.
        let r = s.get("/codex", Some(&fleet.key));
        assert_eq!(r.json(), before[0], "{r:?}");
    }

    // An instance started while Redis is away listens, is not ready, and serves nothing yet.
    let late = fleet.token_server_started(&[]);
    let r = wait_ready(&late, 503);
    assert!(r.body.contains("token store"), "{r:?}");
    assert_eq!(late.get("/codex", Some(&fleet.key)).status, 503);

    fleet.redis.start_again();
    for s in servers.iter().map(|s| &**s).chain([&late]) {
        wait_ready(s, 200);
        assert_eq!(s.get("/codex", Some(&fleet.key)).json(), before[0]);
        assert!(
            metric(s, "scorpiox_token_server_store_errors_total") >= 1.0,
            "the outage is counted"
        );
    }
    // The rotated login survived the restart; nothing was refreshed or imported again.
    let stored = fleet.stored();
    assert_eq!(stored["tokens"]["refresh_token"], "rt-rotated");
    assert_eq!(stored["tokens"]["access_token"], before[0]["access_token"]);
    assert_eq!(refresh_tokens_sent(&fleet.env), [REFRESH_TOKEN]);
}

#[test]
fn a_router_killed_mid_stream_leaves_the_other_routers_streams_to_finish() {
    // Two routers, each getting its Codex token from its own token-server instance, the
    // token servers sharing Redis. Two streams on each; one router is killed mid-stream.
    let fleet = Fleet::new(AuthJson::new().expires_in(3600));
    let token_servers = fleet.instances(2, &[]);
    let release = fleet.env.proj.join("release");
    let mut ev = vec![responses::created(responses::RESP_ID)];
    ev.extend(responses::message_events(
        responses::MSG_ID,
        "alpha beta gamma",
        None,
    ));
    ev.push(responses::completed(responses::RESP_ID, Default::default()));
    let ev = responses::finalize(ev);
    let split = ev
        .iter()
        .position(|e| e["type"] == "response.output_text.delta")
        .unwrap()
        + 1;
    fleet.env.server.expect(
        "POST",
        CODEX_RESPONSES_PATH,
        Expect::new().bearer(&fleet.seed_access),
    );
    for _ in 0..4 {
        let mut chunks = Chunk::events(&ev[..split]);
        chunks.push(Chunk::WaitFor(release.clone()));
        chunks.extend(Chunk::events(&ev[split..]));
        fleet.env.server.enqueue(
            "POST",
            CODEX_RESPONSES_PATH,
            MockResponse::sse_chunks(chunks),
        );
    }
    let doomed = fleet.router(&token_servers[0]);
    let survivor = fleet.router(&token_servers[1]);
    let body = super::router::hello("gpt-5.5", true);
    let mut on_doomed: Vec<_> = (0..2)
        .map(|_| doomed.post_open("/v1/messages", &body))
        .collect();
    let mut on_survivor: Vec<_> = (0..2)
        .map(|_| survivor.post_open("/v1/messages", &body))
        .collect();
    let mut got: Vec<String> = on_doomed
        .iter_mut()
        .chain(on_survivor.iter_mut())
        .map(|c| read_until(c, "text_delta"))
        .collect();
    fleet
        .env
        .server
        .wait_for_requests(CODEX_RESPONSES_PATH, 4, Duration::from_secs(60));

    doomed.signal("-KILL");
    let (status, _) = doomed.wait();
    assert!(!status.success(), "{status}");
    std::fs::write(&release, "").unwrap();
    for (c, so_far) in on_survivor.iter_mut().zip(got.iter_mut().skip(2)) {
        so_far.push_str(&read_until(c, "message_stop"));
        assert!(so_far.contains("gamma"), "{so_far}");
    }
    for (c, so_far) in on_doomed.iter_mut().zip(got.iter()) {
        let mut rest = Vec::new();
        let _ = std::io::Read::read_to_end(c, &mut rest);
        let all = format!("{so_far}{}", String::from_utf8_lossy(&rest));
        assert!(
            !all.contains("message_stop"),
            "the killed router's stream broke: {all}"
        );
    }
    fleet.env.server.verify();
    let (status, log) = survivor.stop();
    assert!(status.success(), "{status}: {log}");
    assert_eq!(
        log.matches("POST /v1/messages 200 codex gpt-5.5 ").count(),
        2,
        "{log}"
    );
}

/// The fenced block of `lang` in docs/team-deployment.md.
fn deployment_block(lang: &str) -> String {
    let page = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/team-deployment.md"),
    )
    .unwrap();
    let start = page
        .find(&format!("```{lang}\n"))
        .unwrap_or_else(|| panic!("no {lang} block"))
        + lang.len()
        + 4;
    let len = page[start..].find("```").unwrap();
    page[start..start + len].to_string()
}

#[test]
fn the_compose_file_runs_three_token_servers_two_routers_redis_and_a_balancer_on_real_keys() {
    let compose = deployment_block("yaml");
    let haproxy = deployment_block("haproxy");
    let services: Vec<(&str, &str)> = compose
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("  ")?.split_once(':')?;
            (!name.starts_with(' ') && !name.is_empty()).then_some((name, rest.trim()))
        })
        .collect();
    let of = |anchor: &str| -> Vec<&str> {
        services
            .iter()
            .filter(|(_, r)| *r == anchor)
            .map(|(n, _)| *n)
            .collect()
    };
    assert_eq!(of("*token-server"), ["token-1", "token-2", "token-3"]);
    assert_eq!(of("*router"), ["router-1", "router-2"]);
    for s in ["redis", "lb"] {
        assert!(services.iter().any(|(n, _)| *n == s), "no {s} service");
    }
    // Every instance is behind the balancer, checked on /readyz.
    for (name, port) in [
        ("token-1", 8791),
        ("token-2", 8791),
        ("token-3", 8791),
        ("router-1", 8790),
        ("router-2", 8790),
    ] {
        assert!(
            haproxy.contains(&format!("server {name} {name}:{port}")),
            "{name} is not behind the balancer"
        );
    }
    assert_eq!(haproxy.matches("option httpchk GET /readyz").count(), 2);
    // The environment names only keys the programs know, with values they take.
    let mut keys = Vec::new();
    for l in compose.lines() {
        let Some((k, v)) = l.trim().split_once(": ") else {
            continue;
        };
        if k.chars().all(|c| c.is_ascii_uppercase() || c == '_') && k.contains('_') {
            assert!(sx_config::key_spec(k).is_some(), "unknown key {k}");
            let v = v.trim_matches('"');
            if !v.contains("${") {
                sx_config::check_value(k, v).unwrap_or_else(|e| panic!("{k}: {e}"));
            }
            keys.push(k);
        }
    }
    for k in [
        "TOKEN_SERVER_KEYS",
        "TOKEN_SERVER_STORE",
        "ROUTER_ROUTES",
        "CODEX_TOKEN_SOURCE",
        "CODEX_REMOTE_URL",
        "TOKEN_HTTP_API_KEY",
    ] {
        assert!(keys.contains(&k), "{k} not set in the Compose file");
    }
}

#[test]
fn a_bad_store_url_or_lease_is_one_error_line_and_exit_2_without_the_password() {
    let env = Env::new();
    AuthJson::new().write(env.home.join(".codex/accounts/alice.json"));
    for (kv, want) in [
        (
            "TOKEN_SERVER_STORE=http://:hunter2hunter2@10.0.0.1:6379/0",
            "error: TOKEN_SERVER_STORE: http://10.0.0.1:6379/0 is not a Redis URL; use redis://",
        ),
        (
            "TOKEN_SERVER_STORE=rediss://:hunter2hunter2@10.0.0.1:6379/0",
            "rediss:// is not supported",
        ),
        (
            "TOKEN_SERVER_LEASE_MS=50",
            "error: TOKEN_SERVER_LEASE_MS is '50'; set it to a whole number of milliseconds, at least 100",
        ),
    ] {
        let out = Command::new(super::common::bin_path("scorpiox-token-server"))
            .env_clear()
            .env("HOME", &env.home)
            .current_dir(&env.proj)
            .args(["--listen", "127.0.0.1:0", "-e"])
            .arg(format!(
                "TOKEN_SERVER_KEYS={}=~/.codex/accounts/alice.json",
                "k".repeat(32)
            ))
            .args(["-e", "TOKEN_SERVER_STORE=redis://127.0.0.1:1/0", "-e", kv])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{kv}: {err}");
        assert!(err.contains(want), "{kv}: {err}");
        assert_eq!(
            err.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        assert!(out.stdout.is_empty(), "it never listened");
    }
}

#[test]
fn redis_killed_while_a_refresh_is_in_flight_gets_the_new_login_once_it_is_back() {
    let mut fleet = Fleet::new(AuthJson::new().expires_in(-60));
    let release = fleet.env.proj.join("release-refresh");
    let answer = serde_json::to_vec(&oauth_refresh_ok(3600, "fresh", Some("rt-rotated"))).unwrap();
    // The issuer answers only once Redis is down: the new login has nowhere to go yet.
    fleet.env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::status(200)
            .header("content-type", "application/json")
            .chunked_body(vec![
                Chunk::WaitFor(release.clone()),
                Chunk::Bytes(answer.into()),
            ]),
    );
    let servers = fleet.instances(2, &[]);
    let caller = {
        let (s, key) = (Arc::clone(&servers[0]), fleet.key.clone());
        std::thread::spawn(move || s.get("/codex", Some(&key)))
    };
    fleet
        .env
        .server
        .wait_for_requests(OAUTH_TOKEN_PATH, 1, Duration::from_secs(60));
    fleet.redis.kill();
    std::fs::write(&release, "").unwrap();
    // The write fails (counted) and is retried...
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric(&servers[0], "scorpiox_token_server_store_errors_total") < 1.0 {
        assert!(Instant::now() < deadline, "{}", servers[0].stderr.text());
        std::thread::sleep(Duration::from_millis(20));
    }
    // ...until Redis is back: the caller gets the new token, and the store has it.
    fleet.redis.start_again();
    let got = caller.join().unwrap();
    assert_eq!(got.status, 200, "{got:?}: {}", servers[0].stderr.text());
    assert_eq!(marker(&got), "fresh");
    let stored = fleet.stored();
    assert_eq!(stored["tokens"]["refresh_token"], "rt-rotated");
    assert_eq!(
        fleet.redis.cli(&["HGET", KEY_OF_THE_STORE, "refreshing"]),
        ""
    );
    assert_eq!(marker(&servers[1].get("/codex", Some(&fleet.key))), "fresh");
    assert_eq!(refresh_tokens_sent(&fleet.env), [REFRESH_TOKEN]);
}

#[test]
fn a_conversation_moves_between_routers_with_its_upstream_state() {
    // Turn 1 on one router, turn 2 on the other (as a load balancer may send them): the
    // upstream's encrypted reasoning travels in the client's history, not in a router.
    let fleet = Fleet::new(AuthJson::new().expires_in(3600));
    let token_servers = fleet.instances(2, &[]);
    let mut first = vec![responses::created(responses::RESP_ID)];
    first.extend(responses::reasoning_events(
        responses::REASONING_ID,
        "Read the notes first.",
        responses::ENCRYPTED_CONTENT,
    ));
    first.extend(responses::function_call_events(
        responses::FUNCTION_CALL_ID,
        "call_read",
        "read_file",
        r#"{"path":"notes.txt"}"#,
    ));
    first.push(responses::completed(responses::RESP_ID, Default::default()));
    let server = &fleet.env.server;
    server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse_chunks(Chunk::events(&responses::finalize(first))),
    );
    server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse_chunks(Chunk::events(&responses::text_turn("The word is pelican."))),
    );
    let (a, b) = (
        fleet.router(&token_servers[0]),
        fleet.router(&token_servers[1]),
    );
    let tools = serde_json::json!([{
        "name": "read_file",
        "description": "Read a file",
        "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}
    }]);
    let ask = serde_json::json!({"role": "user", "content": "what is the secret word?"});
    let turn1 = a.post(
        "/v1/messages",
        &serde_json::json!({"model": "gpt-5.5", "max_tokens": 1024, "tools": tools,
            "messages": [ask]})
        .to_string(),
    );
    assert_eq!(turn1.status, 200, "{turn1:?}");
    let content = turn1.json()["content"].clone();
    let call = content
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "tool_use")
        .unwrap_or_else(|| panic!("{content}"));
    let turn2 = b.post(
        "/v1/messages",
        &serde_json::json!({"model": "gpt-5.5", "max_tokens": 1024, "tools": tools,
            "messages": [ask, {"role": "assistant", "content": content},
                {"role": "user", "content": [{"type": "tool_result",
                    "tool_use_id": call["id"], "content": "the word is pelican"}]}]})
        .to_string(),
    );
    assert_eq!(turn2.status, 200, "{turn2:?}");
    assert_eq!(turn2.json()["content"][0]["text"], "The word is pelican.");
    let reqs = server.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!(reqs.len(), 2);
    let second = reqs[1].json().to_string();
    assert!(
        second.contains(responses::ENCRYPTED_CONTENT) && second.contains("call_read"),
        "router B sent router A's upstream state back: {second}"
    );
    assert!(!second.contains("sxr1."), "{second}");
}
