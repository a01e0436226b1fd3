//! Reading strings out of chunks without allocating per token (docs/performance.md): a delta's
//! string is kept as its raw JSON text and read in place when it holds no escapes, else
//! unescaped into a buffer the stream reuses. And [`Lenient`]: a string, or any other value
//! taken as absent, so a server that sends an object where OpenAI sends a string does not cost
//! the whole chunk.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// A string, or anything else taken as absent (for the few strings read once per call:
/// `finish_reason`, a tool call's `id` and `name`).
#[derive(Default)]
pub(super) struct Lenient<'a>(pub(super) Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Lenient<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Lenient<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Lenient<'a>, E> {
                Ok(Lenient(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Lenient<'a>, E> {
                Ok(Lenient(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Lenient<'a>, E> {
                Ok(Lenient(Some(Cow::Owned(v))))
            }
            fn visit_unit<E>(self) -> Result<Lenient<'a>, E> {
                Ok(Lenient(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Lenient<'a>, E> {
                Ok(Lenient(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Lenient<'a>, E> {
                Ok(Lenient(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Lenient<'a>, E> {
                Ok(Lenient(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Lenient<'a>, E> {
                Ok(Lenient(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Lenient<'a>, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Lenient<'a>, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// The text of `raw` when it is a JSON string: the bytes between its quotes when it holds no
/// escapes (no copy), else unescaped into `scratch` (reused, so no allocation once it has
/// grown). `None` for `null`, an empty string, or a value of another type.
pub(super) fn text<'s>(raw: Option<&'s RawValue>, scratch: &'s mut String) -> Option<&'s str> {
    let inner = string_body(raw?)?;
    let s = if inner.contains('\\') {
        scratch.clear();
        unescape_into(inner, scratch);
        scratch.as_str()
    } else {
        inner
    };
    (!s.is_empty()).then_some(s)
}

/// Append the text of `raw` (a JSON string) to `out`, unescaped; `false` when it is not a
/// string.
pub(super) fn append_text(raw: &RawValue, out: &mut String) -> bool {
    match string_body(raw) {
        Some(inner) => {
            unescape_into(inner, out);
            true
        }
        None => false,
    }
}

/// What is between the quotes of a JSON string's raw text.
fn string_body(raw: &RawValue) -> Option<&str> {
    raw.get()
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
}

/// Unescape the inside of a JSON string (already validated by the parser) onto `out`.
fn unescape_into(s: &str, out: &mut String) {
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let esc = &rest[i + 1..];
        let Some(kind) = esc.chars().next() else {
            return;
        };
        rest = &esc[kind.len_utf8()..];
        match kind {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'u' => {
                let (unit, after) = hex4(rest);
                rest = after;
                let c = match unit {
                    Some(hi @ 0xD800..=0xDBFF) => {
                        // A surrogate pair is two escapes; a lone half is U+FFFD.
                        match rest.strip_prefix("\\u").map(hex4) {
                            Some((Some(lo @ 0xDC00..=0xDFFF), after)) => {
                                rest = after;
                                char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                            }
                            _ => None,
                        }
                    }
                    Some(u) => char::from_u32(u),
                    None => None,
                };
                out.push(c.unwrap_or('\u{FFFD}'));
            }
            // `"`, `\`, `/`
            other => out.push(other),
        }
    }
    out.push_str(rest);
}

/// Four hex digits at the start of `s`, and what follows them.
fn hex4(s: &str) -> (Option<u32>, &str) {
    match s.get(..4).map(|h| u32::from_str_radix(h, 16)) {
        Some(Ok(v)) => (Some(v), &s[4..]),
        _ => (None, s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_string()).unwrap()
    }

    #[test]
    fn strings_read_in_place_or_unescaped_like_serde_json() {
        let mut scratch = String::new();
        for json in [
            r#""plain café ☕""#,
            r#""a\nb\t\"q\" \\ \/ \b\f\r""#,
            r#""caf\u00e9 \u2615 \ud83d\ude00 \u0041BC""#,
        ] {
            let want: String = serde_json::from_str(json).unwrap_or_default();
            let r = raw(json);
            assert_eq!(text(Some(&r), &mut scratch), Some(want.as_str()), "{json}");
            let mut appended = String::from(">");
            assert!(append_text(&r, &mut appended));
            assert_eq!(appended, format!(">{want}"), "{json}");
        }
        // serde_json itself keeps a lone surrogate out; so do we, as U+FFFD.
        let r = raw(r#""x\ud83dy""#);
        assert_eq!(text(Some(&r), &mut scratch), Some("x\u{FFFD}y"));
    }

    #[test]
    fn other_values_are_no_text() {
        let mut scratch = String::new();
        for json in ["null", "7", "{\"a\":\"b\"}", "[\"x\"]", "\"\"", "true"] {
            assert_eq!(text(Some(&raw(json)), &mut scratch), None, "{json}");
        }
        assert_eq!(text(None, &mut scratch), None);
        assert!(!append_text(&raw("{}"), &mut scratch));
    }
}
