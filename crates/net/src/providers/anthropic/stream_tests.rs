//! The Messages stream state machine on the edge cases of docs/protocols/providers.md §6.1,
//! §6.2 and §6.6: split reads, line endings, comments, fragmented tool input, empty deltas,
//! mid-stream errors, unknown events, cut-off calls.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use sx_testkit::anthropic::{self as a, SIGNATURE, TURN_USAGE};
use sx_testkit::sse::{self, LineEnding, with_line_endings};

use super::*;

#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Text(String),
    Thinking(String),
    Started(String, String),
    Call(String, String, String),
    Usage(Usage),
}

fn run_chunks(chunks: &[&[u8]]) -> (Vec<Seen>, Result<Completion, ProviderError>) {
    let mut seen = Vec::new();
    let result = decode_body(chunks.iter().copied(), &mut |e| match e {
        StreamEvent::TextDelta(t) => seen.push(Seen::Text(t.into())),
        StreamEvent::ThinkingDelta(t) => seen.push(Seen::Thinking(t.into())),
        StreamEvent::ToolCallStarted { id, name } => {
            seen.push(Seen::Started(id.into(), name.into()))
        }
        StreamEvent::ToolCall(c) => seen.push(Seen::Call(
            c.id.clone(),
            c.name.clone(),
            c.arguments.clone(),
        )),
        StreamEvent::Usage(u) => seen.push(Seen::Usage(*u)),
        _ => {}
    });
    (seen, result)
}

fn run(sse: &str) -> (Vec<Seen>, Result<Completion, ProviderError>) {
    run_chunks(&[sse.as_bytes()])
}

/// Deltas of one kind joined (how a renderer shows them), so splitting does not matter.
fn joined(seen: &[Seen]) -> Vec<Seen> {
    let mut out: Vec<Seen> = Vec::new();
    for s in seen {
        match (out.last_mut(), s) {
            (Some(Seen::Text(a)), Seen::Text(b)) | (Some(Seen::Thinking(a)), Seen::Thinking(b)) => {
                a.push_str(b)
            }
            _ => out.push(s.clone()),
        }
    }
    out
}

const USAGE: Usage = Usage {
    input_tokens: 42 + 30 + 5,
    output_tokens: 7,
    cache_read_tokens: 30,
    cache_write_tokens: 5,
    reasoning_tokens: 0,
};

fn thinking_tool_stream() -> String {
    sse::encode(&a::thinking_tool_turn(
        "The user wants a listing; café first.",
        "Let me look.",
        "toolu_01A",
        "bash",
        r#"{"command":"ls -la","timeout_ms":5000}"#,
    ))
}

#[test]
fn a_text_answer_streams_its_deltas_and_counts_cached_input() {
    let (seen, r) = run(&sse::encode(&a::text_turn("Hello there, world")));
    let c = r.unwrap();
    assert_eq!(
        joined(&seen),
        vec![Seen::Text("Hello there, world".into()), Seen::Usage(USAGE)]
    );
    assert!(seen.len() > 2, "several deltas: {seen:?}");
    assert_eq!(c.message.content, vec![Block::text("Hello there, world")]);
    assert_eq!(c.usage, USAGE);
    assert_eq!(c.message.usage, Some(USAGE));
    assert_eq!(c.stop, StopReason::EndTurn);
}

#[test]
fn thinking_is_signed_and_a_fragmented_call_is_assembled() {
    let (seen, r) = run(&thinking_tool_stream());
    let c = r.unwrap();
    assert_eq!(
        joined(&seen),
        vec![
            Seen::Thinking("The user wants a listing; café first.".into()),
            Seen::Text("Let me look.".into()),
            Seen::Started("toolu_01A".into(), "bash".into()),
            Seen::Call(
                "toolu_01A".into(),
                "bash".into(),
                r#"{"command":"ls -la","timeout_ms":5000}"#.into()
            ),
            Seen::Usage(USAGE),
        ]
    );
    assert_eq!(c.stop, StopReason::ToolUse);
    assert_eq!(
        c.message.content,
        vec![
            Block::Thinking(Thinking {
                text: "The user wants a listing; café first.".into(),
                raw: None,
                signature: Some(SIGNATURE.into()),
                source: Some(ProviderId::Anthropic),
                replay: None,
            }),
            Block::text("Let me look."),
            Block::ToolCall(ToolCall::function(
                "toolu_01A",
                "bash",
                r#"{"command":"ls -la","timeout_ms":5000}"#
            )),
        ]
    );
}

