//! Ground-truth captures of the official client (`tests/fixtures/captures/*.json`)
//! and a structural comparison of a recorded request against one — the algorithm of
//! `tests/fixtures/captures/compare_capture.py`, as data for tests to judge:
//!
//! - header names present on one side only (ignoring [`IGNORED_HEADERS`], transport details);
//! - the values of the *stable* headers: every header not in [`VOLATILE_HEADERS`] (ids,
//!   tokens, sizes, the user agent) — for the Codex requests that is `accept`,
//!   `content-type`, `content-encoding`, `originator` and the `version`/`x-codex-*`/
//!   `x-openai-*` feature headers;
//! - every body key path present on one side only ([`typed_key_paths`]: nested keys joined
//!   with `.`, list elements that carry a `type` told apart by it, e.g.
//!   `input[function_call].call_id`, others collapsed to `[]` — finer than the script's
//!   `input[].call_id`, so a key moving from one item type to another is seen).
//!
//! A test states every difference it accepts in an allow-list with a reason per entry
//! ([`Allowed`], [`ShapeDiff::assert_explained`]); an entry that matches nothing fails too,
//! so the list cannot go stale.

mod diff;

use std::collections::BTreeSet;

use serde_json::Value;

pub use diff::{Allowed, HeaderValueDiff, Kind, ShapeDiff, allow, compare};

/// Headers that differ by transport, never by client behaviour; [`compare`] skips them.
pub const IGNORED_HEADERS: &[&str] = &["host", "content-length", "connection"];

/// Headers whose values change per run or per machine (ids, tokens, sizes, the user agent);
/// [`compare`] compares their presence only (the list of `compare_capture.py`). Every other
/// header is *stable*: its value is compared too.
pub const VOLATILE_HEADERS: &[&str] = &[
    "content-length",
    "host",
    "authorization",
    "x-api-key",
    "x-goog-api-key",
    "x-client-request-id",
    "session-id",
    "thread-id",
    "x-codex-window-id",
    "x-codex-turn-metadata",
    "x-claude-code-session-id",
    "sec-websocket-key",
    "chatgpt-account-id",
    "x-gemini-api-privileged-user-id",
    "user-agent",
];

/// One captured request.
#[derive(Clone, Debug)]
pub struct Capture {
    /// File name under `tests/fixtures/captures/`.
    pub name: String,
    /// `seq` of the request inside a multi-request file.
    pub seq: Option<u64>,
    /// e.g. `POST`, `GET`, `WS-MESSAGE`.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// `[name, value]` pairs as captured (wire order and case).
    pub headers: Vec<(String, String)>,
    body: Value,
}

impl Capture {
    /// The request in `tests/fixtures/captures/<name>`; for a file with a
    /// `requests: [...]` list, the last one (as `compare_capture.py`).
    ///
    /// # Panics
    /// If the file is missing, not JSON, or holds no request.
    pub fn load(name: &str) -> Capture {
        Capture::load_all(name)
            .pop()
            .unwrap_or_else(|| panic!("capture {name} holds no request"))
    }

    /// The request with `seq` in a multi-request capture file.
    ///
    /// # Panics
    /// If there is no such request; the message lists the seqs that exist.
    pub fn load_seq(name: &str, seq: u64) -> Capture {
        let all = Capture::load_all(name);
        let seqs: Vec<Option<u64>> = all.iter().map(|c| c.seq).collect();
        all.into_iter()
            .find(|c| c.seq == Some(seq))
            .unwrap_or_else(|| {
                panic!("capture {name} has no request with seq {seq} (has {seqs:?})")
            })
    }

    /// Every request of a capture file, in file order.
    pub fn load_all(name: &str) -> Vec<Capture> {
        let doc = crate::fixture_json(&format!("captures/{name}"));
        let requests = match doc.get("requests").and_then(Value::as_array) {
            Some(list) => list.clone(),
            None => vec![doc],
        };
        requests
            .iter()
            .map(|req| Capture::from_json(name, req))
            .collect()
    }

