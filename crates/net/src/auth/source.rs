//! Token sources (`CODEX_TOKEN_SOURCE`, docs/spec.md §4.1). `local` owns the credential file and
//! refreshes it; the others fetch a token that someone else keeps fresh.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::codex::{
    AuthFile, RefreshLock, RefreshReason, RefreshResponse, refresh_body, refresh_error,
};
use super::{AuthError, CodexToken, RefreshFailure};
use crate::http::ClientIdentity;

#[async_trait]
pub trait TokenSource: Send + Sync {
    /// `local`, `remote` or `ssh`.
    fn kind(&self) -> &'static str;
    /// A token good for at least the next few minutes.
    async fn token(&self) -> Result<CodexToken, AuthError>;
    /// The server refused the access token `rejected` with 401: return a different, fresh
    /// token or fail.
    async fn recover_unauthorized(&self, rejected: &str) -> Result<CodexToken, AuthError>;
    /// What to do when the backend keeps refusing this source's tokens: sign the login in
    /// again, naming where (docs/login.md).
    fn sign_in_again(&self) -> String {
        "run scorpiox-codex-login --force to sign in again".to_string()
    }
}

/// Build the source `CODEX_TOKEN_SOURCE` names.
pub fn open_token_source(
    config: &sx_config::Config,
    http: &reqwest::Client,
    identity: &ClientIdentity,
) -> Result<Arc<dyn TokenSource>, AuthError> {
    let kind = config.get("CODEX_TOKEN_SOURCE").unwrap_or("local");
    match kind {
        "local" => {
            let path = config
                .path("CODEX_CREDENTIALS_FILE")
                .ok_or(AuthError::NotConfigured {
                    key: "CODEX_CREDENTIALS_FILE",
                    detail: "CODEX_CREDENTIALS_FILE is empty; set it to the path of auth.json"
                        .into(),
                })?;
            let auth_url = config
                .get_nonempty("CODEX_AUTH_URL")
                .unwrap_or("https://auth.openai.com");
            Ok(Arc::new(LocalSource::new(
                path,
                auth_url,
                http.clone(),
                identity.clone(),
            )))
        }
        "remote" | "http" => {
            let url = config.get_nonempty("CODEX_REMOTE_URL").ok_or(AuthError::NotConfigured {
                key: "CODEX_REMOTE_URL",
                detail: "CODEX_TOKEN_SOURCE=remote needs CODEX_REMOTE_URL (the token service's URL); set it with scorpiox-config --set CODEX_REMOTE_URL https://…".into(),
            })?;
            Ok(Arc::new(
                super::RemoteSource::new(
                    url,
                    config.get_nonempty("TOKEN_HTTP_API_KEY"),
                    http.clone(),
                    identity,
                )
                .with_retry(crate::http::RetryPolicy::from_config(config)),
            ))
        }
        "ssh" => Ok(Arc::new(super::ssh::SshSource::from_config(config)?)),
        other => Err(AuthError::NotConfigured {
            key: "CODEX_TOKEN_SOURCE",
            detail: format!(
                "CODEX_TOKEN_SOURCE={other} is not a token source; allowed: local, remote (or http), ssh"
            ),
        }),
    }
}

/// `local`: the official Codex CLI's `auth.json`, refreshed in place.
pub struct LocalSource {
    path: PathBuf,
    token_url: String,
    http: reqwest::Client,
    identity: ClientIdentity,
    /// One refresh in flight per source inside this process (the file lock covers others).
    gate: tokio::sync::Mutex<()>,
    /// A refresh token the server refused for good: fail fast, without network, until the
    /// file changes (docs/protocols/codex.md §A.6).
    dead_refresh_token: Mutex<Option<(String, RefreshFailure, String)>>,
    /// Told each refresh request's outcome ([`refresh_outcome`]): the token server counts them.
    on_refresh: Option<RefreshHook>,
}

