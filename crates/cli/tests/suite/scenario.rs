//! One agent scenario, the same on every HTTP wire, through the real binary: an image
//! attached to the prompt, thinking, a tool loop (`read_file`), then a user function the model
//! calls that goes back to the caller. The agent does not know which wire it talks to; each
//! wire's mock answers in its own protocol and each request is checked in its own shape. The
//! same scenario runs again with `STREAMING=0` on every wire with a whole-answer form: the
//! mock then answers the API's non-streamed object (`sx_testkit::whole`), and the events the
//! caller sees are the same.

use std::path::Path;

use base64::Engine;
use serde_json::{Value, json};
use sx_testkit::auth::AuthJson;
use sx_testkit::{
    CODEX_RESPONSES_PATH, MockResponse, PLATFORM_RESPONSES_PATH, anthropic, gemini, openai,
    responses, sse, whole,
};

use super::common::{Env, json_lines, stderr_of};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wire {
    Codex,
    /// Codex with an OpenAI API key: the platform's Responses API.
    CodexApiKey,
    Anthropic,
    Gemini,
    Openai,
}

const NOTES: &str = "the secret word is pelican";
const THINKING: &str = "I should read the notes first.";

impl Wire {
    fn path(self, streaming: bool) -> String {
        match self {
            Wire::Codex => CODEX_RESPONSES_PATH.to_string(),
            Wire::CodexApiKey => PLATFORM_RESPONSES_PATH.to_string(),
            Wire::Anthropic => anthropic::MESSAGES_PATH.to_string(),
            Wire::Gemini if streaming => gemini::stream_path(gemini::MODEL),
            Wire::Gemini => gemini::generate_path(gemini::MODEL),
            Wire::Openai => openai::CHAT_PATH.to_string(),
        }
    }

    fn args(self, env: &Env) -> Vec<String> {
        let url = env.server.url();
        let e = |k: &str, v: &str| vec!["-e".to_string(), format!("{k}={v}")];
        let mut a: Vec<String> = Vec::new();
        match self {
            Wire::Codex => a.extend(env.sx_args()),
            Wire::CodexApiKey => {
                a.extend(["--provider".into(), "codex".into()]);
                a.extend(e("CODEX_BASE_URL", &format!("{url}/v1")));
                a.extend(e("OPENAI_API_KEY", "sk-proj-scenario"));
            }
            Wire::Anthropic => {
                a.extend(["--provider".into(), "anthropic".into()]);
                a.extend(e("ANTHROPIC_BASE_URL", &url));
                a.extend(e("ANTHROPIC_API_KEY", "sk-ant-test"));
            }
            Wire::Gemini => {
                a.extend([
                    "--provider".into(),
                    "gemini".into(),
                    "-m".into(),
                    gemini::MODEL.into(),
                ]);
                a.extend(e("GEMINI_BASE_URL", &url));
                a.extend(e("GEMINI_API_KEY", "gm-test"));
                a.extend(e("GEMINI_CACHE", "0"));
            }
            Wire::Openai => {
                a.extend([
                    "--provider".into(),
                    "openai".into(),
                    "-m".into(),
                    "local-model".into(),
                ]);
                a.extend(e("OPENAI_BASE_URL", &url));
            }
        }
        a.extend(e("RETRY_BASE_DELAY_MS", "5"));
        a
    }

