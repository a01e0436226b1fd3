//! What a request must look like: expectations set on a route ([`crate::MockServer::expect`])
//! or on one scripted response ([`crate::MockResponse::expecting`]).
//!
//! A request that does not meet them is answered `417 Expectation Failed` with a
//! `mock_expectation_failed` error naming what differed (so the client's own error says it),
//! and the [`Mismatch`] is kept for [`crate::MockServer::verify`]; a server dropped with
//! mismatches nobody looked at panics, so a test cannot pass over one.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::Recorded;

/// The status a request that fails its expectations gets (a code no real backend of ours
/// answers, so the client's error line points at the test, not at the wire).
pub const MISMATCH_STATUS: u16 = 417;

type Check = Arc<dyn Fn(&Recorded) -> Result<(), String> + Send + Sync>;

#[derive(Clone)]
enum Rule {
    Header { name: String, value: String },
    NoHeader(String),
    BodyJson(Value),
    Body { what: String, check: Check },
    SameBody,
    SameHeader(String),
}

/// Requirements on a request; every rule is checked and every failure reported.
#[derive(Clone, Default)]
pub struct Expect {
    rules: Vec<Rule>,
}

impl Expect {
    /// No requirement yet.
    pub fn new() -> Expect {
        Expect::default()
    }

    /// Header `name` (case-insensitive) must be present with exactly `value`.
    pub fn header(mut self, name: &str, value: &str) -> Expect {
        self.rules.push(Rule::Header {
            name: name.to_ascii_lowercase(),
            value: value.to_owned(),
        });
        self
    }

    /// `authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Expect {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Header `name` must be absent.
    pub fn no_header(mut self, name: &str) -> Expect {
        self.rules.push(Rule::NoHeader(name.to_ascii_lowercase()));
        self
    }

    /// The (decoded) body must be JSON equal to `body`.
    pub fn body_json(mut self, body: Value) -> Expect {
        self.rules.push(Rule::BodyJson(body));
        self
    }

    /// `check` must accept the request; `what` names the requirement in the report, the
    /// `Err` text says what was wrong.
    pub fn body(
        mut self,
        what: &str,
        check: impl Fn(&Recorded) -> Result<(), String> + Send + Sync + 'static,
    ) -> Expect {
        self.rules.push(Rule::Body {
            what: what.to_owned(),
            check: Arc::new(check),
        });
        self
    }

    /// The body bytes as sent (before any decoding) must equal those of the first request
    /// to the same route: a retried request is the same request.
    pub fn same_body_as_first(mut self) -> Expect {
        self.rules.push(Rule::SameBody);
        self
    }

    /// Header `name` must have the value it had on the first request to the same route
    /// (or be absent if it was).
    pub fn same_header_as_first(mut self, name: &str) -> Expect {
        self.rules.push(Rule::SameHeader(name.to_ascii_lowercase()));
        self
    }

    /// Add `other`'s rules to these.
    pub(crate) fn extend(&mut self, other: Expect) {
        self.rules.extend(other.rules);
    }

