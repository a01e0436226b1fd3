//! `scorpiox-router` (docs/spec.md §6, docs/router.md) as the real binary between a real client
//! and mock upstreams of three wires (Codex Responses, Gemini, Anthropic Messages), each chosen
//! by `ROUTER_ROUTES`. The client is `sx` with its `scorpiox` provider (the Messages wire to
//! `ROUTER_URL`, no client credentials) or plain HTTP.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sx_testkit::auth::AuthJson;
use sx_testkit::{CODEX_RESPONSES_PATH, Chunk, MockResponse, anthropic, gemini, responses, sse};

use super::common::{Env, error_line, json_lines, stderr_of};
use super::scenario::{Answers, png};
use super::service::{Resp, Server, read_until};
use super::wires::Wire;

pub(super) const BIN: &str = "scorpiox-router";
pub(super) const ROUTES: &str = "gpt-*=codex,gemini-*=gemini,*=anthropic";
/// The router's upstream keys: never in a log line or an answer.
pub(super) const ANTHROPIC_KEY: &str = "sk-ant-router-upstream-secret";
pub(super) const GEMINI_KEY: &str = "gm-router-upstream-secret";
const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const NOTES: &str = "the secret word is pelican";

/// A home with a Codex login, the upstream mock, and the router configured against it.
pub(super) struct Rig {
    pub env: Env,
    login: AuthJson,
}

impl Rig {
    pub(super) fn new() -> Rig {
        let env = Env::new();
        let login = env.login(AuthJson::new());
        Rig { env, login }
    }

    /// The router on `listen` with `routes` and extra `-e` settings.
    pub(super) fn command(&self, listen: &str, routes: &str, extra: &[&str]) -> Command {
        let url = self.env.server.url();
        let mut c = Command::new(super::common::bin_path(BIN));
        c.env_clear()
            .env("HOME", &self.env.home)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(&self.env.proj)
            .args(["--listen", listen]);
        let mut e = |kv: String| {
            c.arg("-e").arg(kv);
        };
        e(format!("ROUTER_ROUTES={routes}"));
        e(format!("CODEX_BASE_URL={}", self.env.server.codex_base()));
        e(format!("CODEX_AUTH_URL={url}"));
        e(format!("ANTHROPIC_BASE_URL={url}"));
        e(format!("ANTHROPIC_API_KEY={ANTHROPIC_KEY}"));
        e(format!("GEMINI_BASE_URL={url}"));
        e(format!("GEMINI_API_KEY={GEMINI_KEY}"));
        e("GEMINI_CACHE=0".into());
        e("RETRY_BASE_DELAY_MS=5".into());
        for x in extra {
            e((*x).to_string());
        }
        c
    }

    pub(super) fn start(&self, routes: &str, extra: &[&str]) -> Server {
        Server::start(self.command("127.0.0.1:0", routes, extra))
    }

    /// `sx` with its `scorpiox` provider pointed at the router (no client credentials).
    pub(super) fn sx(&self, router: &Server, model: &str) -> Vec<String> {
        let mut a: Vec<String> = ["--provider", "scorpiox", "-m", model]
            .map(String::from)
            .to_vec();
        for kv in [
            format!("ROUTER_URL={}", router.base()),
            "RETRY_BASE_DELAY_MS=5".into(),
            "REQUEST_MAX_RETRIES=0".into(),
        ] {
            a.push("-e".into());
            a.push(kv);
        }
        a
    }

    /// Every secret the router holds.
    pub(super) fn secrets(&self) -> Vec<String> {
        vec![
            ANTHROPIC_KEY.into(),
            GEMINI_KEY.into(),
            self.login.access_token(),
            sx_testkit::auth::REFRESH_TOKEN.into(),
        ]
    }
}

fn request(model: &str, stream: bool, messages: Value) -> String {
    json!({"model": model, "max_tokens": 1024, "stream": stream, "messages": messages}).to_string()
}

pub(super) fn hello(model: &str, stream: bool) -> String {
    request(model, stream, json!([{"role": "user", "content": "hello"}]))
}

