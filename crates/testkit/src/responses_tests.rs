//! Unit tests of `responses` (a sibling file keeps the module short).
use super::*;

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[test]
fn text_turn_has_the_real_order_and_numbering() {
    let events = text_turn("Hello from the mock.");
    assert_eq!(
        types(&events),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["sequence_number"], json!(i));
    }
    let deltas: String = events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, "Hello from the mock.");
    let done = &events[10]["response"];
    assert_eq!(done["usage"]["input_tokens"], 42);
    assert_eq!(done["usage"]["total_tokens"], 49);
    assert_eq!(
        done["output"][0]["content"][0]["text"],
        "Hello from the mock."
    );
}

#[test]
fn output_index_follows_item_order() {
    let events = reasoning_then_text("Thinking", "Done.");
    for e in &events {
        let id = e
            .get("item_id")
            .or_else(|| e.get("item").and_then(|i| i.get("id")));
        match id.and_then(Value::as_str) {
            Some(REASONING_ID) => assert_eq!(e["output_index"], 0, "{e}"),
            Some(MSG_ID) => assert_eq!(e["output_index"], 1, "{e}"),
            _ => assert!(e.get("output_index").is_none()),
        }
    }
    let output = &events.last().unwrap()["response"]["output"];
    assert_eq!(output[0]["encrypted_content"], ENCRYPTED_CONTENT);
    assert_eq!(output[1]["type"], "message");
}

#[test]
fn function_call_turn_carries_the_arguments_string() {
    let args = r#"{"cmd":"echo hi"}"#;
    let events = function_call_turn("call_1", "exec_command", args);
    let done = events
        .iter()
        .find(|e| e["type"] == "response.output_item.done")
        .unwrap();
    assert_eq!(done["item"]["arguments"], args);
    assert_eq!(done["item"]["call_id"], "call_1");
    let deltas: String = events
        .iter()
        .filter(|e| e["type"] == "response.function_call_arguments.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, args);
}

#[test]
fn split_deltas_rebuilds_the_text() {
    for text in [
        "",
        "a",
        "ab",
        "one",
        "two words",
        "Hello from the mock.",
        "é ü ö ä x y z",
    ] {
        let parts = split_deltas(text);
        assert!(parts.len() <= 3);
        assert_eq!(parts.concat(), text);
        assert!(parts.iter().all(|p| !p.is_empty()));
    }
    assert_eq!(
        split_deltas("Hello from the mock."),
        ["Hello from ", "the ", "mock."]
    );
}

#[test]
fn failure_payloads_have_the_documented_shape() {
    let f = failed("context_length_exceeded", "too long");
    assert_eq!(f["response"]["status"], "failed");
    assert_eq!(f["response"]["error"]["code"], "context_length_exceeded");
    let i = incomplete("max_output_tokens");
    assert_eq!(
        i["response"]["incomplete_details"]["reason"],
        "max_output_tokens"
    );
    let m = message_done("m", "t", Some("commentary"));
    assert_eq!(m["item"]["phase"], "commentary");
    assert!(message_done("m", "t", None)["item"].get("phase").is_none());
}
