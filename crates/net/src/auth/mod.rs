//! Credentials. Only this module reads or writes credential files.
//!
//! A Codex access token comes from a [`TokenSource`] (`CODEX_TOKEN_SOURCE`): `local` reads and
//! refreshes the official `auth.json`; other sources fetch it from elsewhere and never refresh
//! locally. The codex provider and `scorpiox-codex-fetchtoken` resolve tokens through the same
//! code.

pub mod advice;
pub mod codex;
mod codex_auth;
mod credentials;
mod jwt;
pub mod logout;
pub mod oauth;
pub mod protect;
pub mod remote;
pub mod source;
pub mod ssh;

use std::fmt;
use std::path::PathBuf;

pub use codex::{AuthFile, RefreshReason};
pub use codex_auth::{CodexAuth, codex_auth};
pub use credentials::{ApiKey, CodexOAuth, Credential, Credentials, KeyHeader, NoAuth};
pub use jwt::{Claims, decode_claims};
pub use remote::{RemoteSource, parse_token_document};
pub use source::{
    LocalSource, RefreshHook, TokenSource, open_token_source, post_refresh, refresh_outcome,
    token_url,
};

use crate::ProviderId;
use crate::error::{EXIT_AUTH, EXIT_CONFIG, EXIT_RUNTIME};

/// A usable Codex access token (the one JSON line `scorpiox-codex-fetchtoken` prints).
#[derive(Clone, PartialEq, Eq)]
pub struct CodexToken {
    pub access_token: String,
    /// ChatGPT account/workspace id, sent as `ChatGPT-Account-ID`.
    pub account_id: Option<String>,
    /// Expiry of the access token (unix seconds), from its `exp` claim.
    pub expires_at: Option<u64>,
    /// Which source produced it: `local`, `remote` or `ssh`.
    pub source: &'static str,
    /// The id token marks a FedRAMP account (`X-OpenAI-Fedramp: true`).
    pub fedramp: bool,
}

impl CodexToken {
    /// The one JSON line of `scorpiox-codex-fetchtoken` and the token server (docs/spec.md §4.1).
    pub fn to_json_line(&self) -> String {
        serde_json::json!({
            "access_token": self.access_token,
            "account_id": self.account_id,
            "expires_at": self.expires_at,
            "source": self.source,
        })
        .to_string()
    }
}

impl fmt::Debug for CodexToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the token itself, even in debug output.
        f.debug_struct("CodexToken")
            .field("access_token", &mask(&self.access_token))
            .field("account_id", &self.account_id)
            .field("expires_at", &self.expires_at)
            .field("source", &self.source)
            .finish()
    }
}

/// A secret shown as its first few characters, for `--verbose` output.
pub fn mask(secret: &str) -> String {
    let prefix: String = secret.chars().take(6).collect();
    if secret.chars().count() <= 6 {
        "***".to_string()
    } else {
        format!("{prefix}…***")
    }
}

/// Why a refresh token was refused (docs/protocols/codex.md §A.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshFailure {
    Expired,
    Reused,
    Revoked,
    Other,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no Codex login found at {}; {}", path.display(), sign_in_first(path))]
    NotLoggedIn { path: PathBuf },

    #[error("cannot read {}: {source}; check the file's permissions", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{} is not a valid Codex auth.json ({detail}); {}", path.display(), advice::sign_in_again(path))]
    Malformed { path: PathBuf, detail: String },

    #[error("{} holds an OpenAI API key, not a ChatGPT login; run {} to sign in with ChatGPT", path.display(), advice::LoginFile::of(path).command(true))]
    ApiKeyOnly { path: PathBuf },

    #[error("the {which} in {} is not a valid JWT ({detail}); {}", path.display(), advice::sign_in_again(path))]
    BadJwt {
        path: PathBuf,
        which: &'static str,
        detail: String,
    },

    /// `path`: the credential file whose refresh token was refused (its advice names it).
    #[error("{}", refresh_rejected_message(*reason, detail, path))]
    RefreshRejected {
        reason: RefreshFailure,
        detail: String,
        path: PathBuf,
    },

    #[error("failed to refresh the Codex token ({detail}); check your connection and try again")]
    RefreshTransient { detail: String },

    /// `fix`: how to sign this login in again (the token source's
    /// [`TokenSource::sign_in_again`]).
    #[error("the server rejected the Codex token even after a refresh ({detail}); {fix}")]
    Unauthorized { detail: String, fix: String },

    #[error("could not lock {}: {detail}; is another sx or codex process stuck refreshing? retry, or remove the lock file", path.display())]
    Lock { path: PathBuf, detail: String },

    #[error("could not write {}: {source}; check the directory's permissions and free space", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The back-end refused an API key; keys are not refreshed, the user fixes them.
    #[error(
        "{} rejected {key} ({detail}); check the key, or set a new one with scorpiox-config --set {key} …",
        provider.display_name()
    )]
    KeyRejected {
        provider: ProviderId,
        key: &'static str,
        detail: String,
    },

    /// The back-end wants credentials and none were configured.
    #[error("{} requires authentication ({detail}); {}", provider.display_name(), auth_required_fix(*key))]
    AuthRequired {
        provider: ProviderId,
        key: Option<&'static str>,
        detail: String,
    },

    /// Nothing to talk to: no router, no login, no key (the default provider's embedded
    /// routing found no back-end).
    #[error("{detail}")]
    NoBackend { detail: String },

    /// A token source lacks a setting it needs (`key` names it).
    #[error("{detail}")]
    NotConfigured { key: &'static str, detail: String },

    /// A non-local token source failed (remote service, ssh host).
    #[error("{detail}")]
    Source {
        detail: String,
        retryable: bool,
        exit: u8,
    },
}

