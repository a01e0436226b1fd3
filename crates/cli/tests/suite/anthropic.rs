//! `sx -p` end to end on the anthropic provider (the Messages API), against the loopback mock
//! speaking the wire byte for byte (docs/providers.md, "anthropic"): the request and its cache
//! breakpoints, a thinking and tool loop whose signature goes back on the follow-up, an image,
//! a user function handed to the caller, retries, compaction, `pause_turn`, refusals and the
//! model list. Failures: `anthropic_errors.rs`; the captures: `anthropic_captures.rs`.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use sx_testkit::anthropic::{self as a, MESSAGES_PATH, MODELS_PATH, SIGNATURE};
use sx_testkit::{Expect, MockResponse, Recorded, fixture, fixture_json, sse};

use super::common::{Cmd, Env, json_lines, stderr_of};

pub(super) const KEY: &str = "sk-ant-api03-mock-key";

/// `sx --provider anthropic` pointed at the mock, with an API key and fast retries.
pub(super) fn sx(env: &Env) -> Cmd {
    let mut c = env.cmd("sx");
    c.args([
        "--provider".to_string(),
        "anthropic".to_string(),
        "-e".to_string(),
        format!("ANTHROPIC_BASE_URL={}", env.server.url()),
        "-e".to_string(),
        format!("ANTHROPIC_API_KEY={KEY}"),
        "-e".to_string(),
        "RETRY_BASE_DELAY_MS=5".to_string(),
    ]);
    c
}

pub(super) fn stream(env: &Env, events: &[Value]) {
    reply(env, MockResponse::sse(sse::encode(events)));
}

pub(super) fn stream_fixture(env: &Env, name: &str) {
    reply(
        env,
        MockResponse::sse(fixture(&format!("anthropic/{name}"))),
    );
}

/// The next answer to a model request.
pub(super) fn reply(env: &Env, resp: MockResponse) {
    env.server.enqueue("POST", MESSAGES_PATH, resp);
}

/// An HTTP error with the body of `tests/fixtures/anthropic/<name>`.
pub(super) fn error_reply(status: u16, name: &str) -> MockResponse {
    MockResponse::json(status, fixture_json(&format!("anthropic/{name}")))
}

pub(super) fn requests(env: &Env) -> Vec<Recorded> {
    env.server.requests_to(MESSAGES_PATH)
}

fn events_of(out: &std::process::Output, ty: &str) -> Vec<Value> {
    json_lines(&out.stdout)
        .into_iter()
        .filter(|e| e["type"] == ty)
        .collect()
}

#[test]
fn a_text_answer_streams_to_stdout_and_the_request_is_the_documented_one() {
    let env = Env::new();
    stream_fixture(&env, "text.sse");
    let out = sx(&env).args(["-p", "say hi"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello from the mock.\n",
        "{}",
        stderr_of(&out)
    );
    assert!(out.status.success());
    let reqs = requests(&env);
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.header("x-api-key"), Some(KEY));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("accept"), Some("application/json"));
    assert!(r.header("user-agent").unwrap().starts_with("sx/"));
    let body = r.json();
    assert_eq!(
        body["model"], "claude-sonnet-5",
        "MODEL=sonnet on anthropic"
    );
    assert_eq!(body["max_tokens"], 64000);
    assert_eq!(body["stream"], true);
    assert_eq!(body["thinking"], json!({"type": "adaptive"}));
    assert_eq!(body["output_config"], json!({"effort": "high"}));
    let eph = json!({"type": "ephemeral"});
    assert_eq!(body["system"].as_array().unwrap().len(), 1);
    assert_eq!(body["system"][0]["cache_control"], eph);
    assert!(
        body["system"][0]["text"]
            .as_str()
            .unwrap()
            .contains("You are sx")
    );
    let tools = body["tools"].as_array().unwrap();
    assert!(tools.len() > 3);
    assert_eq!(tools.last().unwrap()["cache_control"], eph);
    assert!(
        tools[..tools.len() - 1]
            .iter()
            .all(|t| t.get("cache_control").is_none())
    );
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "say hi", "cache_control": eph}]}])
    );
}

