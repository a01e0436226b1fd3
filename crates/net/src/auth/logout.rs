//! Signing out of a local login (`scorpiox-codex-login --logout`, docs/login.md): what
//! `codex logout` does (docs/protocols/codex.md §A.6, "Logout with revoke") — revoke the refresh
//! token at the issuer, best effort and bounded, then delete the credential file — under the
//! refresh lock, so a refresh running in another process cannot write the login back after it.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::AuthError;
use super::codex::{AuthFile, CLIENT_ID, RefreshLock, lock_path};
use crate::http::ClientIdentity;

/// How long the revocation may take (the official client's bound).
const REVOKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What signing out did.
#[derive(Debug)]
pub struct LoggedOut {
    /// A credential file was there and is gone.
    pub removed: bool,
    /// The refresh token was revoked; `Err` says why not (nothing to revoke, the issuer
    /// unreachable or refusing): the file is removed anyway.
    pub revoked: Result<(), String>,
}

/// Revoke the login in `path` at `auth_url` and delete the file (and sx's lock file beside it).
/// A file that holds no ChatGPT login (an API key, something unreadable as a login) is deleted
/// too, as `codex logout` deletes whatever `auth.json` holds.
pub async fn logout(
    path: &Path,
    auth_url: &str,
    http: &reqwest::Client,
    identity: &ClientIdentity,
) -> Result<LoggedOut, AuthError> {
    let owned = path.to_path_buf();
    let lock = tokio::task::spawn_blocking(move || RefreshLock::acquire(&owned))
        .await
        .map_err(|e| AuthError::Lock {
            path: lock_path(path),
            detail: e.to_string(),
        })??;
    let revoked = match AuthFile::load(path) {
        Err(AuthError::NotLoggedIn { .. }) => {
            drop(lock);
            let _ = std::fs::remove_file(lock_path(path));
            return Ok(LoggedOut {
                removed: false,
                revoked: Err("not signed in".into()),
            });
        }
        Ok(file) => revoke(&file.refresh_token, auth_url, http, identity).await,
        Err(_) => Err("the file holds no ChatGPT login to revoke".into()),
    };
    std::fs::remove_file(path).map_err(|source| AuthError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    drop(lock);
    let _ = std::fs::remove_file(lock_path(path));
    Ok(LoggedOut {
        removed: true,
        revoked,
    })
}

/// `POST {auth_url}/oauth/revoke` with the refresh token, as the official client sends it.
async fn revoke(
    refresh_token: &str,
    auth_url: &str,
    http: &reqwest::Client,
    identity: &ClientIdentity,
) -> Result<(), String> {
    let url = format!("{}/oauth/revoke", auth_url.trim_end_matches('/'));
    let body = json!({
        "token": refresh_token,
        "token_type_hint": "refresh_token",
        "client_id": CLIENT_ID,
    });
    let resp = http
        .post(&url)
        .header("content-type", "application/json")
        .header("originator", &identity.originator)
        .timeout(REVOKE_TIMEOUT)
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| format!("{url}: {}", crate::error_chain(&e)))?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let body = resp.bytes().await.unwrap_or_default();
    Err(format!(
        "{url} answered HTTP {status}: {}",
        crate::error_body::ErrorBody::parse(&body).message
    ))
}
