//! Builders for Codex Responses stream events (`serde_json::Value`s with the real
//! field shapes: `type`, `sequence_number`, `output_index`, `item_id`,
//! `content_index`, …), as `openai_event_dicts` in `capture_server.py` and the
//! payloads of docs/protocols/codex.md §C.
//!
//! Single-event builders leave `sequence_number` and `output_index` at 0; pass the
//! whole list through [`finalize`] to number them the way the server does. The
//! `*_turn` and `*_events` helpers do that already, so
//! `sse::encode(&text_turn("hi"))` is a complete, realistic stream.

use std::collections::HashMap;

use serde_json::{Value, json};

/// The SSE framing helpers, also reachable as `responses::sse` /
/// `responses::with_line_endings`.
pub use crate::sse;
pub use crate::sse::{LineEnding, with_line_endings};

/// `model` in every response object.
pub const MODEL: &str = "gpt-5.5";
/// `created_at` in every response object (fixed so fixtures are stable).
pub const CREATED_AT: i64 = 1_767_225_600;
/// Response id used by the `*_turn` helpers, [`failed`] and [`incomplete`].
pub const RESP_ID: &str = "resp_mock_0001";
/// Assistant message item id used by the `*_turn` helpers.
pub const MSG_ID: &str = "msg_mock_0001";
/// Reasoning item id used by [`reasoning_then_text`].
pub const REASONING_ID: &str = "rs_mock_0001";
/// Function-call item id used by [`function_call_turn`].
pub const FUNCTION_CALL_ID: &str = "fc_mock_0001";
/// Opaque `encrypted_content` of the reasoning helpers (the client must echo it back
/// verbatim).
pub const ENCRYPTED_CONTENT: &str = "gAAAAABpbW9jay1lbmNyeXB0ZWQtcmVhc29uaW5nLTAwMDE=";

/// Token usage as reported in `response.completed` (docs/protocols/codex.md §C.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// `input_tokens`
    pub input: u64,
    /// `input_tokens_details.cached_tokens`
    pub cached: u64,
    /// `output_tokens`
    pub output: u64,
    /// `output_tokens_details.reasoning_tokens`
    pub reasoning: u64,
}

impl Usage {
    /// The wire object, with `total_tokens = input + output`.
    pub fn to_json(self) -> Value {
        json!({
            "input_tokens": self.input,
            "input_tokens_details": {"cached_tokens": self.cached},
            "output_tokens": self.output,
            "output_tokens_details": {"reasoning_tokens": self.reasoning},
            "total_tokens": self.input + self.output,
        })
    }
}

fn response_object(resp_id: &str, status: &str) -> Value {
    json!({
        "id": resp_id,
        "object": "response",
        "created_at": CREATED_AT,
        "status": status,
        "model": MODEL,
        "output": [],
    })
}

/// `response.created`
pub fn created(resp_id: &str) -> Value {
    json!({"type": "response.created", "sequence_number": 0,
           "response": response_object(resp_id, "in_progress")})
}

/// `response.in_progress`
pub fn in_progress(resp_id: &str) -> Value {
    json!({"type": "response.in_progress", "sequence_number": 0,
           "response": response_object(resp_id, "in_progress")})
}

fn item_added(item: Value) -> Value {
    json!({"type": "response.output_item.added", "sequence_number": 0, "output_index": 0,
           "item": item})
}

fn item_done(item: Value) -> Value {
    json!({"type": "response.output_item.done", "sequence_number": 0, "output_index": 0,
           "item": item})
}

fn output_text_part(text: &str) -> Value {
    json!({"type": "output_text", "annotations": [], "text": text})
}

/// `response.output_item.added` of an empty assistant `message`.
pub fn message_added(item_id: &str) -> Value {
    item_added(
        json!({"id": item_id, "type": "message", "status": "in_progress",
                      "content": [], "role": "assistant"}),
    )
}

/// `response.content_part.added` (an empty `output_text` part, `content_index` 0).
pub fn content_part_added(item_id: &str) -> Value {
    json!({"type": "response.content_part.added", "sequence_number": 0, "item_id": item_id,
           "output_index": 0, "content_index": 0, "part": output_text_part("")})
}

/// `response.output_text.delta`
pub fn output_text_delta(item_id: &str, delta: &str) -> Value {
    json!({"type": "response.output_text.delta", "sequence_number": 0, "item_id": item_id,
           "output_index": 0, "content_index": 0, "delta": delta})
}