#[test]
fn usage_counts_cached_input_and_effort_and_budget_follow_the_configuration() {
    let env = Env::new();
    stream_fixture(&env, "text.sse");
    let out = sx(&env)
        .args(["-p", "hi", "--output-format", "stream-json", "-m", "opus"])
        .args(["-e", "REASONING_EFFORT=medium"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let usage = &events_of(&out, "usage")[0];
    assert_eq!(
        (
            usage["input_tokens"].as_u64(),
            usage["cache_read_tokens"].as_u64()
        ),
        (Some(42 + 30 + 5), Some(30))
    );
    assert_eq!(usage["cache_write_tokens"], 5);
    assert_eq!(usage["output_tokens"], 7);
    let body = requests(&env)[0].json();
    assert_eq!(body["model"], "claude-opus-4-8");
    assert_eq!(body["output_config"], json!({"effort": "medium"}));

    // A budget model: THINKING_BUDGET; THINKING=0 sends none.
    stream_fixture(&env, "text.sse");
    stream_fixture(&env, "text.sse");
    let haiku = ["-p", "hi", "-m", "haiku", "-e", "THINKING_BUDGET=4096"];
    assert!(sx(&env).args(haiku).output().unwrap().status.success());
    assert!(
        sx(&env)
            .args(haiku)
            .args(["-e", "THINKING=0"])
            .output()
            .unwrap()
            .status
            .success()
    );
    let reqs = requests(&env);
    assert_eq!(reqs[1].json()["model"], "claude-haiku-4-5");
    assert_eq!(
        reqs[1].json()["thinking"],
        json!({"type": "enabled", "budget_tokens": 4096})
    );
    assert!(reqs[1].json().get("output_config").is_none());
    assert!(reqs[2].json().get("thinking").is_none());
}

#[test]
fn a_thinking_and_tool_loop_sends_the_signature_back_with_the_call() {
    let env = Env::new();
    stream_fixture(&env, "thinking_tool.sse");
    stream_fixture(&env, "text.sse");
    let out = sx(&env)
        .args([
            "-p",
            "print the marker",
            "--yolo",
            "--output-format",
            "stream-json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let thinking: String = events_of(&out, "thinking_delta")
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(thinking, "The user wants the marker printed.");
    let call = &events_of(&out, "tool_call")[0];
    assert_eq!(call["id"], "toolu_01MockCall0001");
    assert_eq!(call["input"], json!({"command": "echo anthropic-tool-ok"}));
    let result = &events_of(&out, "tool_result")[0];
    assert!(
        result["output"]
            .as_str()
            .unwrap()
            .contains("anthropic-tool-ok")
    );
    let done = json_lines(&out.stdout).pop().unwrap();
    assert_eq!(done["stop_reason"], "end_turn");
    assert_eq!(done["text"], "Hello from the mock.");

    let reqs = requests(&env);
    assert_eq!(reqs.len(), 2);
    let (first, follow_up) = (reqs[0].json(), reqs[1].json());
    let eph = json!({"type": "ephemeral"});
    assert_eq!(
        follow_up["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "print the marker"}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "The user wants the marker printed.", "signature": SIGNATURE},
                {"type": "text", "text": "Running it."},
                {"type": "tool_use", "id": "toolu_01MockCall0001", "name": "bash",
                 "input": {"command": "echo anthropic-tool-ok"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01MockCall0001",
                 "content": follow_up["messages"][2]["content"][0]["content"].clone(),
                 "is_error": false, "cache_control": eph}
            ]}
        ])
    );
    let output = follow_up["messages"][2]["content"][0]["content"]
        .as_str()
        .unwrap();
    assert!(output.contains("anthropic-tool-ok"), "{output}");
    // The cached prefix (system, tools) is byte for byte the first request's.
    for key in ["system", "tools"] {
        assert_eq!(first[key].to_string(), follow_up[key].to_string(), "{key}");
    }
}

#[test]
fn an_attached_image_is_a_base64_image_block() {
    let env = Env::new();
    let png = env.proj.join("shot.png");
    image::RgbImage::from_pixel(8, 4, image::Rgb([255, 0, 0]))
        .save(&png)
        .unwrap();
    stream_fixture(&env, "text.sse");
    let out = sx(&env)
        .args(["-p", "what is this?", "-i", png.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let body = requests(&env)[0].json();
    let content = body["messages"][0]["content"].as_array().unwrap().clone();
    assert_eq!(content[0], json!({"type": "text", "text": "what is this?"}));
    assert_eq!(
        content[1],
        json!({"type": "text", "text": "[Image: shot.png]"})
    );
    assert_eq!(content[2]["type"], "image");
    assert_eq!(content[2]["source"]["type"], "base64");
    assert_eq!(content[2]["source"]["media_type"], "image/png");
    assert!(
        content[2]["source"]["data"]
            .as_str()
            .unwrap()
            .starts_with("iVBORw0KGgo")
    );
    assert_eq!(content[2]["cache_control"], json!({"type": "ephemeral"}));
}

#[test]
fn a_user_function_without_a_command_is_returned_to_the_caller() {
    let env = Env::new();
    let fns = env.proj.join("fns.json");
    std::fs::write(
        &fns,
        json!([{"name": "notify_human", "description": "Hand over to a human",
                "parameters": {"type": "object", "properties": {"reason": {"type": "string"}}}}])
        .to_string(),
    )
    .unwrap();
    stream(
        &env,
        &a::tool_turn("toolu_fn1", "notify_human", r#"{"reason":"refund"}"#),
    );
    let out = sx(&env)
        .args(["-p", "help me", "--functions", fns.to_str().unwrap()])
        .args(["--output-format", "stream-json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let fc = &events_of(&out, "function_call")[0];
    assert_eq!(fc["name"], "notify_human");
    assert_eq!(fc["arguments"], json!({"reason": "refund"}));
    assert_eq!(
        json_lines(&out.stdout).pop().unwrap()["stop_reason"],
        "function_call"
    );
    let reqs = requests(&env);
    assert_eq!(reqs.len(), 1, "the caller acts on the call");
    let tools = reqs[0].json()["tools"].as_array().unwrap().clone();
    let last = tools.last().unwrap();
    assert_eq!(last["name"], "notify_human");
    assert_eq!(
        last["input_schema"]["properties"]["reason"]["type"],
        "string"
    );
}

#[test]
fn an_overloaded_529_is_retried_with_the_same_request() {
    let env = Env::new();
    env.server
        .expect("POST", MESSAGES_PATH, Expect::new().same_body_as_first());
    reply(
        &env,
        error_reply(529, "http_529.json").header("retry-after", "0"),
    );
    stream_fixture(&env, "text.sse");
    let out = sx(&env)
        .args(["-p", "hi", "--output-format", "stream-json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let retries = events_of(&out, "retry");
    assert_eq!(retries.len(), 1);
    assert_eq!(retries[0]["delay_ms"], 0);
    assert!(
        retries[0]["reason"]
            .as_str()
            .unwrap()
            .contains("Overloaded")
    );
    assert_eq!(requests(&env).len(), 2);
    env.server.verify();
}

#[test]
fn an_error_inside_a_200_stream_is_retried_and_the_retry_answers() {
    let env = Env::new();
    stream_fixture(&env, "overloaded_in_stream.sse");
    stream_fixture(&env, "text.sse");
    let out = sx(&env)
        .args(["-p", "hi", "--output-format", "stream-json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let retries = events_of(&out, "retry");
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert!(
        retries[0]["reason"]
            .as_str()
            .unwrap()
            .contains("Overloaded")
    );
    assert_eq!(
        json_lines(&out.stdout).pop().unwrap()["text"],
        "Hello from the mock."
    );
    assert_eq!(requests(&env).len(), 2);
}

#[test]
fn a_prompt_too_long_compacts_the_conversation_and_goes_on() {
    let env = Env::new();
    reply(&env, error_reply(400, "http_400_prompt_too_long.json"));
    stream_fixture(&env, "text.sse");
    let out = sx(&env).args(["-p", "a long story"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let reqs = requests(&env);
    assert_eq!(reqs.len(), 2);
    let retried = reqs[1].json()["messages"].to_string();
    assert_ne!(reqs[0].json()["messages"].to_string(), retried);
    assert!(
        retried.contains("a long story"),
        "the note keeps the task: {retried}"
    );
}

#[test]
fn pause_turn_sends_the_paused_answer_back_and_continues() {
    let env = Env::new();
    stream(
        &env,
        &a::turn(
            vec![a::text_block(0, "Still searching…")],
            "pause_turn",
            a::TURN_USAGE,
        ),
    );
    stream_fixture(&env, "text.sse");
    let out = sx(&env).args(["-p", "search"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Hello from the mock."));
    let reqs = requests(&env);
    assert_eq!(reqs.len(), 2);
    let msgs = reqs[1].json()["messages"].as_array().unwrap().clone();
    assert_eq!(msgs.last().unwrap()["role"], "assistant");
    assert_eq!(
        msgs.last().unwrap()["content"][0]["text"],
        "Still searching…"
    );
}

#[test]
fn a_refusal_is_told_to_the_user() {
    let env = Env::new();
    stream(
        &env,
        &a::turn(vec![a::text_block(0, "I can't")], "refusal", a::TURN_USAGE),
    );
    let out = sx(&env).args(["-p", "something bad"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("the model declined to answer"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn list_models_asks_the_api_and_falls_back_to_the_built_in_list() {
    let env = Env::new();
    env.server.expect(
        "GET",
        MODELS_PATH,
        Expect::new()
            .header("x-api-key", KEY)
            .header("anthropic-version", "2023-06-01"),
    );
    env.server.enqueue(
        "GET",
        MODELS_PATH,
        MockResponse::json(200, json!({"data": [
            {"type": "model", "id": "claude-opus-4-8", "display_name": "Claude Opus 4.8", "created_at": "2026-10-01T00:00:00Z"},
            {"type": "model", "id": "claude-sonnet-5", "display_name": "Claude Sonnet 5", "created_at": "2026-09-01T00:00:00Z"}
        ], "has_more": false, "first_id": "claude-opus-4-8", "last_id": "claude-sonnet-5"})),
    );
    let out = sx(&env).arg("--list-models").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "claude-opus-4-8  (Claude Opus 4.8)\nclaude-sonnet-5  (Claude Sonnet 5)\n\
         opus -> claude-opus-4-8\nsonnet -> claude-sonnet-5\nhaiku -> claude-haiku-4-5\n"
    );
    assert_eq!(
        env.server.requests_to(MODELS_PATH)[0].query.as_deref(),
        Some("limit=1000")
    );
    env.server.verify();

    // An error (here a rejected key): the built-in list and why.
    env.server.enqueue(
        "GET",
        MODELS_PATH,
        MockResponse::json(401, fixture_json("anthropic/http_401.json")),
    );
    let out = sx(&env).arg("--list-models").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with("claude-opus-4-8\nclaude-sonnet-5\nclaude-haiku-4-5\n")
    );
    let err = stderr_of(&out);
    assert!(
        err.contains("showing the built-in model list") && err.contains("ANTHROPIC_API_KEY"),
        "{err}"
    );
}