    /// What is wrong with `rec` (empty: nothing); `first` is the first request to the same
    /// route (`None` when `rec` is that request).
    pub(crate) fn problems(&self, rec: &Recorded, first: Option<&Recorded>) -> Vec<String> {
        let mut out = Vec::new();
        for rule in &self.rules {
            match rule {
                Rule::Header { name, value } => match rec.header(name) {
                    Some(got) if got == value => {}
                    Some(got) => {
                        out.push(format!("header {name}: expected {value:?}, got {got:?}"))
                    }
                    None => out.push(format!("header {name}: expected {value:?}, got none")),
                },
                Rule::NoHeader(name) => {
                    if let Some(got) = rec.header(name) {
                        out.push(format!("header {name}: expected none, got {got:?}"));
                    }
                }
                Rule::BodyJson(want) => match serde_json::from_slice::<Value>(&rec.body) {
                    Ok(got) => {
                        if let Some(diff) = json_difference(want, &got, "") {
                            out.push(format!("body JSON: {diff}"));
                        }
                    }
                    Err(err) => out.push(format!("body: expected JSON, got non-JSON ({err})")),
                },
                Rule::Body { what, check } => {
                    if let Err(why) = check(rec) {
                        out.push(format!("body ({what}): {why}"));
                    }
                }
                Rule::SameBody => {
                    if let Some(first) = first
                        && first.raw_body != rec.raw_body
                    {
                        out.push(format!(
                            "body differs from the first request to this route: {}",
                            body_difference(first, rec)
                        ));
                    }
                }
                Rule::SameHeader(name) => {
                    if let Some(first) = first {
                        let (want, got) = (first.header(name), rec.header(name));
                        if want != got {
                            let show =
                                |v: Option<&str>| v.map_or("none".to_owned(), |v| format!("{v:?}"));
                            out.push(format!(
                                "header {name}: expected {} (as on the first request to this route), got {}",
                                show(want),
                                show(got)
                            ));
                        }
                    }
                }
            }
        }
        out
    }
}

impl fmt::Debug for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rules: Vec<String> = self
            .rules
            .iter()
            .map(|rule| match rule {
                Rule::Header { name, value } => format!("header {name}={value:?}"),
                Rule::NoHeader(name) => format!("no header {name}"),
                Rule::BodyJson(_) => "body JSON".to_owned(),
                Rule::Body { what, .. } => format!("body: {what}"),
                Rule::SameBody => "same body as first".to_owned(),
                Rule::SameHeader(name) => format!("same {name} as first"),
            })
            .collect();
        f.debug_tuple("Expect").field(&rules).finish()
    }
}

/// A request that did not meet its expectations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Its position in [`crate::MockServer::requests`].
    pub index: usize,
    pub method: String,
    pub path: String,
    /// One line per unmet requirement.
    pub problems: Vec<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "request #{} {} {}: {}",
            self.index,
            self.method,
            self.path,
            self.problems.join("; ")
        )
    }
}

/// The first place where `got` differs from `want`, as `path: expected …, got …`.
fn json_difference(want: &Value, got: &Value, path: &str) -> Option<String> {
    let here = if path.is_empty() { "(root)" } else { path };
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (key, wv) in w {
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match g.get(key) {
                    Some(gv) => {
                        if let Some(d) = json_difference(wv, gv, &sub) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{sub}: expected {}, missing", short(wv))),
                }
            }
            g.iter()
                .find(|(key, _)| !w.contains_key(*key))
                .map(|(key, gv)| format!("{here}: unexpected key {key:?} = {}", short(gv)))
        }
        (Value::Array(w), Value::Array(g)) => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                if let Some(d) = json_difference(wv, gv, &format!("{path}[{i}]")) {
                    return Some(d);
                }
            }
            (w.len() != g.len())
                .then(|| format!("{here}: expected {} items, got {}", w.len(), g.len()))
        }
        _ => (want != got).then(|| format!("{here}: expected {}, got {}", short(want), short(got))),
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() <= 120 {
        return s;
    }
    let cut = (0..=117)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}…", &s[..cut])
}

