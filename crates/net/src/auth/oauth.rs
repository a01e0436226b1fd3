//! The official Codex CLI's sign-in flows as a library (docs/protocols/codex.md §A.4, §A.5): PKCE, the
//! authorize URL, the authorization-code exchange, the device-code flow, the best-effort API-key
//! mint, and the loopback server the browser comes back to.
//!
//! Nothing here prints or writes files: `scorpiox-codex-login` drives the flows, shows the user
//! what to do and persists the tokens through [`super::codex`].

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::codex::CLIENT_ID;
use super::mask;
use crate::error::{EXIT_AUTH, EXIT_CONFIG, EXIT_RUNTIME};
use crate::error_body::ErrorBody;
use crate::http::ClientIdentity;

mod callback;
mod device;

pub use callback::{CallbackServer, PendingCallback, parse_callback, parse_pasted};
pub use device::{DeviceAuthorization, DeviceCode, DevicePoll};

/// The issuer the official client signs in with (`CODEX_AUTH_URL` overrides it).
pub const DEFAULT_ISSUER: &str = "https://auth.openai.com";
/// The callback port of the browser flow (docs/protocols/codex.md §A.3).
pub const DEFAULT_PORT: u16 = 1455;
/// The callback ports the browser flow tries, in order: the official client's default, then
/// the fallback its redirect allow-list also holds (docs/protocols/codex.md §A.4).
pub const CALLBACK_PORTS: [u16; 2] = [DEFAULT_PORT, 1457];
/// The scopes the official client asks for (docs/protocols/codex.md §A.4).
pub const SCOPE: &str =
    "openid profile email offline_access api.connectors.read api.connectors.invoke";
/// How long a device code (and a browser sign-in) may take.
pub const SIGN_IN_TTL: Duration = Duration::from_secs(15 * 60);

const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
const FORM: &str = "application/x-www-form-urlencoded";

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error(
        "device code login is not enabled for this issuer ({issuer}); run scorpiox-codex-login --browser"
    )]
    DeviceCodeNotEnabled { issuer: String },

    #[error(
        "the sign-in was denied{}; run scorpiox-codex-login again and approve it",
        detail_suffix(detail)
    )]
    Denied { detail: String },

    #[error("the code expired; run scorpiox-codex-login again")]
    Expired,

    #[error(
        "no sign-in arrived within {} minutes; run scorpiox-codex-login again", .after.as_secs() / 60
    )]
    TimedOut { after: Duration },

    #[error(
        "the sign-in callback's state did not match this login (a stale tab or a forged request); run scorpiox-codex-login again"
    )]
    StateMismatch,

    #[error(
        "Codex is not enabled for this ChatGPT workspace ({detail}); ask the workspace admin to enable Codex, or sign in to another workspace"
    )]
    MissingEntitlement { detail: String },

    #[error(
        "the sign-in failed ({error}{}); run scorpiox-codex-login again",
        detail_suffix(description)
    )]
    Authorize { error: String, description: String },

    #[error("the sign-in callback carried no authorization code; run scorpiox-codex-login again")]
    MissingCode,

    #[error("the sign-in was cancelled ({reason}); run scorpiox-codex-login again")]
    Cancelled { reason: String },

    #[error(
        "the issuer refused the authorization code (HTTP {status}: {message}); run scorpiox-codex-login again"
    )]
    ExchangeRejected { status: u16, message: String },

    #[error("{what} failed (HTTP {status}: {message}); try again later")]
    Server {
        what: &'static str,
        status: u16,
        message: String,
    },

    #[error("network error talking to {url}: {message}; check your connection and CODEX_AUTH_URL")]
    Network { url: String, message: String },

    #[error("malformed response from {url} ({detail}); try again, and report it if it persists")]
    Protocol { url: String, detail: String },

    #[error(
        "cannot listen on 127.0.0.1:{port} ({detail}); finish or cancel the other sign-in using that port, then try again"
    )]
    Bind { port: u16, detail: String },

    #[error(
        "cannot listen on any sign-in callback port ({}: all in use); finish or cancel the other sign-ins using them (or use the device code: run scorpiox-codex-login without --browser)",
        join_ports(ports)
    )]
    PortsBusy { ports: Vec<u16> },

    #[error("no secure random numbers available ({0}); check the system's entropy source")]
    Random(String),
}