/// See [`LocalSource::with_refresh_hook`].
pub type RefreshHook = Box<dyn Fn(&'static str) + Send + Sync>;

impl LocalSource {
    pub fn new(
        path: PathBuf,
        auth_url: &str,
        http: reqwest::Client,
        identity: ClientIdentity,
    ) -> Self {
        LocalSource {
            path,
            token_url: token_url(auth_url),
            http,
            identity,
            gate: tokio::sync::Mutex::new(()),
            dead_refresh_token: Mutex::new(None),
            on_refresh: None,
        }
    }

    /// Call `hook` with the outcome of every refresh request this source sends.
    pub fn with_refresh_hook(mut self, hook: RefreshHook) -> Self {
        self.on_refresh = Some(hook);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn load(&self) -> Result<AuthFile, AuthError> {
        AuthFile::load(&self.path)
    }

    /// Refresh now, whatever the expiry (`scorpiox-codex-refreshtoken`). Returns the file as it
    /// was before and after. With `force == false` a token that is not due is left alone.
    /// Either way the request says `proactive_expiry`: the official client has no other
    /// reason for a refresh it decides on itself.
    pub async fn refresh_now(&self, force: bool) -> Result<(AuthFile, AuthFile), AuthError> {
        let before = self.load()?;
        let after = self
            .refresh(RefreshReason::ProactiveExpiry, None, force)
            .await?;
        Ok((before, after))
    }

    /// The refresh protocol: one in flight per process, file lock across processes, re-read
    /// after locking so a refresh another process just did is reused rather than repeated
    /// (refresh tokens are single-use).
    async fn refresh(
        &self,
        reason: RefreshReason,
        rejected_access: Option<&str>,
        force: bool,
    ) -> Result<AuthFile, AuthError> {
        let _gate = self.gate.lock().await;
        let path = self.path.clone();
        let lock = tokio::task::spawn_blocking(move || RefreshLock::acquire(&path))
            .await
            .map_err(|e| AuthError::Lock {
                path: self.path.clone(),
                detail: e.to_string(),
            })??;
        let current = self.load()?;
        let now = SystemTime::now();
        if !force {
            match rejected_access {
                // Another process already replaced the token the server refused.
                Some(rejected) if current.access_token != rejected => return Ok(current),
                Some(_) => {}
                None if !current.needs_refresh(now) => return Ok(current),
                None => {}
            }
        }
        if let Some((rt, reason, detail)) =
            self.dead_refresh_token.lock().expect("poisoned").as_ref()
            && *rt == current.refresh_token
        {
            return Err(AuthError::RefreshRejected {
                reason: *reason,
                detail: detail.clone(),
                path: self.path.clone(),
            });
        }
        let resp = match self.post_refresh(&current.refresh_token, reason).await {
            Ok(r) => r,
            Err(e) => {
                if let AuthError::RefreshRejected { reason, detail, .. } = &e {
                    *self.dead_refresh_token.lock().expect("poisoned") =
                        Some((current.refresh_token.clone(), *reason, detail.clone()));
                }
                return Err(e);
            }
        };
        let updated = current.apply_refresh(&resp, now)?;
        updated.save()?;
        drop(lock);
        Ok(updated)
    }

    async fn post_refresh(
        &self,
        refresh_token: &str,
        reason: RefreshReason,
    ) -> Result<RefreshResponse, AuthError> {
        let r = post_refresh(
            &self.http,
            &self.token_url,
            &self.identity,
            refresh_token,
            reason,
            REFRESH_TIMEOUT,
            &self.path,
        )
        .await;
        if let Some(hook) = &self.on_refresh {
            hook(refresh_outcome(&r));
        }
        r
    }
}

/// How long one refresh request may take.
pub const REFRESH_TIMEOUT: Duration = Duration::from_secs(30);

/// The issuer's token endpoint, `{auth_url}/oauth/token`.
pub fn token_url(auth_url: &str) -> String {
    format!("{}/oauth/token", auth_url.trim_end_matches('/'))
}

/// A refresh's outcome as the token server's metrics count it: `ok`, `rejected` (the refresh
/// token is dead) or `transient`.
pub fn refresh_outcome<T>(r: &Result<T, AuthError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(AuthError::RefreshRejected { .. }) => "rejected",
        Err(_) => "transient",
    }
}

/// One refresh request to the issuer (docs/protocols/codex.md §A.6): the refresh token in, the
/// new tokens (or a typed failure) out. Shared by [`LocalSource`] and the token server's shared
/// store, which bounds it by its lock's lease.
pub async fn post_refresh(
    http: &reqwest::Client,
    token_url: &str,
    identity: &ClientIdentity,
    refresh_token: &str,
    reason: RefreshReason,
    timeout: Duration,
    path: &Path,
) -> Result<RefreshResponse, AuthError> {
    let body = serde_json::to_vec(&refresh_body(refresh_token, reason)).expect("json");
    let transient = |detail: String| AuthError::RefreshTransient { detail };
    let resp = http
        .post(token_url)
        .header("content-type", "application/json")
        .header("originator", &identity.originator)
        .timeout(timeout)
        .body(body)
        .send()
        .await
        .map_err(|e| transient(format!("{token_url}: {}", crate::error_chain(&e))))?;
    let status = resp.status().as_u16();
    let bytes = crate::limits::read_capped(resp, crate::limits::MAX_AUTH_REPLY, timeout)
        .await
        .map_err(|e| transient(format!("reading the refresh response: {e}")))?;
    if !(200..300).contains(&status) {
        return Err(refresh_error(status, &bytes, path));
    }
    let parsed: RefreshResponse = serde_json::from_slice(&bytes).map_err(|e| {
        transient(format!(
            "the token endpoint answered HTTP {status} with a malformed body ({e})"
        ))
    })?;
    if parsed.access_token.is_none() {
        return Err(transient(
            "the token endpoint's answer has no access_token".into(),
        ));
    }
    Ok(parsed)
}

#[async_trait]
impl TokenSource for LocalSource {
    fn kind(&self) -> &'static str {
        "local"
    }

    async fn token(&self) -> Result<CodexToken, AuthError> {
        let file = self.load()?;
        let now = SystemTime::now();
        if !file.needs_refresh(now) {
            return Ok(file.token("local"));
        }
        match self
            .refresh(RefreshReason::ProactiveExpiry, None, false)
            .await
        {
            Ok(f) => Ok(f.token("local")),
            // A transient failure while the old token still works: use it (codex does too).
            Err(AuthError::RefreshTransient { .. } | AuthError::Lock { .. })
                if file.still_valid(now) =>
            {
                Ok(file.token("local"))
            }
            Err(e) => Err(e),
        }
    }

    async fn recover_unauthorized(&self, rejected: &str) -> Result<CodexToken, AuthError> {
        let f = self
            .refresh(RefreshReason::UnauthorizedRecovery, Some(rejected), false)
            .await?;
        Ok(f.token("local"))
    }

    fn sign_in_again(&self) -> String {
        super::advice::sign_in_again(&self.path)
    }
}