/// Where two bodies part: the first differing JSON value when both decode to JSON, else
/// sizes and the first differing byte.
fn body_difference(first: &Recorded, rec: &Recorded) -> String {
    let sizes = format!(
        "{} bytes on the wire, the first request {}",
        rec.raw_body.len(),
        first.raw_body.len()
    );
    let parse = |r: &Recorded| serde_json::from_slice::<Value>(&r.body).ok();
    if let (Some(want), Some(got)) = (parse(first), parse(rec)) {
        return match json_difference(&want, &got, "") {
            Some(d) => format!("{sizes}; {d}"),
            None => format!("{sizes}; same JSON, different bytes (encoding or key order)"),
        };
    }
    let at = first
        .raw_body
        .iter()
        .zip(&rec.raw_body)
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| first.raw_body.len().min(rec.raw_body.len()));
    format!("{sizes}; first difference at byte {at}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rec(headers: &[(&str, &str)], body: &[u8]) -> Recorded {
        let headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        Recorded::new(
            "POST".into(),
            "/x".into(),
            None,
            headers,
            body.to_vec(),
            None,
        )
    }

    #[test]
    fn headers_present_absent_and_wrong_are_each_named() {
        let expect = Expect::new()
            .bearer("tok")
            .header("Originator", "sx")
            .header("x-missing", "1")
            .no_header("x-forbidden");
        let r = rec(
            &[
                ("authorization", "Bearer other"),
                ("originator", "sx"),
                ("x-forbidden", "y"),
            ],
            b"",
        );
        assert_eq!(
            expect.problems(&r, None),
            [
                r#"header authorization: expected "Bearer tok", got "Bearer other""#,
                r#"header x-missing: expected "1", got none"#,
                r#"header x-forbidden: expected none, got "y""#,
            ]
        );
        let ok = rec(
            &[
                ("authorization", "Bearer tok"),
                ("originator", "sx"),
                ("x-missing", "1"),
            ],
            b"",
        );
        assert!(expect.problems(&ok, None).is_empty());
    }

    #[test]
    fn body_json_names_the_first_differing_path() {
        let expect = Expect::new().body_json(json!({"a": {"b": [1, 2]}, "c": "x"}));
        let cases = [
            (
                json!({"a": {"b": [1, 3]}, "c": "x"}),
                "body JSON: a.b[1]: expected 2, got 3",
            ),
            (
                json!({"a": {"b": [1, 2]}}),
                r#"body JSON: c: expected "x", missing"#,
            ),
            (
                json!({"a": {"b": [1, 2]}, "c": "x", "d": 1}),
                r#"body JSON: (root): unexpected key "d" = 1"#,
            ),
            (
                json!({"a": {"b": [1]}, "c": "x"}),
                "body JSON: a.b: expected 2 items, got 1",
            ),
        ];
        for (body, want) in cases {
            let r = rec(&[], body.to_string().as_bytes());
            assert_eq!(expect.problems(&r, None), [want], "{body}");
        }
        assert!(
            expect.problems(&rec(&[], b"nope"), None)[0]
                .starts_with("body: expected JSON, got non-JSON")
        );
        let ok = rec(&[], br#"{"c":"x","a":{"b":[1,2]}}"#);
        assert!(
            expect.problems(&ok, None).is_empty(),
            "key order is not compared"
        );
    }

    #[test]
    fn same_as_first_compares_wire_bytes_and_header_values() {
        let expect = Expect::new()
            .same_body_as_first()
            .same_header_as_first("authorization");
        let first = rec(&[("authorization", "Bearer a")], br#"{"k":1}"#);
        assert!(expect.problems(&first, None).is_empty());
        assert!(expect.problems(&first.clone(), Some(&first)).is_empty());
        let other = rec(&[("authorization", "Bearer b")], br#"{"k":2}"#);
        let problems = expect.problems(&other, Some(&first));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("k: expected 1, got 2"), "{problems:?}");
        assert_eq!(
            problems[1],
            r#"header authorization: expected "Bearer a" (as on the first request to this route), got "Bearer b""#
        );
        let reordered = rec(&[("authorization", "Bearer a")], br#"{ "k":1}"#);
        assert!(
            expect.problems(&reordered, Some(&first))[0].contains("same JSON, different bytes")
        );
    }

    #[test]
    fn a_predicate_reports_its_own_words() {
        let expect = Expect::new().body("model is gpt-5.5", |r| {
            let v: Value = serde_json::from_slice(&r.body).map_err(|e| e.to_string())?;
            (v["model"] == "gpt-5.5")
                .then_some(())
                .ok_or_else(|| format!("model was {}", v["model"]))
        });
        let r = rec(&[], br#"{"model":"gpt-5.4"}"#);
        assert_eq!(
            expect.problems(&r, None),
            [r#"body (model is gpt-5.5): model was "gpt-5.4""#]
        );
    }
}
