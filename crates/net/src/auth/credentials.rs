//! What authenticates a model request, whatever the provider: the runtime asks for the current
//! [`Credential`] before each attempt and, on an HTTP 401, asks once to [`recover`]
//! (Credentials::recover) — a Codex token is refreshed; a key cannot be, so the 401 is
//! reported with the provider's own advice.

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::sync::Arc;

use super::{AuthError, CodexToken, TokenSource};
use crate::ProviderId;

/// The headers that authenticate one attempt.
#[derive(Clone)]
pub struct Credential {
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The secret itself, so a recovery can tell whether it has been replaced meanwhile.
    secret: String,
}

impl Credential {
    /// Headers whose values are marked sensitive (reqwest keeps them out of `Debug`).
    fn new(secret: &str, headers: &[(&'static str, &str)]) -> Result<Credential, AuthError> {
        // Masked in every error message from now on (docs/reliability.md).
        sx_config::secrets::register(secret);
        let mut out = Vec::with_capacity(headers.len());
        for (name, value) in headers {
            let mut v = HeaderValue::from_str(value).map_err(|_| AuthError::NotConfigured {
                key: "credentials",
                detail: format!(
                    "the value for the {name} header holds characters HTTP headers cannot carry (a stray newline?); check the key or token"
                ),
            })?;
            v.set_sensitive(true);
            out.push((HeaderName::from_static(name), v));
        }
        Ok(Credential {
            headers: out,
            secret: secret.to_string(),
        })
    }

    pub fn none() -> Credential {
        Credential {
            headers: Vec::new(),
            secret: String::new(),
        }
    }

    pub fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Credential")
            .field("headers", &names)
            .finish()
    }
}

#[async_trait]
pub trait Credentials: Send + Sync {
    /// The credential for the next attempt (a token source may refresh first).
    async fn current(&self) -> Result<Credential, AuthError>;

    /// The server answered 401 to `rejected` (`detail`: what it said): a different credential
    /// to try once more, or the error to report.
    async fn recover(&self, rejected: &Credential, detail: &str) -> Result<Credential, AuthError>;

    /// The error for a 401 that recovery did not cure.
    fn rejected(&self, detail: String) -> AuthError;
}

/// Codex: a ChatGPT OAuth token from a token source (`local` refreshes it, `remote`/`ssh`
/// fetch it again), sent as a bearer with the account id (protocols: docs/providers.md).
pub struct CodexOAuth {
    pub source: Arc<dyn TokenSource>,
}

impl CodexOAuth {
    fn credential(t: &CodexToken) -> Result<Credential, AuthError> {
        let bearer = format!("Bearer {}", t.access_token);
        let mut headers: Vec<(&'static str, &str)> = vec![("authorization", &bearer)];
        if let Some(account) = &t.account_id {
            headers.push(("chatgpt-account-id", account));
        }
        if t.fedramp {
            headers.push(("x-openai-fedramp", "true"));
        }
        Credential::new(&t.access_token, &headers)
    }
}

#[async_trait]
impl Credentials for CodexOAuth {
    async fn current(&self) -> Result<Credential, AuthError> {
        Self::credential(&self.source.token().await?)
    }

    async fn recover(&self, rejected: &Credential, _detail: &str) -> Result<Credential, AuthError> {
        Self::credential(&self.source.recover_unauthorized(&rejected.secret).await?)
    }

    fn rejected(&self, detail: String) -> AuthError {
        AuthError::Unauthorized {
            detail,
            fix: self.source.sign_in_again(),
        }
    }
}

/// A fixed key in a header: `x-api-key` (Anthropic), `x-goog-api-key` (Gemini), or
/// `Authorization: Bearer` (OpenAI-compatible servers, Anthropic gateways). Nothing to
/// refresh: a 401 is reported naming the key to fix.
pub struct ApiKey {
    provider: ProviderId,
    /// The configuration key it came from (`ANTHROPIC_API_KEY`, …), for messages.
    key_name: &'static str,
    credential: Credential,
}

/// How a key is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyHeader {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// The key as the value of this header.
    Named(&'static str),
}

impl ApiKey {
    pub fn new(
        provider: ProviderId,
        key_name: &'static str,
        header: KeyHeader,
        key: &str,
    ) -> Result<ApiKey, AuthError> {
        let credential = match header {
            KeyHeader::Bearer => Credential::new(key, &[("authorization", &format!("Bearer {key}"))]),
            KeyHeader::Named(name) => Credential::new(key, &[(name, key)]),
        }
        .map_err(|_| AuthError::NotConfigured {
            key: key_name,
            detail: format!(
                "{key_name} holds characters HTTP headers cannot carry (a stray newline or quote?); set it again with scorpiox-config --set {key_name} …"
            ),
        })?;
        Ok(ApiKey {
            provider,
            key_name,
            credential,
        })
    }
}

#[async_trait]
impl Credentials for ApiKey {
    async fn current(&self) -> Result<Credential, AuthError> {
        Ok(self.credential.clone())
    }

