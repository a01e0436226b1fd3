//! A non-streamed Responses answer (`"stream": false`, `STREAMING=0`; with an API key only —
//! the ChatGPT backend answers such a request 400 "Stream must be set to true"): one
//! `response` object (tests/fixtures/codex/response_*.json) turned into the events a stream of
//! it carries — `response.output_item.added` for each call, `response.output_item.done` for
//! every item, then `response.completed` / `.incomplete` / `.failed` by its `status` — so
//! [`super::ResponsesStream`] makes the same events and message of it.

use serde_json::{Value, json};

use crate::error::ProviderError;

/// The Responses events equivalent to the whole answer `body`, in stream order.
pub(super) fn events(body: &[u8]) -> Result<Vec<Value>, ProviderError> {
    let response = crate::runtime::whole_json(body)?;
    if response["object"] != "response" {
        return Err(ProviderError::Protocol {
            detail: format!(
                "the answer is not a Responses `response` object: {}",
                crate::error_body::snippet(body)
            ),
        });
    }
    let mut out = Vec::new();
    for item in response["output"].as_array().map_or(&[][..], Vec::as_slice) {
        if matches!(
            item["type"].as_str(),
            Some("function_call" | "custom_tool_call")
        ) {
            out.push(json!({"type": "response.output_item.added", "item": item}));
        }
        out.push(json!({"type": "response.output_item.done", "item": item}));
    }
    let end = match response["status"].as_str() {
        Some("completed") | None => "response.completed",
        Some("incomplete") => "response.incomplete",
        Some("failed") => "response.failed",
        Some(other) => {
            return Err(ProviderError::Protocol {
                detail: format!("the answer's status is {other:?}, not a finished response"),
            });
        }
    };
    out.push(json!({"type": end, "response": response}));
    Ok(out)
}
