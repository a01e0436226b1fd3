//! Tool-call deltas → whole calls (docs/protocols/providers.md §4.4 "Accumulation algorithm",
//! §6.4 O3–O8), tolerant of what compatible servers do differently from OpenAI:
//!
//! - calls are keyed by `index`; a gap in the indexes (0, 2) is just two calls;
//! - an `id` or `name` repeated on every fragment is ignored when equal to the one kept
//!   (llama.cpp); only a *different* name fragment is appended; `id: ""` is no id (vLLM);
//! - no `index` at all (older Ollama) or a second call on the same index: a new, different id
//!   starts a new call;
//! - the fragment that carries the name may carry the first arguments too (llama.cpp);
//!   a whole call may come in one fragment (Ollama); arguments sent as a JSON object instead
//!   of a string are kept as their JSON text;
//! - a call without an id gets one made up, stable for the whole stream (announced, recorded
//!   and sent back as the same string).

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::json::{Lenient, append_text};
use crate::model::ToolCall;

/// One element of `delta.tool_calls`.
#[derive(Deserialize)]
pub(super) struct CallDelta<'a> {
    #[serde(default)]
    index: Option<u64>,
    #[serde(borrow, default)]
    id: Lenient<'a>,
    #[serde(borrow, default)]
    function: Option<FunctionDelta<'a>>,
}

/// `delta.tool_calls`: the fragments of one chunk, parsed in place with the chunk — a list is
/// allocated only for a chunk of several calls (a raw value would cost an allocation per
/// fragment: serde_json's stack for skipping nested values). One fragment not wrapped in a
/// list is taken too.
#[derive(Default)]
pub(super) struct CallList<'a> {
    first: Option<CallDelta<'a>>,
    more: Vec<CallDelta<'a>>,
}

impl CallList<'_> {
    /// Bytes of names and arguments the fragments carry (docs/reliability.md).
    pub(super) fn size(&self) -> usize {
        self.first
            .iter()
            .chain(&self.more)
            .map(|d| {
                d.function.as_ref().map_or(0, |f| {
                    f.name.0.as_deref().map_or(0, str::len)
                        + f.arguments.map_or(0, |a| a.get().len())
                })
            })
            .sum()
    }
}

impl<'a> IntoIterator for CallList<'a> {
    type Item = CallDelta<'a>;
    type IntoIter =
        std::iter::Chain<std::option::IntoIter<CallDelta<'a>>, std::vec::IntoIter<CallDelta<'a>>>;
    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.more)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for CallList<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = CallList<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of tool call fragments")
            }
            fn visit_unit<E>(self) -> Result<CallList<'a>, E> {
                Ok(CallList::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<CallList<'a>, A::Error> {
                let mut list = CallList::default();
                while let Some(d) = a.next_element::<CallDelta<'a>>()? {
                    if list.first.is_none() {
                        list.first = Some(d);
                    } else {
                        list.more.push(d);
                    }
                }
                Ok(list)
            }
            fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<CallList<'a>, A::Error> {
                let d = CallDelta::deserialize(de::value::MapAccessDeserializer::new(a))?;
                Ok(CallList {
                    first: Some(d),
                    more: Vec::new(),
                })
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

#[derive(Deserialize)]
struct FunctionDelta<'a> {
    #[serde(borrow, default)]
    name: Lenient<'a>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
}

#[derive(Debug, Default)]
struct Slot {
    index: Option<u64>,
    id: String,
    /// The id was made up here (the server sent none before the name).
    made_up: bool,
    name: String,
    arguments: String,
    announced: bool,
}

#[derive(Debug, Default)]
pub(super) struct ToolCalls {
    slots: Vec<Slot>,
    /// Prefix of made-up ids, chosen once per stream.
    id_prefix: Option<String>,
}

