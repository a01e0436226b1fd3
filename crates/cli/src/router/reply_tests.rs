use serde_json::json;
use sxnet::ProviderId;
use sxnet::event::{Completion, StreamEvent};
use sxnet::model::{Block, Message, Role, StopReason, Thinking, ToolCall, Usage};

use super::*;
use crate::router::message::message_json;
use crate::router::request::Incoming;

fn codex_thinking() -> Thinking {
    Thinking {
        text: "Plan it.".into(),
        raw: None,
        signature: Some("enc-1".into()),
        source: Some(ProviderId::Codex),
        replay: Some(
            json!({"type":"reasoning","summary":[{"type":"summary_text","text":"Plan it."}],"encrypted_content":"enc-1"}),
        ),
    }
}

fn signed_call() -> ToolCall {
    let mut c = ToolCall::function("call_7", "Read", r#"{"path":"a.txt"}"#);
    c.signature = Some("call-sig".into());
    c
}

fn usage() -> Usage {
    Usage {
        input_tokens: 120,
        output_tokens: 30,
        cache_read_tokens: 100,
        cache_write_tokens: 0,
        reasoning_tokens: 5,
    }
}

fn completion(content: Vec<Block>, stop: StopReason) -> Completion {
    Completion {
        message: Message {
            role: Role::Assistant,
            content,
            usage: Some(usage()),
        },
        usage: usage(),
        stop,
        provider_session: None,
    }
}

/// What an upstream streams for thinking, a sentence and a signed call.
fn run(w: &mut SseWriter) -> String {
    let t = codex_thinking();
    let c = signed_call();
    w.start("msg_1", "claude-sonnet-5", 42);
    for ev in [
        StreamEvent::ThinkingDelta("Plan "),
        StreamEvent::RawThinkingDelta("raw, not shown"),
        StreamEvent::ThinkingDelta("it."),
        StreamEvent::Thinking(&t),
        StreamEvent::TextDelta("Reading "),
        StreamEvent::TextDelta("a.txt."),
        StreamEvent::ToolCallStarted {
            id: "call_7",
            name: "Read",
        },
        StreamEvent::ToolCall(&c),
        StreamEvent::Usage(&usage()),
    ] {
        assert_eq!(w.on_event(ev), Step::Go);
    }
    w.finish(&completion(
        vec![
            Block::Thinking(t),
            Block::text("Reading a.txt."),
            Block::ToolCall(c),
        ],
        StopReason::ToolUse,
    ));
    std::str::from_utf8(&w.take()).unwrap().to_string()
}

#[test]
fn the_stream_is_the_messages_event_sequence() {
    let mut w = SseWriter::new(ProviderId::Gemini);
    let sse = run(&mut w);
    let events = sx_testkit::sse::decode(&sse);
    let kinds: Vec<String> = events
        .iter()
        .map(|e| {
            let ty = e["type"].as_str().unwrap();
            let sub = e["delta"]["type"]
                .as_str()
                .or(e["content_block"]["type"].as_str())
                .unwrap_or("");
            format!("{ty} {sub}").trim().to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "message_start",
            "content_block_start thinking",
            "content_block_delta thinking_delta",
            "content_block_delta thinking_delta",
            "content_block_delta signature_delta",
            "content_block_stop",
            "content_block_start text",
            "content_block_delta text_delta",
            "content_block_delta text_delta",
            "content_block_stop",
            "content_block_start redacted_thinking",
            "content_block_stop",
            "content_block_start tool_use",
            "content_block_delta input_json_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    assert_eq!(events[0]["message"]["model"], "claude-sonnet-5");
    assert_eq!(events[0]["message"]["usage"]["input_tokens"], 42);
    let delta = &events[events.len() - 2];
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    assert_eq!(
        delta["usage"],
        json!({"input_tokens":20,"output_tokens":30,"cache_creation_input_tokens":0,
               "cache_read_input_tokens":100,"output_tokens_details":{"thinking_tokens":5}})
    );
    // Indexes count up block by block.
    let starts: Vec<u64> = events
        .iter()
        .filter(|e| e["type"] == "content_block_start")
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(starts, [0, 1, 2, 3]);
    assert!(
        !sse.contains("raw, not shown"),
        "raw reasoning stays out beside a summary"
    );
    assert!(w.finished());
}

/// The answer as an Anthropic client keeps it (the library's own Messages decoder), sent
/// back in the next request, gives each upstream exactly its state again.
#[test]
fn state_survives_a_round_trip_through_an_anthropic_client() {
    let mut w = SseWriter::new(ProviderId::Gemini);
    let sse = run(&mut w);
    let kept = sxnet::providers::anthropic::decode_body([sse.as_bytes()], &mut |_| {}).unwrap();
    assert_eq!(kept.message.text(), "Reading a.txt.");
    assert_eq!(kept.usage.input_tokens, 120, "usage passes through");
    assert_eq!(kept.usage.cache_read_tokens, 100);
    assert_eq!(kept.usage.reasoning_tokens, 5);
    // The client's history, in the Messages shape (what its next request carries).
    let content: Vec<serde_json::Value> = kept
        .message
        .content
        .iter()
        .map(|b| match b {
            Block::Thinking(t) if t.replay.is_some() => t.replay.clone().unwrap(),
            Block::Thinking(t) => json!({"type":"thinking","thinking":t.text,
                                         "signature":t.signature.clone().unwrap()}),
            Block::Text { text, .. } => json!({"type":"text","text":text}),
            Block::ToolCall(c) => json!({"type":"tool_use","id":c.id,"name":c.name,
                                         "input":c.input().unwrap()}),
            other => panic!("{other:?}"),
        })
        .collect();
    let body = json!({"model":"m","max_tokens":5,"messages":[
        {"role":"user","content":"go"},
        {"role":"assistant","content":content},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"call_7","content":"x"}]}]});
    let inc = Incoming::parse(body.to_string().as_bytes()).unwrap();
    let back = inc.conversation(ProviderId::Gemini).unwrap();
    let assistant = &back[1].content;
    let Block::Thinking(t) = &assistant[0] else {
        panic!("{assistant:?}")
    };
    assert_eq!(
        t,
        &codex_thinking_without_raw(),
        "the codex reasoning item, whole"
    );
    let Block::ToolCall(c) = assistant.last().unwrap() else {
        panic!("{assistant:?}")
    };
    assert_eq!(c, &signed_call(), "the call with its own signature");
    // To another upstream the call goes without it.
    let back = inc.conversation(ProviderId::Codex).unwrap();
    let Block::ToolCall(c) = back[1].content.last().unwrap() else {
        panic!()
    };
    assert_eq!(c.signature, None);
}