#[test]
fn how_the_bytes_are_split_never_changes_the_result() {
    let stream = thinking_tool_stream();
    let (whole_seen, whole) = run(&stream);
    let whole = whole.unwrap();
    let bytes = stream.as_bytes();
    // One byte at a time: splits inside JSON, inside "é" (two bytes) and between lines.
    let singles: Vec<&[u8]> = bytes.chunks(1).collect();
    let (seen, r) = run_chunks(&singles);
    assert_eq!(joined(&seen), joined(&whole_seen));
    assert_eq!(r.unwrap().message, whole.message);
    // Pseudo-random read sizes.
    let mut chunks = Vec::new();
    let (mut pos, mut n) = (0usize, 7u64);
    while pos < bytes.len() {
        n = n
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let len = ((n >> 33) % 97 + 1) as usize;
        let end = (pos + len).min(bytes.len());
        chunks.push(&bytes[pos..end]);
        pos = end;
    }
    let (seen, r) = run_chunks(&chunks);
    assert_eq!(joined(&seen), joined(&whole_seen));
    assert_eq!(r.unwrap().message, whole.message);
}

#[test]
fn every_line_ending_comments_and_data_only_events() {
    let stream = thinking_tool_stream();
    let (_, whole) = run(&stream);
    let whole = whole.unwrap().message;
    for ending in [LineEnding::CrLf, LineEnding::Cr] {
        let s = with_line_endings(&stream, ending);
        // A CRLF split between two reads is one line break, not two.
        let cut = s.find("\r\n").map_or(10, |i| i + 1);
        let (_, r) = run_chunks(&[&s.as_bytes()[..cut], &s.as_bytes()[cut..]]);
        assert_eq!(r.unwrap().message, whole, "{ending:?}");
    }
    // Keep-alive comments anywhere, `data:` without its space, no `event:` lines (the JSON
    // `type` decides), padded JSON.
    let mut s = String::from(": keep-alive\n\n");
    for v in a::thinking_tool_turn(
        "The user wants a listing; café first.",
        "Let me look.",
        "toolu_01A",
        "bash",
        r#"{"command":"ls -la","timeout_ms":5000}"#,
    ) {
        s.push_str(&format!(
            ": OPENROUTER PROCESSING\ndata:{}\n\n",
            sse::to_compact_json(&v)
        ));
    }
    let s = s.replace(
        r#"{"type":"message_stop"}"#,
        r#"{"type":"message_stop"       }"#,
    );
    let (_, r) = run(&s);
    assert_eq!(r.unwrap().message, whole);
}

#[test]
fn empty_deltas_emit_nothing_and_an_empty_input_is_an_empty_object() {
    let events = a::turn(
        vec![
            vec![
                a::text_start(0),
                a::text_delta(0, ""),
                a::text_delta(0, "ok"),
                a::block_stop(0),
            ],
            vec![
                a::tool_use_start(1, "toolu_02", "list_dir"),
                a::input_json_delta(1, ""),
                a::block_stop(1),
            ],
            // An empty text block is not kept.
            vec![a::text_start(2), a::block_stop(2)],
        ],
        "tool_use",
        TURN_USAGE,
    );
    let (seen, r) = run(&sse::encode(&events));
    assert_eq!(
        seen[..3],
        [
            Seen::Text("ok".into()),
            Seen::Started("toolu_02".into(), "list_dir".into()),
            Seen::Call("toolu_02".into(), "list_dir".into(), "{}".into()),
        ]
    );
    let c = r.unwrap();
    assert_eq!(c.message.content.len(), 2);
    assert_eq!(
        c.message.tool_calls().next().unwrap().input().unwrap(),
        json!({})
    );
}

#[test]
fn redacted_thinking_is_kept_verbatim() {
    let events = a::turn(
        vec![
            vec![
                a::redacted_thinking_start(0, "EmwKAhgBEgy3va3pzix/LafPsn4a"),
                a::block_stop(0),
            ],
            a::text_block(1, "Done."),
        ],
        "end_turn",
        TURN_USAGE,
    );
    let (_, r) = run(&sse::encode(&events));
    let c = r.unwrap();
    let Block::Thinking(t) = &c.message.content[0] else {
        panic!("{:?}", c.message.content);
    };
    assert_eq!(
        t.replay,
        Some(json!({"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4a"}))
    );
    assert_eq!(
        (t.signature.as_deref(), t.source),
        (None, Some(ProviderId::Anthropic))
    );
}

