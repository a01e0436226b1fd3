use std::time::Duration;

use super::*;
use crate::error::ProviderError;
use crate::event::{Completion, StreamEvent};
use crate::model::{Block, CallKind, StopReason, Usage};
use crate::runtime::WireStream;
use crate::sse::SseDecoder;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

#[derive(Debug, PartialEq)]
enum Seen {
    Text(String),
    Thinking(String),
    Raw(String),
    Started(String, String),
    Call(String, String, String),
    Usage(Usage),
}

fn run_stream(sse: &str) -> (Vec<Seen>, Result<Completion, ProviderError>) {
    let mut seen = Vec::new();
    let result = {
        let mut sink = |e: StreamEvent<'_>| match e {
            StreamEvent::TextDelta(t) => seen.push(Seen::Text(t.into())),
            StreamEvent::ThinkingDelta(t) => seen.push(Seen::Thinking(t.into())),
            StreamEvent::RawThinkingDelta(t) => seen.push(Seen::Raw(t.into())),
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
        };
        let mut state = ResponsesStream::default();
        let mut d = SseDecoder::new();
        let r = d
            .feed(sse.as_bytes(), |ev| state.on_event(ev, &mut sink))
            .and_then(|()| d.finish(|ev| state.on_event(ev, &mut sink)));
        r.and_then(|()| state.finish())
    };
    (seen, result)
}

fn ev(v: Value) -> String {
    format!("event: {}\ndata: {}\n\n", v["type"].as_str().unwrap(), v)
}

fn completed(input: u64, cached: u64, output: u64, reasoning: u64) -> String {
    ev(
        json!({"type":"response.completed","response":{"id":"resp_1","usage":{
        "input_tokens":input,"input_tokens_details":{"cached_tokens":cached},
        "output_tokens":output,"output_tokens_details":{"reasoning_tokens":reasoning},"total_tokens":input+output}}}),
    )
}

#[test]
fn text_reasoning_and_usage() {
    let sse = [
        ev(json!({"type":"response.created","response":{"id":"resp_1"}})),
        ev(json!({"type":"response.output_item.added","item":{"type":"reasoning","id":"rs_1","summary":[]}})),
        ev(json!({"type":"response.reasoning_summary_part.added","summary_index":0})),
        ev(json!({"type":"response.reasoning_summary_text.delta","delta":"**Inspecting**","summary_index":0})),
        ev(json!({"type":"response.reasoning_summary_text.delta","delta":"**Deciding**","summary_index":1})),
        ev(json!({"type":"response.output_item.done","item":{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"**Inspecting**"},{"type":"summary_text","text":"**Deciding**"}],"encrypted_content":"gAAAA"}})),
        ev(json!({"type":"response.output_item.added","item":{"type":"message","role":"assistant","id":"msg_1","content":[]}})),
        ev(json!({"type":"response.output_text.delta","delta":"Hello"})),
        ev(json!({"type":"response.output_text.delta","delta":" there"})),
        ev(json!({"type":"response.output_item.done","item":{"type":"message","role":"assistant","id":"msg_1","phase":"final_answer","content":[{"type":"output_text","text":"Hello there"}]}})),
        completed(12000, 9000, 800, 512),
    ]
    .concat();
    let (seen, r) = run_stream(&sse);
    let usage = Usage {
        input_tokens: 12000,
        output_tokens: 800,
        cache_read_tokens: 9000,
        cache_write_tokens: 0,
        reasoning_tokens: 512,
    };
    assert_eq!(
        seen,
        vec![
            Seen::Thinking("**Inspecting**".into()),
            Seen::Thinking("\n\n".into()),
            Seen::Thinking("**Deciding**".into()),
            Seen::Text("Hello".into()),
            Seen::Text(" there".into()),
            Seen::Usage(usage),
        ]
    );
    let c = r.unwrap();
    assert_eq!(c.stop, StopReason::EndTurn);
    assert_eq!(c.usage, usage);
    assert_eq!(c.message.text(), "Hello there");
    let Block::Thinking(t) = &c.message.content[0] else {
        panic!("thinking first")
    };
    assert_eq!(t.signature.as_deref(), Some("gAAAA"));
    assert_eq!(t.text, "**Inspecting**\n\n**Deciding**");
    assert!(
        t.replay.as_ref().unwrap().get("id").is_none(),
        "ids are not replayed"
    );
}

#[test]
fn function_calls_stop_with_tool_use() {
    let sse = [
        ev(json!({"type":"response.created","response":{"id":"resp_1"}})),
        ev(json!({"type":"response.function_call_arguments.delta","delta":"{\"comm"})),
        ev(json!({"type":"response.output_item.done","item":{"type":"function_call","id":"fc_1","call_id":"call_A1","name":"bash","arguments":"{\"command\":\"cargo test\"}","status":"completed"}})),
        completed(1, 0, 1, 0),
    ]
    .concat();
    let (seen, r) = run_stream(&sse);
    assert!(seen.contains(&Seen::Call(
        "call_A1".into(),
        "bash".into(),
        "{\"command\":\"cargo test\"}".into()
    )));
    let c = r.unwrap();
    assert_eq!(c.stop, StopReason::ToolUse);
    assert_eq!(c.message.tool_calls().count(), 1);
}

