//! Ground-truth captures of the official client (`tests/fixtures/captures/*.json`)
//! and a structural comparison of a recorded request against one — the idea of
//! `compare_capture.py`, as data for tests to judge.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use crate::Recorded;

/// Headers that differ by transport, never by client behaviour; [`compare`] skips them.
pub const IGNORED_HEADERS: &[&str] = &["host", "content-length", "connection", "accept-encoding"];

/// Headers whose values change per run or per machine (ids, tokens, sizes); [`compare`]
/// compares their presence only (the list of `compare_capture.py`).
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

    /// The `type` of each `input` item, in order (e.g. `message`, `function_call`).
    pub fn input_item_types(&self) -> Vec<String> {
        self.body
            .get("input")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|item| {
                        item.get("type")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Every key path of a JSON value, `compare_capture.py` style: nested keys joined
/// with `.`, list positions collapsed to `[]` (`input[].content[].text`).
pub fn key_paths(value: &Value) -> BTreeSet<String> {
    fn walk(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(child, &path, out);
                    out.insert(path);
                }
            }
            Value::Array(items) => {
                let path = format!("{prefix}[]");
                for item in items {
                    walk(item, &path, out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(value, "", &mut out);
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

/// A header present on both sides with different values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderValueDiff {
    /// Lower-case header name.
    pub name: String,
    /// Value in the capture (ground truth).
    pub expected: String,
    /// Value in the recorded request.
    pub actual: String,
}

/// How a recorded request differs in shape from a capture. All lists are sorted and
/// hold lower-case header names / body keys; "missing" means in the capture but not in
/// the recording, "extra" the reverse.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShapeDiff {
    pub missing_headers: Vec<String>,
    pub extra_headers: Vec<String>,
    /// Top-level body keys.
    pub missing_body_keys: Vec<String>,
    pub extra_body_keys: Vec<String>,
    /// Nested key paths (see [`key_paths`]).
    pub missing_body_paths: Vec<String>,
    pub extra_body_paths: Vec<String>,
    /// Stable headers (not in [`VOLATILE_HEADERS`]) whose values differ.
    pub header_value_diffs: Vec<HeaderValueDiff>,
}

impl ShapeDiff {
    /// No difference of any kind.
    pub fn is_empty(&self) -> bool {
        *self == ShapeDiff::default()
    }
}

impl fmt::Display for ShapeDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lists = [
            ("header missing", &self.missing_headers),
            ("header extra", &self.extra_headers),
            ("body key missing", &self.missing_body_keys),
            ("body key extra", &self.extra_body_keys),
            ("body path missing", &self.missing_body_paths),
            ("body path extra", &self.extra_body_paths),
        ];
        for (label, items) in lists {
            for item in items {
                writeln!(f, "{label}: {item}")?;
            }
        }
        for diff in &self.header_value_diffs {
            writeln!(
                f,
                "header value differs: {} | capture: {} | recorded: {}",
                diff.name, diff.expected, diff.actual
            )?;
        }
        Ok(())
    }
}

/// Compare `rec` with `cap`: header names (ignoring [`IGNORED_HEADERS`]), values of
/// stable headers, top-level body keys and nested body key paths. A body that is not
/// JSON counts as having no keys.
pub fn compare(rec: &Recorded, cap: &Capture) -> ShapeDiff {
    let relevant = |name: &str| !IGNORED_HEADERS.contains(&name);
    let lower = |pairs: &[(String, String)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .filter(|(n, _)| relevant(n))
            .collect()
    };
    let expected = lower(&cap.headers);
    let actual = lower(&rec.headers);
    let names = |pairs: &[(String, String)]| -> BTreeSet<String> {
        pairs.iter().map(|(n, _)| n.clone()).collect()
    };
    let (want, have) = (names(&expected), names(&actual));
    let header_value_diffs = want
        .intersection(&have)
        .filter(|name| !VOLATILE_HEADERS.contains(&name.as_str()))
        .filter_map(|name| {
            let value = |pairs: &[(String, String)]| {
                pairs
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let (expected, actual) = (value(&expected), value(&actual));
            (expected != actual).then(|| HeaderValueDiff {
                name: name.clone(),
                expected,
                actual,
            })
        })
        .collect();

    let rec_body: Value = serde_json::from_slice(&rec.body).unwrap_or(Value::Null);
    let want_keys: BTreeSet<String> = cap.body_keys().into_iter().collect();
    let have_keys: BTreeSet<String> = top_level_keys(&rec_body).into_iter().collect();
    let want_paths = cap.body_paths();
    let have_paths = key_paths(&rec_body);
    let minus = |a: &BTreeSet<String>, b: &BTreeSet<String>| a.difference(b).cloned().collect();
    ShapeDiff {
        missing_headers: minus(&want, &have),
        extra_headers: minus(&have, &want),
        missing_body_keys: minus(&want_keys, &have_keys),
        extra_body_keys: minus(&have_keys, &want_keys),
        missing_body_paths: minus(&want_paths, &have_paths),
        extra_body_paths: minus(&have_paths, &want_paths),
        header_value_diffs,
    }
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
    fn shape_diff_display_lists_everything() {
        let diff = ShapeDiff {
            missing_headers: vec!["originator".into()],
            header_value_diffs: vec![HeaderValueDiff {
                name: "accept".into(),
                expected: "text/event-stream".into(),
                actual: "*/*".into(),
            }],
            ..ShapeDiff::default()
        };
        assert!(!diff.is_empty());
        let text = diff.to_string();
        assert!(text.contains("header missing: originator"));
        assert!(text.contains("header value differs: accept"));
        assert!(ShapeDiff::default().is_empty());
    }
}
