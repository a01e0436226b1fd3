//! The Chat Completions stream state machine on the recorded shapes of each server
//! (tests/fixtures/openai/, README there): every fixture decodes the same whatever the reads
//! and line endings, and each server's quirk gives the documented events and completion.

use super::*;
use crate::error::ProviderError;
use crate::event::{Completion, StreamEvent};
use crate::model::{Block, StopReason, Usage};
use crate::runtime::WireStream;
use crate::sse::SseDecoder;
use pretty_assertions::assert_eq;
use sx_testkit::sse::{LineEnding, with_line_endings};
use sx_testkit::{fixture_str, fixtures_dir};

#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Text(String),
    Thinking(String),
    Started(String, String),
    Call(String, String, String),
    Usage(Usage),
}

fn seen_of(e: StreamEvent<'_>) -> Option<Seen> {
    Some(match e {
        StreamEvent::TextDelta(t) => Seen::Text(t.into()),
        StreamEvent::ThinkingDelta(t) => Seen::Thinking(t.into()),
        StreamEvent::ToolCallStarted { id, name } => Seen::Started(id.into(), name.into()),
        StreamEvent::ToolCall(c) => Seen::Call(c.id.clone(), c.name.clone(), c.arguments.clone()),
        StreamEvent::Usage(u) => Seen::Usage(*u),
        _ => return None,
    })
}