impl ToolCalls {
    /// Apply one fragment. Returns `Some((id, name))` when it named a call for the first
    /// time (the caller announces it).
    pub(super) fn apply(&mut self, d: CallDelta<'_>) -> Option<(&str, &str)> {
        let id = d.id.0.filter(|s| !s.is_empty());
        let (name, arguments) = match d.function {
            Some(f) => (f.name.0.filter(|s| !s.is_empty()), f.arguments),
            None => (None, None),
        };
        let at = self.slot_for(d.index, id.as_deref(), name.is_some());
        let ToolCalls { slots, id_prefix } = self;
        let slot = &mut slots[at];
        if let Some(id) = id
            && slot.id.is_empty()
        {
            slot.id = id.into_owned();
        }
        if let Some(name) = name
            && name != slot.name
        {
            slot.name.push_str(&name);
        }
        if let Some(raw) = arguments {
            append_arguments(&mut slot.arguments, raw);
        }
        if slot.announced || slot.name.is_empty() {
            return None;
        }
        slot.announced = true;
        if slot.id.is_empty() {
            // Unique to this stream (two turns' calls never share an id), and the same string
            // is announced, recorded and sent back.
            let prefix = id_prefix.get_or_insert_with(|| {
                let u = uuid::Uuid::new_v4().simple().to_string();
                format!("call_{}", &u[..16])
            });
            slot.id = format!("{prefix}_{at}");
            slot.made_up = true;
        }
        Some((&slot.id, &slot.name))
    }

    /// The slot a fragment belongs to, created when it starts a call.
    fn slot_for(&mut self, index: Option<u64>, id: Option<&str>, named: bool) -> usize {
        let found = match (index, id) {
            (Some(i), _) => self.slots.iter().rposition(|s| s.index == Some(i)),
            (None, Some(id)) => self.slots.iter().rposition(|s| s.id == id),
            // Neither index nor id (older Ollama): calls come whole, so a new name is a new
            // call.
            (None, None) => self
                .slots
                .len()
                .checked_sub(1)
                .filter(|&at| !named || self.slots[at].name.is_empty()),
        };
        // A different real id on the same index is another call (lmdeploy).
        let differs = |s: &Slot| id.is_some_and(|id| !s.id.is_empty() && !s.made_up && s.id != id);
        match found {
            Some(at) if !differs(&self.slots[at]) => at,
            _ => {
                self.slots.push(Slot {
                    index,
                    ..Slot::default()
                });
                self.slots.len() - 1
            }
        }
    }

    /// The calls, in the order they started. A call with arguments but no name is a broken
    /// stream; a slot with neither (an empty fragment) is dropped.
    pub(super) fn finish(&mut self) -> Result<Vec<ToolCall>, String> {
        let mut out = Vec::with_capacity(self.slots.len());
        for (at, s) in std::mem::take(&mut self.slots).into_iter().enumerate() {
            if s.name.is_empty() {
                if s.arguments.trim().is_empty() {
                    continue;
                }
                return Err(format!(
                    "tool call {} has arguments but no function name",
                    s.index.unwrap_or(at as u64)
                ));
            }
            out.push(ToolCall::function(s.id, s.name, s.arguments));
        }
        Ok(out)
    }
}