/// `response.output_text.done`
pub fn output_text_done(item_id: &str, text: &str) -> Value {
    json!({"type": "response.output_text.done", "sequence_number": 0, "item_id": item_id,
           "output_index": 0, "content_index": 0, "text": text})
}

/// `response.content_part.done`
pub fn content_part_done(item_id: &str, text: &str) -> Value {
    json!({"type": "response.content_part.done", "sequence_number": 0, "item_id": item_id,
           "output_index": 0, "content_index": 0, "part": output_text_part(text)})
}

/// `response.output_item.done` of a completed assistant message; `phase` is
/// `commentary` or `final_answer` when the model sets one.
pub fn message_done(item_id: &str, text: &str, phase: Option<&str>) -> Value {
    let mut item = json!({"id": item_id, "type": "message", "status": "completed",
                          "content": [output_text_part(text)], "role": "assistant"});
    if let Some(phase) = phase {
        item["phase"] = json!(phase);
    }
    item_done(item)
}

/// `response.output_item.added` of a `reasoning` item with an empty summary.
pub fn reasoning_added(item_id: &str) -> Value {
    item_added(json!({"id": item_id, "type": "reasoning", "summary": []}))
}

/// `response.reasoning_summary_part.added`
pub fn reasoning_summary_part_added(item_id: &str, summary_index: u32) -> Value {
    json!({"type": "response.reasoning_summary_part.added", "sequence_number": 0,
           "item_id": item_id, "output_index": 0, "summary_index": summary_index,
           "part": {"type": "summary_text", "text": ""}})
}

/// `response.reasoning_summary_text.delta`
pub fn reasoning_summary_text_delta(item_id: &str, summary_index: u32, delta: &str) -> Value {
    json!({"type": "response.reasoning_summary_text.delta", "sequence_number": 0,
           "item_id": item_id, "output_index": 0, "summary_index": summary_index,
           "delta": delta})
}

/// `response.reasoning_summary_text.done`
pub fn reasoning_summary_text_done(item_id: &str, summary_index: u32, text: &str) -> Value {
    json!({"type": "response.reasoning_summary_text.done", "sequence_number": 0,
           "item_id": item_id, "output_index": 0, "summary_index": summary_index,
           "text": text})
}

/// `response.reasoning_summary_part.done`
pub fn reasoning_summary_part_done(item_id: &str, summary_index: u32, text: &str) -> Value {
    json!({"type": "response.reasoning_summary_part.done", "sequence_number": 0,
           "item_id": item_id, "output_index": 0, "summary_index": summary_index,
           "part": {"type": "summary_text", "text": text}})
}

/// `response.output_item.done` of a `reasoning` item carrying its summaries and
/// `encrypted_content`.
pub fn reasoning_done(item_id: &str, summary_texts: &[&str], encrypted_content: &str) -> Value {
    let summary: Vec<Value> = summary_texts
        .iter()
        .map(|text| json!({"type": "summary_text", "text": text}))
        .collect();
    item_done(
        json!({"id": item_id, "type": "reasoning", "encrypted_content": encrypted_content,
                     "summary": summary}),
    )
}

/// `response.output_item.added` of a `function_call` (empty arguments).
pub fn function_call_added(item_id: &str, call_id: &str, name: &str) -> Value {
    item_added(
        json!({"id": item_id, "type": "function_call", "status": "in_progress",
                      "arguments": "", "call_id": call_id, "name": name}),
    )
}

/// `response.function_call_arguments.delta`
pub fn function_call_arguments_delta(item_id: &str, delta: &str) -> Value {
    json!({"type": "response.function_call_arguments.delta", "sequence_number": 0,
           "item_id": item_id, "output_index": 0, "delta": delta})
}

/// `response.function_call_arguments.done`
pub fn function_call_arguments_done(item_id: &str, arguments: &str) -> Value {
    json!({"type": "response.function_call_arguments.done", "sequence_number": 0,
           "item_id": item_id, "output_index": 0, "arguments": arguments})
}

/// `response.output_item.done` of a completed `function_call`; `arguments` is the
/// JSON-encoded argument object, as a string.
pub fn function_call_done(item_id: &str, call_id: &str, name: &str, arguments: &str) -> Value {
    item_done(
        json!({"id": item_id, "type": "function_call", "status": "completed",
                     "arguments": arguments, "call_id": call_id, "name": name}),
    )
}

