//! One agent scenario, the same on every HTTP wire, through the real binary: an image
//! attached to the prompt, thinking, a tool loop (`read_file`), then a user function the model
//! calls that goes back to the caller. The agent does not know which wire it talks to; each
//! wire's mock answers in its own protocol and each request is checked in its own shape.

use std::path::Path;

use base64::Engine;
use serde_json::{Value, json};
use sx_testkit::auth::AuthJson;
use sx_testkit::{MockResponse, anthropic, gemini, openai, responses, sse};

use super::common::{Env, json_lines, stderr_of};
use super::wires::Wire;

const NOTES: &str = "the secret word is pelican";
const THINKING: &str = "I should read the notes first.";

/// The scenario's answers on each wire.
pub(super) trait Answers {
    fn first_answer(self) -> MockResponse;
    fn second_answer(self) -> MockResponse;
}

impl Answers for Wire {
    /// Thinking, then a `read_file` call.
    fn first_answer(self) -> MockResponse {
        let args = r#"{"path":"notes.txt"}"#;
        match self {
            Wire::Codex => {
                let mut ev = vec![responses::created(responses::RESP_ID)];
                ev.extend(responses::reasoning_events(
                    responses::REASONING_ID,
                    THINKING,
                    responses::ENCRYPTED_CONTENT,
                ));
                ev.extend(responses::function_call_events(
                    responses::FUNCTION_CALL_ID,
                    "call_read",
                    "read_file",
                    args,
                ));
                ev.push(responses::completed(responses::RESP_ID, Default::default()));
                MockResponse::sse(sse::encode(&responses::finalize(ev)))
            }
            Wire::Anthropic => MockResponse::sse(sse::encode(&anthropic::thinking_tool_turn(
                THINKING,
                "Reading.",
                "toolu_read",
                "read_file",
                args,
            ))),
            Wire::Gemini => MockResponse::sse(gemini::encode(&[
                gemini::chunk(vec![gemini::thought(THINKING)]),
                gemini::chunk(vec![gemini::signed(
                    gemini::call(Some("call_read"), "read_file", json!({"path": "notes.txt"})),
                    gemini::SIGNATURE,
                )]),
                gemini::finish(vec![], "STOP", gemini::USAGE),
            ])),
            Wire::Openai => MockResponse::sse(openai::thinking_tool_call_turn(
                THINKING,
                "call_read",
                "read_file",
                args,
            )),
        }
    }

    /// A call of the user function `deploy`.
    fn second_answer(self) -> MockResponse {
        let args = r#"{"target":"prod"}"#;
        match self {
            Wire::Codex => MockResponse::sse(sse::encode(&responses::function_call_turn(
                "call_deploy",
                "deploy",
                args,
            ))),
            Wire::Anthropic => MockResponse::sse(sse::encode(&anthropic::tool_turn(
                "toolu_deploy",
                "deploy",
                args,
            ))),
            Wire::Gemini => MockResponse::sse(gemini::encode(&gemini::call_turn(
                Some("call_deploy"),
                "deploy",
                json!({"target": "prod"}),
                None,
            ))),
            Wire::Openai => {
                MockResponse::sse(openai::tool_call_turn("call_deploy", "deploy", args))
            }
        }
    }
}

/// A 1×1 PNG.
pub(super) fn png(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("pixel.png");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
        .unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

fn run(wire: Wire) {
    let env = Env::new();
    env.login(AuthJson::new());
    std::fs::write(env.proj.join("notes.txt"), NOTES).unwrap();
    let functions = env.proj.join("functions.json");
    std::fs::write(
        &functions,
        json!([{"name": "deploy", "description": "Deploy the app",
                "parameters": {"type": "object", "properties": {"target": {"type": "string"}}, "required": ["target"]}}])
        .to_string(),
    )
    .unwrap();
    let image = png(&env.proj);
    let path = wire.path();
    env.server.enqueue("POST", &path, wire.first_answer());
    env.server.enqueue("POST", &path, wire.second_answer());
    let mut args = wire.args(&env);
    args.extend(
        [
            "-p",
            "what is the secret word? then deploy",
            "-i",
            image.to_str().unwrap(),
            "--functions",
            functions.to_str().unwrap(),
            "--output-format",
            "stream-json",
        ]
        .map(String::from),
    );
    let out = env.cmd("sx").args(&args).output().unwrap();
    assert!(out.status.success(), "{wire:?}: {}", stderr_of(&out));
    let events = json_lines(&out.stdout);
    let of = |t: &str| -> Vec<&Value> { events.iter().filter(|e| e["type"] == t).collect() };
    let thinking: String = of("thinking_delta")
        .iter()
        .map(|e| e["text"].as_str().unwrap_or(""))
        .collect();
    assert!(thinking.contains("read the notes"), "{wire:?}: {events:?}");
    let calls = of("tool_call");
    assert_eq!(calls.len(), 1, "{wire:?}: {events:?}");
    assert_eq!(calls[0]["name"], "read_file");
    let results = of("tool_result");
    assert!(
        results[0]["output"].as_str().unwrap().contains("pelican"),
        "{wire:?}: {results:?}"
    );
    let functions = of("function_call");
    assert_eq!(functions.len(), 1, "{wire:?}: {events:?}");
    assert_eq!(functions[0]["name"], "deploy");
    assert_eq!(functions[0]["arguments"], json!({"target": "prod"}));
    assert_eq!(events.last().unwrap()["stop_reason"], "function_call");

    let reqs = env.server.requests_to(&path);
    assert_eq!(reqs.len(), 2, "{wire:?}");
    let first = reqs[0].text();
    let pixel_b64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    assert!(
        first.contains(pixel_b64),
        "{wire:?}: the image is in the first request"
    );
    let first_json = reqs[0].json();
    let image_shape = match wire {
        Wire::Codex => first_json.to_string().contains("\"input_image\""),
        Wire::Anthropic => first_json.to_string().contains("\"type\":\"image\""),
        Wire::Gemini => first_json.to_string().contains("\"inlineData\""),
        Wire::Openai => first_json.to_string().contains("\"image_url\""),
    };
    assert!(
        image_shape,
        "{wire:?}: the image in the wire's own shape: {first_json}"
    );
    let second = reqs[1].text();
    assert!(
        second.contains("pelican"),
        "{wire:?}: the tool result went back"
    );
    match wire {
        Wire::Codex => assert!(second.contains(responses::ENCRYPTED_CONTENT)),
        Wire::Anthropic => assert!(second.contains(anthropic::SIGNATURE)),
        Wire::Gemini => assert!(second.contains(gemini::SIGNATURE)),
        // Chat Completions has no thinking state to return.
        Wire::Openai => assert!(!second.contains(THINKING)),
    }
}

#[test]
fn the_agent_scenario_on_codex() {
    run(Wire::Codex);
}

#[test]
fn the_agent_scenario_on_anthropic() {
    run(Wire::Anthropic);
}

#[test]
fn the_agent_scenario_on_gemini() {
    run(Wire::Gemini);
}

#[test]
fn the_agent_scenario_on_openai() {
    run(Wire::Openai);
}
