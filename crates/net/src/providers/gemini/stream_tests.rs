use std::time::Duration;

use super::*;
use crate::error::ProviderError;
use crate::event::{Completion, StreamEvent};
use crate::model::{Block, StopReason, Usage};
use crate::runtime::WireStream;
use crate::sse::SseDecoder;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use sx_testkit::gemini::{
    SIGNATURE, Usage as U, call, chunk, encode, finish, signed, text, text_turn, thought,
};

#[derive(Debug, PartialEq, Clone)]
enum Seen {
    Text(String),
    Thinking(String),
    Started(String, String),
    Call(String, String, String, Option<String>),
    Usage(Usage),
    Notice(String),
}

/// Feed `chunks` as separate reads; the events seen and the outcome.
fn run_chunks(chunks: &[&[u8]]) -> (Vec<Seen>, Result<Completion, ProviderError>) {
    let mut seen = Vec::new();
    let result = {
        let mut sink = |e: StreamEvent<'_>| match e {
            StreamEvent::TextDelta(t) => seen.push(Seen::Text(t.into())),
            StreamEvent::ThinkingDelta(t) => seen.push(Seen::Thinking(t.into())),
            StreamEvent::ToolCallStarted { id, name } => {
                seen.push(Seen::Started(id.into(), name.into()))
            }
            StreamEvent::ToolCall(c) => seen.push(Seen::Call(
                c.id.clone(),
                c.name.clone(),
                c.arguments.clone(),
                c.signature.clone(),
            )),
            StreamEvent::Usage(u) => seen.push(Seen::Usage(*u)),
            StreamEvent::Notice(n) => seen.push(Seen::Notice(n.into())),
            _ => {}
        };
        let mut state = GeminiStream::new("http://x/v1beta/models/m:streamGenerateContent");
        let mut d = SseDecoder::new();
        let mut r = Ok(());
        for c in chunks {
            r = d.feed(c, |ev| state.on_event(ev, &mut sink));
            if r.is_err() || state.finished() {
                break;
            }
        }
        r.and_then(|()| d.finish(|ev| state.on_event(ev, &mut sink)))
            .and_then(|()| state.finish())
    };
    (seen, result)
}

fn run(sse: &str) -> (Vec<Seen>, Result<Completion, ProviderError>) {
    run_chunks(&[sse.as_bytes()])
}

fn usage(prompt: u64, cached: u64, candidates: u64, thoughts: u64) -> U {
    U {
        prompt,
        cached,
        candidates,
        thoughts,
    }
}

/// Thinking, a signed thought, text, and two calls — one signed and with an id, one without.
fn tool_turn() -> Vec<Value> {
    vec![
        chunk(vec![thought("**Planning**\n\nLook at")]),
        chunk(vec![signed(thought(" the files."), "sig-thought")]),
        chunk(vec![text("Listing files.")]),
        chunk(vec![
            signed(
                call(Some("call_1"), "bash", json!({"command": "ls"})),
                SIGNATURE,
            ),
            call(None, "read_file", json!({"path": "a.txt"})),
        ]),
        finish(vec![], "STOP", usage(300, 100, 20, 40)),
    ]
}

#[test]
fn thinking_text_and_calls_become_events_and_blocks() {
    let (seen, result) = run(&encode(&tool_turn()));
    let c = result.unwrap();
    assert_eq!(c.stop, StopReason::ToolUse);
    let second_id = match &c.message.content[3] {
        Block::ToolCall(call) => call.id.clone(),
        other => panic!("{other:?}"),
    };
    assert!(second_id.starts_with(LOCAL_ID_PREFIX), "{second_id}");
    let want_usage = Usage {
        input_tokens: 300,
        output_tokens: 60,
        cache_read_tokens: 100,
        cache_write_tokens: 0,
        reasoning_tokens: 40,
    };
    assert_eq!(
        seen,
        vec![
            Seen::Thinking("**Planning**\n\nLook at".into()),
            Seen::Thinking(" the files.".into()),
            Seen::Text("Listing files.".into()),
            Seen::Started("call_1".into(), "bash".into()),
            Seen::Call(
                "call_1".into(),
                "bash".into(),
                r#"{"command":"ls"}"#.into(),
                Some(SIGNATURE.into())
            ),
            Seen::Started(second_id.clone(), "read_file".into()),
            Seen::Call(
                second_id.clone(),
                "read_file".into(),
                r#"{"path":"a.txt"}"#.into(),
                None
            ),
            Seen::Usage(want_usage),
        ]
    );
    assert_eq!(c.usage, want_usage);
    let Block::Thinking(t) = &c.message.content[0] else {
        panic!("{:?}", c.message.content)
    };
    assert_eq!(t.text, "**Planning**\n\nLook at the files.");
    assert_eq!(t.source, Some(crate::ProviderId::Gemini));
    assert_eq!(t.signature.as_deref(), Some("sig-thought"));
    assert_eq!(
        t.replay,
        Some(
            json!({"text": "**Planning**\n\nLook at the files.", "thought": true, "thoughtSignature": "sig-thought"})
        )
    );
    assert_eq!(c.message.content[1], Block::text("Listing files."));
    assert_eq!(c.message.content.len(), 4);
}