#[test]
fn a_message_without_deltas_is_still_shown() {
    let sse = [
        ev(json!({"type":"response.output_item.done","item":{"type":"message","role":"assistant","content":[{"type":"output_text","text":"whole"}]}})),
        completed(1, 0, 1, 0),
    ]
    .concat();
    let (seen, r) = run_stream(&sse);
    assert_eq!(seen[0], Seen::Text("whole".into()));
    assert_eq!(r.unwrap().message.text(), "whole");
}

#[test]
fn failures_map_to_typed_errors() {
    let failed = |code: &str, msg: &str| {
        ev(
            json!({"type":"response.failed","sequence_number":3,"response":{"id":"resp_x","status":"failed","error":{"code":code,"message":msg}}}),
        )
    };
    let (_, r) = run_stream(&failed(
        "context_length_exceeded",
        "Your input exceeds the context window of this model.",
    ));
    assert!(r.unwrap_err().is_context_window_exceeded());
    let (_, r) = run_stream(&failed(
        "rate_limit_exceeded",
        "Rate limit reached for gpt-5.1. Please try again in 11.054s.",
    ));
    let e = r.unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(e.retry_after(), Some(Duration::from_secs_f64(11.054)));
    let (_, r) = run_stream(&failed("insufficient_quota", "quota"));
    assert!(matches!(
        r.unwrap_err(),
        ProviderError::QuotaExceeded { .. }
    ));
    let (_, r) = run_stream(&ev(
        json!({"type":"response.incomplete","response":{"id":"r","incomplete_details":{"reason":"max_output_tokens"}}}),
    ));
    let e = r.unwrap_err();
    assert!(e.to_string().contains("max_output_tokens"));
    assert!(e.is_retryable());
}

#[test]
fn truncated_and_junk_streams_fail() {
    let (seen, r) = run_stream(&ev(
        json!({"type":"response.output_text.delta","delta":"partial"}),
    ));
    assert_eq!(seen, vec![Seen::Text("partial".into())]);
    let e = r.unwrap_err();
    assert!(matches!(e, ProviderError::StreamTruncated { .. }), "{e:?}");
    assert!(e.to_string().contains("before response.completed"));
    let (_, r) = run_stream("data: not json\n\ndata: {\"also\": \n\n");
    assert!(matches!(
        r.unwrap_err(),
        ProviderError::StreamTruncated { .. }
    ));
    // The completed event arrived whole but its closing blank line did not: still complete.
    let (_, r) = run_stream(completed(1, 0, 1, 0).trim_end());
    assert!(r.is_ok());
}

#[test]
fn events_after_completed_are_ignored() {
    let sse = [
        completed(1, 0, 1, 0),
        ev(json!({"type":"response.output_text.delta","delta":"late"})),
    ]
    .concat();
    let (seen, r) = run_stream(&sse);
    assert!(!seen.contains(&Seen::Text("late".into())));
    assert!(r.is_ok());
}

#[test]
fn phase_raw_reasoning_and_summaries_are_kept_apart() {
    let sse = [
        ev(json!({"type":"response.reasoning_summary_text.delta","delta":"**Plan**","summary_index":0})),
        ev(json!({"type":"response.reasoning_text.delta","delta":"step one","content_index":0})),
        ev(json!({"type":"response.output_item.done","item":{"type":"reasoning","id":"rs_1",
            "summary":[{"type":"summary_text","text":"**Plan**"}],
            "content":[{"type":"reasoning_text","text":"step one"}],"encrypted_content":"gA"}})),
        ev(json!({"type":"response.output_item.done","item":{"type":"message","role":"assistant","phase":"commentary",
            "content":[{"type":"output_text","text":"Looking."}]}})),
        completed(1, 0, 1, 0),
    ]
    .concat();
    let (seen, r) = run_stream(&sse);
    assert_eq!(
        seen[..3],
        [
            Seen::Thinking("**Plan**".into()),
            Seen::Raw("step one".into()),
            Seen::Text("Looking.".into())
        ]
    );
    let c = r.unwrap();
    let Block::Thinking(t) = &c.message.content[0] else {
        panic!("thinking first")
    };
    assert_eq!(t.text, "**Plan**");
    assert_eq!(t.raw.as_deref(), Some("step one"));
    assert_eq!(
        c.message.content[1],
        Block::Text {
            text: "Looking.".into(),
            phase: Some("commentary".into())
        }
    );
}

