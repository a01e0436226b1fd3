//! The `GenerateContentResponse` as the stream reads it (docs/protocols/providers.md §3.7):
//! only the fields sx uses, parsed borrowing from the event, in one pass. The parts of the first
//! candidate go to a callback as they are read ([`parse_chunk`]): nothing is collected and no
//! large value is moved around per event. Strings without escapes are `&str`s into the event
//! ([`Text`]); the nested fields chunks carry (`safetyRatings`, token details) are skipped
//! without serde_json's scratch buffer ([`Skip`]): decoding a token allocates nothing. Unknown
//! fields are ignored.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, de};
use serde_json::value::RawValue;

/// What one event says besides its parts.
#[derive(Default)]
pub(super) struct Chunk<'a> {
    /// The event had a candidate.
    pub candidate: bool,
    pub finish_reason: Option<Text<'a>>,
    pub finish_message: Option<Text<'a>>,
    pub usage_metadata: Option<UsageMetadata>,
    pub prompt_feedback: Option<PromptFeedback<'a>>,
    /// The event is an `error` object.
    pub error: bool,
}

/// Parse one event, handing each part of its first candidate to `on_part` in order.
pub(super) fn parse_chunk<'a>(
    data: &'a str,
    on_part: &mut dyn FnMut(Part<'a>),
) -> Result<Chunk<'a>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(data);
    let chunk = ChunkSeed(on_part).deserialize(&mut de)?;
    de.end()?;
    Ok(chunk)
}

type OnPart<'p, 'a> = &'p mut dyn FnMut(Part<'a>);

struct ChunkSeed<'p, 'a>(OnPart<'p, 'a>);

impl<'de: 'a, 'a> DeserializeSeed<'de> for ChunkSeed<'_, 'a> {
    type Value = Chunk<'a>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Chunk<'a>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for ChunkSeed<'_, 'a> {
    type Value = Chunk<'a>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a GenerateContentResponse object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Chunk<'a>, A::Error> {
        let on_part = self.0;
        let mut c = Chunk::default();
        while let Some(key) = map.next_key::<Text<'de>>()? {
            match &*key {
                "candidates" => {
                    if let Some(first) = map.next_value_seed(CandidatesSeed(&mut *on_part))? {
                        c.candidate = true;
                        c.finish_reason = first.finish_reason;
                        c.finish_message = first.finish_message;
                    }
                }
                "usageMetadata" => c.usage_metadata = map.next_value()?,
                "promptFeedback" => c.prompt_feedback = map.next_value()?,
                "error" => {
                    map.next_value::<Skip>()?;
                    c.error = true;
                }
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(c)
    }
}

/// The finish of the first candidate.
#[derive(Default)]
struct Finish<'a> {
    finish_reason: Option<Text<'a>>,
    finish_message: Option<Text<'a>>,
}

/// `candidates`: the first one read, the others skipped.
struct CandidatesSeed<'p, 'a>(OnPart<'p, 'a>);

impl<'de: 'a, 'a> DeserializeSeed<'de> for CandidatesSeed<'_, 'a> {
    type Value = Option<Finish<'a>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for CandidatesSeed<'_, 'a> {
    type Value = Option<Finish<'a>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of candidates")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let first = seq.next_element_seed(CandidateSeed(self.0))?;
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(first)
    }
}

/// One candidate: its `content.parts` to the callback, its finish kept.
struct CandidateSeed<'p, 'a>(OnPart<'p, 'a>);

impl<'de: 'a, 'a> DeserializeSeed<'de> for CandidateSeed<'_, 'a> {
    type Value = Finish<'a>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Finish<'a>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for CandidateSeed<'_, 'a> {
    type Value = Finish<'a>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a candidate")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Finish<'a>, A::Error> {
        let on_part = self.0;
        let mut f = Finish::default();
        while let Some(key) = map.next_key::<Text<'de>>()? {
            match &*key {
                "content" => map.next_value_seed(ContentSeed(&mut *on_part))?,
                "finishReason" => f.finish_reason = map.next_value()?,
                "finishMessage" => f.finish_message = map.next_value()?,
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(f)
    }
}

/// `content` (`{role, parts}`), or `parts` itself: each part to the callback.
struct ContentSeed<'p, 'a>(OnPart<'p, 'a>);

impl<'de: 'a, 'a> DeserializeSeed<'de> for ContentSeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for ContentSeed<'_, 'a> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a content object")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let on_part = self.0;
        while let Some(key) = map.next_key::<Text<'de>>()? {
            if &*key == "parts" {
                map.next_value_seed(ContentSeed(&mut *on_part))?;
            } else {
                map.next_value::<Skip>()?;
            }
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(p) = seq.next_element::<Part<'a>>()? {
            (self.0)(p);
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Part<'a> {
    #[serde(borrow, default)]
    pub text: Option<Text<'a>>,
    #[serde(default)]
    pub thought: bool,
    #[serde(borrow, default)]
    pub thought_signature: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub function_call: Option<Box<FunctionCall<'a>>>,
}

#[derive(Deserialize)]
pub(super) struct FunctionCall<'a> {
    #[serde(borrow, default)]
    pub id: Option<Text<'a>>,
    #[serde(borrow)]
    pub name: Text<'a>,
    #[serde(borrow, default)]
    pub args: Option<&'a RawValue>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "camelCase")]
pub(super) struct UsageMetadata {
    #[serde(default)]
    pub prompt_token_count: u64,
    #[serde(default)]
    pub cached_content_token_count: u64,
    #[serde(default)]
    pub candidates_token_count: u64,
    #[serde(default)]
    pub thoughts_token_count: u64,
    #[serde(default)]
    pub tool_use_prompt_token_count: u64,
    #[serde(default, rename = "promptTokensDetails")]
    _prompt_tokens_details: Skip,
    #[serde(default, rename = "candidatesTokensDetails")]
    _candidates_tokens_details: Skip,
    #[serde(default, rename = "cacheTokensDetails")]
    _cache_tokens_details: Skip,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PromptFeedback<'a> {
    #[serde(borrow, default)]
    pub block_reason: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub block_reason_message: Option<Text<'a>>,
}

pub(super) use crate::json::Str as Text;

/// Any JSON value, skipped. Unlike `IgnoredAny` (which serde_json skips with a scratch stack
/// that a fresh deserializer allocates per event), nested values are walked recursively.
#[derive(Default, Clone, Copy)]
pub(super) struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Skip;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_none<E: de::Error>(self) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Skip, D2::Error> {
                Skip::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
                while seq.next_element::<Skip>()?.is_some() {}
                Ok(Skip)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
                while map.next_entry::<Skip, Skip>()?.is_some() {}
                Ok(Skip)
            }
        }
        d.deserialize_any(V)
    }
}