    /// Thinking, then a `read_file` call: streamed, or the API's whole answer.
    fn first_answer(self, streaming: bool) -> MockResponse {
        let args = r#"{"path":"notes.txt"}"#;
        match self {
            Wire::Codex | Wire::CodexApiKey => {
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
                answer(streaming, responses::finalize(ev), whole::responses)
            }
            Wire::Anthropic => answer(
                streaming,
                anthropic::thinking_tool_turn(
                    THINKING,
                    "Reading.",
                    "toolu_read",
                    "read_file",
                    args,
                ),
                |ev| whole::anthropic(&ev),
            ),
            Wire::Gemini => {
                let ev = vec![
                    gemini::chunk(vec![gemini::thought(THINKING)]),
                    gemini::chunk(vec![gemini::signed(
                        gemini::call(Some("call_read"), "read_file", json!({"path": "notes.txt"})),
                        gemini::SIGNATURE,
                    )]),
                    gemini::finish(vec![], "STOP", gemini::USAGE),
                ];
                if streaming {
                    MockResponse::sse(gemini::encode(&ev))
                } else {
                    MockResponse::json(200, whole::gemini(&ev))
                }
            }
            Wire::Openai => {
                let chunks =
                    openai::thinking_tool_call_chunks(THINKING, "call_read", "read_file", args);
                if streaming {
                    MockResponse::sse(openai::encode(&chunks))
                } else {
                    MockResponse::json(200, whole::openai(&chunks))
                }
            }
        }
    }

    /// A call of the user function `deploy`.
    fn second_answer(self, streaming: bool) -> MockResponse {
        let args = r#"{"target":"prod"}"#;
        match self {
            Wire::Codex | Wire::CodexApiKey => answer(
                streaming,
                responses::function_call_turn("call_deploy", "deploy", args),
                whole::responses,
            ),
            Wire::Anthropic => answer(
                streaming,
                anthropic::tool_turn("toolu_deploy", "deploy", args),
                |ev| whole::anthropic(&ev),
            ),
            Wire::Gemini => {
                let ev = gemini::call_turn(
                    Some("call_deploy"),
                    "deploy",
                    json!({"target": "prod"}),
                    None,
                );
                if streaming {
                    MockResponse::sse(gemini::encode(&ev))
                } else {
                    MockResponse::json(200, whole::gemini(&ev))
                }
            }
            Wire::Openai => {
                let chunks = openai::thinking_tool_call_chunks("", "call_deploy", "deploy", args);
                if streaming {
                    MockResponse::sse(openai::encode(&chunks))
                } else {
                    MockResponse::json(200, whole::openai(&chunks))
                }
            }
        }
    }

    /// What the request says about streaming: the body's `stream`, Gemini's path.
    fn check_streaming(self, req: &sx_testkit::Recorded, streaming: bool) {
        let accept = req.header("accept").unwrap_or_default().to_string();
        match self {
            Wire::Gemini => {} // the path says it (requests_to above)
            _ => assert_eq!(req.json()["stream"], json!(streaming), "{self:?}"),
        }
        match self {
            Wire::Codex | Wire::CodexApiKey | Wire::Openai => {
                let want = if streaming {
                    "text/event-stream"
                } else {
                    "application/json"
                };
                assert_eq!(accept, want, "{self:?}");
            }
            Wire::Anthropic => assert_eq!(accept, "application/json"),
            Wire::Gemini => {}
        }
        if self == Wire::Openai {
            assert_eq!(
                req.json().get("stream_options").is_some(),
                streaming,
                "stream_options only on a stream"
            );
        }
    }
}

