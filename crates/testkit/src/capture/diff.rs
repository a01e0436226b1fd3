//! [`compare`]: how a recorded request differs from a capture, and the allow-list a test
//! states the accepted differences in.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use super::{Capture, IGNORED_HEADERS, VOLATILE_HEADERS, typed_key_paths};
use crate::Recorded;

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
/// hold lower-case header names / body key paths; "missing" means in the capture but not
/// in the recording, "extra" the reverse.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShapeDiff {
    pub missing_headers: Vec<String>,
    pub extra_headers: Vec<String>,
    /// Stable headers (not in [`VOLATILE_HEADERS`]) whose values differ.
    pub header_value_diffs: Vec<HeaderValueDiff>,
    /// Body key paths (see [`typed_key_paths`]); top-level keys are paths too.
    pub missing_body_paths: Vec<String>,
    pub extra_body_paths: Vec<String>,
}

/// The kind of one difference, for [`Allowed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A header the capture has and the recording lacks.
    HeaderMissing,
    /// A header the recording has and the capture lacks.
    HeaderExtra,
    /// A stable header whose value differs.
    HeaderValue,
    /// A body key path the capture has and the recording lacks.
    PathMissing,
    /// A body key path the recording has and the capture lacks.
    PathExtra,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::HeaderMissing => "header missing",
            Kind::HeaderExtra => "header extra",
            Kind::HeaderValue => "header value differs",
            Kind::PathMissing => "body path missing",
            Kind::PathExtra => "body path extra",
        }
    }
}

/// One accepted difference: its kind, the header name or body path (`pattern`; a trailing
/// `*` makes it a prefix) and why it is accepted (where it is documented).
#[derive(Clone, Copy, Debug)]
pub struct Allowed {
    pub kind: Kind,
    pub pattern: &'static str,
    pub reason: &'static str,
}

/// Shorthand for an [`Allowed`] entry.
pub const fn allow(kind: Kind, pattern: &'static str, reason: &'static str) -> Allowed {
    Allowed {
        kind,
        pattern,
        reason,
    }
}

impl Allowed {
    fn matches(&self, kind: Kind, item: &str) -> bool {
        kind == self.kind
            && match self.pattern.strip_suffix('*') {
                Some(prefix) => item.starts_with(prefix),
                None => item == self.pattern,
            }
    }
}

impl ShapeDiff {
    /// No difference of any kind.
    pub fn is_empty(&self) -> bool {
        *self == ShapeDiff::default()
    }

    /// Only the header differences.
    pub fn headers(self) -> ShapeDiff {
        ShapeDiff {
            missing_body_paths: Vec::new(),
            extra_body_paths: Vec::new(),
            ..self
        }
    }

    /// Only the body differences.
    pub fn body(self) -> ShapeDiff {
        ShapeDiff {
            missing_headers: Vec::new(),
            extra_headers: Vec::new(),
            header_value_diffs: Vec::new(),
            ..self
        }
    }

    /// Every difference as `(kind, header name or body path)`.
    pub fn items(&self) -> Vec<(Kind, &str)> {
        let mut out = Vec::new();
        let lists = [
            (Kind::HeaderMissing, &self.missing_headers),
            (Kind::HeaderExtra, &self.extra_headers),
            (Kind::PathMissing, &self.missing_body_paths),
            (Kind::PathExtra, &self.extra_body_paths),
        ];
        for (kind, items) in lists {
            out.extend(items.iter().map(|item| (kind, item.as_str())));
        }
        out.extend(
            self.header_value_diffs
                .iter()
                .map(|d| (Kind::HeaderValue, d.name.as_str())),
        );
        out
    }

    /// What `allow` does not account for: the differences no entry matches, and the
    /// entries that match no difference (a stale list hides nothing but misleads). Empty
    /// when every difference is accepted and every entry is needed.
    pub fn unexplained(&self, allow: &[Allowed]) -> Vec<String> {
        let items = self.items();
        let mut out: Vec<String> = items
            .iter()
            .filter(|(kind, item)| !allow.iter().any(|a| a.matches(*kind, item)))
            .map(|(kind, item)| match kind {
                Kind::HeaderValue => {
                    let d = self.header_value_diffs.iter().find(|d| d.name == *item);
                    let (capture, recorded) =
                        d.map_or(("", ""), |d| (d.expected.as_str(), d.actual.as_str()));
                    format!(
                        "{}: {item} | capture: {capture} | recorded: {recorded}",
                        kind.label()
                    )
                }
                _ => format!("{}: {item}", kind.label()),
            })
            .collect();
        out.extend(
            allow
                .iter()
                .filter(|a| !items.iter().any(|(kind, item)| a.matches(*kind, item)))
                .map(|a| {
                    format!(
                        "allowed but no such difference (stale entry): {} {} ({})",
                        a.kind.label(),
                        a.pattern,
                        a.reason
                    )
                }),
        );
        out
    }

    /// Panics unless `allow` accounts for exactly these differences (see
    /// [`ShapeDiff::unexplained`]); `what` names the comparison in the message.
    ///
    /// # Panics
    /// With every unexplained difference and every stale entry, one per line.
    pub fn assert_explained(&self, what: &str, allow: &[Allowed]) {
        let problems = self.unexplained(allow);
        assert!(
            problems.is_empty(),
            "{what}: the request differs from the capture in ways the allow-list does not \
             account for (fix the request, or add an entry with its reason and document it in \
             docs/providers.md):\n  {}",
            problems.join("\n  ")
        );
    }
}

impl fmt::Display for ShapeDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (kind, item) in self.items() {
            if kind == Kind::HeaderValue {
                continue;
            }
            writeln!(f, "{}: {item}", kind.label())?;
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
/// stable headers, and every body key path ([`typed_key_paths`]). A body that is not JSON
/// counts as having no keys.
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
    let want_paths = cap.typed_body_paths();
    let have_paths = typed_key_paths(&rec_body);
    let minus = |a: &BTreeSet<String>, b: &BTreeSet<String>| a.difference(b).cloned().collect();
    ShapeDiff {
        missing_headers: minus(&want, &have),
        extra_headers: minus(&have, &want),
        header_value_diffs,
        missing_body_paths: minus(&want_paths, &have_paths),
        extra_body_paths: minus(&have_paths, &want_paths),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn allow_patterns_are_exact_or_prefixes() {
        let diff = ShapeDiff {
            missing_body_paths: vec!["tools[custom]".into(), "tools[custom].format".into()],
            extra_body_paths: vec!["tools[function].parameters.properties.command".into()],
            ..ShapeDiff::default()
        };
        let exact = [allow(Kind::PathMissing, "tools[custom]", "r")];
        assert_eq!(
            diff.unexplained(&exact),
            [
                "body path missing: tools[custom].format",
                "body path extra: tools[function].parameters.properties.command"
            ]
        );
        let prefix = [
            allow(Kind::PathMissing, "tools[custom]*", "r"),
            allow(
                Kind::PathExtra,
                "tools[function].parameters.properties.*",
                "r",
            ),
        ];
        assert!(diff.unexplained(&prefix).is_empty());
        let wrong_kind = [allow(Kind::PathExtra, "tools[custom]*", "r")];
        assert_eq!(
            diff.unexplained(&wrong_kind).len(),
            4,
            "3 unmatched + 1 stale"
        );
    }
}