/// `arguments` is a JSON string fragment (appended unescaped, without a copy in between), or a
/// whole JSON value some proxies send instead (kept as its JSON text); `null` adds nothing.
fn append_arguments(out: &mut String, raw: &RawValue) {
    if !append_text(raw, out) && raw.get() != "null" {
        out.push_str(raw.get());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(fragments: &[serde_json::Value]) -> (Vec<(String, String)>, Vec<ToolCall>) {
        let mut calls = ToolCalls::default();
        let mut started = Vec::new();
        for f in fragments {
            let text = f.to_string();
            let d: CallDelta<'_> = serde_json::from_str(&text).unwrap();
            if let Some((id, name)) = calls.apply(d) {
                started.push((id.to_string(), name.to_string()));
            }
        }
        (started, calls.finish().unwrap())
    }

    #[test]
    fn openai_fragments() {
        let (started, calls) = run(&[
            json!({"index":0,"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":""}}),
            json!({"index":0,"function":{"arguments":"{\"city\":"}}),
            json!({"index":0,"function":{"arguments":"\"Paris\"}"}}),
        ]);
        assert_eq!(started, vec![("call_abc".into(), "get_weather".into())]);
        assert_eq!(
            calls,
            vec![ToolCall::function(
                "call_abc",
                "get_weather",
                "{\"city\":\"Paris\"}"
            )]
        );
    }

    #[test]
    fn repeated_ids_and_names_first_fragment_arguments_and_empty_ids() {
        // llama.cpp: id and name on every fragment, `{` with the name.
        let (_, calls) = run(&[
            json!({"index":0,"id":"a1","function":{"name":"bash","arguments":"{"}}),
            json!({"index":0,"id":"a1","function":{"name":"bash","arguments":"\"command\":\"ls\""}}),
            json!({"index":0,"id":"a1","function":{"name":"bash","arguments":"}"}}),
        ]);
        assert_eq!(
            calls,
            vec![ToolCall::function("a1", "bash", "{\"command\":\"ls\"}")]
        );
        // vLLM: id "" on continuations; a name streamed in two pieces.
        let (started, calls) = run(&[
            json!({"index":0,"id":"chatcmpl-tool-1","function":{"name":"read_","arguments":""}}),
            json!({"index":0,"id":"","function":{"name":"file","arguments":"{}"}}),
        ]);
        assert_eq!(started, vec![("chatcmpl-tool-1".into(), "read_".into())]);
        assert_eq!(
            calls,
            vec![ToolCall::function("chatcmpl-tool-1", "read_file", "{}")]
        );
    }

    #[test]
    fn no_index_whole_calls_gaps_and_reused_indexes() {
        // Ollama: whole calls, no index; arguments as an object.
        let (started, calls) = run(&[
            json!({"id":"call_1","function":{"name":"a","arguments":"{\"x\":1}"}}),
            json!({"id":"call_2","function":{"name":"b","arguments":{"y":2}}}),
        ]);
        assert_eq!(started.len(), 2);
        assert_eq!(
            calls,
            vec![
                ToolCall::function("call_1", "a", "{\"x\":1}"),
                ToolCall::function("call_2", "b", "{\"y\":2}"),
            ]
        );
        // Index gaps, and a second call on index 0 with a new id (lmdeploy).
        let (_, calls) = run(&[
            json!({"index":0,"id":"c0","function":{"name":"a","arguments":"{}"}}),
            json!({"index":2,"id":"c2","function":{"name":"b","arguments":"{"}}),
            json!({"index":2,"function":{"arguments":"}"}}),
            json!({"index":0,"id":"c3","function":{"name":"c","arguments":"{}"}}),
        ]);
        let ids: Vec<&str> = calls.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["c0", "c2", "c3"]);
        assert_eq!(calls[1].arguments, "{}");
        // Neither index nor id: each named fragment is a call of its own.
        let (started, calls) = run(&[
            json!({"function":{"name":"a","arguments":"{}"}}),
            json!({"function":{"name":"b","arguments":"{}"}}),
        ]);
        let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_ne!(started[0].0, started[1].0);
    }

    #[test]
    fn missing_ids_are_made_up_once_and_kept() {
        let (started, calls) = run(&[
            json!({"index":0,"function":{"name":"a","arguments":"{"}}),
            json!({"index":0,"function":{"arguments":"}"}}),
            json!({"index":1,"function":{"name":"b"}}),
        ]);
        assert_eq!(started.len(), 2);
        assert_eq!(calls[0].id, started[0].0);
        assert_eq!(calls[1].id, started[1].0);
        assert_ne!(calls[0].id, calls[1].id);
        assert!(calls[0].id.starts_with("call_"), "{}", calls[0].id);
        assert_eq!(calls[1].arguments, "", "no arguments at all stays empty");
        // A later id for a call already announced under a made-up one does not change it.
        let (started, calls) = run(&[
            json!({"index":0,"function":{"name":"a"}}),
            json!({"index":0,"id":"late","function":{"arguments":"{}"}}),
        ]);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].id, started[0].0);
    }

    #[test]
    fn arguments_without_a_name_are_an_error_and_empty_fragments_nothing() {
        let mut calls = ToolCalls::default();
        calls.apply(serde_json::from_str(r#"{"index":0}"#).unwrap());
        assert_eq!(calls.finish().unwrap(), vec![]);
        let mut calls = ToolCalls::default();
        calls.apply(serde_json::from_str(r#"{"index":3,"function":{"arguments":"{}"}}"#).unwrap());
        let e = calls.finish().unwrap_err();
        assert!(e.contains("tool call 3"), "{e}");
    }
}