/// The SSE events of a streamed answer.
fn events(r: &Resp) -> Vec<Value> {
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream")),
        "{r:?}"
    );
    sse::decode(&r.body)
}

fn streamed_text(events: &[Value]) -> String {
    events
        .iter()
        .filter(|e| e["delta"]["type"] == "text_delta")
        .map(|e| e["delta"]["text"].as_str().unwrap())
        .collect()
}

/// The three upstream wires the router is tested against (the agent scenario's, which also
/// gives their first answer: thinking with the wire's own state, then a `read_file` call).
pub(super) type Up = Wire;

impl Wire {
    fn model(self) -> &'static str {
        match self {
            Up::Codex => responses::MODEL,
            Up::Gemini => gemini::MODEL,
            Up::Anthropic => anthropic::MODEL,
            Up::Openai => unreachable!("not an upstream of these tests"),
        }
    }

    /// The upstream's own state, which must come back in its follow-up request.
    fn own_state(self) -> &'static str {
        match self {
            Up::Codex => responses::ENCRYPTED_CONTENT,
            Up::Gemini => gemini::SIGNATURE,
            Up::Anthropic => anthropic::SIGNATURE,
            Up::Openai => unreachable!("not an upstream of these tests"),
        }
    }

    /// What sx reports as the run's usage: the two calls' upstream usage added up.
    fn usage(self) -> (u64, u64, u64) {
        match self {
            // The first answer reports none.
            Up::Codex => (42, 7, 0),
            Up::Gemini => (240, 16, 0),
            // 42 + 30 read + 5 written, twice.
            Up::Anthropic => (154, 14, 60),
            Up::Openai => unreachable!("not an upstream of these tests"),
        }
    }
}

/// The agent's tool loop through the router to one upstream: an image in, thinking, a call,
/// its result, the answer; the upstream gets its own state back and the usage comes through.
fn tool_loop(up: Up) {
    let rig = Rig::new();
    std::fs::write(rig.env.proj.join("notes.txt"), NOTES).unwrap();
    let image = png(&rig.env.proj);
    let path = up.path();
    rig.env.server.enqueue("POST", &path, up.first_answer());
    rig.env
        .server
        .enqueue("POST", &path, up.answer("The word is pelican."));
    let router = rig.start(ROUTES, &[]);
    let mut args = rig.sx(&router, up.model());
    args.extend(
        [
            "-p",
            "what is the secret word?",
            "-i",
            image.to_str().unwrap(),
            "--output-format",
            "stream-json",
        ]
        .map(String::from),
    );
    let out = rig.env.cmd("sx").args(&args).output().unwrap();
    assert!(out.status.success(), "{up:?}: {}", stderr_of(&out));
    let lines = json_lines(&out.stdout);
    let of = |t: &str| -> Vec<&Value> { lines.iter().filter(|e| e["type"] == t).collect() };
    let thinking: String = of("thinking_delta")
        .iter()
        .map(|e| e["text"].as_str().unwrap_or(""))
        .collect();
    assert!(thinking.contains("read the notes"), "{up:?}: {lines:?}");
    assert_eq!(of("tool_call").len(), 1, "{up:?}: {lines:?}");
    assert!(
        of("tool_result")[0]["output"]
            .as_str()
            .unwrap()
            .contains("pelican")
    );
    let done = lines.last().unwrap();
    assert_eq!(done["text"], "The word is pelican.", "{up:?}: {done}");
    let usage = of("usage");
    assert_eq!(usage.len(), 2, "{up:?}: one per model call: {lines:?}");
    let sum = |k: &str| -> u64 { usage.iter().map(|u| u[k].as_u64().unwrap()).sum() };
    assert_eq!(
        (
            sum("input_tokens"),
            sum("output_tokens"),
            sum("cache_read_tokens")
        ),
        up.usage(),
        "{up:?}: the upstream's usage came through: {usage:?}"
    );

    let reqs = rig.env.server.requests_to(&path);
    assert_eq!(reqs.len(), 2, "{up:?}");
    let first = reqs[0].json().to_string();
    assert!(first.contains(PNG_B64), "{up:?}: the image went upstream");
    let shape = match up {
        Up::Codex => "\"input_image\"",
        Up::Gemini => "\"inlineData\"",
        Up::Anthropic | Up::Openai => "\"type\":\"image\"",
    };
    assert!(
        first.contains(shape),
        "{up:?}: in the wire's shape: {first}"
    );
    let second = reqs[1].json().to_string();
    assert!(
        second.contains("pelican"),
        "{up:?}: the tool result went back"
    );
    assert!(
        second.contains(up.own_state()),
        "{up:?}: its own state came back through the client: {second}"
    );
    assert!(
        !second.contains("sxr1."),
        "{up:?}: no router envelope upstream"
    );
    for other in [Up::Codex, Up::Gemini, Up::Anthropic] {
        if other != up {
            assert!(
                !second.contains(other.own_state()),
                "{up:?}: {other:?}'s state"
            );
        }
    }
    // The router's key went upstream; sx's dummy key did not.
    if let Up::Anthropic = up {
        assert_eq!(reqs[0].header("x-api-key"), Some(ANTHROPIC_KEY));
    }
    let (status, log) = router.stop();
    assert!(status.success(), "{log}");
    let route = format!(
        "POST /v1/messages 200 {} ",
        match up {
            Up::Codex => "codex gpt-5.5",
            Up::Gemini => "gemini gemini-3.8-flash",
            Up::Anthropic | Up::Openai => "anthropic claude-sonnet-5",
        }
    );
    assert_eq!(log.matches(&route).count(), 2, "{up:?}: {log}");
    for s in rig.secrets() {
        assert!(!log.contains(&s), "{up:?}: a secret in the log: {log}");
    }
}