#[test]
fn every_split_point_and_crlf_or_lf_give_the_same_result() {
    let crlf = encode(&tool_turn());
    let lf = crlf.replace("\r\n", "\n");
    let (want_seen, want) = run(&crlf);
    let want = want.unwrap();
    // Ids synthesised per stream differ; compare everything else.
    let strip = |seen: Vec<Seen>| -> Vec<Seen> {
        seen.into_iter()
            .map(|s| match s {
                Seen::Started(id, n) if id.starts_with(LOCAL_ID_PREFIX) => {
                    Seen::Started("local".into(), n)
                }
                Seen::Call(id, n, a, sig) if id.starts_with(LOCAL_ID_PREFIX) => {
                    Seen::Call("local".into(), n, a, sig)
                }
                other => other,
            })
            .collect()
    };
    let want_seen = strip(want_seen);
    for body in [&crlf, &lf] {
        let bytes = body.as_bytes();
        for i in (0..=bytes.len()).step_by(7) {
            let (seen, got) = run_chunks(&[&bytes[..i], &bytes[i..]]);
            let got = got.unwrap_or_else(|e| panic!("split {i}: {e}"));
            assert_eq!(strip(seen), want_seen, "split at {i}");
            assert_eq!(got.stop, want.stop);
            assert_eq!(got.message.content.len(), want.message.content.len());
        }
        let one_byte: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(strip(run_chunks(&one_byte).0), want_seen);
    }
}

