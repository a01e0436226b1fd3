//! One account's token on the shared store (docs/token-server.md "Several instances on Redis"): the
//! refresh protocol across instances, the import of a new login from the credential file,
//! and what an instance serves while the store is away.
//!
//! A refresh: one task per instance at a time (an in-process gate), then the store's lock
//! (`SET NX PX lease`, a fencing token); the record is read again after taking it (another
//! instance may have refreshed already), the refresh is sent once, and the new login is
//! written (fenced) before anything else happens; then the lock is released. Callers on
//! other instances wait for the lock (bounded) and read the new login; while the current
//! access token is still valid they are served it without waiting.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use sxnet::auth::codex::RefreshResponse;
use sxnet::auth::{
    AuthError, AuthFile, CodexToken, RefreshFailure, RefreshReason, TokenSource, post_refresh,
    refresh_outcome, token_url,
};
use sxnet::http::ClientIdentity;

use super::store::{Record, RedisStore, StoreError, token_hash};
use crate::service::Metrics;

/// How often a caller waiting for another instance's refresh reads the record again.
const POLL: Duration = Duration::from_millis(50);
/// How long to wait between attempts to write a refreshed login (the store may be restarting).
const WRITE_RETRY: Duration = Duration::from_millis(250);

/// `local`: what the JSON line says, as for the file store (docs/spec.md §4.1).
const SOURCE: &str = "local";

/// The credential file's identity when last looked at (changed: look at its tokens again).
type Stamp = (SystemTime, u64, u64);

pub struct SharedSource {
    pub account: Arc<str>,
    /// The credential file: the login imported into the store when it is one the store has
    /// never held.
    file: PathBuf,
    store: Arc<RedisStore>,
    http: reqwest::Client,
    identity: ClientIdentity,
    token_url: String,
    metrics: Arc<Metrics>,
    /// One task per instance works on the lock at a time; the others then read its result.
    gate: tokio::sync::Mutex<()>,
    /// The file as last checked against the store (`None`: not yet, e.g. the store was down).
    checked: Mutex<Option<Stamp>>,
    /// The last login read from the store: served while the store is away and it is valid.
    last: Mutex<Option<AuthFile>>,
}

impl SharedSource {
    pub fn new(
        account: Arc<str>,
        file: PathBuf,
        store: Arc<RedisStore>,
        http: reqwest::Client,
        identity: ClientIdentity,
        auth_url: &str,
        metrics: Arc<Metrics>,
    ) -> SharedSource {
        SharedSource {
            account,
            file,
            store,
            http,
            identity,
            token_url: token_url(auth_url),
            metrics,
            gate: tokio::sync::Mutex::new(()),
            checked: Mutex::new(None),
            last: Mutex::new(None),
        }
    }

    /// Whether the credential file has been checked against the store since it last changed
    /// (readiness: the account's login is in the store).
    pub fn synced(&self) -> bool {
        let checked = *self.checked.lock().expect("poisoned");
        checked.is_some() && stamp(&self.file) == checked
    }

    fn store_error(&self, e: &StoreError) -> AuthError {
        self.metrics.inc("store_errors_total", &[]);
        AuthError::Source {
            detail: e.to_string(),
            retryable: true,
            exit: 1,
        }
    }

    fn parse(&self, auth: &str) -> Result<AuthFile, AuthError> {
        let doc = serde_json::from_str(auth).map_err(|e| AuthError::Malformed {
            path: self.file.clone(),
            detail: format!("the token store's copy is not JSON: {e}"),
        })?;
        AuthFile::from_doc(&self.file, doc)
    }

    /// Import the credential file into the store if it holds a login the store never had:
    /// the first start (seeding), or a `scorpiox-codex-login --name A --force` since.
    pub async fn sync_file(&self) -> Result<(), AuthError> {
        let now = stamp(&self.file);
        if now.is_some() && now == *self.checked.lock().expect("poisoned") {
            return Ok(());
        }
        let file = match AuthFile::load(&self.file) {
            Ok(f) => f,
            Err(e) => {
                // A broken file imports nothing; the store's login (if any) stays in use.
                *self.checked.lock().expect("poisoned") = now;
                return Err(e);
            }
        };
        if !self.seen(&file).await? {
            let fence = self.lock_for_import().await?;
            let r = async {
                // Another instance may have imported it while this one waited for the lock.
                if self.seen(&file).await? {
                    return Ok(());
                }
                self.store
                    .write(&self.account, fence, &file.to_json(), &file.refresh_token)
                    .await
                    .map_err(|e| self.store_error(&e))?;
                eprintln!(
                    "account '{}': imported the login from {} into the token store",
                    self.account,
                    self.file.display()
                );
                Ok(())
            }
            .await;
            let _ = self.store.release(&self.account, fence).await;
            r?;
        }
        *self.checked.lock().expect("poisoned") = now;
        Ok(())
    }