fn codex_thinking_without_raw() -> Thinking {
    codex_thinking()
}

#[test]
fn the_json_answer_carries_the_same_blocks() {
    let c = completion(
        vec![
            Block::Thinking(codex_thinking()),
            Block::text("Reading a.txt."),
            Block::ToolCall(signed_call()),
        ],
        StopReason::ToolUse,
    );
    let v: serde_json::Value =
        serde_json::from_slice(&message_json("msg_1", "claude-x", ProviderId::Gemini, &c)).unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["model"], "claude-x");
    assert_eq!(v["stop_reason"], "tool_use");
    let types: Vec<&str> = v["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["thinking", "text", "redacted_thinking", "tool_use"]);
    assert!(
        v["content"][0]["signature"]
            .as_str()
            .unwrap()
            .starts_with("sxr1.")
    );
    assert_eq!(v["content"][3]["input"], json!({"path":"a.txt"}));
    assert_eq!(v["usage"]["input_tokens"], 20);
}

#[test]
fn a_retry_after_content_breaks_the_stream_and_before_it_does_not() {
    let retry = StreamEvent::Retry {
        attempt: 1,
        max: 5,
        delay: std::time::Duration::from_millis(1),
        reason: "dropped",
    };
    let mut w = SseWriter::new(ProviderId::Codex);
    w.start("m", "x", 0);
    assert_eq!(w.on_event(retry), Step::Go);
    assert!(!w.content_sent());
    assert_eq!(w.on_event(StreamEvent::TextDelta("hi")), Step::Go);
    assert_eq!(w.on_event(retry), Step::Broken);
    w.fail("api_error", "broke");
    let events = sx_testkit::sse::decode(std::str::from_utf8(&w.take()).unwrap());
    let last = events.last().unwrap();
    assert_eq!(
        last,
        &json!({"type":"error","error":{"type":"api_error","message":"broke"}})
    );
    // The text block was closed before the error.
    assert_eq!(events[events.len() - 2]["type"], "content_block_stop");
    w.ping();
    w.finish(&completion(vec![], StopReason::EndTurn));
    assert!(!w.has_output(), "nothing after the error");
}

#[test]
fn thinking_without_text_or_deltas_and_late_state() {
    // Gemini's text signature: a thinking block with no text, after the text.
    let sig = Thinking {
        text: String::new(),
        raw: None,
        signature: Some("g".into()),
        source: Some(ProviderId::Gemini),
        replay: Some(json!({"thoughtSignature":"g"})),
    };
    let mut w = SseWriter::new(ProviderId::Gemini);
    w.start("m", "x", 0);
    w.on_event(StreamEvent::TextDelta("Answer."));
    w.on_event(StreamEvent::Thinking(&sig));
    // A wire that never announced its thinking: its state still goes out, at the end.
    let late = codex_thinking();
    w.finish(&completion(
        vec![
            Block::text("Answer."),
            Block::Thinking(sig.clone()),
            Block::Thinking(late),
        ],
        StopReason::EndTurn,
    ));
    let events = sx_testkit::sse::decode(std::str::from_utf8(&w.take()).unwrap());
    let blocks: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "content_block_start")
        .map(|e| e["content_block"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(blocks, ["text", "redacted_thinking", "redacted_thinking"]);
    let last_stop = events
        .iter()
        .rev()
        .find(|e| e["type"] == "message_delta")
        .unwrap();
    assert_eq!(last_stop["delta"]["stop_reason"], "end_turn");
}
