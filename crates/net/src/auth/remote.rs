//! `remote` (alias `http`): `GET CODEX_REMOTE_URL` from a team token service
//! (`scorpiox-token-server`, docs/spec.md §4.2). The service keeps the login fresh; this side never
//! refreshes, it only fetches again.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;

use super::codex::AuthFile;
use super::{AuthError, CodexToken, TokenSource};
use crate::error::{EXIT_AUTH, EXIT_CONFIG, EXIT_RUNTIME};
use crate::error_body::ErrorBody;
use crate::http::{ClientIdentity, RetryPolicy};

pub struct RemoteSource {
    url: String,
    api_key: Option<String>,
    http: reqwest::Client,
    retry: RetryPolicy,
}

impl RemoteSource {
    pub fn new(
        url: &str,
        api_key: Option<&str>,
        http: reqwest::Client,
        _identity: &ClientIdentity,
    ) -> Self {
        RemoteSource {
            url: url.to_string(),
            api_key: api_key.filter(|k| !k.is_empty()).map(str::to_owned),
            http,
            retry: RetryPolicy::default(),
        }
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// One fetch, retried on transient failures within the configured request budget
    /// (`REQUEST_MAX_RETRIES`, as for model requests).
    async fn fetch(&self) -> Result<CodexToken, AuthError> {
        let mut retries = 0;
        loop {
            match self.fetch_once().await {
                Err(e) if e.is_retryable() && retries < self.retry.request_max_retries => {
                    retries += 1;
                    tokio::time::sleep(self.retry.backoff(retries)).await;
                }
                other => return other,
            }
        }
    }

    async fn fetch_once(&self) -> Result<CodexToken, AuthError> {
        let url = &self.url;
        let mut rb = self
            .http
            .get(url)
            .header("accept", "application/json")
            .timeout(Duration::from_secs(15));
        if let Some(key) = &self.api_key {
            rb = rb.bearer_auth(key);
        }
        let fail = |detail: String, retryable: bool, exit: u8| AuthError::Source {
            detail,
            retryable,
            exit,
        };
        let resp = rb.send().await.map_err(|e| {
            fail(
                format!("cannot reach the token service at {url}: {}; check CODEX_REMOTE_URL and your connection", crate::error_chain(&e)),
                true,
                EXIT_RUNTIME,
            )
        })?;
        let status = resp.status().as_u16();
        let body = crate::limits::read_capped(
            resp,
            crate::limits::MAX_AUTH_REPLY,
            Duration::from_secs(15),
        )
        .await
        .map_err(|e| {
            fail(
                format!("reading the token service's answer from {url}: {e}; try again"),
                true,
                EXIT_RUNTIME,
            )
        })?;
        if !(200..300).contains(&status)
            && let Some(e) = from_token_server(url, status, &body)
        {
            return Err(e);
        }
        match status {
            200..=299 => parse_token_document(&body, "remote").map_err(|why| {
                fail(
                    format!("the token service at {url} answered with something that is not a token ({why}); check CODEX_REMOTE_URL"),
                    false,
                    EXIT_RUNTIME,
                )
            }),
            401 | 403 => Err(fail(
                format!(
                    "the token service at {url} refused the request (HTTP {status}: {}); check TOKEN_HTTP_API_KEY{}",
                    ErrorBody::parse(&body).message,
                    if self.api_key.is_none() { " (it is not set)" } else { "" }
                ),
                false,
                EXIT_AUTH,
            )),
            404 => Err(fail(
                format!("the token service has nothing at {url} (HTTP 404); check CODEX_REMOTE_URL"),
                false,
                EXIT_CONFIG,
            )),
            500..=599 => Err(fail(
                format!("the token service at {url} failed (HTTP {status}: {}); try again later", ErrorBody::parse(&body).message),
                true,
                EXIT_RUNTIME,
            )),
            _ => Err(fail(
                format!("unexpected HTTP {status} from the token service at {url}: {}; check CODEX_REMOTE_URL", ErrorBody::parse(&body).message),
                false,
                EXIT_RUNTIME,
            )),
        }
    }
}

#[async_trait]
impl TokenSource for RemoteSource {
    fn kind(&self) -> &'static str {
        "remote"
    }

    async fn token(&self) -> Result<CodexToken, AuthError> {
        self.fetch().await
    }