/// `response.output_item.added` of a freeform `custom_tool_call` (e.g. `apply_patch`).
pub fn custom_tool_call_added(item_id: &str, call_id: &str, name: &str) -> Value {
    item_added(
        json!({"id": item_id, "type": "custom_tool_call", "status": "in_progress",
                      "call_id": call_id, "input": "", "name": name}),
    )
}

/// `response.custom_tool_call_input.delta`
pub fn custom_tool_call_input_delta(item_id: &str, call_id: &str, delta: &str) -> Value {
    json!({"type": "response.custom_tool_call_input.delta", "sequence_number": 0,
           "item_id": item_id, "call_id": call_id, "output_index": 0, "delta": delta})
}

/// `response.output_item.done` of a completed `custom_tool_call`.
pub fn custom_tool_call_done(item_id: &str, call_id: &str, name: &str, input: &str) -> Value {
    item_done(
        json!({"id": item_id, "type": "custom_tool_call", "status": "completed",
                     "call_id": call_id, "input": input, "name": name}),
    )
}

/// `response.completed` with `usage`; [`finalize`] fills `response.output` with the
/// items of the preceding `response.output_item.done` events.
pub fn completed(resp_id: &str, usage: Usage) -> Value {
    let mut response = response_object(resp_id, "completed");
    response["usage"] = usage.to_json();
    json!({"type": "response.completed", "sequence_number": 0, "response": response})
}

/// `response.failed` with `response.error.{code,message}` (docs/protocols/codex.md §C.5, D.2), for
/// response [`RESP_ID`].
pub fn failed(code: &str, message: &str) -> Value {
    let mut response = response_object(RESP_ID, "failed");
    response["error"] = json!({"code": code, "message": message});
    response["usage"] = Value::Null;
    json!({"type": "response.failed", "sequence_number": 0, "response": response})
}

/// `response.incomplete` with `incomplete_details.reason` (e.g. `max_output_tokens`),
/// for response [`RESP_ID`].
pub fn incomplete(reason: &str) -> Value {
    let mut response = response_object(RESP_ID, "incomplete");
    response["incomplete_details"] = json!({"reason": reason});
    json!({"type": "response.incomplete", "sequence_number": 0, "response": response})
}

