//! Opaque upstream state through an Anthropic client and back (docs/router.md, "State").
//!
//! An upstream's thinking state (a Codex `reasoning` item with its encrypted content, a Gemini
//! thought signature, an Anthropic signature) and a tool call's own signature (Gemini's
//! `thoughtSignature` on a call) must come back to that upstream with the next request. An
//! Anthropic client returns exactly two such things unchanged: a `thinking` block's
//! `signature` and a `redacted_thinking` block's `data`. The router puts the state there as
//! `sxr1.` + base64url(JSON `{"p": provider, "s"?: signature, "r"?: replay item, "c"?: {call
//! id: call signature}}`), and reads it back into the conversation model with its `source`, so
//! each wire returns its own state and drops everyone else's.
//!
//! A signature without the prefix came from Anthropic itself (a client that talked to the API
//! before); a prefixed one that does not decode (a client changed it) is dropped.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sxnet::ProviderId;
use sxnet::model::{Thinking, ToolCall};

/// The prefix of a state the router wrote (version 1).
pub const PREFIX: &str = "sxr1.";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The upstream that made it.
    pub p: ProviderId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r: Option<Value>,
    /// Tool-call signatures by call id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub c: BTreeMap<String, String>,
}

impl State {
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).expect("state serializes");
        let mut out = String::with_capacity(PREFIX.len() + json.len() * 4 / 3 + 4);
        out.push_str(PREFIX);
        URL_SAFE_NO_PAD.encode_string(json, &mut out);
        out
    }

    /// A state the router wrote; `None` for anything else.
    pub fn decode(text: &str) -> Option<State> {
        let body = text.strip_prefix(PREFIX)?;
        let json = URL_SAFE_NO_PAD.decode(body.trim()).ok()?;
        serde_json::from_slice(&json).ok()
    }
}

/// The state of a thinking block, when it has any (a source and a signature or replay item).
pub fn of_thinking(t: &Thinking) -> Option<String> {
    let p = t.source?;
    if t.signature.is_none() && t.replay.is_none() {
        return None;
    }
    Some(
        State {
            p,
            s: t.signature.clone(),
            r: t.replay.clone(),
            c: BTreeMap::new(),
        }
        .encode(),
    )
}

/// The state of a tool call made by `upstream`, when it carries a signature.
/// Keyed by the id the client sees ([`client_id`]).
pub fn of_call(upstream: ProviderId, c: &ToolCall) -> Option<String> {
    let sig = c.signature.as_ref()?;
    Some(
        State {
            p: upstream,
            s: None,
            r: None,
            c: BTreeMap::from([(client_id(&c.id).into_owned(), sig.clone())]),
        }
        .encode(),
    )
}

/// A call id as the Messages API allows it (`^[a-zA-Z0-9_-]+$`; clients such as sx's own
/// Messages wire rewrite others): other characters become `_`. The upstream then sees the
/// call and its result under this id, which keeps them paired.
pub fn client_id(id: &str) -> std::borrow::Cow<'_, str> {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if !id.is_empty() && id.chars().all(ok) {
        return std::borrow::Cow::Borrowed(id);
    }
    let mapped: String = id.chars().map(|c| if ok(c) { c } else { '_' }).collect();
    std::borrow::Cow::Owned(if mapped.is_empty() {
        "_".into()
    } else {
        mapped
    })
}

/// Tool-call signatures by call id, and the upstream that made them.
pub type Calls = (ProviderId, BTreeMap<String, String>);