    fn from_json(name: &str, req: &Value) -> Capture {
        let text = |key: &str| {
            req.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let headers = req
            .get("headers")
            .and_then(Value::as_array)
            .map(|pairs| {
                pairs
                    .iter()
                    .filter_map(|pair| {
                        let name = pair.get(0)?.as_str()?;
                        let value = pair.get(1)?.as_str()?;
                        Some((name.to_owned(), value.to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let path = text("path");
        Capture {
            name: name.to_owned(),
            seq: req.get("seq").and_then(Value::as_u64),
            method: text("method"),
            path: path
                .split_once('?')
                .map_or(path.clone(), |(p, _)| p.to_owned()),
            headers,
            body: req.get("body").cloned().unwrap_or(Value::Null),
        }
    }

    /// Header names, lower-cased, in wire order.
    pub fn header_names(&self) -> Vec<String> {
        self.headers
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect()
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The (decoded) JSON body; `Null` when the request had none.
    pub fn body(&self) -> &Value {
        &self.body
    }

    /// Top-level body keys, sorted.
    pub fn body_keys(&self) -> Vec<String> {
        top_level_keys(&self.body)
    }

    /// Every body key path (`a.b`, list positions collapsed to `[]`).
    pub fn body_paths(&self) -> BTreeSet<String> {
        key_paths(&self.body)
    }

    /// Every body key path with typed list elements (see [`typed_key_paths`]).
    pub fn typed_body_paths(&self) -> BTreeSet<String> {
        typed_key_paths(&self.body)
    }

    /// The `type` of each `input` item, in order (e.g. `message`, `function_call`).
    pub fn input_item_types(&self) -> Vec<String> {
        input_item_types(&self.body)
    }
}

/// The `type` of each `input` item of a Responses body, in order; a message is
/// `message:<role>` (e.g. `message:developer`, `function_call`).
pub fn input_item_types(body: &Value) -> Vec<String> {
    body.get("input")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    let ty = item.get("type").and_then(Value::as_str).unwrap_or("");
                    match item.get("role").and_then(Value::as_str) {
                        Some(role) if ty == "message" => format!("{ty}:{role}"),
                        _ => ty.to_owned(),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// [`input_item_types`] with runs of the same kind collapsed to one (the official client
/// sends several developer and user messages where sx sends one of each).
pub fn input_item_kinds(body: &Value) -> Vec<String> {
    let mut kinds = input_item_types(body);
    kinds.dedup();
    kinds
}

/// Every key path of a JSON value, `compare_capture.py` style: nested keys joined
/// with `.`, list positions collapsed to `[]` (`input[].content[].text`).
pub fn key_paths(value: &Value) -> BTreeSet<String> {
    paths(value, false)
}

/// [`key_paths`] with list elements told apart by their `type`: an object element with a
/// string `type` is `[<type>]` (`input[function_call].call_id`,
/// `tools[function].parameters`), any other element `[]`.
pub fn typed_key_paths(value: &Value) -> BTreeSet<String> {
    paths(value, true)
}

fn paths(value: &Value, typed: bool) -> BTreeSet<String> {
    fn walk(value: &Value, prefix: &str, typed: bool, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(child, &path, typed, out);
                    out.insert(path);
                }
            }
            Value::Array(items) => {
                for item in items {
                    let ty = match item.get("type").and_then(Value::as_str) {
                        Some(ty) if typed => ty,
                        _ => "",
                    };
                    walk(item, &format!("{prefix}[{ty}]"), typed, out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(value, "", typed, &mut out);
    out
}

fn top_level_keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn key_paths_collapse_lists() {
        let v = json!({"a": {"b": 1}, "input": [{"type": "m", "content": [{"text": "x"}]}]});
        let paths: Vec<String> = key_paths(&v).into_iter().collect();
        assert_eq!(
            paths,
            [
                "a",
                "a.b",
                "input",
                "input[].content",
                "input[].content[].text",
                "input[].type"
            ]
        );
    }

    #[test]
    fn typed_key_paths_tell_list_elements_apart_by_type() {
        let v = json!({"input": [
            {"type": "message", "content": [{"type": "input_text", "text": "x"}]},
            {"type": "function_call", "call_id": "c"},
            {"no_type": 1},
            "scalar"
        ], "include": ["a"]});
        let paths: Vec<String> = typed_key_paths(&v).into_iter().collect();
        assert_eq!(
            paths,
            [
                "include",
                "input",
                "input[].no_type",
                "input[function_call].call_id",
                "input[function_call].type",
                "input[message].content",
                "input[message].content[input_text].text",
                "input[message].content[input_text].type",
                "input[message].type",
            ]
        );
    }

    #[test]
    fn item_kinds_collapse_runs_and_name_message_roles() {
        let v = json!({"input": [
            {"type": "message", "role": "developer"},
            {"type": "message", "role": "developer"},
            {"type": "message", "role": "user"},
            {"type": "function_call"},
            {"type": "function_call_output"},
            {"type": "function_call"},
        ]});
        assert_eq!(
            input_item_kinds(&v),
            [
                "message:developer",
                "message:user",
                "function_call",
                "function_call_output",
                "function_call"
            ]
        );
        assert_eq!(input_item_types(&v).len(), 6);
    }
}
