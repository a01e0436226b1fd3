//! The official Codex CLI's `auth.json` (docs/protocols/codex.md §A.1), its refresh (§A.6), and the file lock
//! and atomic write that make refreshes safe across processes: refresh tokens are single-use,
//! so two processes refreshing the same login at once would log the user out.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sx_config::atomic::{AtomicWrite, Mode, Parent, Symlinks};

use super::jwt::{Claims, decode_claims};
use super::{AuthError, CodexToken, RefreshFailure};
use crate::error_body::ErrorBody;

/// The OAuth client id of the official Codex CLI; sx signs in as the same app so both share one
/// login (docs/protocols/codex.md §A.3).
pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

/// Refresh when the access token expires within this window.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// Without a readable `exp`, refresh when the last refresh is older than this (codex: 8 days).
const REFRESH_INTERVAL: Duration = Duration::from_secs(8 * 24 * 3600);
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// The `refresh_reason` of a refresh request: only the two values the official client sends
/// (tests/fixtures/captures/codex-refresh-request.json). A refresh sx decides on by itself —
/// a token about to expire, or `scorpiox-codex-refreshtoken --force` — is `proactive_expiry`;
/// one after the back-end refused the token is `unauthorized_recovery`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshReason {
    ProactiveExpiry,
    UnauthorizedRecovery,
}

impl RefreshReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RefreshReason::ProactiveExpiry => "proactive_expiry",
            RefreshReason::UnauthorizedRecovery => "unauthorized_recovery",
        }
    }
}

/// A parsed `auth.json`. The whole document is kept, so fields sx does not know (written by
/// newer Codex versions) survive a refresh unchanged.
#[derive(Debug, Clone)]
pub struct AuthFile {
    pub path: PathBuf,
    doc: Value,
    pub access_token: String,
    pub refresh_token: String,
    pub access_claims: Claims,
    id_claims: Option<Claims>,
    account_id: Option<String>,
}

