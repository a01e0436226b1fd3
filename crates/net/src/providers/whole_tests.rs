//! `STREAMING=0`: every wire's whole answer (tests/fixtures/*/ `message_*`, `completion_*`,
//! `generate_content*`, `response_*`) gives the same stream events and the same message as the
//! stream of the same answer (the `.sse` fixtures beside them), so nothing past the provider
//! can tell the two apart.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use sx_testkit::{fixture, fixture_json};

use super::anthropic::{self, MessagesStream};
use super::codex::{self, ResponsesStream};
use super::gemini::{self, GeminiStream};
use super::openai::{self, ChatStream};
use crate::ProviderId;
use crate::error::ProviderError;
use crate::event::{Completion, StreamEvent};
use crate::model::{Block, StopReason};
use crate::runtime::WireStream;

/// What a front end sees, deltas of one kind joined (splitting never matters).
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Text(String),
    Thinking(String),
    Raw(String),
    Started(String, String),
    Call(String, String, String),
    Usage(crate::model::Usage),
    Notice(String),
}

type Outcome = (Vec<Seen>, Result<Completion, ProviderError>);

fn record(seen: &mut Vec<Seen>, e: StreamEvent<'_>) {
    let s = match e {
        StreamEvent::TextDelta(t) => Seen::Text(t.into()),
        StreamEvent::ThinkingDelta(t) => Seen::Thinking(t.into()),
        StreamEvent::RawThinkingDelta(t) => Seen::Raw(t.into()),
        StreamEvent::ToolCallStarted { id, name } => Seen::Started(id.into(), name.into()),
        StreamEvent::ToolCall(c) => Seen::Call(c.id.clone(), c.name.clone(), c.arguments.clone()),
        StreamEvent::Usage(u) => Seen::Usage(*u),
        StreamEvent::Notice(n) => Seen::Notice(n.into()),
        StreamEvent::ToolResult { .. }
        | StreamEvent::RateLimits(_)
        | StreamEvent::Retry { .. }
        | StreamEvent::Thinking(_) => {
            return;
        }
    };
    match (seen.last_mut(), &s) {
        (Some(Seen::Text(a)), Seen::Text(b))
        | (Some(Seen::Thinking(a)), Seen::Thinking(b))
        | (Some(Seen::Raw(a)), Seen::Raw(b)) => a.push_str(b),
        _ => seen.push(s),
    }
}

fn whole<S: WireStream>(mut state: S, body: &[u8]) -> Outcome {
    let mut seen = Vec::new();
    let result = state
        .on_whole(body, &mut |e| record(&mut seen, e))
        .and_then(|()| state.finish());
    (seen, result)
}

fn streamed(
    decode: impl FnOnce(&mut crate::event::EventSink<'_>) -> Result<Completion, ProviderError>,
) -> Outcome {
    let mut seen = Vec::new();
    let result = decode(&mut |e| record(&mut seen, e));
    (seen, result)
}

/// Same events, same message, same stop reason and usage.
fn assert_same(whole: Outcome, streamed: Outcome) -> Completion {
    assert_eq!(whole.0, streamed.0, "events");
    let (w, s) = (whole.1.unwrap(), streamed.1.unwrap());
    assert_eq!(w.message, s.message, "message");
    assert_eq!((w.stop, w.usage), (s.stop, s.usage));
    w
}

/// Tool-call arguments as compact JSON, in the events and the message.
fn compact_args((seen, result): Outcome) -> Outcome {
    let compact = |a: &str| {
        serde_json::from_str::<Value>(a).map_or_else(|_| a.to_string(), |v| v.to_string())
    };
    let seen = seen
        .into_iter()
        .map(|s| match s {
            Seen::Call(id, name, args) => Seen::Call(id, name, compact(&args)),
            other => other,
        })
        .collect();
    let result = result.map(|mut c| {
        for b in &mut c.message.content {
            if let Block::ToolCall(call) = b {
                call.arguments = compact(&call.arguments);
            }
        }
        c
    });
    (seen, result)
}

#[test]
fn anthropic_whole_messages_equal_their_streams() {
    for (json, sse) in [
        ("anthropic/message_text.json", "anthropic/text.sse"),
        (
            "anthropic/message_thinking_tool.json",
            "anthropic/thinking_tool.sse",
        ),
    ] {
        let body = fixture(json);
        let sse = fixture(sse);
        // The whole answer's `input` is an object: its JSON text is compact, the stream's is
        // the model's; the same arguments either way.
        let c = assert_same(
            compact_args(whole(MessagesStream::new(ProviderId::Anthropic), &body)),
            compact_args(streamed(|sink| {
                anthropic::decode_body([sse.as_slice()], sink)
            })),
        );
        assert!(c.usage.input_tokens == 42 + 30 + 5, "{json}: {:?}", c.usage);
    }
    let (seen, c) = whole(
        MessagesStream::new(ProviderId::Anthropic),
        &fixture("anthropic/message_thinking_tool.json"),
    );
    let c = c.unwrap();
    assert_eq!(c.stop, StopReason::ToolUse);
    let Block::Thinking(t) = &c.message.content[0] else {
        panic!("{:?}", c.message)
    };
    assert_eq!(
        t.signature.as_deref(),
        Some(sx_testkit::anthropic::SIGNATURE)
    );
    assert!(seen.contains(&Seen::Call(
        "toolu_01MockCall0001".into(),
        "bash".into(),
        r#"{"command":"echo anthropic-tool-ok"}"#.into()
    )));
}

#[test]
fn anthropic_a_whole_answer_cut_off_in_a_call_does_not_run_it() {
    let (seen, c) = whole(
        MessagesStream::new(ProviderId::Anthropic),
        &fixture("anthropic/message_max_tokens_tool.json"),
    );
    let c = c.unwrap();
    assert_eq!(c.stop, StopReason::MaxTokens);
    assert!(
        !seen.iter().any(|s| matches!(s, Seen::Call(..))),
        "{seen:?}"
    );
    assert_eq!(c.message.content.len(), 1, "the text only: {:?}", c.message);
}

#[test]
fn openai_whole_completions_equal_their_streams() {
    for (json, sse) in [
        ("openai/completion_text.json", "openai/text.sse"),
        ("openai/completion_tool_call.json", "openai/tool_call.sse"),
        (
            "openai/completion_llamacpp_reasoning_tool.json",
            "openai/llamacpp_reasoning_tool.sse",
        ),
    ] {
        let body = fixture(json);
        let sse = fixture(sse);
        let c = assert_same(
            whole(ChatStream::new(true), &body),
            streamed(|sink| openai::decode_body([sse.as_slice()], true, sink)),
        );
        assert!(c.usage.input_tokens > 0, "{json}");
    }
}

#[test]
fn gemini_a_whole_response_equals_the_stream_of_its_parts() {
    for name in [
        "gemini/generate_content.json",
        "gemini/generate_content_text.json",
    ] {
        let body = fixture_json(name);
        // The same answer as a stream: one event per part, the finish and usage on the last.
        let parts = body["candidates"][0]["content"]["parts"]
            .as_array()
            .unwrap()
            .clone();
        let n = parts.len();
        let events: Vec<Value> = parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let mut ev = json!({"candidates": [{"content": {"role": "model", "parts": [p]},
                                     "index": 0}], "modelVersion": body["modelVersion"]});
                if i + 1 == n {
                    ev["candidates"][0]["finishReason"] =
                        body["candidates"][0]["finishReason"].clone();
                    ev["usageMetadata"] = body["usageMetadata"].clone();
                }
                ev
            })
            .collect();
        let sse = sx_testkit::gemini::encode(&events);
        let c = assert_same(
            whole(GeminiStream::new(""), body.to_string().as_bytes()),
            streamed(|sink| gemini::decode_body([sse.as_bytes()], sink)),
        );
        assert!(c.usage.input_tokens > 0, "{name}");
    }
}