#[test]
fn tool_calls_are_announced_when_they_start_and_custom_calls_keep_their_kind() {
    let sse = [
        ev(json!({"type":"response.output_item.added","item":{"type":"function_call","id":"fc_1","call_id":"call_A","name":"bash","arguments":""}})),
        ev(json!({"type":"response.function_call_arguments.delta","delta":"{"})),
        ev(json!({"type":"response.output_item.done","item":{"type":"function_call","id":"fc_1","call_id":"call_A","name":"bash","arguments":"{}"}})),
        ev(json!({"type":"response.output_item.added","item":{"type":"custom_tool_call","id":"ctc_1","call_id":"call_B","name":"exec","input":""}})),
        ev(json!({"type":"response.custom_tool_call_input.delta","item_id":"ctc_1","call_id":"call_B","delta":"text(1)"})),
        ev(json!({"type":"response.output_item.done","item":{"type":"custom_tool_call","id":"ctc_1","status":"completed","call_id":"call_B","name":"exec","input":"text(1)"}})),
        completed(1, 0, 1, 0),
    ]
    .concat();
    let (seen, r) = run_stream(&sse);
    assert_eq!(seen[0], Seen::Started("call_A".into(), "bash".into()));
    assert_eq!(
        seen[1],
        Seen::Call("call_A".into(), "bash".into(), "{}".into())
    );
    assert_eq!(seen[2], Seen::Started("call_B".into(), "exec".into()));
    assert_eq!(
        seen[3],
        Seen::Call("call_B".into(), "exec".into(), "text(1)".into())
    );
    let c = r.unwrap();
    assert_eq!(c.stop, StopReason::ToolUse);
    let kinds: Vec<CallKind> = c.message.tool_calls().map(|c| c.kind).collect();
    assert_eq!(kinds, [CallKind::Function, CallKind::Custom]);
}

#[test]
fn a_stream_error_event_carries_its_message_and_says_whether_to_retry() {
    let (_, r) = run_stream(&ev(
        json!({"type":"error","code":"invalid_request_error","message":"Tool 'x' is not allowed","param":null,"sequence_number":2}),
    ));
    let e = r.unwrap_err();
    assert!(e.to_string().contains("Tool 'x' is not allowed"), "{e}");
    assert!(!e.is_retryable(), "an unknown code is not retried: {e:?}");

    let (_, r) = run_stream(&ev(
        json!({"type":"error","code":"rate_limit_exceeded","message":"Please try again in 2s.","param":null}),
    ));
    let e = r.unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));

    let (_, r) = run_stream(&ev(
        json!({"type":"error","status":502,"error":{"code":"bad_gateway","message":"upstream failed"}}),
    ));
    let e = r.unwrap_err();
    assert!(
        e.is_retryable() && e.to_string().contains("upstream failed"),
        "{e:?}"
    );

    let (_, r) = run_stream(&ev(
        json!({"type":"error","code":"context_length_exceeded","message":"too long"}),
    ));
    assert!(r.unwrap_err().is_context_window_exceeded());
}

#[test]
fn a_refusal_is_an_answer_with_its_own_stop_reason() {
    let sse = [
        ev(
            json!({"type":"response.output_item.done","item":{"type":"message","role":"assistant",
            "content":[{"type":"refusal","refusal":"I can't help with that."}]}}),
        ),
        completed(1, 0, 1, 0),
    ]
    .concat();
    let (_, r) = run_stream(&sse);
    let c = r.unwrap();
    assert_eq!(c.stop, StopReason::Refusal);
    assert_eq!(c.message.text(), "I can't help with that.");
}

/// The finished reasoning item (its encrypted content and replay item) is announced before
/// the call that follows it, so a relay can hand it on in place.
#[test]
fn a_finished_reasoning_item_is_announced_before_what_follows() {
    use sx_testkit::responses as r;
    let mut events = vec![r::created(r::RESP_ID)];
    events.extend(r::reasoning_events(
        r::REASONING_ID,
        "Plan.",
        r::ENCRYPTED_CONTENT,
    ));
    events.extend(r::function_call_events(
        r::FUNCTION_CALL_ID,
        "call_1",
        "read_file",
        "{}",
    ));
    events.push(r::completed(r::RESP_ID, Default::default()));
    let sse = sx_testkit::sse::encode(&r::finalize(events));
    let mut order: Vec<String> = Vec::new();
    let mut state = ResponsesStream::default();
    let mut d = SseDecoder::new();
    let mut sink = |e: StreamEvent<'_>| match e {
        StreamEvent::Thinking(t) => order.push(format!(
            "thinking {} {:?} {}",
            t.text,
            t.signature.as_deref(),
            t.replay.as_ref().is_some_and(|v| v["type"] == "reasoning")
        )),
        StreamEvent::ToolCall(_) => order.push("call".into()),
        _ => {}
    };
    d.feed(sse.as_bytes(), |ev| state.on_event(ev, &mut sink))
        .unwrap();
    assert_eq!(
        order,
        [
            format!("thinking Plan. Some({:?}) true", r::ENCRYPTED_CONTENT),
            "call".into()
        ]
    );
}