#[test]
fn a_tool_loop_with_thinking_and_an_image_through_codex() {
    tool_loop(Up::Codex);
}

#[test]
fn a_tool_loop_with_thinking_and_an_image_through_gemini() {
    tool_loop(Up::Gemini);
}

#[test]
fn a_tool_loop_with_thinking_and_an_image_through_anthropic() {
    tool_loop(Up::Anthropic);
}

#[test]
fn streamed_and_whole_answers_in_the_messages_shape() {
    let rig = Rig::new();
    let path = Up::Codex.path();
    rig.env.server.enqueue(
        "POST",
        &path,
        MockResponse::sse(sse::encode(&responses::reasoning_then_text(
            "Thinking it over.",
            "Hello there.",
        ))),
    );
    rig.env
        .server
        .enqueue("POST", &path, Up::Codex.answer("Whole answer."));
    let router = rig.start(ROUTES, &[]);
    let r = router.post("/v1/messages", &hello("gpt-5.5", true));
    assert_eq!(r.header("x-scorpiox-route"), Some("codex gpt-5.5"));
    let ev = events(&r);
    let kinds: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"message_start"));
    assert_eq!(kinds.last(), Some(&"message_stop"));
    assert_eq!(ev[0]["message"]["model"], "gpt-5.5");
    assert_eq!(streamed_text(&ev), "Hello there.");
    let thinking = ev
        .iter()
        .find(|e| e["delta"]["type"] == "signature_delta")
        .unwrap();
    assert!(
        thinking["delta"]["signature"]
            .as_str()
            .unwrap()
            .starts_with("sxr1."),
        "{thinking}"
    );
    let delta = ev.iter().find(|e| e["type"] == "message_delta").unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["output_tokens"], 19);
    assert_eq!(
        delta["usage"]["output_tokens_details"]["thinking_tokens"],
        12
    );

    let r = router.post("/v1/messages", &hello("gpt-5.5", false));
    assert_eq!(r.status, 200, "{r:?}");
    let m = r.json();
    assert_eq!(m["type"], "message");
    assert_eq!(m["role"], "assistant");
    assert_eq!(
        m["content"],
        json!([{"type": "text", "text": "Whole answer."}])
    );
    assert_eq!(m["stop_reason"], "end_turn");
    assert_eq!(m["usage"]["input_tokens"], 42);
    assert!(m["id"].as_str().unwrap().starts_with("msg_"));
}