/// Feed `sse` in reads of `read` bytes (0: all at once).
fn run_split(
    sse: &[u8],
    read: usize,
    show: bool,
) -> (Vec<Seen>, Result<Completion, ProviderError>) {
    let mut seen = Vec::new();
    let result = {
        let mut sink = |e: StreamEvent<'_>| seen.extend(seen_of(e));
        let mut state = ChatStream::new(show);
        let mut d = SseDecoder::new();
        let reads: Vec<&[u8]> = if read == 0 {
            vec![sse]
        } else {
            sse.chunks(read).collect()
        };
        let mut r = Ok(());
        for chunk in reads {
            r = d.feed(chunk, |ev| state.on_event(ev, &mut sink));
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
    run_split(sse.as_bytes(), 0, true)
}

fn run_fixture(name: &str) -> (Vec<Seen>, Result<Completion, ProviderError>) {
    run(&fixture_str(&format!("openai/{name}")))
}

/// Made-up call ids differ per stream: `call_<16 hex>_<n>` → `call_X_<n>`.
fn normalized(s: String) -> String {
    let mut out = String::new();
    let mut rest = s.as_str();
    while let Some(i) = rest.find("call_") {
        out.push_str(&rest[..i + 5]);
        rest = &rest[i + 5..];
        let hex = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        if hex == 16 && rest[16..].starts_with('_') {
            out.push('X');
            rest = &rest[16..];
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn every_fixture_decodes_the_same_whatever_the_reads_and_line_endings() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir().join("openai"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sse"))
        .collect();
    names.sort();
    assert!(names.len() >= 20, "{names:?}");
    for name in names {
        let lf = fixture_str(&format!("openai/{name}"));
        let baseline = normalized(format!("{:?}", run(&lf)));
        for ending in [LineEnding::CrLf, LineEnding::Cr] {
            let text = with_line_endings(&lf, ending);
            for read in [0, 1, 2, 7, 64] {
                let got = normalized(format!("{:?}", run_split(text.as_bytes(), read, true)));
                assert_eq!(got, baseline, "{name}, {ending:?}, reads of {read}");
            }
        }
        for read in [1, 3, 13] {
            let got = normalized(format!("{:?}", run_split(lf.as_bytes(), read, true)));
            assert_eq!(got, baseline, "{name}, LF, reads of {read}");
        }
    }
}

fn usage(input: u64, output: u64, cached: u64, reasoning: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: cached,
        cache_write_tokens: 0,
        reasoning_tokens: reasoning,
    }
}

fn text(s: &str) -> Seen {
    Seen::Text(s.into())
}

fn thinking(s: &str) -> Seen {
    Seen::Thinking(s.into())
}

#[test]
fn openai_text_and_usage() {
    let (seen, r) = run_fixture("text.sse");
    assert_eq!(
        seen,
        vec![
            text("Hello"),
            text(" from"),
            text(" the mock."),
            Seen::Usage(usage(42, 7, 0, 0))
        ]
    );
    let c = r.unwrap();
    assert_eq!(c.stop, StopReason::EndTurn);
    assert_eq!(c.message.content, vec![Block::text("Hello from the mock.")]);
    assert_eq!(c.usage, usage(42, 7, 0, 0));
    let (_, r) = run_fixture("usage.sse");
    assert_eq!(r.unwrap().usage, usage(12000, 800, 9000, 512));
}

#[test]
fn openai_tool_call_as_the_protocol_notes_show_it() {
    let (seen, r) = run_fixture("tool_call.sse");
    let args = r#"{"city":"Paris"}"#;
    assert_eq!(
        seen,
        vec![
            text("Let me check."),
            Seen::Started("call_abc".into(), "get_weather".into()),
            Seen::Call("call_abc".into(), "get_weather".into(), args.into()),
            Seen::Usage(usage(80, 21, 0, 0)),
        ]
    );
    let c = r.unwrap();
    assert_eq!(c.stop, StopReason::ToolUse);
    assert_eq!(
        c.message.content,
        vec![
            Block::text("Let me check."),
            Block::ToolCall(ToolCall::function("call_abc", "get_weather", args))
        ]
    );
}

fn thinking_block(c: &Completion) -> &Thinking {
    match &c.message.content[0] {
        Block::Thinking(t) => t,
        other => panic!("thinking first, got {other:?}"),
    }
}

#[test]
fn llamacpp_reasoning_content_repeated_ids_and_usage_in_the_finish_chunk() {
    let (seen, r) = run_fixture("llamacpp_reasoning_tool.sse");
    let args = r#"{"path":"notes.txt"}"#;
    assert_eq!(
        seen,
        vec![
            thinking("The user wants"),
            thinking(" the notes file."),
            Seen::Started("Lc7rP2x".into(), "read_file".into()),
            Seen::Call("Lc7rP2x".into(), "read_file".into(), args.into()),
            Seen::Usage(usage(310, 31, 0, 0)),
        ]
    );
    let c = r.unwrap();
    assert_eq!(c.stop, StopReason::ToolUse);
    let t = thinking_block(&c);
    assert_eq!(t.text, "The user wants the notes file.");
    assert_eq!(t.source, Some(ProviderId::Openai));
    assert_eq!((t.signature.clone(), t.replay.clone()), (None, None));
}

#[test]
fn vllm_reasoning_and_empty_continuation_ids() {
    let (seen, r) = run_fixture("vllm_reasoning_tool.sse");
    assert_eq!(
        seen,
        vec![
            thinking("Need to list"),
            thinking(" the directory."),
            Seen::Started("chatcmpl-tool-9f1".into(), "list_dir".into()),
            Seen::Call(
                "chatcmpl-tool-9f1".into(),
                "list_dir".into(),
                r#"{"path": "."}"#.into()
            ),
            Seen::Usage(usage(200, 30, 0, 0)),
        ]
    );
    assert_eq!(r.unwrap().stop, StopReason::ToolUse);
}

#[test]
fn ollama_whole_calls_without_index_and_stop_with_calls() {
    let (seen, r) = run_fixture("ollama_tools.sse");
    assert_eq!(
        seen,
        vec![
            thinking("Two files to read."),
            Seen::Started("call_o1".into(), "read_file".into()),
            Seen::Started("call_o2".into(), "read_file".into()),
            Seen::Call(
                "call_o1".into(),
                "read_file".into(),
                r#"{"path":"a.txt"}"#.into()
            ),
            Seen::Call(
                "call_o2".into(),
                "read_file".into(),
                r#"{"path":"b.txt"}"#.into()
            ),
            Seen::Usage(usage(120, 40, 0, 0)),
        ]
    );
    let c = r.unwrap();
    assert_eq!(
        c.stop,
        StopReason::ToolUse,
        "finish_reason stop, but the turn has calls"
    );
    assert_eq!(c.message.tool_calls().count(), 2);
}

#[test]
fn openrouter_comments_reasoning_and_a_duplicate_finish_chunk_with_the_usage() {
    let (seen, r) = run_fixture("openrouter.sse");
    assert_eq!(
        seen,
        vec![
            thinking("Short answer."),
            text("Hi there."),
            Seen::Usage(usage(30, 9, 16, 4)),
        ]
    );
    assert_eq!(r.unwrap().stop, StopReason::EndTurn);
}

#[test]
fn think_tags_split_across_chunks_are_thinking() {
    let (seen, r) = run_fixture("think_tags.sse");
    assert_eq!(
        seen,
        vec![
            thinking("Two plus"),
            thinking(" two."),
            text("The answer"),
            text(" is 4."),
        ]
    );
    let c = r.unwrap();
    assert_eq!(thinking_block(&c).text, "Two plus two.");
    assert_eq!(c.message.text(), "The answer is 4.");
    assert_eq!(c.usage, Usage::default(), "the server sent no usage");
}

#[test]
fn index_gaps_empty_deltas_preambles_and_object_arguments() {
    let (seen, r) = run_fixture("index_gaps.sse");
    let calls: Vec<Seen> = seen
        .into_iter()
        .filter(|s| matches!(s, Seen::Call(..)))
        .collect();
    assert_eq!(
        calls,
        vec![
            Seen::Call(
                "call_g0".into(),
                "glob".into(),
                r#"{"pattern":"*.rs"}"#.into()
            ),
            Seen::Call(
                "call_g2".into(),
                "grep".into(),
                r#"{"pattern":"TODO"}"#.into()
            ),
        ]
    );
    assert_eq!(r.unwrap().stop, StopReason::ToolUse);
}

#[test]
fn calls_without_ids_get_one_id_from_announcement_to_record() {
    let (seen, r) = run_fixture("no_ids.sse");
    let c = r.unwrap();
    let ids: Vec<&str> = c.message.tool_calls().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    let started: Vec<&str> = seen
        .iter()
        .filter_map(|s| match s {
            Seen::Started(id, _) => Some(id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(started, ids);
    assert_eq!(
        c.message.tool_calls().next().unwrap().arguments,
        r#"{"command":"ls"}"#
    );
    // Another stream, other ids: two turns never share one.
    let (_, again) = run_fixture("no_ids.sse");
    assert_ne!(
        again.unwrap().message.tool_calls().next().unwrap().id,
        ids[0]
    );
}

#[test]
fn errors_inside_a_200_stream_are_typed() {
    let (seen, r) = run_fixture("error_in_stream.sse");
    assert_eq!(seen, vec![text("Partial")]);
    let e = r.unwrap_err();
    assert!(
        matches!(&e, ProviderError::Failed { code, retryable: true, .. } if code == "server_error"),
        "{e:?}"
    );
    let (_, r) = run_fixture("error_context_llamacpp.sse");
    assert!(r.unwrap_err().is_context_window_exceeded());
    let (_, r) = run_fixture("error_openrouter.sse");
    let e = r.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert!(e.to_string().contains("Provider returned error"), "{e}");
}

#[test]
fn how_a_stream_may_end() {
    // [DONE] alone: a server that dropped its own error.
    let e = run_fixture("done_only.sse").1.unwrap_err();
    assert!(!e.is_retryable(), "{e:?}");
    assert!(e.to_string().contains("without an answer"), "{e}");
    // Neither finish_reason nor [DONE]: truncated, retried.
    let e = run_fixture("truncated.sse").1.unwrap_err();
    assert!(matches!(e, ProviderError::StreamTruncated { .. }), "{e:?}");
    assert!(e.is_retryable() && e.is_stream_error());
    // A finish_reason and then the end of the body: complete.
    let c = run_fixture("finish_no_done.sse").1.unwrap();
    assert_eq!(
        (c.stop, c.message.text()),
        (StopReason::EndTurn, "Done early.".into())
    );
    // No events at all (an HTML page with status 200, an empty body): not an event stream.
    for body in ["", "<html><body>Welcome to nginx!</body></html>\n"] {
        let e = run(body).1.unwrap_err();
        assert!(matches!(e, ProviderError::Protocol { .. }), "{e:?}");
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("OPENAI_BASE_URL"), "{e}");
    }
}

#[test]
fn length_content_filter_and_refusal_stops() {
    let (seen, r) = run_fixture("length.sse");
    assert!(
        !seen.iter().any(|s| matches!(s, Seen::Call(..))),
        "a cut-off call is never complete: {seen:?}"
    );
    let c = r.unwrap();
    assert_eq!(c.stop, StopReason::MaxTokens);
    assert_eq!(c.message.content, vec![Block::text("Writing it.")]);
    assert_eq!(
        run_fixture("content_filter.sse").1.unwrap().stop,
        StopReason::Safety
    );
    let c = run_fixture("refusal.sse").1.unwrap();
    assert_eq!(c.stop, StopReason::Refusal);
    assert_eq!(c.message.text(), "I'm sorry, I can't help with that.");
}

#[test]
fn glued_data_lines_are_read_one_by_one() {
    let c = run_fixture("glued.sse").1.unwrap();
    assert_eq!(c.message.text(), "Glued lines.");
}

#[test]
fn unknown_fields_odd_types_and_junk_are_tolerated() {
    let sse = concat!(
        ": keep-alive\n\n",
        "data: not json at all\n\n",
        "event: ping\ndata: {\"type\":\"ping\"}\n\n",
        // Odd types beside the answer's first words: the words are kept.
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi, \",\"reasoning\":{\"effort\":\"low\"},\"reasoning_content\":[1],\"refusal\":7,\"audio\":{}},\"finish_reason\":null}],\"new_top_level\":{\"x\":[1,2]}}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":[{\"type\":\"text\"}]},\"finish_reason\":null}]}\n\n",
        "data:{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"caf\\u00e9 \\\"ok\\\"\\n\"},\"finish_reason\":null},{\"index\":1,\"delta\":{\"content\":\"second choice\"}}]}\n\n",
        "data: {\"choices\":null,\"usage\":null}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"after the finish\"},\"finish_reason\":\"length\"}]}\n\n",
        "data: [DONE]\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"after done\"}}]}\n\n",
    );
    let (seen, r) = run(sse);
    assert_eq!(seen, vec![text("Hi, "), text("café \"ok\"\n")]);
    let c = r.unwrap();
    assert_eq!(c.stop, StopReason::EndTurn, "the first finish_reason wins");
    assert_eq!(c.message.text(), "Hi, café \"ok\"\n");
}

#[test]
fn thinking_is_recorded_but_not_streamed_when_hidden() {
    let sse = fixture_str("openai/llamacpp_reasoning_tool.sse");
    let (seen, r) = run_split(sse.as_bytes(), 0, false);
    assert!(
        !seen.iter().any(|s| matches!(s, Seen::Thinking(_))),
        "{seen:?}"
    );
    assert_eq!(
        thinking_block(&r.unwrap()).text,
        "The user wants the notes file."
    );
    let think = fixture_str("openai/think_tags.sse");
    let (seen, r) = run_split(think.as_bytes(), 0, false);
    assert_eq!(seen, vec![text("The answer"), text(" is 4.")]);
    assert_eq!(thinking_block(&r.unwrap()).text, "Two plus two.");
}

#[test]
fn the_stream_stops_reading_once_it_has_the_finish_and_the_usage() {
    let mut state = ChatStream::new(true);
    let mut sink = |_: StreamEvent<'_>| {};
    let mut feed = |state: &mut ChatStream, data: &str| {
        state
            .on_event(
                crate::sse::SseEvent {
                    event: "",
                    data,
                    truncated: false,
                },
                &mut sink,
            )
            .unwrap();
    };
    // Running usage before the finish (vLLM's continuous usage stats) is not the final one.
    feed(
        &mut state,
        r#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":0}}"#,
    );
    assert!(!state.finished());
    feed(
        &mut state,
        r#"{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}]}"#,
    );
    assert!(!state.finished(), "the usage chunk may follow");
    feed(
        &mut state,
        r#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}"#,
    );
    assert!(state.finished());
    assert_eq!(state.finish().unwrap().usage, usage(1, 1, 0, 0));
}