impl AuthFile {
    pub fn load(path: &Path) -> Result<AuthFile, AuthError> {
        // A writer killed mid-write left its temporary copy of the tokens beside the file
        // (docs/reliability.md): gone before anything else reads the folder.
        sx_config::atomic::remove_stale_temps(
            &fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()),
        );
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(AuthError::NotLoggedIn {
                    path: path.to_owned(),
                });
            }
            Err(e) => {
                return Err(AuthError::Unreadable {
                    path: path.to_owned(),
                    source: e,
                });
            }
        };
        let doc: Value = serde_json::from_slice(&bytes).map_err(|e| AuthError::Malformed {
            path: path.to_owned(),
            detail: format!("not JSON: {e}"),
        })?;
        Self::from_doc(path, doc)
    }

    pub fn from_doc(path: &Path, doc: Value) -> Result<AuthFile, AuthError> {
        let malformed = |detail: &str| AuthError::Malformed {
            path: path.to_owned(),
            detail: detail.into(),
        };
        if !doc.is_object() {
            return Err(malformed("the top level is not an object"));
        }
        let tokens = match doc.get("tokens") {
            Some(t @ Value::Object(_)) => t,
            Some(Value::Null) | None => {
                let has_key = doc.get("OPENAI_API_KEY").is_some_and(|k| k.is_string());
                return Err(if has_key {
                    AuthError::ApiKeyOnly {
                        path: path.to_owned(),
                    }
                } else {
                    malformed("no \"tokens\" object")
                });
            }
            Some(_) => return Err(malformed("\"tokens\" is not an object")),
        };
        let field = |name: &str| -> Result<String, AuthError> {
            match tokens.get(name) {
                Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
                _ => Err(malformed(&format!(
                    "tokens.{name} is missing or not a string"
                ))),
            }
        };
        let access_token = field("access_token")?;
        let refresh_token = field("refresh_token")?;
        // Masked in every error message from now on (docs/reliability.md).
        sx_config::secrets::register(&access_token);
        sx_config::secrets::register(&refresh_token);
        if let Some(Value::String(id)) = tokens.get("id_token") {
            sx_config::secrets::register(id);
        }
        let access_claims = decode_claims(&access_token).map_err(|detail| AuthError::BadJwt {
            path: path.to_owned(),
            which: "access token",
            detail,
        })?;
        let id_claims = match tokens.get("id_token") {
            Some(Value::String(s)) => {
                Some(decode_claims(s).map_err(|detail| AuthError::BadJwt {
                    path: path.to_owned(),
                    which: "id token",
                    detail,
                })?)
            }
            _ => None,
        };
        let account_id = match tokens.get("account_id") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => id_claims
                .as_ref()
                .and_then(|c| c.account_id.clone())
                .or_else(|| access_claims.account_id.clone()),
        };
        Ok(AuthFile {
            path: path.to_owned(),
            doc,
            access_token,
            refresh_token,
            access_claims,
            id_claims,
            account_id,
        })
    }

    pub fn account_id(&self) -> Option<&str> {
        self.account_id.as_deref()
    }

    pub fn expires_at(&self) -> Option<u64> {
        self.access_claims.exp
    }

    pub fn last_refresh(&self) -> Option<SystemTime> {
        self.doc
            .get("last_refresh")
            .and_then(Value::as_str)
            .and_then(|s| humantime::parse_rfc3339_weak(s.trim_end_matches('Z')).ok())
    }

    pub fn id_claims(&self) -> Option<&Claims> {
        self.id_claims.as_ref()
    }

    pub fn token(&self, source: &'static str) -> CodexToken {
        CodexToken {
            access_token: self.access_token.clone(),
            account_id: self.account_id.clone(),
            expires_at: self.expires_at(),
            source,
            fedramp: self.id_claims.as_ref().is_some_and(|c| c.fedramp),
        }
    }

    /// Whether the token should be refreshed before use at time `now`.
    pub fn needs_refresh(&self, now: SystemTime) -> bool {
        let now_s = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        match self.expires_at() {
            Some(exp) => exp <= now_s + REFRESH_MARGIN.as_secs(),
            None => match self.last_refresh() {
                Some(t) => now
                    .duration_since(t)
                    .is_ok_and(|age| age > REFRESH_INTERVAL),
                None => true,
            },
        }
    }

    /// Whether the access token is still usable at `now` (even if due for refresh).
    pub fn still_valid(&self, now: SystemTime) -> bool {
        let now_s = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.expires_at().is_some_and(|exp| exp > now_s)
    }

    /// Apply a refresh response: only fields present replace stored ones (docs/protocols/codex.md §A.6).
    pub fn apply_refresh(
        &self,
        resp: &RefreshResponse,
        now: SystemTime,
    ) -> Result<AuthFile, AuthError> {
        let mut doc = self.doc.clone();
        let tokens = doc
            .get_mut("tokens")
            .and_then(Value::as_object_mut)
            .expect("validated at load");
        for (name, v) in [
            ("id_token", &resp.id_token),
            ("access_token", &resp.access_token),
            ("refresh_token", &resp.refresh_token),
        ] {
            if let Some(v) = v {
                tokens.insert(name.into(), Value::String(v.clone()));
            }
        }
        doc["last_refresh"] = Value::String(rfc3339_micros(now));
        AuthFile::from_doc(&self.path, doc)
    }

    /// The whole document as compact JSON (what a shared token store keeps).
    pub fn to_json(&self) -> String {
        self.doc.to_string()
    }

    /// Write atomically (temp file in the same directory, fsync, rename) with mode 0600.
    pub fn save(&self) -> Result<(), AuthError> {
        let mut text = serde_json::to_string_pretty(&self.doc).expect("a Value always serializes");
        text.push('\n');
        write_private_atomic(&self.path, text.as_bytes())
    }
}

/// Build a new ChatGPT-mode `auth.json` document (login), in the official shape.
pub fn new_auth_doc(
    id_token: &str,
    access_token: &str,
    refresh_token: &str,
    account_id: Option<&str>,
    api_key: Option<&str>,
) -> Value {
    json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": api_key,
        "tokens": {
            "id_token": id_token,
            "access_token": access_token,
            "refresh_token": refresh_token,
            "account_id": account_id,
        },
        "last_refresh": rfc3339_micros(SystemTime::now()),
    })
}