#[test]
fn concurrent_streams_each_get_their_own_answer() {
    let rig = Rig::new();
    let n = 8;
    // Each request names its number; the mock answers in order of arrival, so the answers are
    // matched by content below, not by order.
    for i in 0..n {
        rig.env.server.enqueue(
            "POST",
            &Up::Anthropic.path(),
            Up::Anthropic.answer(&format!("answer {i}")),
        );
    }
    let router = rig.start(ROUTES, &[]);
    let answers: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    let r = router.post("/v1/messages", &hello("claude-sonnet-5", true));
                    let ev = events(&r);
                    assert_eq!(ev.last().unwrap()["type"], "message_stop", "{ev:?}");
                    streamed_text(&ev)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = answers.clone();
    sorted.sort();
    let expected: Vec<String> = (0..n).map(|i| format!("answer {i}")).collect();
    assert_eq!(
        sorted, expected,
        "every stream whole, none mixed: {answers:?}"
    );
    let (_, log) = router.stop();
    assert_eq!(log.matches("POST /v1/messages 200 anthropic").count(), n);
}

#[test]
fn an_upstream_failure_mid_stream_becomes_an_error_event() {
    let rig = Rig::new();
    let path = Up::Anthropic.path();
    // A failure the runtime does not retry: its type and message go to the client.
    let mut ev = vec![anthropic::message_start(anthropic::TURN_USAGE)];
    ev.extend(anthropic::text_block(0, "Partial answer"));
    ev.push(anthropic::error(
        "invalid_request_error",
        "tool schema rejected upstream",
    ));
    rig.env
        .server
        .enqueue("POST", &path, MockResponse::sse(sse::encode(&ev)));
    // A stream cut mid-answer: the runtime would retry, but part of the answer is out.
    let mut cut = Chunk::events(&[anthropic::message_start(anthropic::TURN_USAGE)]);
    cut.extend(Chunk::events(&anthropic::text_block(0, "Half")));
    cut.push(Chunk::Abort);
    rig.env
        .server
        .enqueue("POST", &path, MockResponse::sse_chunks(cut));
    let router = rig.start(ROUTES, &[]);

    let ev = events(&router.post("/v1/messages", &hello("claude-sonnet-5", true)));
    assert_eq!(streamed_text(&ev), "Partial answer");
    let last = ev.last().unwrap();
    assert_eq!(last["type"], "error", "{ev:?}");
    assert_eq!(last["error"]["type"], "invalid_request_error");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tool schema rejected upstream"),
        "{last}"
    );
    assert!(!ev.iter().any(|e| e["type"] == "message_stop"));

    let ev = events(&router.post("/v1/messages", &hello("claude-sonnet-5", true)));
    assert_eq!(streamed_text(&ev), "Half");
    let last = ev.last().unwrap();
    assert_eq!(last["error"]["type"], "api_error", "{ev:?}");
    assert!(
        last["error"]["message"].as_str().unwrap().contains("broke"),
        "{last}"
    );
    // The runtime did not retry behind the client's back.
    assert_eq!(rig.env.server.requests_to(&path).len(), 2);

    // sx through the router: one error line naming the upstream's failure.
    rig.env.server.enqueue(
        "POST",
        &path,
        MockResponse::sse(sse::encode(&[
            anthropic::message_start(anthropic::TURN_USAGE),
            anthropic::error("invalid_request_error", "bad request upstream"),
        ])),
    );
    let mut args = rig.sx(&router, "claude-sonnet-5");
    args.extend(["-p", "hi"].map(String::from));
    let out = rig.env.cmd("sx").args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let line = error_line(&out);
    assert!(line.contains("bad request upstream"), "{line}");
}