fn join_ports(ports: &[u16]) -> String {
    ports
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(", then ")
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

impl OAuthError {
    /// Exit code of docs/spec.md §1: 3 when the user has to sign in again, 2 when another way of
    /// signing in is needed, 1 for network and server trouble.
    pub fn exit_code(&self) -> u8 {
        match self {
            OAuthError::DeviceCodeNotEnabled { .. } => EXIT_CONFIG,
            OAuthError::Denied { .. }
            | OAuthError::Expired
            | OAuthError::TimedOut { .. }
            | OAuthError::StateMismatch
            | OAuthError::MissingEntitlement { .. }
            | OAuthError::Authorize { .. }
            | OAuthError::MissingCode
            | OAuthError::Cancelled { .. }
            | OAuthError::ExchangeRejected { .. } => EXIT_AUTH,
            OAuthError::Server { .. }
            | OAuthError::Network { .. }
            | OAuthError::Protocol { .. }
            | OAuthError::Bind { .. }
            | OAuthError::PortsBusy { .. }
            | OAuthError::Random(_) => EXIT_RUNTIME,
        }
    }

    /// Whether trying the same step again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            OAuthError::Server { status, .. } => *status == 429 || *status >= 500,
            OAuthError::Network { .. } | OAuthError::Bind { .. } | OAuthError::PortsBusy { .. } => {
                true
            }
            OAuthError::DeviceCodeNotEnabled { .. }
            | OAuthError::Denied { .. }
            | OAuthError::Expired
            | OAuthError::TimedOut { .. }
            | OAuthError::StateMismatch
            | OAuthError::MissingEntitlement { .. }
            | OAuthError::Authorize { .. }
            | OAuthError::MissingCode
            | OAuthError::Cancelled { .. }
            | OAuthError::ExchangeRejected { .. }
            | OAuthError::Protocol { .. }
            | OAuthError::Random(_) => false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// PKCE, state, encoding

/// A PKCE pair (RFC 7636, method S256).
#[derive(Clone)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    /// Verifier: base64url-no-pad of 64 random bytes (86 characters).
    pub fn generate() -> Result<Pkce, OAuthError> {
        Ok(Pkce::from_verifier(URL_SAFE_NO_PAD.encode(random::<64>()?)))
    }

    pub fn from_verifier(verifier: String) -> Pkce {
        let challenge = s256(&verifier);
        Pkce {
            verifier,
            challenge,
        }
    }
}

impl fmt::Debug for Pkce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkce")
            .field("verifier", &mask(&self.verifier))
            .field("challenge", &self.challenge)
            .finish()
    }
}

/// base64url-no-pad(SHA-256(verifier)): the S256 code challenge.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A fresh `state`: base64url-no-pad of 32 random bytes.
pub fn new_state() -> Result<String, OAuthError> {
    Ok(URL_SAFE_NO_PAD.encode(random::<32>()?))
}

fn random<const N: usize>() -> Result<[u8; N], OAuthError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| OAuthError::Random(e.to_string()))?;
    Ok(bytes)
}

/// Percent-encode everything but RFC 3986 unreserved characters (space is `%20`), as the
/// official client encodes query and form values.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `k=v&k=v` with values percent-encoded, in the given order.
fn encode_pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Decode a query string or form body (`+` is a space; bad escapes are kept as they are).
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            match b[i] {
                b'+' => out.push(b' '),
                b'%' => match (
                    b.get(i + 1).and_then(|c| hex(*c)),
                    b.get(i + 2).and_then(|c| hex(*c)),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                },
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The issuer's endpoints

/// What `POST {issuer}/oauth/token` returns for an authorization code (all three required).
#[derive(Clone, serde::Deserialize)]
pub struct Tokens {
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: String,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("id_token", &mask(&self.id_token))
            .field("access_token", &mask(&self.access_token))
            .field("refresh_token", &mask(&self.refresh_token))
            .finish()
    }
}

/// The issuer's sign-in endpoints, for one issuer.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    issuer: String,
    http: reqwest::Client,
    originator: String,
}