#[test]
fn an_error_event_in_a_200_stream_ends_the_call_with_its_type() {
    let mut events = vec![a::message_start(TURN_USAGE)];
    events.extend(a::text_block(0, "partial"));
    events.push(a::error("overloaded_error", "Overloaded"));
    // Nothing after the error counts.
    events.extend(a::text_block(1, "ignored"));
    let (seen, r) = run(&sse::encode(&events));
    let e = r.unwrap_err();
    assert!(matches!(e, ProviderError::Overloaded { .. }), "{e}");
    assert!(e.is_retryable());
    assert!(e.to_string().contains("Overloaded"), "{e}");
    assert!(!seen.iter().any(|s| *s == Seen::Text("ignored".into())));

    let events = vec![
        a::message_start(TURN_USAGE),
        a::error(
            "invalid_request_error",
            "prompt is too long: 201000 tokens > 200000 maximum",
        ),
    ];
    let (_, r) = run(&sse::encode(&events));
    assert!(r.unwrap_err().is_context_window_exceeded());
}

#[test]
fn unknown_events_blocks_and_deltas_are_ignored() {
    let events = vec![
        a::message_start(TURN_USAGE),
        json!({"type": "brand_new_event", "whatever": [1, 2]}),
        json!({"type": "content_block_start", "index": 0,
               "content_block": {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{}"}}),
        a::block_stop(0),
        a::text_start(1),
        json!({"type": "content_block_delta", "index": 1,
               "delta": {"type": "citations_delta", "citation": {"type": "char_location"}}}),
        a::text_delta(1, "answer"),
        a::block_stop(1),
        // A delta for a block that never started.
        a::text_delta(9, "stray"),
        a::message_delta("end_turn", 7),
        a::message_stop(),
        // After the end: not read.
        a::text_delta(1, " late"),
    ];
    let (seen, r) = run(&sse::encode(&events));
    assert_eq!(seen[0], Seen::Text("answer".into()));
    assert_eq!(r.unwrap().message.content, vec![Block::text("answer")]);
}

#[test]
fn a_call_cut_off_by_max_tokens_is_not_kept() {
    // The API leaves the block open: no content_block_stop before message_delta (A2).
    let events = vec![
        a::message_start(TURN_USAGE),
        a::text_start(0),
        a::text_delta(0, "Writing the file"),
        a::block_stop(0),
        a::tool_use_start(1, "toolu_03", "write_file"),
        a::input_json_delta(1, r#"{"path":"a.txt","content":"lo"#),
        a::message_delta("max_tokens", 64000),
        a::message_stop(),
    ];
    let (seen, r) = run(&sse::encode(&events));
    let c = r.unwrap();
    assert_eq!(c.stop, StopReason::MaxTokens);
    assert_eq!(c.message.content, vec![Block::text("Writing the file")]);
    assert!(
        !seen.iter().any(|s| matches!(s, Seen::Call(..))),
        "{seen:?}"
    );
}

#[test]
fn stop_reasons() {
    for (wire, ours) in [
        ("end_turn", StopReason::EndTurn),
        ("stop_sequence", StopReason::EndTurn),
        ("max_tokens", StopReason::MaxTokens),
        ("pause_turn", StopReason::Pause),
        ("refusal", StopReason::Refusal),
        ("model_context_window_exceeded", StopReason::MaxTokens),
        ("something_new", StopReason::EndTurn),
    ] {
        let events = a::turn(vec![a::text_block(0, "x")], wire, TURN_USAGE);
        assert_eq!(run(&sse::encode(&events)).1.unwrap().stop, ours, "{wire}");
    }
}

#[test]
fn usage_fields_left_out_keep_their_earlier_values() {
    // A Bedrock-served message_delta carries only output tokens (A5); a later one may add the
    // thinking-token count.
    let events = vec![
        a::message_start(a::Usage {
            input: 100,
            output: 1,
            cache_read: 900,
            cache_write: 0,
        }),
        a::text_block(0, "x")[0].clone(),
        a::text_delta(0, "x"),
        a::block_stop(0),
        json!({"type":"message_delta","delta":{"stop_reason":"end_turn"},
               "usage":{"output_tokens":50,"output_tokens_details":{"thinking_tokens":20}}}),
        a::message_stop(),
    ];
    let c = run(&sse::encode(&events)).1.unwrap();
    assert_eq!(
        c.usage,
        Usage {
            input_tokens: 1000,
            output_tokens: 50,
            cache_read_tokens: 900,
            cache_write_tokens: 0,
            reasoning_tokens: 20,
        }
    );
}

#[test]
fn a_stream_without_message_stop_is_truncated() {
    let mut events = vec![a::message_start(TURN_USAGE)];
    events.extend(a::text_block(0, "half an ans"));
    let (_, r) = run(&sse::encode(&events));
    let e = r.unwrap_err();
    assert!(matches!(e, ProviderError::StreamTruncated { .. }), "{e}");
    assert!(e.is_retryable());
    // A body with no event at all (a 200 HTML page) says where to look.
    let (_, r) = run("<html><body>Welcome to nginx!</body></html>");
    let m = r.unwrap_err().to_string();
    assert!(m.contains("ANTHROPIC_BASE_URL"), "{m}");
}

#[test]
fn data_that_is_not_json_is_a_protocol_error_unless_it_is_several_events_on_adjacent_lines() {
    let s = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n\
             event: content_block_delta\ndata: {not json at all\n\n";
    let e = run(s).1.unwrap_err();
    assert!(matches!(e, ProviderError::Protocol { .. }), "{e}");
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("{not json at all"), "{e}");
    // A gateway that forgot the blank lines between events (T12).
    let mut glued = String::new();
    for v in a::text_turn("glued answer") {
        glued.push_str(&format!("data: {}\n", sse::to_compact_json(&v)));
    }
    glued.push('\n');
    let c = run(&glued).1.unwrap();
    assert_eq!(c.message.text(), "glued answer");
    // An error event in words is still an error, with its words.
    let s = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n\
             event: error\ndata: upstream connect error\n\n";
    let e = run(s).1.unwrap_err();
    assert!(
        matches!(&e, ProviderError::Failed { message, .. } if message == "upstream connect error"),
        "{e}"
    );
    // A ping whose data is not JSON is still a ping.
    let s = format!(
        "event: ping\ndata: hello\n\n{}",
        sse::encode(&a::text_turn("ok"))
    );
    assert_eq!(run(&s).1.unwrap().message.text(), "ok");
}

#[test]
fn the_state_machine_takes_json_events_from_any_framing() {
    // The claude CLI's stream-json lines carry the same events (docs/protocols/providers.md §2.6).
    let mut state = MessagesStream::new(ProviderId::ClaudeCode);
    let mut text = String::new();
    let mut sink = |e: StreamEvent<'_>| {
        if let StreamEvent::TextDelta(t) = e {
            text.push_str(t);
        }
    };
    for v in a::thinking_tool_turn("hmm", "Looking.", "toolu_9", "grep", r#"{"pattern":"x"}"#) {
        let line = json!({"type": "stream_event", "event": v, "session_id": "s"});
        let inner: &Value = &line["event"];
        state.on_json_event(&inner.to_string(), &mut sink).unwrap();
        if state.is_finished() {
            break;
        }
    }
    let c = state.into_completion().unwrap();
    assert_eq!(text, "Looking.");
    assert_eq!(c.stop, StopReason::ToolUse);
    let Block::Thinking(t) = &c.message.content[0] else {
        panic!()
    };
    assert_eq!(t.source, Some(ProviderId::ClaudeCode));
    assert_eq!(t.signature.as_deref(), Some(SIGNATURE));
}

#[test]
fn deltas_are_borrowed_from_the_event_not_copied() {
    // The hot path allocates nothing per token: a delta without escapes is a slice of the
    // event's own JSON.
    let mut state = MessagesStream::new(ProviderId::Anthropic);
    let mut ignore = |_: StreamEvent<'_>| {};
    for v in [
        a::message_start(TURN_USAGE),
        a::text_start(0),
        a::thinking_start(1),
    ] {
        state.on_json_event(&v.to_string(), &mut ignore).unwrap();
    }
    for v in [
        a::text_delta(0, "plain words"),
        a::thinking_delta(1, "a thought"),
    ] {
        let json = v.to_string();
        let range = json.as_bytes().as_ptr_range();
        let (start, end) = (range.start as usize, range.end as usize);
        let mut inside = Vec::new();
        state
            .on_json_event(&json, &mut |e| {
                if let StreamEvent::TextDelta(t) | StreamEvent::ThinkingDelta(t) = e {
                    inside.push((start..end).contains(&(t.as_ptr() as usize)));
                }
            })
            .unwrap();
        assert_eq!(inside, [true], "{json}");
    }
}

/// A relay (the router) hands thinking state on in place: the finished block, signature
/// included, is announced before the text and the call that follow it.
#[test]
fn finished_thinking_is_announced_with_its_signature_before_what_follows() {
    let mut order: Vec<String> = Vec::new();
    decode_body([thinking_tool_stream().as_bytes()], &mut |e| match e {
        StreamEvent::Thinking(t) => order.push(format!(
            "thinking {} {:?} {:?}",
            t.text,
            t.signature.as_deref(),
            t.source
        )),
        StreamEvent::TextDelta(_) => order.push("text".into()),
        StreamEvent::ToolCall(_) => order.push("call".into()),
        _ => {}
    })
    .unwrap();
    order.dedup();
    assert_eq!(
        order,
        [
            format!(
                "thinking The user wants a listing; café first. Some({SIGNATURE:?}) Some(Anthropic)"
            ),
            "text".into(),
            "call".into(),
        ]
    );
}
