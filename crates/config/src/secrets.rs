//! The secrets this process knows (docs/reliability.md, "Secrets echoed by servers"): every
//! value that must never be shown, registered where it is learnt — the configuration's secret
//! keys when it is loaded, the tokens of a login when the auth code reads, refreshes or fetches
//! them — and masked as `***` wherever an error is rendered, whatever produced its text (a
//! server that echoes the refresh token in a 400, a proxy that echoes the bearer).
//!
//! Cheap by design: a handful of values behind a read lock, one substring search per value,
//! and no allocation when the text holds none of them.

use std::borrow::Cow;
use std::sync::RwLock;

/// What a masked secret becomes.
pub const MASK: &str = "***";

/// Shorter values are not registered: they would mask ordinary words, and real credentials
/// are long.
pub const MIN_LEN: usize = 8;

/// At most this many values are kept (a long session refreshes its token now and then); the
/// oldest go first.
const MAX_KNOWN: usize = 256;

static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Remember `secret` for [`mask`]. Blank or short values are ignored.
pub fn register(secret: &str) {
    let secret = secret.trim();
    if secret.len() < MIN_LEN {
        return;
    }
    let mut known = KNOWN.write().unwrap_or_else(|p| p.into_inner());
    if known.iter().any(|s| s == secret) {
        return;
    }
    if known.len() >= MAX_KNOWN {
        known.remove(0);
    }
    known.push(secret.to_string());
    // Longest first: a secret that contains another is masked whole.
    known.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Register the value of every secret key of `config` (API keys, the SSH password, …).
pub fn register_config(config: &crate::Config) {
    for (key, entry) in config.entries() {
        if crate::is_secret(key) {
            register(&entry.value);
        }
    }
}

/// `text` with every registered secret replaced by [`MASK`]; borrowed when there is none.
pub fn mask(text: &str) -> Cow<'_, str> {
    let known = KNOWN.read().unwrap_or_else(|p| p.into_inner());
    let mut out = Cow::Borrowed(text);
    for s in known.iter() {
        if out.contains(s.as_str()) {
            out = Cow::Owned(out.replace(s.as_str(), MASK));
        }
    }
    out
}

/// The registered values (to redact a byte stream that [`mask`] cannot see whole, such as the
/// traffic log).
pub fn known() -> Vec<String> {
    KNOWN.read().unwrap_or_else(|p| p.into_inner()).clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_values_are_masked_and_others_left_alone() {
        register("rt_registry_test_refresh_token_0123456789");
        register("short");
        let text =
            "HTTP 400: invalid refresh_token rt_registry_test_refresh_token_0123456789 (short)";
        assert_eq!(
            mask(text),
            "HTTP 400: invalid refresh_token *** (short)",
            "the short value is not a secret"
        );
        assert!(matches!(mask("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_secret_containing_another_is_masked_whole() {
        register("inner_secret_value");
        register("outer-inner_secret_value-outer");
        assert_eq!(mask("[outer-inner_secret_value-outer]"), "[***]");
        assert_eq!(mask("[inner_secret_value]"), "[***]");
    }
}