#[test]
fn comments_empty_parts_and_unknown_fields_are_ignored() {
    let sse = format!(
        ": keep-alive\r\n\r\n{}data: {}\r\n\r\n{}",
        encode(&[
            chunk(vec![]),
            chunk(vec![
                text(""),
                json!({"inlineData": {"mimeType": "image/png", "data": "AA=="}})
            ])
        ]),
        json!({"candidates": [{"content": {"parts": [{"text": "hi", "newField": {"x": 1}}], "role": "model"}, "citationMetadata": {}, "index": 0}], "somethingNew": [1, 2]}),
        encode(&[
            json!({"candidates": [{"finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1}})
        ])
    );
    let (seen, r) = run(&sse);
    let c = r.unwrap();
    assert_eq!(c.message.content, vec![Block::text("hi")]);
    assert_eq!(seen[0], Seen::Text("hi".into()));
    assert_eq!(c.stop, StopReason::EndTurn);
}

#[test]
fn the_last_usage_counts_and_is_never_summed() {
    let mut first = chunk(vec![text("a")]);
    first["usageMetadata"] = json!({"promptTokenCount": 50, "totalTokenCount": 50});
    let sse = encode(&[first, finish(vec![text("b")], "STOP", usage(50, 0, 2, 0))]);
    let c = run(&sse).1.unwrap();
    assert_eq!(c.usage.input_tokens, 50);
    assert_eq!(c.usage.output_tokens, 2);
}

#[test]
fn a_finish_reason_without_usage_waits_for_eof() {
    let mut state = GeminiStream::new("");
    let mut sink = |_: StreamEvent<'_>| {};
    let mut d = SseDecoder::new();
    let no_usage =
        json!({"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "STOP"}]});
    d.feed(encode(&[no_usage]).as_bytes(), |ev| {
        state.on_event(ev, &mut sink)
    })
    .unwrap();
    assert!(!state.finished(), "usage may still come");
    d.feed(
        encode(&[finish(vec![], "STOP", usage(1, 0, 1, 0))]).as_bytes(),
        |ev| state.on_event(ev, &mut sink),
    )
    .unwrap();
    assert!(state.finished());
    assert_eq!(state.finish().unwrap().message.text(), "x");
}

#[test]
fn a_signature_on_an_empty_text_part_is_kept() {
    let sse = encode(&[
        chunk(vec![text("Done.")]),
        finish(
            vec![signed(text(""), "sig-text")],
            "STOP",
            usage(1, 0, 1, 0),
        ),
    ]);
    let c = run(&sse).1.unwrap();
    assert_eq!(c.message.content[0], Block::text("Done."));
    let Block::Thinking(t) = &c.message.content[1] else {
        panic!("{:?}", c.message.content)
    };
    assert_eq!(t.text, "");
    assert_eq!(t.replay, Some(json!({"thoughtSignature": "sig-text"})));
    assert_eq!(t.source, Some(crate::ProviderId::Gemini));
}

#[test]
fn eof_without_a_finish_reason_is_a_truncated_stream() {
    let sse = encode(&text_turn("hello world"));
    let cut = &sse[..sse.rfind("data:").unwrap()];
    let (_, r) = run(cut);
    let e = r.unwrap_err();
    assert!(matches!(e, ProviderError::StreamTruncated { .. }), "{e}");
    assert!(e.is_retryable());
    // Cut inside the last event's JSON: the partial event is not an error of its own.
    let mid = &sse[..sse.len() - 20];
    assert!(matches!(
        run(mid).1.unwrap_err(),
        ProviderError::StreamTruncated { .. }
    ));
    // Nothing at all: not a Gemini stream.
    let e = run("").1.unwrap_err();
    assert!(matches!(e, ProviderError::Protocol { .. }), "{e}");
    assert!(e.to_string().contains("GEMINI_BASE_URL"), "{e}");
}

#[test]
fn a_non_json_event_is_one_clear_protocol_error() {
    let sse = format!(
        "{}data: <html>oops</html>\r\n\r\n",
        encode(&[chunk(vec![text("a")])])
    );
    let e = run(&sse).1.unwrap_err();
    assert!(matches!(e, ProviderError::Protocol { .. }), "{e}");
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("<html>oops</html>"), "{e}");
}

#[test]
fn an_error_inside_the_stream_is_typed() {
    let sse = format!(
        "{}data: {}\r\n\r\n",
        encode(&[chunk(vec![text("partial")])]),
        json!({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}})
    );
    let e = run(&sse).1.unwrap_err();
    assert!(
        matches!(e, ProviderError::Overloaded { status: 503, .. }),
        "{e}"
    );
    assert!(e.is_retryable());
    let sse = format!(
        "data: {}\r\n\r\n",
        json!({"error": {"code": 429, "message": "slow", "status": "RESOURCE_EXHAUSTED", "details": [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}]}})
    );
    let e = run(&sse).1.unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
}

#[test]
fn safety_recitation_and_blocked_prompts_stop_with_a_message() {
    for (reason, words) in [
        ("SAFETY", "safety reasons (SAFETY"),
        ("PROHIBITED_CONTENT", "safety reasons (PROHIBITED_CONTENT"),
        ("SPII", "safety reasons (SPII"),
        ("BLOCKLIST", "safety reasons (BLOCKLIST"),
        ("RECITATION", "copyrighted"),
    ] {
        let (seen, r) = run(&encode(&[
            chunk(vec![text("Once upon")]),
            finish(vec![], reason, usage(1, 0, 1, 0)),
        ]));
        let c = r.unwrap();
        assert_eq!(c.stop, StopReason::Safety, "{reason}");
        assert!(
            seen.iter()
                .any(|s| matches!(s, Seen::Notice(n) if n.contains(words))),
            "{reason}: {seen:?}"
        );
    }
    let blocked = json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": {"promptTokenCount": 9}});
    let (seen, r) = run(&encode(&[blocked]));
    assert_eq!(r.unwrap().stop, StopReason::Safety);
    assert!(
        seen.iter().any(|s| matches!(s, Seen::Notice(n) if n.contains("blocked the request (PROHIBITED_CONTENT)"))),
        "{seen:?}"
    );
}

#[test]
fn other_finish_reasons() {
    let c = run(&encode(&[finish(
        vec![text("cut")],
        "MAX_TOKENS",
        usage(1, 0, 1, 0),
    )]))
    .1
    .unwrap();
    assert_eq!(c.stop, StopReason::MaxTokens);
    let mut ev = finish(vec![], "MALFORMED_FUNCTION_CALL", usage(1, 0, 0, 0));
    ev["candidates"][0]["finishMessage"] = json!("Malformed function call: print(x");
    let e = run(&encode(&[ev])).1.unwrap_err();
    assert!(e.is_retryable() && e.is_stream_error(), "{e}");
    assert!(e.to_string().contains("print(x"), "{e}");
    let e = run(&encode(&[finish(
        vec![],
        "TOO_MANY_TOOL_CALLS",
        usage(1, 0, 0, 0),
    )]))
    .1
    .unwrap_err();
    assert!(!e.is_retryable(), "{e}");
    let (seen, r) = run(&encode(&[finish(vec![], "LANGUAGE", usage(1, 0, 0, 0))]));
    assert_eq!(r.unwrap().stop, StopReason::Refusal);
    assert!(
        seen.iter()
            .any(|s| matches!(s, Seen::Notice(n) if n.contains("language")))
    );
    let (seen, r) = run(&encode(&[finish(
        vec![text("x")],
        "OTHER",
        usage(1, 0, 1, 0),
    )]));
    assert_eq!(r.unwrap().stop, StopReason::EndTurn);
    assert!(
        seen.iter()
            .any(|s| matches!(s, Seen::Notice(n) if n.contains("OTHER")))
    );
}

#[test]
fn calls_without_ids_get_distinct_local_ids() {
    let sse = encode(&[
        chunk(vec![call(None, "glob", json!({"pattern": "*"}))]),
        chunk(vec![
            call(None, "glob", json!({"pattern": "*.rs"})),
            call(Some(""), "grep", json!({})),
        ]),
        finish(vec![], "STOP", usage(1, 0, 1, 0)),
    ]);
    let c = run(&sse).1.unwrap();
    let ids: Vec<String> = c.message.tool_calls().map(|t| t.id.clone()).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|i| i.starts_with(LOCAL_ID_PREFIX)));
    assert!(ids[0] != ids[1] && ids[1] != ids[2]);
    let other = run(&sse).1.unwrap();
    assert_ne!(
        other.message.tool_calls().next().unwrap().id,
        ids[0],
        "unique across streams"
    );
}

#[test]
fn decode_body_is_the_live_path() {
    let body = encode(&text_turn("hello there"));
    let mut text = String::new();
    let c = decode_body(body.as_bytes().chunks(5), &mut |e| {
        if let StreamEvent::TextDelta(t) = e {
            text.push_str(t)
        }
    })
    .unwrap();
    assert_eq!(text, "hello there");
    assert_eq!(c.message.text(), "hello there");
}

#[test]
fn only_the_first_candidate_counts_and_nulls_are_empty() {
    let two = json!({"candidates": [
        {"content": {"parts": [{"text": "first"}], "role": "model"}, "safetyRatings": [{"category": "X", "probability": "NEGLIGIBLE"}]},
        {"content": {"parts": [{"text": "second"}]}, "finishReason": "SAFETY"}
    ]});
    let nulls = json!({"candidates": [{"content": null, "citationMetadata": {"citations": [{"uri": "u"}]}}], "usageMetadata": null});
    let sse = encode(&[two, nulls, finish(vec![], "STOP", usage(1, 0, 1, 0))]);
    let (seen, r) = run(&sse);
    let c = r.unwrap();
    assert_eq!(c.message.text(), "first");
    assert_eq!(c.stop, StopReason::EndTurn);
    assert!(
        !seen.iter().any(|s| matches!(s, Seen::Notice(_))),
        "{seen:?}"
    );
}

/// Finished thinking is announced as it closes (a relay hands its state on in place): a
/// thought run before the call that ends it, a text run's signature with the finish, before
/// the usage.
#[test]
fn finished_thinking_is_announced_before_what_follows() {
    let sse = encode(&[
        chunk(vec![signed(thought("Plan."), "sig-thought")]),
        chunk(vec![call(Some("c1"), "read_file", json!({}))]),
        chunk(vec![text("Done.")]),
        finish(
            vec![signed(text(""), "sig-text")],
            "STOP",
            usage(1, 0, 1, 0),
        ),
    ]);
    let mut order: Vec<String> = Vec::new();
    let mut state = GeminiStream::new("http://x");
    let mut d = SseDecoder::new();
    let mut sink = |e: StreamEvent<'_>| match e {
        StreamEvent::Thinking(t) => order.push(format!(
            "thinking {:?} {:?}",
            t.signature.as_deref(),
            t.source
        )),
        StreamEvent::TextDelta(_) => order.push("text".into()),
        StreamEvent::ToolCall(_) => order.push("call".into()),
        StreamEvent::Usage(_) => order.push("usage".into()),
        _ => {}
    };
    d.feed(sse.as_bytes(), |ev| state.on_event(ev, &mut sink))
        .unwrap();
    d.finish(|ev| state.on_event(ev, &mut sink)).unwrap();
    let c = state.finish().unwrap();
    assert_eq!(
        order,
        [
            "thinking Some(\"sig-thought\") Some(Gemini)",
            "call",
            "text",
            "thinking Some(\"sig-text\") Some(Gemini)",
            "usage",
        ]
    );
    assert_eq!(c.message.content.len(), 4, "{:?}", c.message.content);
}
