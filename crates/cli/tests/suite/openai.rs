//! `sx -p` through the `openai` provider (any Chat Completions server) against the loopback
//! mock: the request shapes of docs/protocols/providers.md §4.2–§4.3 asserted exactly (there
//! is no official client to capture for this wire), each server's recorded stream
//! (tests/fixtures/openai/) through the real binary, the agent's tools, thinking, images and
//! user functions, retries, and one `error:` line with its exit code for every failure.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use sx_testkit::openai::{self as chat, CHAT_PATH, MODELS_PATH};
use sx_testkit::{ClosedPort, Expect, MockResponse, fixture, fixture_json};

use super::common::{Cmd, Env, error_line, json_lines, read_json, stderr_of};

/// `sx` on the openai provider at `base` (the mock by default), with fast retries.
fn sx_at(env: &Env, base: &str) -> Cmd {
    let mut c = env.cmd("sx");
    c.args([
        "--provider",
        "openai",
        "-e",
        &format!("OPENAI_BASE_URL={base}"),
        "-e",
        "RETRY_BASE_DELAY_MS=5",
    ]);
    c
}

fn sx(env: &Env) -> Cmd {
    sx_at(env, &env.server.url())
}

fn answer_with(env: &Env, sse: impl Into<Vec<u8>>) {
    let sse: Vec<u8> = sse.into();
    env.server
        .enqueue("POST", CHAT_PATH, MockResponse::sse(sse));
}

fn answer_fixture(env: &Env, name: &str) {
    answer_with(env, fixture(&format!("openai/{name}")));
}

fn events_of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

fn joined(events: &[Value], kind: &str) -> String {
    events_of(events, kind)
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect()
}