    async fn seen(&self, file: &AuthFile) -> Result<bool, AuthError> {
        self.store
            .seen(&self.account, &file.refresh_token)
            .await
            .map_err(|e| self.store_error(&e))
    }

    async fn lock_for_import(&self) -> Result<u64, AuthError> {
        let deadline = Instant::now() + self.store.lease + Duration::from_secs(5);
        loop {
            match self.store.try_lock(&self.account).await {
                Ok(Some(fence)) => return Ok(fence),
                Ok(None) if Instant::now() < deadline => tokio::time::sleep(POLL).await,
                Ok(None) => return Err(self.lock_timeout()),
                Err(e) => return Err(self.store_error(&e)),
            }
        }
    }

    fn lock_timeout(&self) -> AuthError {
        AuthError::Lock {
            path: PathBuf::from(format!("{}:{}:lock", super::store::PREFIX, self.account)),
            detail: format!(
                "another instance held the refresh lock longer than its lease ({}s)",
                self.store.lease.as_secs()
            ),
        }
    }

    /// The record's login (importing the file first when the store has none).
    async fn current(&self) -> Result<(Record, AuthFile), AuthError> {
        let mut record = self
            .store
            .read(&self.account)
            .await
            .map_err(|e| self.store_error(&e))?;
        if record.auth.is_none() {
            *self.checked.lock().expect("poisoned") = None;
            self.sync_file().await?;
            record = self
                .store
                .read(&self.account)
                .await
                .map_err(|e| self.store_error(&e))?;
        }
        let Some(auth) = &record.auth else {
            return Err(AuthError::NotLoggedIn {
                path: self.file.clone(),
            });
        };
        let file = self.parse(auth)?;
        *self.last.lock().expect("poisoned") = Some(file.clone());
        Ok((record, file))
    }

    /// The stored refresh token is one OpenAI refused: say so without asking again.
    fn dead(&self, record: &Record, file: &AuthFile) -> Option<AuthError> {
        let (hash, reason) = record.dead.as_ref()?;
        (*hash == token_hash(&file.refresh_token)).then(|| AuthError::RefreshRejected {
            reason: match reason.as_str() {
                "expired" => RefreshFailure::Expired,
                "reused" => RefreshFailure::Reused,
                "revoked" => RefreshFailure::Revoked,
                _ => RefreshFailure::Other,
            },
            detail: "refused earlier; not sent again".into(),
            path: self.file.clone(),
        })
    }