#[test]
fn a_client_that_hangs_up_makes_the_router_hang_up_upstream() {
    let rig = Rig::new();
    let path = Up::Codex.path();
    let mut ev = vec![responses::created(responses::RESP_ID)];
    ev.extend(responses::message_events(
        responses::MSG_ID,
        "Streaming on",
        None,
    ));
    let mut chunks = Chunk::events(&ev);
    chunks.push(Chunk::Stall);
    rig.env
        .server
        .enqueue("POST", &path, MockResponse::sse_chunks(chunks));
    let router = rig.start(ROUTES, &[]);
    let mut conn = router.post_open("/v1/messages", &hello("gpt-5.5", true));
    read_until(&mut conn, "text_delta");
    assert_eq!(
        rig.env.server.open_streams(),
        1,
        "the upstream stream is open"
    );
    drop(conn);
    assert!(
        rig.env
            .server
            .wait_for_streams_closed(Duration::from_secs(60)),
        "the router kept the upstream stream open after its client left"
    );
    let (status, log) = router.stop();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("POST /v1/messages 200 codex gpt-5.5 "),
        "{log}"
    );
}

#[test]
fn scenario_rules_and_an_explicit_provider_pick_the_upstream() {
    let rig = Rig::new();
    let routes = "background=gemini:gemini-3.5-flash-lite,long_context=anthropic:opus,\
                  think=codex:gpt-5.5,gpt-*=codex,*=anthropic";
    let router = rig.start(routes, &["ROUTER_LONG_CONTEXT=500"]);
    let cases: Vec<(String, &str, String)> = vec![
        (
            hello("claude-haiku-4-5-20251001", false),
            "gemini gemini-3.5-flash-lite",
            gemini::stream_path("gemini-3.5-flash-lite"),
        ),
        (
            request(
                "claude-sonnet-5",
                false,
                json!([{"role":"user","content":"x".repeat(4000)}]),
            ),
            "anthropic claude-opus-4-8",
            anthropic::MESSAGES_PATH.into(),
        ),
        (
            json!({"model":"claude-sonnet-5","max_tokens":2048,
                   "thinking":{"type":"enabled","budget_tokens":1024},
                   "messages":[{"role":"user","content":"think"}]})
            .to_string(),
            "codex gpt-5.5",
            CODEX_RESPONSES_PATH.into(),
        ),
        (
            hello("codex,gpt-5.4", false),
            "codex gpt-5.4",
            CODEX_RESPONSES_PATH.into(),
        ),
        (
            hello("gemini,gemini-3.8-flash", false),
            "gemini gemini-3.8-flash",
            gemini::stream_path("gemini-3.8-flash"),
        ),
        (
            hello("claude-sonnet-5", false),
            "anthropic claude-sonnet-5",
            anthropic::MESSAGES_PATH.into(),
        ),
    ];
    for (body, route, path) in &cases {
        let up = if path == CODEX_RESPONSES_PATH {
            Up::Codex
        } else if path.contains("gemini") {
            Up::Gemini
        } else {
            Up::Anthropic
        };
        rig.env.server.enqueue("POST", path, up.answer("ok"));
        let before = rig.env.server.requests_to(path).len();
        let r = router.post("/v1/messages", body);
        assert_eq!(r.status, 200, "{route}: {r:?}");
        assert_eq!(r.header("x-scorpiox-route"), Some(*route), "{r:?}");
        let reqs = rig.env.server.requests_to(path);
        assert_eq!(reqs.len(), before + 1, "{route}");
        let model = route.split(' ').nth(1).unwrap();
        if up != Up::Gemini {
            assert_eq!(reqs.last().unwrap().json()["model"], model, "{route}");
        }
    }
    let r = router.post("/v1/messages", &hello("nope,x", false));
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(r.json()["error"]["type"], "not_found_error");
    // A model name of the client's own making stays one printable word in the log.
    let r = router.post("/v1/messages", &hello("codex,odd model\nname", false));
    assert_eq!(r.header("x-scorpiox-route"), Some("codex odd?model?name"));
    let (_, log) = router.stop();
    assert!(log.contains(" codex odd?model?name "), "{log}");
}