fn auth_required_fix(key: Option<&str>) -> String {
    match key {
        Some(k) => format!("set {k} (scorpiox-config --set {k} …)"),
        None => "check that the server is the one you meant to use".to_string(),
    }
}

/// What to do about a credential file that does not exist.
fn sign_in_first(path: &std::path::Path) -> String {
    match advice::LoginFile::of(path) {
        advice::LoginFile::Default => {
            "run scorpiox-codex-login (or `codex login`) to sign in".to_string()
        }
        other => format!("run {} to sign in", other.command(false)),
    }
}

fn refresh_rejected_message(
    reason: RefreshFailure,
    detail: &str,
    path: &std::path::Path,
) -> String {
    let what = match reason {
        RefreshFailure::Expired => "your Codex refresh token has expired".to_string(),
        RefreshFailure::Reused => {
            "your Codex refresh token was already used (another client refreshed this login)"
                .to_string()
        }
        RefreshFailure::Revoked => "your Codex refresh token was revoked".to_string(),
        RefreshFailure::Other => {
            format!("the Codex access token could not be refreshed ({detail})")
        }
    };
    format!("{what}; {}", advice::sign_in_again(path))
}

impl AuthError {
    pub fn is_retryable(&self) -> bool {
        match self {
            AuthError::RefreshTransient { .. } | AuthError::Lock { .. } => true,
            AuthError::Source { retryable, .. } => *retryable,
            AuthError::NotLoggedIn { .. }
            | AuthError::Unreadable { .. }
            | AuthError::Malformed { .. }
            | AuthError::ApiKeyOnly { .. }
            | AuthError::BadJwt { .. }
            | AuthError::RefreshRejected { .. }
            | AuthError::Unauthorized { .. }
            | AuthError::Write { .. }
            | AuthError::KeyRejected { .. }
            | AuthError::AuthRequired { .. }
            | AuthError::NoBackend { .. }
            | AuthError::NotConfigured { .. } => false,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            AuthError::RefreshTransient { .. }
            | AuthError::Lock { .. }
            | AuthError::Write { .. } => EXIT_RUNTIME,
            AuthError::NotConfigured { .. } => EXIT_CONFIG,
            AuthError::Source { exit, .. } => *exit,
            AuthError::NotLoggedIn { .. }
            | AuthError::Unreadable { .. }
            | AuthError::Malformed { .. }
            | AuthError::ApiKeyOnly { .. }
            | AuthError::BadJwt { .. }
            | AuthError::RefreshRejected { .. }
            | AuthError::Unauthorized { .. }
            | AuthError::KeyRejected { .. }
            | AuthError::AuthRequired { .. }
            | AuthError::NoBackend { .. } => EXIT_AUTH,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let t = CodexToken {
            access_token: "eyJhbGciOiJub25lIn0.secretpayload.sig".into(),
            account_id: Some("acct".into()),
            expires_at: Some(1),
            source: "local",
            fedramp: false,
        };
        let s = format!("{t:?}");
        assert!(!s.contains("secretpayload"), "{s}");
        assert!(s.contains("eyJhbG…***"), "{s}");
    }

    #[test]
    fn refresh_messages() {
        let e = AuthError::RefreshRejected {
            reason: RefreshFailure::Reused,
            detail: String::new(),
            path: PathBuf::from("/nowhere/.codex/accounts/work.json"),
        };
        assert!(e.to_string().contains("already used"));
        assert_eq!(e.exit_code(), 3);
        let e = AuthError::RefreshTransient {
            detail: "HTTP 502".into(),
        };
        assert_eq!(e.exit_code(), 1);
        assert!(e.is_retryable());
    }
}