#[test]
fn codex_whole_responses_equal_their_streams() {
    for (json, sse) in [
        ("codex/response_text.json", "codex/text.sse"),
        ("codex/response_reasoning_call.json", "codex/reasoning.sse"),
    ] {
        let body = fixture(json);
        let sse = fixture(sse);
        let (w, s) = (
            whole(ResponsesStream::default(), &body),
            streamed(|sink| codex::decode_body([sse.as_slice()], sink)),
        );
        if json.ends_with("reasoning_call.json") {
            // reasoning.sse ends in a message, the whole answer in a call: compare the shared
            // part (thinking and its replay) and the call on its own.
            assert_eq!(w.0[0], s.0[0], "the thinking");
            let (w, s) = (w.1.unwrap(), s.1.unwrap());
            assert_eq!(
                w.message.content[0], s.message.content[0],
                "the reasoning item"
            );
            assert_eq!(w.stop, StopReason::ToolUse);
            assert!(matches!(&w.message.content[1], Block::ToolCall(c)
                if c.id == "call_mock_0001" && c.arguments == r#"{"cmd":"echo hi","workdir":"/tmp"}"#));
            assert_eq!(w.usage.reasoning_tokens, 12);
        } else {
            assert_same(w, s);
        }
    }
    let (seen, _) = whole(
        ResponsesStream::default(),
        &fixture("codex/response_reasoning_call.json"),
    );
    assert!(
        seen.contains(&Seen::Started(
            "call_mock_0001".into(),
            "exec_command".into()
        )),
        "{seen:?}"
    );
}

#[test]
fn codex_an_incomplete_whole_response_is_the_streams_error() {
    let (_, w) = whole(
        ResponsesStream::default(),
        &fixture("codex/response_incomplete.json"),
    );
    let sse = fixture("codex/incomplete.sse");
    let (_, s) = streamed(|sink| codex::decode_body([sse.as_slice()], sink));
    let (w, s) = (w.unwrap_err(), s.unwrap_err());
    assert_eq!(w.to_string(), s.to_string());
    assert!(w.is_retryable());
}

#[test]
fn an_answer_that_is_not_the_wires_object_is_a_protocol_error() {
    let not_json = b"<html>502</html>";
    let other = br#"{"hello":"world"}"#;
    for body in [&not_json[..], &other[..]] {
        let errs = [
            whole(MessagesStream::new(ProviderId::Anthropic), body).1,
            whole(ChatStream::new(true), body).1,
            whole(GeminiStream::new(""), body).1,
            whole(ResponsesStream::default(), body).1,
        ];
        for e in errs {
            let e = e.unwrap_err();
            assert!(
                matches!(e, ProviderError::Protocol { .. }) || !e.is_retryable(),
                "{e:?}"
            );
            assert_eq!(e.exit_code(), 1, "{e}");
        }
    }
}