/// Number a stream the way the server does: `sequence_number` 0, 1, 2… in order;
/// `output_index` by the order in which items first appear (per `item.id` /
/// `item_id`); and an empty `response.output` of `response.completed` filled with the
/// items of the `response.output_item.done` events before it.
pub fn finalize(mut events: Vec<Value>) -> Vec<Value> {
    let mut indexes: HashMap<String, usize> = HashMap::new();
    let mut done_items = Vec::new();
    for (seq, event) in events.iter_mut().enumerate() {
        let Some(obj) = event.as_object_mut() else {
            continue;
        };
        obj.insert("sequence_number".to_owned(), json!(seq));
        let item_id = obj
            .get("item")
            .and_then(|item| item.get("id"))
            .or_else(|| obj.get("item_id"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(item_id) = item_id {
            let next = indexes.len();
            let index = *indexes.entry(item_id).or_insert(next);
            if let Some(slot) = obj.get_mut("output_index") {
                *slot = json!(index);
            }
        }
        match obj.get("type").and_then(Value::as_str) {
            Some("response.output_item.done") => {
                done_items.push(obj.get("item").cloned().unwrap_or(Value::Null));
            }
            Some("response.completed") => {
                if let Some(output) = obj.get_mut("response").and_then(|r| r.get_mut("output"))
                    && output.as_array().is_some_and(Vec::is_empty)
                {
                    *output = Value::Array(done_items.clone());
                }
            }
            _ => {}
        }
    }
    events
}

/// Split `text` into about three deltas whose concatenation is `text`: by words when
/// it has several, else by characters. Empty text gives no deltas.
pub fn split_deltas(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    let units: Vec<String> = if words.len() >= 2 {
        words.into_iter().map(str::to_owned).collect()
    } else {
        text.chars().map(String::from).collect()
    };
    let pieces = units.len().min(3);
    if pieces == 0 {
        return Vec::new();
    }
    let (base, extra) = (units.len() / pieces, units.len() % pieces);
    let mut units = units.into_iter();
    (0..pieces)
        .map(|i| units.by_ref().take(base + usize::from(i < extra)).collect())
        .collect()
}

/// The events of one assistant message item: added, content part added, deltas
/// (see [`split_deltas`]), text done, content part done, item done.
pub fn message_events(item_id: &str, text: &str, phase: Option<&str>) -> Vec<Value> {
    let mut events = vec![message_added(item_id), content_part_added(item_id)];
    events.extend(
        split_deltas(text)
            .iter()
            .map(|d| output_text_delta(item_id, d)),
    );
    events.extend([
        output_text_done(item_id, text),
        content_part_done(item_id, text),
        message_done(item_id, text, phase),
    ]);
    events
}

/// The events of one reasoning item with a single summary part streamed in deltas.
pub fn reasoning_events(item_id: &str, summary: &str, encrypted_content: &str) -> Vec<Value> {
    let mut events = vec![
        reasoning_added(item_id),
        reasoning_summary_part_added(item_id, 0),
    ];
    events.extend(
        split_deltas(summary)
            .iter()
            .map(|d| reasoning_summary_text_delta(item_id, 0, d)),
    );
    events.extend([
        reasoning_summary_text_done(item_id, 0, summary),
        reasoning_summary_part_done(item_id, 0, summary),
        reasoning_done(item_id, &[summary], encrypted_content),
    ]);
    events
}

/// The events of one function call item with its arguments streamed in deltas.
pub fn function_call_events(item_id: &str, call_id: &str, name: &str, args: &str) -> Vec<Value> {
    let mut events = vec![function_call_added(item_id, call_id, name)];
    events.extend(
        split_deltas(args)
            .iter()
            .map(|d| function_call_arguments_delta(item_id, d)),
    );
    events.extend([
        function_call_arguments_done(item_id, args),
        function_call_done(item_id, call_id, name, args),
    ]);
    events
}

fn turn(items: Vec<Vec<Value>>, usage: Usage) -> Vec<Value> {
    let mut events = vec![created(RESP_ID), in_progress(RESP_ID)];
    events.extend(items.into_iter().flatten());
    events.push(completed(RESP_ID, usage));
    finalize(events)
}

/// A complete normal stream answering `text` (split in about three deltas), usage
/// 42 in / 0 cached / 7 out / 0 reasoning.
pub fn text_turn(text: &str) -> Vec<Value> {
    let usage = Usage {
        input: 42,
        cached: 0,
        output: 7,
        reasoning: 0,
    };
    turn(vec![message_events(MSG_ID, text, None)], usage)
}

/// A reasoning item (summary streamed, [`ENCRYPTED_CONTENT`]) then an assistant
/// message; usage 42 / 0 / 19 / 12.
pub fn reasoning_then_text(summary: &str, text: &str) -> Vec<Value> {
    let usage = Usage {
        input: 42,
        cached: 0,
        output: 19,
        reasoning: 12,
    };
    let items = vec![
        reasoning_events(REASONING_ID, summary, ENCRYPTED_CONTENT),
        message_events(MSG_ID, text, None),
    ];
    turn(items, usage)
}

/// A stream whose only output is one function call (`args_json` is the JSON-encoded
/// arguments string); usage 42 / 0 / 7 / 0.
pub fn function_call_turn(call_id: &str, name: &str, args_json: &str) -> Vec<Value> {
    let usage = Usage {
        input: 42,
        cached: 0,
        output: 7,
        reasoning: 0,
    };
    turn(
        vec![function_call_events(
            FUNCTION_CALL_ID,
            call_id,
            name,
            args_json,
        )],
        usage,
    )
}

/// A complete stream whose only item is a freeform `custom_tool_call` to `name` with raw
/// `input` (as the code-mode models answer; tests/fixtures/captures/codex-followup-codemode-request.json),
/// input streamed in one delta; usage 42 / 0 / 7 / 0.
pub fn custom_tool_call_turn(call_id: &str, name: &str, input: &str) -> Vec<Value> {
    let usage = Usage {
        input: 42,
        cached: 0,
        output: 7,
        reasoning: 0,
    };
    let item = "ctc_mock_0001";
    turn(
        vec![vec![
            custom_tool_call_added(item, call_id, name),
            custom_tool_call_input_delta(item, call_id, input),
            custom_tool_call_done(item, call_id, name, input),
        ]],
        usage,
    )
}

#[cfg(test)]
#[path = "responses_tests.rs"]
mod tests;