    async fn recover_unauthorized(&self, rejected: &str) -> Result<CodexToken, AuthError> {
        let t = self.fetch().await?;
        if t.access_token == rejected {
            return Err(AuthError::Unauthorized {
                detail: format!(
                    "the token service at {} keeps serving a token the backend refuses",
                    self.url
                ),
                fix: self.sign_in_again(),
            });
        }
        Ok(t)
    }

    fn sign_in_again(&self) -> String {
        "ask the token server's administrator to sign your account in again there \
         (scorpiox-codex-login --name ACCOUNT --force)"
            .to_string()
    }
}

/// The `error.code` of `scorpiox-token-server`'s error bodies (docs/token-server.md, "The HTTP
/// interface"). Their message already says what is wrong and what to do, so a client shows it
/// as it is, with nothing added.
pub mod codes {
    /// 401: no key, or not a key of this server.
    pub const INVALID_KEY: &str = "invalid_key";
    /// 502: the account's login on the server is broken; someone must sign it in again there.
    pub const LOGIN_BROKEN: &str = "login_broken";
    /// 503: the token cannot be had right now (OpenAI unreachable, a refresh taking long).
    pub const TOKEN_UNAVAILABLE: &str = "token_unavailable";
    /// 500: the server failed; its administrator has to look at its log.
    pub const SERVER_ERROR: &str = "token_server_error";
}

/// A failure answered by `scorpiox-token-server` itself (its body carries one of [`codes`]):
/// one line with its message, which holds the one fix. A broken login or a refused key is an
/// authentication failure (exit 3, not retried); only a 503 is worth retrying. `None` for any
/// other body (a proxy's page, another service).
fn from_token_server(url: &str, status: u16, body: &[u8]) -> Option<AuthError> {
    let err = ErrorBody::parse(body);
    let (retryable, exit) = match err.code.as_deref()? {
        codes::INVALID_KEY | codes::LOGIN_BROKEN => (false, EXIT_AUTH),
        codes::TOKEN_UNAVAILABLE => (true, EXIT_RUNTIME),
        codes::SERVER_ERROR => (false, EXIT_RUNTIME),
        _ => return None,
    };
    Some(AuthError::Source {
        detail: format!(
            "the token server at {url} could not give a token (HTTP {status}): {}",
            crate::error_body::snippet(err.message.as_bytes())
        ),
        retryable,
        exit,
    })
}

/// A token as another machine hands it over: either the one JSON line of
/// `scorpiox-codex-fetchtoken` (docs/spec.md §4.1) or a whole `auth.json` document. `source` names
/// the source that fetched it (it replaces whatever the document says).
pub fn parse_token_document(body: &[u8], source: &'static str) -> Result<CodexToken, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the answer is not UTF-8 text".to_string())?;
    let text = text.trim();
    if text.is_empty() {
        return Err("the answer is empty".into());
    }
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if v.get("tokens").is_some() {
        let f =
            AuthFile::from_doc(Path::new("<remote auth.json>"), v).map_err(|e| e.to_string())?;
        return Ok(f.token(source));
    }
    let access = v
        .get("access_token")
        .and_then(|a| a.as_str())
        .filter(|a| !a.is_empty())
        .ok_or_else(|| "no access_token field".to_string())?;
    let claims = super::decode_claims(access).ok();
    let expires_at = v
        .get("expires_at")
        .and_then(|e| e.as_u64())
        .or_else(|| claims.as_ref().and_then(|c| c.exp));
    let account_id = v
        .get("account_id")
        .and_then(|a| a.as_str())
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .or_else(|| claims.as_ref().and_then(|c| c.account_id.clone()));
    Ok(CodexToken {
        access_token: access.to_string(),
        account_id,
        expires_at,
        source,
        fedramp: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_line_and_the_document() {
        let t = parse_token_document(br#"{"access_token":"abc","account_id":"acct","expires_at":1767225600,"source":"local"}"#, "remote").unwrap();
        assert_eq!(
            (
                t.access_token.as_str(),
                t.account_id.as_deref(),
                t.expires_at,
                t.source
            ),
            ("abc", Some("acct"), Some(1767225600), "remote")
        );
        let bad = [
            &b""[..],
            b"  ",
            b"not json",
            b"[]",
            br#"{"access_token":""}"#,
            br#"{"tokens":{}}"#,
            b"\xff",
        ];
        for b in bad {
            assert!(
                parse_token_document(b, "remote").is_err(),
                "{:?}",
                String::from_utf8_lossy(b)
            );
        }
    }
}