fn rfc3339_micros(t: SystemTime) -> String {
    humantime::format_rfc3339_micros(t).to_string()
}

/// How credential files are written (see [`sx_config::atomic`]): mode 0600, a missing parent
/// directory created 0700, fsync of the file and of the directory after the rename. A
/// symlinked `auth.json` is written through: its target gets the new tokens (the link stays),
/// never a regular file in the link's place while the target keeps a used-up refresh token.
/// Temporary files left by a killed writer (full tokens) are removed first.
const CREDENTIALS_WRITE: AtomicWrite = AtomicWrite::new()
    .mode(Mode::Set(0o600))
    .parent(Parent::CreateWithMode(0o700))
    .symlinks(Symlinks::Follow)
    .clean_stale_temps(true);

/// Write `bytes` to `path` atomically with mode 0600, creating the parent directory (0700).
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> Result<(), AuthError> {
    CREDENTIALS_WRITE
        .write(path, bytes)
        .map_err(|source| AuthError::Write {
            path: path.to_owned(),
            source,
        })
}

use std::os::unix::fs::DirBuilderExt;

/// An exclusive lock on `<auth file>.lock`, held until dropped. A sidecar file is locked, not
/// the credential file itself, because the atomic rename replaces the credential file's inode.
pub struct RefreshLock {
    _file: File,
}

impl RefreshLock {
    /// Blocking: waits up to 30 s for the lock. Call from a blocking context.
    pub fn acquire(auth_path: &Path) -> Result<RefreshLock, AuthError> {
        let path = lock_path(auth_path);
        let lerr = |detail: String| AuthError::Lock {
            path: path.clone(),
            detail,
        };
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| lerr(e.to_string()))?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| lerr(e.to_string()))?;
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(RefreshLock { _file: file }),
                Err(fs::TryLockError::WouldBlock) => {
                    if std::time::Instant::now() >= deadline {
                        return Err(lerr(format!(
                            "still held by another process after {}s",
                            LOCK_WAIT.as_secs()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(fs::TryLockError::Error(e)) => return Err(lerr(e.to_string())),
            }
        }
    }
}

pub fn lock_path(auth_path: &Path) -> PathBuf {
    let mut s = auth_path.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// A successful `/oauth/token` refresh response; every field optional (docs/protocols/codex.md §A.6).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RefreshResponse {
    pub id_token: Option<String>,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
}

/// The JSON body of a refresh request, as the official client sends it
/// (tests/fixtures/captures/codex-refresh-request.json).
pub fn refresh_body(refresh_token: &str, reason: RefreshReason) -> Value {
    json!({
        "client_id": CLIENT_ID,
        "grant_type": "refresh_token",
        "refresh_reason": reason.as_str(),
        "refresh_token": refresh_token,
    })
}

/// Map a failed refresh response to an error (docs/protocols/codex.md §A.6). Permanent — the
/// login is dead, sign in again — is a 401, or a `refresh_token_expired` / `_reused` /
/// `_invalidated` code at any status, as the official client classifies it; anything else may
/// pass (exit 1, a still-valid token is used meanwhile). `path` is the login's file (the
/// advice names it).
pub fn refresh_error(status: u16, body: &[u8], path: &Path) -> AuthError {
    let ErrorBody { code, message, .. } = ErrorBody::parse(body);
    let reason = match code.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("refresh_token_expired") => Some(RefreshFailure::Expired),
        Some("refresh_token_reused") => Some(RefreshFailure::Reused),
        Some("refresh_token_invalidated") => Some(RefreshFailure::Revoked),
        _ if status == 401 => Some(RefreshFailure::Other),
        _ => None,
    };
    if let Some(reason) = reason {
        AuthError::RefreshRejected {
            reason,
            detail: format!("HTTP {status}: {message}"),
            path: path.to_path_buf(),
        }
    } else {
        AuthError::RefreshTransient {
            detail: format!("HTTP {status}: {message}"),
        }
    }
}

#[cfg(test)]
#[path = "codex_tests.rs"]
mod tests;