struct Reply {
    url: String,
    status: u16,
    body: bytes::Bytes,
}

impl Reply {
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
    fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, OAuthError> {
        serde_json::from_slice(&self.body).map_err(|e| OAuthError::Protocol {
            url: self.url.clone(),
            detail: format!("HTTP {}: {e}", self.status),
        })
    }
}

impl OAuthClient {
    /// `issuer` is `CODEX_AUTH_URL` (a trailing `/` is ignored).
    pub fn new(issuer: &str, http: reqwest::Client, identity: &ClientIdentity) -> OAuthClient {
        OAuthClient {
            issuer: issuer.trim_end_matches('/').to_string(),
            http,
            originator: identity.originator.clone(),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `{issuer}/oauth/authorize?…` with the parameters in the official client's order.
    pub fn authorize_url(&self, redirect_uri: &str, pkce: &Pkce, state: &str) -> String {
        let query = encode_pairs(&[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", redirect_uri),
            ("scope", SCOPE),
            ("code_challenge", &pkce.challenge),
            ("code_challenge_method", "S256"),
            ("id_token_add_organizations", "true"),
            ("codex_cli_simplified_flow", "true"),
            ("state", state),
            ("originator", &self.originator),
        ]);
        format!("{}/oauth/authorize?{query}", self.issuer)
    }

    /// Where the user enters a device code: `{issuer}/codex/device`.
    pub fn device_verification_url(&self) -> String {
        format!("{}/codex/device", self.issuer)
    }

    /// The `redirect_uri` of the device flow's code exchange: `{issuer}/deviceauth/callback`.
    pub fn device_redirect_uri(&self) -> String {
        format!("{}/deviceauth/callback", self.issuer)
    }

    async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: String,
    ) -> Result<Reply, OAuthError> {
        let url = format!("{}{path}", self.issuer);
        let net = |e: reqwest::Error| OAuthError::Network {
            url: url.clone(),
            message: crate::error_chain(&e),
        };
        let resp = self
            .http
            .post(&url)
            .header("content-type", content_type)
            .header("originator", &self.originator)
            .timeout(HTTP_TIMEOUT)
            .body(body)
            .send()
            .await
            .map_err(net)?;
        let status = resp.status().as_u16();
        let body = crate::limits::read_capped(resp, crate::limits::MAX_AUTH_REPLY, HTTP_TIMEOUT)
            .await
            .map_err(|e| OAuthError::Network {
                url: url.clone(),
                message: e.to_string(),
            })?;
        Ok(Reply { url, status, body })
    }

    /// Exchange an authorization code (form-encoded, docs/protocols/codex.md §A.4).
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        code_verifier: &str,
    ) -> Result<Tokens, OAuthError> {
        let body = encode_pairs(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", CLIENT_ID),
            ("code_verifier", code_verifier),
        ]);
        let reply = self.post("/oauth/token", FORM, body).await?;
        if reply.ok() {
            let tokens: Tokens = reply.json()?;
            for t in [
                &tokens.id_token,
                &tokens.access_token,
                &tokens.refresh_token,
            ] {
                sx_config::secrets::register(t);
            }
            return Ok(tokens);
        }
        let message = ErrorBody::parse(&reply.body).message;
        Err(
            if (400..500).contains(&reply.status) && reply.status != 429 {
                OAuthError::ExchangeRejected {
                    status: reply.status,
                    message,
                }
            } else {
                OAuthError::Server {
                    what: "the token exchange",
                    status: reply.status,
                    message,
                }
            },
        )
    }

    /// Trade the id token for an OpenAI API key; `None` on any failure (best effort, as the
    /// official client does).
    pub async fn mint_api_key(&self, id_token: &str) -> Option<String> {
        let body = encode_pairs(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("client_id", CLIENT_ID),
            ("requested_token", "openai-api-key"),
            ("subject_token", id_token),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:id_token",
            ),
        ]);
        let reply = self.post("/oauth/token", FORM, body).await.ok()?;
        if !reply.ok() {
            return None;
        }
        let v: Value = serde_json::from_slice(&reply.body).ok()?;
        let key = v
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())?;
        sx_config::secrets::register(key);
        Some(key.to_owned())
    }
}

#[cfg(test)]
mod tests;
