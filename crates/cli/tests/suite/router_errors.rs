//! `scorpiox-router`'s refusals and reports: Messages error bodies for upstream failures and
//! bad requests, health, readiness, metrics and the access log, `GET /v1/models`, and startup
//! errors with their exit codes. The set-up is `router.rs`'s.

use std::process::Stdio;

use serde_json::json;
use sx_testkit::{MockResponse, anthropic};

use super::common::{error_line, stderr_of};
use super::router::{ANTHROPIC_KEY, BIN, ROUTES, Rig, hello};
use super::service::Resp;

#[test]
fn models_lists_what_the_rules_reach() {
    let rig = Rig::new();
    let routes = "gpt-*=codex,gemini-2*=gemini,background=gemini:gemini-3.5-flash-lite,\
                  claude-*=anthropic";
    // Upstream catalogs are unavailable here: each provider's built-in list stands in.
    let router = rig.start(routes, &["REQUEST_MAX_RETRIES=0"]);
    let r = router.get("/v1/models", None);
    assert_eq!(r.status, 200, "{r:?}");
    let v = r.json();
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    for want in [
        "gpt-5.5",
        "gpt-5.4-mini",
        "gemini-2.5-pro",
        "gemini,gemini-3.5-flash-lite",
        "claude-opus-4-8",
        "claude-sonnet-5",
    ] {
        assert!(ids.contains(&want), "{want} missing: {ids:?}");
    }
    assert!(
        !ids.contains(&"gemini-3.8-flash"),
        "no rule reaches it: {ids:?}"
    );
    let haiku = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "claude-haiku-4-5")
        .unwrap();
    assert_eq!(
        haiku["display_name"], "claude-haiku-4-5 (gemini gemini-3.5-flash-lite)",
        "the background rule answers haiku"
    );
    assert_eq!(v["data"][0]["type"], "model");
    assert_eq!(v["has_more"], false);
}