#[test]
fn sigterm_lets_a_stream_in_flight_finish_then_exits_0() {
    let rig = Rig::new();
    let release = rig.env.proj.join("release");
    let path = Up::Codex.path();
    let mut ev = vec![responses::created(responses::RESP_ID)];
    ev.extend(responses::message_events(
        responses::MSG_ID,
        "alpha beta gamma",
        None,
    ));
    ev.push(responses::completed(responses::RESP_ID, Default::default()));
    let ev = responses::finalize(ev);
    // Held after the first piece of text: the rest comes only once the router is stopping.
    let split = ev
        .iter()
        .position(|e| e["type"] == "response.output_text.delta")
        .unwrap()
        + 1;
    let mut chunks = Chunk::events(&ev[..split]);
    chunks.push(Chunk::WaitFor(release.clone()));
    chunks.extend(Chunk::events(&ev[split..]));
    rig.env
        .server
        .enqueue("POST", &path, MockResponse::sse_chunks(chunks));
    let router = rig.start(ROUTES, &[]);
    let mut conn = router.post_open("/v1/messages", &hello("gpt-5.5", true));
    let mut got = read_until(&mut conn, "text_delta");
    router.signal("-TERM");
    assert!(
        router.stderr.wait_for("shutting down"),
        "{}",
        router.stderr.text()
    );
    // New connections are refused while the stream goes on.
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(&router.addr).is_ok() {
        assert!(Instant::now() < deadline, "still accepting");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::fs::write(&release, "").unwrap();
    assert!(got.contains("alpha") && !got.contains("gamma"), "{got}");
    got.push_str(&read_until(&mut conn, "message_stop"));
    assert!(
        got.contains("gamma"),
        "the rest of the answer came after the signal: {got}"
    );
    let (status, log) = router.wait();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(
        log.contains("POST /v1/messages 200 codex gpt-5.5 "),
        "{log}"
    );
}

#[test]
fn a_user_function_reaches_the_upstream_and_its_call_comes_back_to_the_caller() {
    // docs/providers.md, the scorpiox column: user functions go through the router as tools.
    for up in [Up::Codex, Up::Gemini, Up::Anthropic] {
        let rig = Rig::new();
        std::fs::write(rig.env.proj.join("notes.txt"), NOTES).unwrap();
        let functions = rig.env.proj.join("functions.json");
        std::fs::write(
            &functions,
            json!([{"name": "deploy", "description": "Deploy the app",
                    "parameters": {"type": "object", "properties": {"target": {"type": "string"}},
                                   "required": ["target"]}}])
            .to_string(),
        )
        .unwrap();
        let path = up.path();
        rig.env.server.enqueue("POST", &path, up.first_answer());
        rig.env.server.enqueue("POST", &path, up.second_answer());
        let router = rig.start(ROUTES, &[]);
        let mut args = rig.sx(&router, up.model());
        args.extend(
            [
                "-p",
                "read the notes, then deploy",
                "--functions",
                functions.to_str().unwrap(),
                "--output-format",
                "stream-json",
            ]
            .map(String::from),
        );
        let out = rig.env.cmd("sx").args(&args).output().unwrap();
        assert!(out.status.success(), "{up:?}: {}", stderr_of(&out));
        let lines = json_lines(&out.stdout);
        let calls: Vec<&Value> = lines
            .iter()
            .filter(|e| e["type"] == "function_call")
            .collect();
        assert_eq!(calls.len(), 1, "{up:?}: {lines:?}");
        assert_eq!(calls[0]["name"], "deploy");
        assert_eq!(calls[0]["arguments"], json!({"target": "prod"}));
        assert_eq!(lines.last().unwrap()["stop_reason"], "function_call");
        let reqs = rig.env.server.requests_to(&path);
        assert_eq!(reqs.len(), 2, "{up:?}");
        assert!(
            reqs[0].text().contains("Deploy the app"),
            "{up:?}: the function was offered upstream"
        );
        let (status, log) = router.stop();
        assert!(status.success(), "{log}");
    }
}