    /// Get a login that needs no refresh (or, with `rejected`, differs from that access
    /// token), refreshing it once across all instances if need be.
    async fn fresh(&self, rejected: Option<&str>) -> Result<AuthFile, AuthError> {
        // Most calls: the stored login is good; no gate, one read.
        let (_, file) = self.current().await?;
        if done(&file, rejected) {
            return Ok(file);
        }
        let _gate = self.gate.lock().await;
        let deadline = Instant::now() + self.store.lease + Duration::from_secs(5);
        loop {
            let (record, file) = self.current().await?;
            if done(&file, rejected) {
                return Ok(file);
            }
            if let Some(e) = self.dead(&record, &file) {
                return Err(e);
            }
            match self
                .store
                .try_lock(&self.account)
                .await
                .map_err(|e| self.store_error(&e))?
            {
                Some(fence) => {
                    let r = self.refresh_locked(fence, rejected).await;
                    if let Err(e) = self.store.release(&self.account, fence).await {
                        // The lease ends it anyway.
                        eprintln!(
                            "warning: account '{}': releasing the refresh lock failed: {e}",
                            self.account
                        );
                    }
                    return r;
                }
                None => {
                    // Another instance is refreshing: its token is not needed to serve a
                    // caller while the current one is still valid.
                    if rejected.is_none() && file.still_valid(SystemTime::now()) {
                        return Ok(file);
                    }
                    if Instant::now() >= deadline {
                        return Err(self.lock_timeout());
                    }
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    }

    /// Holding the lock under `fence`: read again, refresh once, write, in that order.
    async fn refresh_locked(
        &self,
        fence: u64,
        rejected: Option<&str>,
    ) -> Result<AuthFile, AuthError> {
        let (record, file) = self.current().await?;
        if done(&file, rejected) {
            return Ok(file);
        }
        if let Some(e) = self.dead(&record, &file) {
            return Err(e);
        }
        self.store
            .mark_refreshing(&self.account, fence)
            .await
            .map_err(|e| self.store_error(&e))?;
        let reason = match rejected {
            Some(_) => RefreshReason::UnauthorizedRecovery,
            None => RefreshReason::ProactiveExpiry,
        };
        // Within the lease, so that nobody else may send the same refresh token meanwhile.
        let timeout = self.store.lease / 2;
        let now = SystemTime::now();
        let r = post_refresh(
            &self.http,
            &self.token_url,
            &self.identity,
            &file.refresh_token,
            reason,
            timeout,
            &self.file,
        )
        .await;
        self.metrics
            .inc("refreshes_total", &[("result", refresh_outcome(&r))]);
        match r {
            Ok(resp) => self.save(fence, &file, &resp, now).await,
            Err(AuthError::RefreshRejected {
                reason,
                detail,
                path,
            }) => {
                let code = match reason {
                    RefreshFailure::Expired => "expired",
                    RefreshFailure::Reused => "reused",
                    RefreshFailure::Revoked => "revoked",
                    RefreshFailure::Other => "other",
                };
                if let Some(earlier) = record.refreshing {
                    eprintln!(
                        "warning: account '{}': a refresh sent upstream under fencing token \
                         {earlier} was never saved (its instance stopped or lost the store \
                         half-way), and OpenAI now refuses the stored refresh token ({code}); \
                         sign in again: {} on the token server",
                        self.account,
                        sxnet::auth::advice::LoginFile::of(&self.file).command(true)
                    );
                }
                let _ = self
                    .store
                    .mark_dead(&self.account, &file.refresh_token, code)
                    .await;
                Err(AuthError::RefreshRejected {
                    reason,
                    detail,
                    path,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// The new login goes to the store before anything else (retried while the store is
    /// briefly away): until it is written, the used refresh token is all the others have.
    async fn save(
        &self,
        fence: u64,
        before: &AuthFile,
        resp: &RefreshResponse,
        now: SystemTime,
    ) -> Result<AuthFile, AuthError> {
        let updated = before.apply_refresh(resp, now)?;
        let doc = updated.to_json();
        // Until the lease ends: a caller that gave up does not stop this (the token server runs
        // every token call in a task of its own), and a later write is still fenced.
        let deadline = Instant::now() + self.store.lease;
        loop {
            match self
                .store
                .write(&self.account, fence, &doc, &updated.refresh_token)
                .await
            {
                Ok(true) => break,
                Ok(false) => {
                    // A newer lock holder wrote first (this one outlived its lease): keep
                    // what it wrote, and serve ours while it is valid.
                    eprintln!(
                        "warning: account '{}': a newer refresh was stored first; this \
                         instance's refresh (fencing token {fence}) is dropped",
                        self.account
                    );
                    break;
                }
                Err(e) => {
                    self.metrics.inc("store_errors_total", &[]);
                    if Instant::now() >= deadline {
                        eprintln!(
                            "error: account '{}': the refreshed login could not be saved to the \
                             token store ({e}); once the store is back, sign in again: \
                             scorpiox-codex-login --name {} --force on the token server",
                            self.account, self.account
                        );
                        break;
                    }
                    tokio::time::sleep(WRITE_RETRY).await;
                }
            }
        }
        *self.last.lock().expect("poisoned") = Some(updated.clone());
        Ok(updated)
    }

    /// The store is away: the last login read, while its access token is valid.
    fn fallback(&self, e: AuthError) -> Result<CodexToken, AuthError> {
        let last = self.last.lock().expect("poisoned").clone();
        match last {
            Some(f) if f.still_valid(SystemTime::now()) => Ok(f.token(SOURCE)),
            _ => Err(e),
        }
    }
}

fn done(file: &AuthFile, rejected: Option<&str>) -> bool {
    match rejected {
        Some(r) => file.access_token != r,
        None => !file.needs_refresh(SystemTime::now()),
    }
}

fn stamp(path: &std::path::Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}

#[async_trait]
impl TokenSource for SharedSource {
    fn kind(&self) -> &'static str {
        SOURCE
    }

    async fn token(&self) -> Result<CodexToken, AuthError> {
        // A new login on disk wins; a broken file was reported at startup and changes nothing.
        if let Err(e @ AuthError::Source { .. }) = self.sync_file().await {
            return self.fallback(e);
        }
        match self.fresh(None).await {
            Ok(f) => Ok(f.token(SOURCE)),
            // The store is away, OpenAI is, or the lock outlived its wait: the last token
            // read still works for a while (as the file store's does).
            Err(
                e @ (AuthError::Source { .. }
                | AuthError::RefreshTransient { .. }
                | AuthError::Lock { .. }),
            ) => self.fallback(e),
            Err(e) => Err(e),
        }
    }

    async fn recover_unauthorized(&self, rejected: &str) -> Result<CodexToken, AuthError> {
        Ok(self.fresh(Some(rejected)).await?.token(SOURCE))
    }
}
