//! `sx -p` through the `openai` provider (any Chat Completions server) against the loopback
//! mock: the request shapes of docs/protocols/providers.md §4.2–§4.3 asserted exactly (there
//! is no official client to capture for this wire), each server's recorded stream
//! (tests/fixtures/openai/) through the real binary, the agent's tools, thinking, images and
//! user functions, and `--list-models`. Failures: `openai_errors.rs`.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use sx_testkit::openai::{self as chat, CHAT_PATH, MODELS_PATH};
use sx_testkit::{Expect, MockResponse, fixture, fixture_json};

use super::common::{Cmd, Env, json_lines, read_json, stderr_of};

/// `sx` on the openai provider at `base` (the mock by default), with fast retries.
pub(super) fn sx_at(env: &Env, base: &str) -> Cmd {
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

pub(super) fn sx(env: &Env) -> Cmd {
    sx_at(env, &env.server.url())
}

pub(super) fn answer_with(env: &Env, sse: impl Into<Vec<u8>>) {
    let sse: Vec<u8> = sse.into();
    env.server
        .enqueue("POST", CHAT_PATH, MockResponse::sse(sse));
}

pub(super) fn answer_fixture(env: &Env, name: &str) {
    answer_with(env, fixture(&format!("openai/{name}")));
}

pub(super) fn events_of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

pub(super) fn joined(events: &[Value], kind: &str) -> String {
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

/// Approvals and sessions do not depend on the wire: a write without `--yolo` is refused and
/// the refusal goes back as the call's tool message; `--continue` sends the whole transcript
/// (calls, results, answers) again, in this wire's shape.
#[test]
fn approvals_and_a_resumed_session_work_the_same() {
    let env = Env::new();
    answer_with(
        &env,
        chat::tool_call_turn(
            "call_w1",
            "write_file",
            r#"{"path":"out.txt","content":"x"}"#,
        ),
    );
    answer_with(&env, chat::text_turn("I could not write it."));
    let out = sx(&env).args(["-p", "write out.txt"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!env.proj.join("out.txt").exists(), "nothing was written");
    let reqs = env.server.requests_to(CHAT_PATH);
    let refused = reqs[1].json()["messages"][3].clone();
    assert_eq!(refused["role"], "tool");
    assert_eq!(refused["tool_call_id"], "call_w1");
    assert!(
        refused["content"]
            .as_str()
            .unwrap()
            .contains("without --yolo"),
        "{refused}"
    );

    answer_with(&env, chat::text_turn("Still no."));
    let out = sx(&env)
        .args(["-p", "and now?", "--continue"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let resumed = env.server.requests_to(CHAT_PATH)[2].json();
    let msgs = resumed["messages"].as_array().unwrap();
    let roles: Vec<&str> = msgs.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "tool", "assistant", "user"]
    );
    assert_eq!(msgs[1]["content"], "write out.txt");
    assert_eq!(
        msgs[2]["tool_calls"][0]["function"]["arguments"],
        r#"{"path":"out.txt","content":"x"}"#
    );
    assert_eq!(msgs[4]["content"], "I could not write it.");
    assert_eq!(msgs[5]["content"], "and now?");
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