#[test]
fn bad_requests_and_upstream_errors_are_messages_error_bodies() {
    let rig = Rig::new();
    let path = anthropic::MESSAGES_PATH;
    rig.env.server.enqueue(
        "POST",
        path,
        MockResponse::json(
            429,
            json!({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}),
        )
        .header("retry-after", "7"),
    );
    rig.env.server.enqueue(
        "POST",
        path,
        MockResponse::json(
            529,
            json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}),
        ),
    );
    rig.env.server.enqueue(
        "POST",
        path,
        MockResponse::json(401, json!({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}})),
    );
    rig.env.server.enqueue(
        "POST",
        path,
        MockResponse::json(400, json!({"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}})),
    );
    let router = rig.start(ROUTES, &["REQUEST_MAX_RETRIES=0"]);
    let error = |r: &Resp| -> (u16, String, String) {
        assert_eq!(r.header("content-type"), Some("application/json"), "{r:?}");
        let v = r.json();
        assert_eq!(v["type"], "error", "{r:?}");
        (
            r.status,
            v["error"]["type"].as_str().unwrap().to_string(),
            v["error"]["message"].as_str().unwrap().to_string(),
        )
    };
    // Upstream failures before the answer: the status a client acts on, streamed or not.
    let r = router.post("/v1/messages", &hello("claude-sonnet-5", true));
    let (status, kind, msg) = error(&r);
    assert_eq!((status, kind.as_str()), (429, "rate_limit_error"), "{msg}");
    assert_eq!(r.header("retry-after"), Some("7"));
    let (status, kind, _) = error(&router.post("/v1/messages", &hello("claude-sonnet-5", false)));
    assert_eq!((status, kind.as_str()), (529, "overloaded_error"));
    let (status, kind, msg) = error(&router.post("/v1/messages", &hello("claude-sonnet-5", true)));
    assert_eq!((status, kind.as_str()), (401, "authentication_error"));
    assert!(
        msg.contains("ANTHROPIC_API_KEY"),
        "names the router's key: {msg}"
    );
    assert!(!msg.contains(ANTHROPIC_KEY), "{msg}");
    let (status, kind, msg) = error(&router.post("/v1/messages", &hello("claude-sonnet-5", true)));
    assert_eq!((status, kind.as_str()), (400, "invalid_request_error"));
    assert!(msg.starts_with("prompt is too long"), "{msg}");

    // The router's own refusals.
    let (status, kind, msg) = error(&router.post("/v1/messages", "{not json"));
    assert_eq!((status, kind.as_str()), (400, "invalid_request_error"));
    assert!(msg.contains("not a Messages request"), "{msg}");
    let (status, _, msg) = error(&router.post("/v1/messages", r#"{"model":"x","messages":[]}"#));
    assert_eq!(status, 400);
    assert!(msg.contains("max_tokens"), "{msg}");
    let r = router.raw(&format!(
        "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        64 * 1024 * 1024
    ));
    let (status, kind, _) = error(&r);
    assert_eq!((status, kind.as_str()), (413, "request_too_large"));
    let (status, kind, msg) = error(&router.get("/v2/nothing", None));
    assert_eq!((status, kind.as_str()), (404, "not_found_error"));
    assert!(msg.contains("POST /v1/messages"), "{msg}");
    let (status, _, _) = error(&router.get("/v1/messages", None));
    assert_eq!(status, 405);
    let (status, kind, msg) = error(&router.post("/v1/messages", &hello("", false)));
    assert_eq!(
        (status, kind.as_str()),
        (400, "invalid_request_error"),
        "{msg}"
    );

    // Health, readiness and the counters.
    let h = router.get("/healthz", None);
    assert_eq!((h.status, h.body.trim()), (200, "ok"));
    assert_eq!(router.get("/readyz", None).status, 200);
    let m = router.get("/metrics", None);
    assert_eq!(m.status, 200);
    assert!(
        m.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")),
        "{m:?}"
    );
    for want in [
        "scorpiox_router_requests_total{path=\"/v1/messages\",status=\"429\"} 1",
        "scorpiox_router_requests_total{path=\"/v1/messages\",status=\"400\"} 4",
        "scorpiox_router_requests_total{path=\"other\",status=\"404\"} 1",
        "scorpiox_router_upstream_requests_total{provider=\"anthropic\"} 4",
        "scorpiox_router_upstream_errors_total{provider=\"anthropic\",type=\"rate_limit_error\"} 1",
        "scorpiox_router_upstream_errors_total{provider=\"anthropic\",type=\"overloaded_error\"} 1",
        "scorpiox_router_request_duration_seconds_count{path=\"/v1/messages\"}",
        "scorpiox_router_streams_open 0",
    ] {
        assert!(m.body.contains(want), "{want}: {}", m.body);
    }
    let (status, log) = router.stop();
    assert!(status.success());
    for s in rig.secrets() {
        assert!(!log.contains(&s), "a secret in the log: {log}");
    }
    // One line per request: time, peer, method, path, status, route, latency.
    let line = log
        .lines()
        .find(|l| l.contains(" POST /v1/messages 429 "))
        .unwrap();
    let f: Vec<&str> = line.split(' ').collect();
    assert_eq!(f.len(), 8, "{line}");
    assert_eq!(
        &f[2..7],
        [
            "POST",
            "/v1/messages",
            "429",
            "anthropic",
            "claude-sonnet-5"
        ]
    );
    assert!(f[7].ends_with("ms"), "{line}");
    assert!(log.contains(" GET /v2/nothing 404 - "), "{log}");
}

#[test]
fn startup_errors_are_one_line_with_their_exit_code() {
    let rig = Rig::new();
    let run = |routes: &str, extra: &[&str]| {
        let out = rig
            .command("127.0.0.1:0", routes, extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let line = error_line(&out);
        for s in rig.secrets() {
            assert!(!line.contains(&s), "{line}");
        }
        (out.status.code(), line)
    };
    let (code, line) = run("", &[]);
    assert_eq!(code, Some(2));
    assert!(
        line.contains("ROUTER_ROUTES is not set") && line.contains("docs/router.md"),
        "{line}"
    );
    let (code, line) = run("gpt-*=codex,oops", &[]);
    assert_eq!(code, Some(2));
    assert!(line.contains("rule 2 ('oops')"), "{line}");
    let (code, line) = run("*=scorpiox", &[]);
    assert_eq!(code, Some(2));
    assert!(
        line.contains("cannot send requests to 'scorpiox'"),
        "{line}"
    );
    let (code, line) = run("*=gemini", &["GEMINI_API_KEY="]);
    assert_eq!(code, Some(2));
    assert!(line.contains("GEMINI_API_KEY"), "{line}");
    let (code, line) = run("*=codex", &["ROUTER_LONG_CONTEXT=lots"]);
    assert_eq!(code, Some(2));
    assert!(line.contains("ROUTER_LONG_CONTEXT"), "{line}");

    // An address in use.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = rig
        .command(&addr, ROUTES, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(out.stdout.is_empty());
    let line = error_line(&out);
    assert!(line.contains(&format!("cannot listen on {addr}")), "{line}");
    drop(taken);

    let out = rig
        .env
        .cmd(BIN)
        .arg("--listen")
        .arg("nowhere")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(error_line(&out).contains("--listen nowhere"));
    for flag in ["--help", "--version"] {
        let out = rig.env.cmd(BIN).arg(flag).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert!(!out.stdout.is_empty(), "{flag}");
    }
    let out = rig.env.cmd(BIN).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
