//! The gemini wire through the real `sx` binary against a loopback mock speaking
//! `streamGenerateContent?alt=sse` byte for byte (docs/providers.md, "gemini"): an answer,
//! thinking and a tool loop whose follow-up carries the call's `thoughtSignature`, an image, a
//! user function returned to the caller, context caching across a tool loop, and the model
//! catalog. Failures: `gemini_errors.rs`; the captures: `gemini_captures.rs`.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use sx_testkit::gemini::{
    CACHED_CONTENTS_PATH, MODEL, MODELS_PATH, SIGNATURE, Usage, cache_created, call, chunk, encode,
    finish, signed, stream_path, text, text_turn, thought,
};
use sx_testkit::{MockResponse, Recorded};

use super::common::{Cmd, Env, json_lines, stderr_of};

/// `sx` on the gemini provider, pointed at the mock, with fast retries.
pub(super) fn gemini(env: &Env) -> Cmd {
    let mut c = env.cmd("sx");
    c.args([
        "--provider",
        "gemini",
        "-m",
        MODEL,
        "-e",
        &format!("GEMINI_BASE_URL={}", env.server.url()),
        "-e",
        "GEMINI_API_KEY=gm-test-key",
        "-e",
        "RETRY_BASE_DELAY_MS=5",
    ]);
    c
}

pub(super) fn path() -> String {
    stream_path(MODEL)
}

pub(super) fn enqueue(env: &Env, events: &[Value]) {
    env.server
        .enqueue("POST", &path(), MockResponse::sse(encode(events)));
}

pub(super) fn requests(env: &Env) -> Vec<Recorded> {
    env.server.requests_to(&path())
}