#[test]
fn a_text_answer_and_the_documented_request() {
    let env = Env::new();
    env.server.expect(
        "POST",
        CHAT_PATH,
        Expect::new()
            .no_header("authorization")
            .header("accept", "text/event-stream")
            .header("content-type", "application/json"),
    );
    answer_fixture(&env, "text.sse");
    let out = sx(&env).args(["-p", "say hi"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello from the mock.\n",
        "stderr: {}",
        stderr_of(&out)
    );
    assert!(out.status.success());
    let reqs = env.server.requests_to(CHAT_PATH);
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].header("user-agent").unwrap().starts_with("sx/"));
    let mut body = reqs[0].json();
    let system = body["messages"][0].clone();
    assert_eq!(system["role"], "system");
    assert!(
        system["content"].as_str().unwrap().contains("You are sx"),
        "{system}"
    );
    let tools = body["tools"].as_array().unwrap().clone();
    let names: Vec<&str> = tools
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "bash",
            "read_file",
            "write_file",
            "edit_file",
            "edit_lines",
            "glob",
            "grep",
            "list_dir",
            "read_image"
        ]
    );
    for t in &tools {
        let keys: Vec<&String> = t["function"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["name", "description", "parameters"], "{t}");
        assert_eq!(t["type"], "function");
        assert_eq!(t.as_object().unwrap().len(), 2, "{t}");
    }
    // Everything else, exactly (docs/protocols/providers.md §4.2): MODEL's default alias passes
    // through unchanged (no aliases on openai), no key-less extras for a local server.
    body["messages"][0]["content"] = json!("…");
    body["tools"] = json!("…");
    assert_eq!(
        body,
        json!({
            "model": "sonnet",
            "messages": [
                {"role": "system", "content": "…"},
                {"role": "user", "content": "say hi"}
            ],
            "tools": "…",
            "stream": true,
            "stream_options": {"include_usage": true}
        })
    );

    // REASONING_EFFORT and TOOLS=0, against a base URL that already ends in /v1.
    answer_fixture(&env, "text.sse");
    let out = sx_at(&env, &format!("{}/v1", env.server.url()))
        .args([
            "-p",
            "again",
            "-m",
            "qwen3-8b",
            "-e",
            "REASONING_EFFORT=low",
            "-e",
            "TOOLS=0",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let body = env.server.requests_to(CHAT_PATH)[1].json();
    assert_eq!(body["model"], "qwen3-8b");
    assert_eq!(body["reasoning_effort"], "low");
    assert_eq!(body.get("tools"), None, "no tools, no list");
    assert_eq!(body.get("prompt_cache_key"), None, "not OpenAI's own API");
    env.server.verify();
}

/// The agent's tool loop over four servers' recorded streams: llama.cpp's `reasoning_content`
/// and repeated ids, Ollama's index-less whole calls ending in `stop`, vLLM's `reasoning` and
/// empty continuation ids, and `<think>` tags split across chunks in the answer.
#[test]
fn a_tool_loop_with_thinking_across_every_servers_quirks() {
    let env = Env::new();
    for (f, text) in [
        ("notes.txt", "hello notes"),
        ("a.txt", "alpha"),
        ("b.txt", "beta"),
    ] {
        std::fs::write(env.proj.join(f), text).unwrap();
    }
    answer_fixture(&env, "llamacpp_reasoning_tool.sse");
    answer_fixture(&env, "ollama_tools.sse");
    answer_fixture(&env, "vllm_reasoning_tool.sse");
    answer_fixture(&env, "think_tags.sse");
    let out = sx_at(&env, &format!("{}/v1/", env.server.url()))
        .args(["-p", "read my notes", "--output-format", "stream-json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let events = json_lines(&out.stdout);
    assert_eq!(
        joined(&events, "thinking_delta"),
        "The user wants the notes file.Two files to read.Need to list the directory.Two plus two."
    );
    let calls: Vec<(String, Value)> = events_of(&events, "tool_call")
        .iter()
        .map(|e| (e["id"].as_str().unwrap().to_string(), e["input"].clone()))
        .collect();
    assert_eq!(
        calls,
        [
            ("Lc7rP2x".to_string(), json!({"path": "notes.txt"})),
            ("call_o1".to_string(), json!({"path": "a.txt"})),
            ("call_o2".to_string(), json!({"path": "b.txt"})),
            ("chatcmpl-tool-9f1".to_string(), json!({"path": "."})),
        ]
    );
    let done = events.last().unwrap();
    assert_eq!(done["stop_reason"], "end_turn");
    assert_eq!(done["text"], "The answer is 4.");
    assert_eq!(joined(&events, "text_delta"), "The answer is 4.");

    let reqs = env.server.requests_to(CHAT_PATH);
    assert_eq!(reqs.len(), 4);
    let first = reqs[0].json();
    let last = reqs[3].json();
    // The stable prefix is byte-identical in every request (prompt caches).
    for r in &reqs[1..] {
        let b = r.json();
        assert_eq!(b["messages"][0], first["messages"][0]);
        assert_eq!(b["tools"], first["tools"]);
    }
    let msgs = last["messages"].as_array().unwrap();
    let tool_msg = |id: &str| -> String {
        msgs.iter()
            .find(|m| m["role"] == "tool" && m["tool_call_id"] == id)
            .unwrap_or_else(|| panic!("no tool message for {id}"))["content"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(tool_msg("Lc7rP2x").contains("hello notes"));
    assert!(tool_msg("call_o1").contains("alpha"));
    assert!(tool_msg("call_o2").contains("beta"));
    // The calls go back as the servers sent them: ids, names, arguments byte for byte; the
    // thinking does not.
    assert_eq!(
        msgs[2],
        json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": "Lc7rP2x", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"notes.txt\"}"}}
        ]})
    );
    assert_eq!(
        msgs[4]["tool_calls"],
        json!([
            {"id": "call_o1", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"a.txt\"}"}},
            {"id": "call_o2", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"b.txt\"}"}}
        ])
    );
    assert_eq!(
        msgs[7]["tool_calls"][0]["function"]["arguments"],
        "{\"path\": \".\"}"
    );
    let roles: Vec<&str> = msgs.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(
        roles,
        [
            "system",
            "user",
            "assistant",
            "tool",
            "assistant",
            "tool",
            "tool",
            "assistant",
            "tool"
        ]
    );
    assert!(
        !last.to_string().contains("notes file."),
        "no thinking sent back"
    );

    // The transcript keeps the thinking, marked as this provider's.
    let session = std::fs::read_dir(env.proj.join(".scorpiox/sessions"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let conv = read_json(&session.join("conversation.json")).to_string();
    assert!(
        conv.contains(r#""text":"The user wants the notes file.""#)
            && conv.contains(r#""source":"openai""#),
        "{conv}"
    );
}

#[test]
fn an_attached_image_is_an_image_url_part() {
    let env = Env::new();
    let png = env.proj.join("shot.png");
    image::RgbImage::from_pixel(8, 4, image::Rgb([255, 0, 0]))
        .save(&png)
        .unwrap();
    answer_with(&env, chat::text_turn("A red rectangle."));
    let out = sx(&env)
        .args(["-p", "what is this?", "-i", png.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "A red rectangle.\n");
    let body = env.server.requests_to(CHAT_PATH)[0].json();
    let parts = body["messages"][1]["content"].as_array().unwrap().clone();
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(parts[0], json!({"type": "text", "text": "what is this?"}));
    assert_eq!(parts[1]["type"], "image_url");
    assert_eq!(parts[1]["image_url"]["detail"], "auto");
    let url = parts[1]["image_url"]["url"].as_str().unwrap();
    assert!(
        url.starts_with("data:image/png;base64,iVBORw0KGgo"),
        "{url}"
    );
}

#[test]
fn a_function_without_a_command_is_returned_to_the_caller() {
    let env = Env::new();
    let fns = env.proj.join("fns.json");
    std::fs::write(
        &fns,
        json!([{"name": "notify_human", "description": "Hand over to a human",
                "parameters": {"type": "object", "properties": {"reason": {"type": "string"}}}}])
        .to_string(),
    )
    .unwrap();
    answer_with(
        &env,
        chat::thinking_tool_call_turn(
            "A human should decide.",
            "call_f1",
            "notify_human",
            r#"{"reason":"refund"}"#,
        ),
    );
    let out = sx(&env)
        .args([
            "-p",
            "refund order 42",
            "--functions",
            fns.to_str().unwrap(),
            "--output-format",
            "stream-json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let reqs = env.server.requests_to(CHAT_PATH);
    assert_eq!(reqs.len(), 1, "the command-less function ends the run");
    let offered = reqs[0].json()["tools"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        offered,
        json!({"type": "function", "function": {"name": "notify_human", "description": "Hand over to a human",
               "parameters": {"type": "object", "properties": {"reason": {"type": "string"}}}}})
    );
    let events = json_lines(&out.stdout);
    let fc = events_of(&events, "function_call");
    assert_eq!(fc.len(), 1);
    assert_eq!(fc[0]["id"], "call_f1");
    assert_eq!(fc[0]["name"], "notify_human");
    assert_eq!(fc[0]["arguments"], json!({"reason": "refund"}));
    assert_eq!(events.last().unwrap()["stop_reason"], "function_call");
}

#[test]
fn rate_limits_and_server_errors_are_retried_as_the_same_request() {
    let env = Env::new();
    env.server.expect(
        "POST",
        CHAT_PATH,
        Expect::new().bearer("sk-test").same_body_as_first(),
    );
    env.server.enqueue(
        "POST",
        CHAT_PATH,
        MockResponse::json(429, fixture_json("openai/http_429.json")).header("retry-after", "0"),
    );
    env.server.enqueue(
        "POST",
        CHAT_PATH,
        MockResponse::json(500, fixture_json("openai/http_500.json")),
    );
    env.server.enqueue(
        "POST",
        CHAT_PATH,
        MockResponse::status(502)
            .content_type("text/html")
            .body(fixture("openai/html_502.html")),
    );
    answer_fixture(&env, "text.sse");
    let out = sx(&env)
        .args(["-p", "hi", "--output-format", "stream-json"])
        .env("OPENAI_API_KEY", "sk-test")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let events = json_lines(&out.stdout);
    let retries = events_of(&events, "retry");
    assert_eq!(retries.len(), 3, "{retries:?}");
    assert!(
        retries[0]["reason"]
            .as_str()
            .unwrap()
            .contains("Rate limit reached")
    );
    assert!(
        retries[2]["reason"]
            .as_str()
            .unwrap()
            .contains("502 Bad Gateway")
    );
    assert_eq!(env.server.requests_to(CHAT_PATH).len(), 4);
    assert_eq!(events.last().unwrap()["text"], "Hello from the mock.");
    env.server.verify();
}

#[test]
fn errors_inside_a_200_stream() {
    // A server error in the stream is retried; the retry's answer is the answer.
    let env = Env::new();
    answer_fixture(&env, "error_in_stream.sse");
    answer_fixture(&env, "text.sse");
    let out = sx(&env).args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(env.server.requests_to(CHAT_PATH).len(), 2);
    assert!(
        String::from_utf8_lossy(&out.stdout).ends_with("Hello from the mock.\n"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // One the server says will not pass is reported once.
    let env = Env::new();
    answer_with(
        &env,
        chat::encode(&[
            chat::role(),
            chat::error("Invalid tool schema", "invalid_request_error", None),
        ]),
    );
    let out = sx(&env).args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = error_line(&out);
    assert!(
        line.contains("invalid_request_error: Invalid tool schema"),
        "{line}"
    );
    assert_eq!(env.server.requests_to(CHAT_PATH).len(), 1);

    // llama.cpp's context overflow in the stream: the agent compacts and goes on.
    let env = Env::new();
    answer_fixture(&env, "error_context_llamacpp.sse");
    answer_with(&env, chat::text_turn("continuing"));
    let out = sx(&env).args(["-p", "a big task"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("context compacted"));
    let reqs = env.server.requests_to(CHAT_PATH);
    assert_eq!(reqs.len(), 2);
    let note = reqs[1].json()["messages"][1]["content"].clone();
    assert!(
        note.as_str().unwrap().starts_with("[Context compacted]"),
        "{note}"
    );
}

#[test]
fn without_a_key_nothing_is_sent_and_a_401_says_to_set_one() {
    let env = Env::new();
    env.server
        .expect("POST", CHAT_PATH, Expect::new().no_header("authorization"));
    env.server.enqueue(
        "POST",
        CHAT_PATH,
        MockResponse::json(
            401,
            json!({"error": {"message": "Missing bearer token", "type": "authentication_error"}}),
        ),
    );
    let out = sx(&env).args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let line = error_line(&out);
    assert!(
        line.contains("requires authentication")
            && line.contains("Missing bearer token")
            && line.contains("set OPENAI_API_KEY"),
        "{line}"
    );
    assert_eq!(env.server.requests_to(CHAT_PATH).len(), 1);
    env.server.verify();
}

#[test]
fn a_rejected_key_is_named_and_never_shown() {
    let env = Env::new();
    let key = "sk-proj-secret-4242";
    env.server
        .expect("POST", CHAT_PATH, Expect::new().bearer(key));
    env.server.enqueue(
        "POST",
        CHAT_PATH,
        MockResponse::json(401, fixture_json("openai/http_401.json")),
    );
    let out = sx(&env)
        .args(["-p", "hi"])
        .env("OPENAI_API_KEY", key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let line = error_line(&out);
    assert!(
        line.contains("rejected OPENAI_API_KEY") && line.contains("Incorrect API key"),
        "{line}"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains(key));
    assert_eq!(
        env.server.requests_to(CHAT_PATH).len(),
        1,
        "a key is not retried"
    );
    // Nor does it reach the session's traffic log.
    let mut stack = vec![env.proj.join(".scorpiox")];
    let mut files = 0;
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files += 1;
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                assert!(!text.contains(key), "{} holds the key", path.display());
            }
        }
    }
    assert!(files > 0, "the session and its traffic were written");
    env.server.verify();
}

#[test]
fn html_and_missing_model_errors_are_one_line() {
    let env = Env::new();
    env.server.enqueue(
        "POST",
        CHAT_PATH,
        MockResponse::status(404)
            .content_type("text/html")
            .body(fixture("openai/html_404.html")),
    );
    let out = sx(&env).args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = error_line(&out);
    assert!(
        line.contains("unexpected HTTP 404")
            && line.contains("404 Not Found")
            && line.contains("OPENAI_BASE_URL"),
        "{line}"
    );

    env.server.enqueue(
        "POST",
        CHAT_PATH,
        MockResponse::json(404, fixture_json("openai/http_404_model_ollama.json")),
    );
    let out = sx(&env)
        .args(["-p", "hi", "-m", "llama9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let line = error_line(&out);
    assert!(
        line.contains("model \"llama9\" not found") && line.contains("set MODEL"),
        "{line}"
    );
    assert_eq!(
        env.server.requests_to(CHAT_PATH).len(),
        2,
        "neither is retried"
    );
}

#[test]
fn a_truncated_stream_is_retried_then_reported() {
    let env = Env::new();
    answer_fixture(&env, "truncated.sse");
    answer_fixture(&env, "text.sse");
    let out = sx(&env).args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(env.server.requests_to(CHAT_PATH).len(), 2);

    let env = Env::new();
    for _ in 0..3 {
        answer_fixture(&env, "truncated.sse");
    }
    let out = sx(&env)
        .args(["-p", "hi", "-e", "STREAM_MAX_RETRIES=2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = error_line(&out);
    assert!(line.contains("ended before it was complete"), "{line}");
    assert_eq!(env.server.requests_to(CHAT_PATH).len(), 3);
}

#[test]
fn a_local_server_that_is_not_running_is_named() {
    let env = Env::new();
    let closed = ClosedPort::bind();
    let out = sx_at(&env, &closed.url())
        .args(["-p", "hi", "-e", "REQUEST_MAX_RETRIES=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = error_line(&out);
    assert!(
        line.contains(&format!("{}/v1/chat/completions", closed.url()))
            && line.contains("check your connection and OPENAI_BASE_URL"),
        "{line}"
    );
}

#[test]
fn list_models_asks_the_server_and_says_when_it_cannot() {
    let env = Env::new();
    env.server.enqueue(
        "GET",
        MODELS_PATH,
        MockResponse::status(200)
            .content_type("application/json")
            .body(fixture("openai/models.json"))
            .expecting(Expect::new().bearer("k1")),
    );
    let out = sx_at(&env, &format!("{}/v1", env.server.url()))
        .arg("--list-models")
        .env("OPENAI_API_KEY", "k1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "gpt-5.4-mini\ngpt-5.4\n",
        "the server's ids, no aliases"
    );
    env.server.verify();

    env.server.enqueue(
        "GET",
        MODELS_PATH,
        MockResponse::json(500, fixture_json("openai/http_500.json")),
    );
    let out = sx(&env).arg("--list-models").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(out.stdout.is_empty());
    let err = stderr_of(&out);
    assert!(
        err.contains("sx: cannot list the models")
            && err.contains("HTTP 500")
            && err.contains("openai has no built-in list"),
        "{err}"
    );
}