/// A `thinking` block's text and signature, or a `redacted_thinking` block (`text` empty,
/// `signature` its `data`, `block` the whole block) as the client sent it back: the thinking
/// for the conversation model (if any is worth keeping) and the call signatures it carried.
pub fn read_back(
    text: &str,
    signature: &str,
    redacted: Option<&Value>,
) -> (Option<Thinking>, Option<Calls>) {
    if signature.starts_with(PREFIX) {
        let Some(st) = State::decode(signature) else {
            return (None, None);
        };
        let calls = (!st.c.is_empty()).then_some((st.p, st.c));
        let thinking = (st.s.is_some() || st.r.is_some()).then(|| Thinking {
            text: text.to_string(),
            raw: None,
            signature: st.s,
            source: Some(st.p),
            replay: st.r,
        });
        return (thinking, calls);
    }
    // Anthropic's own state (the client talked to the API directly before).
    let thinking = match redacted {
        Some(block) => Some(Thinking {
            text: String::new(),
            raw: None,
            signature: None,
            source: Some(ProviderId::Anthropic),
            replay: Some(block.clone()),
        }),
        None if !signature.is_empty() => Some(Thinking {
            text: text.to_string(),
            raw: None,
            signature: Some(signature.to_string()),
            source: Some(ProviderId::Anthropic),
            replay: None,
        }),
        // Unsigned thinking cannot go back to anyone.
        None => None,
    };
    (thinking, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codex_thinking() -> Thinking {
        Thinking {
            text: "Plan.".into(),
            raw: Some("raw chain".into()),
            signature: Some("gAAAA-enc".into()),
            source: Some(ProviderId::Codex),
            replay: Some(
                json!({"type":"reasoning","summary":[{"type":"summary_text","text":"Plan."}],"encrypted_content":"gAAAA-enc"}),
            ),
        }
    }

    #[test]
    fn thinking_state_round_trips_with_its_source() {
        let t = codex_thinking();
        let sig = of_thinking(&t).unwrap();
        assert!(sig.starts_with("sxr1."), "{sig}");
        assert!(
            sig[5..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "url-safe: {sig}"
        );
        let (back, calls) = read_back("Plan.", &sig, None);
        let back = back.unwrap();
        assert_eq!(calls, None);
        assert_eq!(back.source, Some(ProviderId::Codex));
        assert_eq!(back.signature, t.signature);
        assert_eq!(back.replay, t.replay);
        assert_eq!(back.text, "Plan.");
        assert_eq!(back.raw, None, "raw reasoning is display only");
        // From a redacted block (a thinking without text).
        let (back, _) = read_back(
            "",
            &sig,
            Some(&json!({"type":"redacted_thinking","data":sig})),
        );
        assert_eq!(back.unwrap().replay, t.replay);
    }

    #[test]
    fn stateless_thinking_has_no_state() {
        let mut t = codex_thinking();
        t.signature = None;
        t.replay = None;
        assert_eq!(of_thinking(&t), None);
        t.signature = Some("x".into());
        t.source = None;
        assert_eq!(of_thinking(&t), None);
    }

    #[test]
    fn call_signatures_ride_along() {
        let mut c = ToolCall::function("call_1", "read_file", "{}");
        assert_eq!(of_call(ProviderId::Gemini, &c), None);
        c.signature = Some("gem-sig".into());
        let sig = of_call(ProviderId::Gemini, &c).unwrap();
        let (thinking, calls) = read_back("", &sig, None);
        assert_eq!(thinking, None);
        let (p, map) = calls.unwrap();
        assert_eq!(p, ProviderId::Gemini);
        assert_eq!(map.get("call_1").map(String::as_str), Some("gem-sig"));
    }

    #[test]
    fn call_ids_are_made_valid_for_the_messages_api_and_keyed_so() {
        assert_eq!(client_id("call_1-a"), "call_1-a");
        assert_eq!(client_id("models/x:call.1"), "models_x_call_1");
        assert_eq!(client_id(""), "_");
        let mut c = ToolCall::function("fc.7", "read_file", "{}");
        c.signature = Some("sig".into());
        let (_, calls) = read_back("", &of_call(ProviderId::Gemini, &c).unwrap(), None);
        assert_eq!(
            calls.unwrap().1.get("fc_7").map(String::as_str),
            Some("sig")
        );
    }

    #[test]
    fn anthropic_state_and_broken_state() {
        let (t, _) = read_back("hmm", "EqQBCkYIBxgC", None);
        let t = t.unwrap();
        assert_eq!(t.source, Some(ProviderId::Anthropic));
        assert_eq!(t.signature.as_deref(), Some("EqQBCkYIBxgC"));
        let block = json!({"type":"redacted_thinking","data":"opaque"});
        let (t, _) = read_back("", "opaque", Some(&block));
        assert_eq!(t.unwrap().replay, Some(block));
        assert_eq!(read_back("hmm", "", None), (None, None));
        assert_eq!(read_back("hmm", "sxr1.!!!", None), (None, None));
        assert_eq!(
            read_back("hmm", "sxr1.e30", None),
            (None, None),
            "{{}} has no provider"
        );
    }
}