/// A Messages or Responses turn as an SSE stream, or as the API's whole answer.
fn answer(
    streaming: bool,
    events: Vec<Value>,
    whole: impl FnOnce(Vec<Value>) -> Value,
) -> MockResponse {
    if streaming {
        MockResponse::sse(sse::encode(&events))
    } else {
        MockResponse::json(200, whole(events))
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

/// Run the scenario; the `stream-json` events the caller saw.
fn run(wire: Wire, streaming: bool) -> Vec<Value> {
    let env = Env::new();
    if wire != Wire::CodexApiKey {
        env.login(AuthJson::new());
    }
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
    let path = wire.path(streaming);
    env.server
        .enqueue("POST", &path, wire.first_answer(streaming));
    env.server
        .enqueue("POST", &path, wire.second_answer(streaming));
    let mut args = wire.args(&env);
    if !streaming {
        args.extend(["-e".to_string(), "STREAMING=0".to_string()]);
    }
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
    assert_eq!(
        env.server.requests().len(),
        2,
        "{wire:?}: nothing else was asked"
    );
    for r in &reqs {
        wire.check_streaming(r, streaming);
    }
    if wire == Wire::CodexApiKey {
        assert_eq!(
            reqs[0].header("authorization"),
            Some("Bearer sk-proj-scenario")
        );
        assert_eq!(reqs[0].header("chatgpt-account-id"), None);
        assert_eq!(
            reqs[0].header("content-encoding"),
            None,
            "never zstd with a key"
        );
    }
    let first = reqs[0].text();
    let pixel_b64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    assert!(
        first.contains(pixel_b64),
        "{wire:?}: the image is in the first request"
    );
    let first_json = reqs[0].json();
    let image_shape = match wire {
        Wire::Codex | Wire::CodexApiKey => first_json.to_string().contains("\"input_image\""),
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
        Wire::Codex | Wire::CodexApiKey => assert!(second.contains(responses::ENCRYPTED_CONTENT)),
        Wire::Anthropic => assert!(second.contains(anthropic::SIGNATURE)),
        Wire::Gemini => assert!(second.contains(gemini::SIGNATURE)),
        // Chat Completions has no thinking state to return.
        Wire::Openai => assert!(!second.contains(THINKING)),
    }
    events
}

/// What the caller sees, apart from what differs run to run (the session's id and folder) and
/// how the deltas were split.
fn seen(events: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for e in events {
        let ty = e["type"].as_str().unwrap_or("").to_string();
        if ty == "session" {
            continue;
        }
        if let Some(last) = out.last_mut()
            && last["type"] == ty.as_str()
            && (ty == "text_delta" || ty == "thinking_delta")
        {
            let t = format!(
                "{}{}",
                last["text"].as_str().unwrap_or(""),
                e["text"].as_str().unwrap_or("")
            );
            last["text"] = json!(t);
            continue;
        }
        out.push(e);
    }
    out
}

/// `STREAMING=0`: the whole answers reach the caller as the same events as the streams.
fn unstreamed(wire: Wire) {
    let streamed = seen(run(wire, true));
    let whole = seen(run(wire, false));
    assert_eq!(whole, streamed, "{wire:?}");
}

#[test]
fn the_agent_scenario_on_codex() {
    run(Wire::Codex, true);
}

#[test]
fn the_agent_scenario_on_codex_with_an_api_key() {
    run(Wire::CodexApiKey, true);
}

#[test]
fn the_agent_scenario_on_anthropic() {
    run(Wire::Anthropic, true);
}

#[test]
fn the_agent_scenario_on_gemini() {
    run(Wire::Gemini, true);
}

#[test]
fn the_agent_scenario_on_openai() {
    run(Wire::Openai, true);
}

// STREAMING=0: the same scenario, answered whole. (Codex with a ChatGPT login has no
// non-streamed form; `streaming::*` checks that it stays streamed and says so once.)

#[test]
fn the_agent_scenario_unstreamed_on_codex_with_an_api_key() {
    unstreamed(Wire::CodexApiKey);
}

#[test]
fn the_agent_scenario_unstreamed_on_anthropic() {
    unstreamed(Wire::Anthropic);
}

#[test]
fn the_agent_scenario_unstreamed_on_gemini() {
    unstreamed(Wire::Gemini);
}

#[test]
fn the_agent_scenario_unstreamed_on_openai() {
    unstreamed(Wire::Openai);
}

/// The scenario's streamed answers for the wires of `super::wires` (the router's tests reuse
/// them as their upstreams' answers).
pub(super) trait Answers {
    fn first_answer(self) -> MockResponse;
    fn second_answer(self) -> MockResponse;
}

impl Answers for super::wires::Wire {
    fn first_answer(self) -> MockResponse {
        Wire::from(self).first_answer(true)
    }

    fn second_answer(self) -> MockResponse {
        Wire::from(self).second_answer(true)
    }
}

impl From<super::wires::Wire> for Wire {
    fn from(w: super::wires::Wire) -> Wire {
        match w {
            super::wires::Wire::Codex => Wire::Codex,
            super::wires::Wire::Anthropic => Wire::Anthropic,
            super::wires::Wire::Gemini => Wire::Gemini,
            super::wires::Wire::Openai => Wire::Openai,
        }
    }
}