#[test]
fn an_answer_streams_to_stdout() {
    let env = Env::new();
    enqueue(&env, &text_turn("Hello from Gemini."));
    let out = gemini(&env).args(["-p", "say hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Hello from Gemini."
    );
    let r = &requests(&env)[0];
    assert_eq!(r.query.as_deref(), Some("alt=sse"));
    assert_eq!(r.header("x-goog-api-key"), Some("gm-test-key"));
    let body = r.json();
    assert_eq!(
        body["contents"][0],
        json!({"parts": [{"text": "say hi"}], "role": "user"})
    );
    assert!(
        body["systemInstruction"]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .len()
            > 100
    );
    let names: Vec<&str> = body["tools"][0]["functionDeclarations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"bash") && names.contains(&"read_file"),
        "{names:?}"
    );
    assert!(body["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"].is_object());
}

/// Thinking, then a signed call to `bash`; after the tool ran, a final answer.
fn thinking_tool_loop(env: &Env) {
    enqueue(
        env,
        &[
            chunk(vec![thought("**Listing**\n\nI will run echo.")]),
            chunk(vec![signed(
                call(
                    Some("call_g1"),
                    "bash",
                    json!({"command": "echo gemini-tool-ok"}),
                ),
                SIGNATURE,
            )]),
            finish(
                vec![],
                "STOP",
                Usage {
                    prompt: 900,
                    cached: 0,
                    candidates: 12,
                    thoughts: 30,
                },
            ),
        ],
    );
    enqueue(env, &text_turn("The tool said gemini-tool-ok."));
}

#[test]
fn a_tool_loop_with_thinking_replays_the_signature_on_the_follow_up() {
    let env = Env::new();
    thinking_tool_loop(&env);
    let out = gemini(&env)
        .args(["-p", "run echo", "--yolo", "--output-format", "stream-json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let events = json_lines(&out.stdout);
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let pos = |k: &str| {
        kinds
            .iter()
            .position(|x| *x == k)
            .unwrap_or_else(|| panic!("{k}: {kinds:?}"))
    };
    assert!(pos("thinking_delta") < pos("tool_call") && pos("tool_call") < pos("tool_result"));
    assert_eq!(
        events[pos("thinking_delta")]["text"],
        "**Listing**\n\nI will run echo."
    );
    assert_eq!(events[pos("tool_call")]["name"], "bash");
    assert_eq!(events.last().unwrap()["stop_reason"], "end_turn");
    assert_eq!(
        events.last().unwrap()["text"],
        "The tool said gemini-tool-ok."
    );

    let reqs = requests(&env);
    assert_eq!(reqs.len(), 2);
    let contents = reqs[1].json()["contents"].clone();
    assert_eq!(
        contents[1],
        json!({"role": "model", "parts": [{
            "functionCall": {"id": "call_g1", "name": "bash", "args": {"command": "echo gemini-tool-ok"}},
            "thoughtSignature": SIGNATURE
        }]}),
        "the unsigned thought summary is not sent back; the call goes back with its signature"
    );
    let response = &contents[2]["parts"][0]["functionResponse"];
    assert_eq!(contents[2]["role"], "user");
    assert_eq!(response["id"], "call_g1");
    assert_eq!(response["name"], "bash");
    assert!(
        response["response"]["output"]
            .as_str()
            .unwrap()
            .contains("gemini-tool-ok"),
        "{response}"
    );
}

#[test]
fn an_attached_image_is_inline_data() {
    let env = Env::new();
    let png = env.proj.join("shot.png");
    image::RgbImage::from_pixel(8, 4, image::Rgb([255, 0, 0]))
        .save(&png)
        .unwrap();
    enqueue(&env, &text_turn("A red rectangle."));
    let out = gemini(&env)
        .args(["-p", "what is this?", "-i", png.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let parts = requests(&env)[0].json()["contents"][0]["parts"].clone();
    assert_eq!(parts[0], json!({"text": "what is this?"}));
    assert_eq!(parts[1]["inlineData"]["mimeType"], "image/png");
    assert!(
        parts[1]["inlineData"]["data"]
            .as_str()
            .unwrap()
            .starts_with("iVBORw0KGgo")
    );
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
    // Older models send calls without an id: sx makes one up and never sends it back.
    enqueue(
        &env,
        &[
            chunk(vec![call(
                None,
                "notify_human",
                json!({"reason": "refund"}),
            )]),
            finish(vec![], "STOP", Usage::default()),
        ],
    );
    let out = gemini(&env)
        .args([
            "-p",
            "refund me",
            "--functions",
            fns.to_str().unwrap(),
            "--output-format",
            "stream-json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let events = json_lines(&out.stdout);
    let fc = events
        .iter()
        .find(|e| e["type"] == "function_call")
        .expect("function_call event");
    assert_eq!(fc["name"], "notify_human");
    assert_eq!(fc["arguments"], json!({"reason": "refund"}));
    assert!(fc["id"].as_str().unwrap().starts_with("sx-gemini-"), "{fc}");
    assert_eq!(events.last().unwrap()["stop_reason"], "function_call");
    assert_eq!(requests(&env).len(), 1);
    let decls = requests(&env)[0].json()["tools"][0]["functionDeclarations"].clone();
    assert!(
        decls
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "notify_human")
    );
}

#[test]
fn a_large_prefix_is_cached_once_for_the_whole_tool_loop() {
    let env = Env::new();
    // Project instructions push the system prompt over the model's minimum.
    std::fs::write(
        env.proj.join("AGENTS.md"),
        "Keep answers short and precise.\n".repeat(600),
    )
    .unwrap();
    env.server.enqueue(
        "POST",
        CACHED_CONTENTS_PATH,
        MockResponse::json(
            200,
            cache_created("cachedContents/sx-1", "2099-01-01T00:00:00Z", 9000),
        ),
    );
    let usage = Usage {
        prompt: 9500,
        cached: 9000,
        candidates: 5,
        thoughts: 0,
    };
    enqueue(
        &env,
        &[
            chunk(vec![signed(
                call(Some("c1"), "bash", json!({"command": "echo cached"})),
                SIGNATURE,
            )]),
            finish(vec![], "STOP", usage),
        ],
    );
    enqueue(&env, &[finish(vec![text("done")], "STOP", usage)]);
    let out = gemini(&env)
        .args(["-p", "run echo", "--yolo", "--output-format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["usage"]["cache_read_tokens"], 18000, "{result}");
    let creates = env.server.requests_to(CACHED_CONTENTS_PATH);
    assert_eq!(creates.len(), 1);
    let c = creates[0].json();
    assert!(
        c["systemInstruction"]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Keep answers short")
    );
    assert!(c["tools"][0]["functionDeclarations"].is_array());
    for r in requests(&env) {
        let b = r.json();
        assert_eq!(b["cachedContent"], "cachedContents/sx-1");
        assert!(
            b.get("systemInstruction").is_none() && b.get("tools").is_none(),
            "{b}"
        );
    }

    // GEMINI_CACHE=0: no entry, the prefix in every request.
    enqueue(&env, &text_turn("plain"));
    let out = gemini(&env)
        .args(["-e", "GEMINI_CACHE=0", "-p", "hi"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(env.server.requests_to(CACHED_CONTENTS_PATH).len(), 1);
    assert!(
        requests(&env)
            .last()
            .unwrap()
            .json()
            .get("systemInstruction")
            .is_some()
    );
}

#[test]
fn list_models_asks_the_catalog_and_falls_back_to_the_built_in_list() {
    let env = Env::new();
    env.server.enqueue(
        "GET",
        MODELS_PATH,
        MockResponse::json(200, json!({"models": [
            {"name": "models/gemini-3.8-flash", "displayName": "Gemini 3.8 Flash", "supportedGenerationMethods": ["generateContent", "countTokens"]},
            {"name": "models/gemini-embedding-001", "supportedGenerationMethods": ["embedContent"]}
        ]})),
    );
    let out = gemini(&env).arg("--list-models").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        stdout.starts_with("gemini-3.8-flash  (Gemini 3.8 Flash)\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("embedding"), "{stdout}");
    assert!(
        stdout.contains("haiku -> gemini-3.5-flash-lite"),
        "{stdout}"
    );
    assert_eq!(
        env.server.requests_to(MODELS_PATH)[0].header("x-goog-api-key"),
        Some("gm-test-key")
    );

    // No key: the built-in list, saying why.
    let out = gemini(&env)
        .args(["-e", "GEMINI_API_KEY=", "--list-models"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        stderr_of(&out).contains("built-in model list (GEMINI_API_KEY is not set"),
        "{}",
        stderr_of(&out)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("gemini-3.1-pro-preview"));
}

#[test]
fn a_resumed_session_replays_gemini_signatures_from_the_transcript() {
    let env = Env::new();
    enqueue(
        &env,
        &[
            chunk(vec![signed(thought("Need the date."), "sig-thought-1")]),
            chunk(vec![signed(
                call(
                    Some("call_r1"),
                    "bash",
                    json!({"command": "echo resumed-ok"}),
                ),
                SIGNATURE,
            )]),
            finish(vec![], "STOP", Usage::default()),
        ],
    );
    enqueue(
        &env,
        &[
            chunk(vec![text("It said resumed-ok.")]),
            finish(
                vec![signed(text(""), "sig-text-1")],
                "STOP",
                Usage::default(),
            ),
        ],
    );
    let out = gemini(&env)
        .args(["-p", "run echo", "--yolo"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    enqueue(&env, &text_turn("Continuing."));
    let out = gemini(&env)
        .args(["-p", "and now?", "--continue"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let reqs = requests(&env);
    assert_eq!(reqs.len(), 3);
    let contents = reqs[2].json()["contents"].clone();
    let roles: Vec<&str> = contents
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "model", "user", "model", "user"]);
    assert_eq!(
        contents[1]["parts"],
        json!([
            {"text": "Need the date.", "thought": true, "thoughtSignature": "sig-thought-1"},
            {"functionCall": {"id": "call_r1", "name": "bash", "args": {"command": "echo resumed-ok"}}, "thoughtSignature": SIGNATURE}
        ])
    );
    assert_eq!(
        contents[3]["parts"],
        json!([{"text": "It said resumed-ok.", "thoughtSignature": "sig-text-1"}])
    );
    assert_eq!(contents[4]["parts"], json!([{"text": "and now?"}]));
}
