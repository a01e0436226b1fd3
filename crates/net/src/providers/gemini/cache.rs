//! Context caching (`GEMINI_CACHE`, docs/providers.md "gemini"; docs/protocols/providers.md §3.9):
//! one explicit `cachedContents` entry holding the stable prefix of a session's requests — the
//! system instruction and the tools — so each call sends `cachedContent: <name>` instead.
//!
//! - Worth it when the prefix reaches the model's minimum, estimated from its JSON size at
//!   [`BYTES_PER_TOKEN`] bytes a token (English prose and JSON schemas run 3.5–4.5; the
//!   estimate errs towards not caching a prefix that is just too small, which the API would
//!   refuse anyway).
//! - Created (`POST {base}/v1beta/cachedContents` with `model`, `systemInstruction`, `tools`,
//!   `ttl`) by `Wire::prepare`; reused by name while it lasts ([`EXPIRY_MARGIN`] before its
//!   `expireTime`); recreated when it lapsed, when the prefix changed, or when the API says the
//!   entry is gone (the call is then sent again once, see `GeminiProvider`).
//! - A prefix the API refused to cache (too small, a model without caching) is not offered
//!   again in this process; a failure that may pass (network, 429, 5xx) only skips the cache
//!   for that call.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::request::Prefix;
use crate::error::ProviderError;

/// Bytes of prefix JSON per token, for the minimum-size estimate.
pub(super) const BYTES_PER_TOKEN: u64 = 4;

/// How long an entry is asked to live. Storage is billed while it lives; ten minutes covers
/// the pauses of an interactive session without keeping an idle one for long.
pub(super) const TTL: Duration = Duration::from_secs(600);

/// An entry this close to its expiry is recreated rather than risked.
pub(super) const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// Identity of a prefix for a model (`Prefix::fingerprint`).
pub(super) type Key = [u8; 32];

#[derive(Default)]
pub(super) struct ContextCache {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entry: Option<Entry>,
    refused: Vec<Key>,
}

struct Entry {
    key: Key,
    name: String,
    expires: SystemTime,
}

impl ContextCache {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a call with this prefix needs a (new) entry: none holds it, or the one that
    /// does is about to lapse — and the API has not refused it.
    pub fn needs(&self, key: &Key, now: SystemTime) -> bool {
        let s = self.state();
        if s.refused.contains(key) {
            return false;
        }
        !s.entry
            .as_ref()
            .is_some_and(|e| &e.key == key && now + EXPIRY_MARGIN < e.expires)
    }

    /// The entry holding this prefix (the one `prepare` made or kept for the call).
    pub fn current(&self, key: &Key) -> Option<String> {
        let s = self.state();
        s.entry
            .as_ref()
            .filter(|e| &e.key == key)
            .map(|e| e.name.clone())
    }

    pub fn store(&self, key: Key, name: String, expires: SystemTime) {
        self.state().entry = Some(Entry { key, name, expires });
    }

    pub fn refuse(&self, key: Key) {
        let mut s = self.state();
        if !s.refused.contains(&key) {
            s.refused.push(key);
        }
    }

    /// The API says the entry is gone.
    pub fn forget(&self) {
        self.state().entry = None;
    }
}

/// Whether a prefix of `bytes` JSON bytes reaches `min_tokens`.
pub(super) fn worth_caching(bytes: usize, min_tokens: u64) -> bool {
    bytes as u64 / BYTES_PER_TOKEN >= min_tokens
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody<'a> {
    model: String,
    #[serde(flatten)]
    prefix: &'a Prefix<'a>,
    ttl: String,
}

/// The `cachedContents.create` body for `model` (a bare id).
pub(super) fn create_body(model: &str, prefix: &Prefix<'_>) -> Vec<u8> {
    serde_json::to_vec(&CreateBody {
        model: format!("models/{model}"),
        prefix,
        ttl: format!("{}s", TTL.as_secs()),
    })
    .expect("cache body serializes")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    name: String,
    #[serde(default)]
    expire_time: Option<String>,
}

/// The created entry's name and expiry (its `expireTime`, else now + the TTL asked for).
pub(super) fn parse_created(
    body: &[u8],
    now: SystemTime,
) -> Result<(String, SystemTime), ProviderError> {
    let c: Created = serde_json::from_slice(body).map_err(|e| ProviderError::Protocol {
        detail: format!("the cachedContents answer is not what sx expects: {e}"),
    })?;
    if c.name.is_empty() {
        return Err(ProviderError::Protocol {
            detail: "the cachedContents answer has no name".into(),
        });
    }
    let expires = c
        .expire_time
        .as_deref()
        .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
        .unwrap_or(now + TTL);
    Ok((c.name, expires))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Duration = Duration::from_secs(1_767_225_600);

    #[test]
    fn an_entry_is_reused_until_its_margin_then_needed_again() {
        let now = SystemTime::UNIX_EPOCH + T0;
        let c = ContextCache::default();
        let (a, b) = ([1; 32], [2; 32]);
        assert!(c.needs(&a, now));
        c.store(a, "cachedContents/1".into(), now + Duration::from_secs(600));
        assert!(!c.needs(&a, now));
        assert_eq!(c.current(&a).as_deref(), Some("cachedContents/1"));
        assert!(c.needs(&b, now), "another prefix needs its own entry");
        assert_eq!(c.current(&b), None);
        assert!(
            c.needs(&a, now + Duration::from_secs(571)),
            "inside the margin"
        );
        assert!(!c.needs(&a, now + Duration::from_secs(569)));
        c.forget();
        assert!(c.needs(&a, now) && c.current(&a).is_none());
        c.refuse(b);
        assert!(!c.needs(&b, now), "a refused prefix is not offered again");
    }

    #[test]
    fn the_minimum_is_estimated_from_bytes() {
        assert!(worth_caching(16_384, 4096));
        assert!(!worth_caching(16_383, 4096));
    }

    #[test]
    fn created_entries_expire_when_the_server_says() {
        let now = SystemTime::UNIX_EPOCH + T0;
        let (name, exp) = parse_created(
            br#"{"name":"cachedContents/abc","model":"models/gemini-3.8-flash","expireTime":"2026-01-01T00:10:00.123456Z","usageMetadata":{"totalTokenCount":5000}}"#,
            now,
        )
        .unwrap();
        assert_eq!(name, "cachedContents/abc");
        assert_eq!(
            exp.duration_since(now).unwrap().as_secs(),
            600,
            "expireTime honoured"
        );
        let (_, exp) = parse_created(br#"{"name":"cachedContents/x"}"#, now).unwrap();
        assert_eq!(exp, now + TTL);
        assert!(parse_created(br#"{"name":""}"#, now).is_err());
        assert!(parse_created(b"<html>", now).is_err());
    }
}
