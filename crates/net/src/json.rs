//! JSON pieces the stream decoders share.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A JSON string borrowed from the event's text unless it holds escapes. An
/// `Option<Cow<str>>` field would not do: serde borrows only a bare `Cow` field with
/// `#[serde(borrow)]`, and copies one inside an `Option` — a heap allocation per token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Str<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

impl Str<'_> {
    pub fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_strings_are_borrowed_even_inside_an_option() {
        #[derive(serde::Deserialize)]
        struct Ev<'a> {
            #[serde(borrow, default)]
            delta: Option<Str<'a>>,
        }
        let text = r#"{"delta":"hello"}"#;
        let ev: Ev<'_> = serde_json::from_str(text).unwrap();
        assert!(matches!(ev.delta, Some(Str(Cow::Borrowed("hello")))));
        let escaped: Ev<'_> = serde_json::from_str(r#"{"delta":"a\nb"}"#).unwrap();
        assert!(matches!(escaped.delta, Some(Str(Cow::Owned(ref s))) if s == "a\nb"));
        // What this replaces: an Option<Cow> copies even a plain string.
        #[derive(serde::Deserialize)]
        struct Copied<'a> {
            #[serde(borrow, default)]
            delta: Option<Cow<'a, str>>,
        }
        let c: Copied<'_> = serde_json::from_str(text).unwrap();
        assert!(matches!(c.delta, Some(Cow::Owned(_))));
    }
}