    async fn recover(&self, _rejected: &Credential, detail: &str) -> Result<Credential, AuthError> {
        Err(self.rejected(detail.to_string()))
    }

    fn rejected(&self, detail: String) -> AuthError {
        AuthError::KeyRejected {
            provider: self.provider,
            key: self.key_name,
            detail,
        }
    }
}

/// No client authentication (the scorpiox router; a local OpenAI-compatible server without a
/// key). A 401 means the server wants one.
pub struct NoAuth {
    pub provider: ProviderId,
    /// The key that would carry a credential for this provider, if it has one.
    pub key_name: Option<&'static str>,
}

#[async_trait]
impl Credentials for NoAuth {
    async fn current(&self) -> Result<Credential, AuthError> {
        Ok(Credential::none())
    }

    async fn recover(&self, _rejected: &Credential, detail: &str) -> Result<Credential, AuthError> {
        Err(self.rejected(detail.to_string()))
    }

    fn rejected(&self, detail: String) -> AuthError {
        AuthError::AuthRequired {
            provider: self.provider,
            key: self.key_name,
            detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_go_in_their_header_and_stay_out_of_debug() {
        let k = ApiKey::new(
            ProviderId::Anthropic,
            "ANTHROPIC_API_KEY",
            KeyHeader::Named("x-api-key"),
            "sk-ant-secret",
        )
        .unwrap();
        let c = k.current().await.unwrap();
        let mut h = HeaderMap::new();
        c.apply(&mut h);
        assert_eq!(h["x-api-key"], "sk-ant-secret");
        assert!(h["x-api-key"].is_sensitive());
        assert!(!format!("{c:?}").contains("secret"));

        let b = ApiKey::new(
            ProviderId::Openai,
            "OPENAI_API_KEY",
            KeyHeader::Bearer,
            "k1",
        )
        .unwrap()
        .current()
        .await
        .unwrap();
        let mut h = HeaderMap::new();
        b.apply(&mut h);
        assert_eq!(h["authorization"], "Bearer k1");
    }

    #[tokio::test]
    async fn a_rejected_key_names_the_key_and_is_an_auth_failure() {
        let k = ApiKey::new(
            ProviderId::Gemini,
            "GEMINI_API_KEY",
            KeyHeader::Named("x-goog-api-key"),
            "g",
        )
        .unwrap();
        let c = k.current().await.unwrap();
        let e = k
            .recover(&c, "HTTP 401: API key not valid")
            .await
            .unwrap_err();
        let m = e.to_string();
        assert!(m.contains("Gemini") && m.contains("GEMINI_API_KEY"), "{m}");
        assert!(m.contains("API key not valid"), "{m}");
        assert_eq!(e.exit_code(), 3);
        assert!(!e.is_retryable());
    }

    #[test]
    fn a_key_with_a_newline_is_a_configuration_error() {
        let e = ApiKey::new(
            ProviderId::Anthropic,
            "ANTHROPIC_API_KEY",
            KeyHeader::Named("x-api-key"),
            "abc\ndef",
        )
        .err()
        .unwrap();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("ANTHROPIC_API_KEY"), "{e}");
        assert!(
            !e.to_string().contains("abc"),
            "the key must not be echoed: {e}"
        );
    }

    #[tokio::test]
    async fn no_auth_reports_that_the_server_wants_credentials() {
        let n = NoAuth {
            provider: ProviderId::Openai,
            key_name: Some("OPENAI_API_KEY"),
        };
        let e = n
            .recover(&Credential::none(), "HTTP 401: missing key")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("OPENAI_API_KEY"), "{e}");
        assert_eq!(e.exit_code(), 3);
    }
}
