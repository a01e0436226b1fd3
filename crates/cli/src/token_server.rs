//! `scorpiox-token-server` (docs/spec.md §4.2): serves each caller the Codex access token of the
//! account its bearer key is bound to, and keeps those logins fresh.
//!
//! One [`LocalSource`] per credential file, shared by every request for that account: its
//! refresh gate (plus the file lock) means any number of callers across an expiry cause one
//! refresh upstream. The refresh runs in its own task, so a caller that hangs up or times out
//! never cancels a refresh half-way (refresh tokens are single-use).
//!
//! Docs: `docs/token-server.md`.

pub mod keys;
mod shared;
mod store;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
pub use shared::SharedSource;
pub use store::RedisStore;
use sx_config::Config;
use sxnet::auth::advice::LoginFile;
use sxnet::auth::remote::codes;
use sxnet::auth::{AuthError, LocalSource, RefreshFailure, TokenSource};
use sxnet::http::ClientIdentity;

use crate::Failure;
pub use crate::service::Peer;
use crate::service::metrics::{Family, Kind};
use crate::service::{self, Limits, LogLabel, Metrics, Observe, ServeOptions};
use keys::KeyMap;

/// Where the server listens without `--listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8791";
/// Request line plus headers, in bytes; beyond: 431.
pub const MAX_HEAD: usize = 16 * 1024;
/// Request bodies are not used; at most this much is read and dropped, beyond: 413.
pub const MAX_BODY: usize = 4 * 1024;
/// Connections open at once; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 256;
/// Whole request, body and token included; beyond: 503.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a caller waits for its account's token (the refresh itself carries on).
const TOKEN_WAIT: Duration = Duration::from_secs(25);
/// A connection with no reads or writes for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// After SIGTERM/SIGINT, open requests get this long to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// `Retry-After` of a 503.
const RETRY_AFTER_SECS: &str = "5";

/// One account: a credential file and the source that reads and refreshes it.
#[derive(Clone)]
pub struct Account {
    /// The file stem, as logs and messages name the account.
    pub name: Arc<str>,
    pub source: Arc<dyn TokenSource>,
    /// Its credential file (the sign-in advice names it).
    pub file: std::path::PathBuf,
    /// With a shared store: the same source, for readiness (its login is in the store).
    pub shared: Option<Arc<SharedSource>>,
}

/// What startup built from the configuration.
pub struct Accounts {
    pub map: KeyMap<Account>,
    /// One line each, for stderr (short keys, logins that look broken already).
    pub warnings: Vec<String>,
    /// `TOKEN_SERVER_STORE`, when set.
    pub store: Option<Arc<RedisStore>>,
    pub metrics: Arc<Metrics>,
}

/// The key naming the shared store.
pub const STORE_KEY: &str = "TOKEN_SERVER_STORE";
/// The key giving the refresh lock's lease, in milliseconds.
pub const LEASE_KEY: &str = "TOKEN_SERVER_LEASE_MS";
/// The lease without [`LEASE_KEY`]: twice the longest refresh request.
const DEFAULT_LEASE_MS: u64 = 60_000;

/// `TOKEN_SERVER_STORE` (a malformed URL or lease is exit 2; an unreachable store is not:
/// the server starts and reports not ready until it can reach it).
fn open_store(config: &Config) -> Result<Option<Arc<RedisStore>>, Failure> {
    let Some(url) = config.get_nonempty(STORE_KEY) else {
        return Ok(None);
    };
    let lease_ms = match config.get_nonempty(LEASE_KEY) {
        None => DEFAULT_LEASE_MS,
        Some(v) => v.parse::<u64>().ok().filter(|n| *n >= 100).ok_or_else(|| {
            Failure::usage(format!(
                "{LEASE_KEY} is '{v}'; set it to a whole number of milliseconds, at least 100 \
                 (default {DEFAULT_LEASE_MS})"
            ))
        })?,
    };
    let store = RedisStore::open(url, Duration::from_millis(lease_ms))
        .map_err(|e| Failure::usage(format!("{STORE_KEY}: {e}")))?;
    Ok(Some(Arc::new(store)))
}

/// Read `TOKEN_SERVER_KEYS` and open one shared source per distinct credential file
/// (issuer `CODEX_AUTH_URL`), on the credential files or on `TOKEN_SERVER_STORE`.
/// Configuration errors are exit 2 and never show a key.
pub fn accounts(config: &Config) -> Result<Accounts, Failure> {
    let (entries, mut warnings) =
        keys::parse(config.get(keys::KEY), config.home(), config.cwd()).map_err(Failure::usage)?;
    let auth_url = config
        .get_nonempty("CODEX_AUTH_URL")
        .unwrap_or("https://auth.openai.com");
    let identity = ClientIdentity::new("sx");
    let http = sxnet::http::client(&identity).map_err(Failure::runtime)?;
    let store = open_store(config)?;
    let metrics = Arc::new(Metrics::new("scorpiox_token_server_", METRICS));

    let mut accounts: Vec<Account> = Vec::new();
    let mut first_entry: Vec<usize> = Vec::new(); // per account: the position naming it first
    let mut by_file: HashMap<PathBuf, usize> = HashMap::new(); // file → account index
    let mut key_list = Vec::with_capacity(entries.len());
    for e in entries {
        let (position, account) = (e.position, &e.account);
        let named = format!("{} entry {position} (account '{account}')", keys::KEY);
        if !e.path.is_file() {
            let what = if e.path.exists() {
                "is not a file"
            } else {
                "does not exist"
            };
            return Err(Failure::usage(format!(
                "{named}: {} {what}; sign that account in with 'scorpiox-codex-login --name \
                 {account}', or fix the path",
                e.path.display()
            )));
        }
        let file = std::fs::canonicalize(&e.path).unwrap_or(e.path);
        let index = match by_file.get(&file) {
            Some(&index) => index,
            None => {
                if let Some(other) = accounts.iter().position(|a| *a.name == **account) {
                    return Err(Failure::usage(format!(
                        "{named} and entry {} are different files with the same account name; \
                         rename one so the logs can tell them apart",
                        first_entry[other]
                    )));
                }
                if let Err(err) = sxnet::auth::AuthFile::load(&file) {
                    warnings.push(format!(
                        "account '{account}': {}; its callers get HTTP 502 until this is fixed",
                        crate::one_line(&err.to_string())
                    ));
                }
                let name: Arc<str> = Arc::from(account.as_str());
                let (source, shared): (Arc<dyn TokenSource>, _) = match &store {
                    None => {
                        let m = Arc::clone(&metrics);
                        let local = LocalSource::new(
                            file.clone(),
                            auth_url,
                            http.clone(),
                            identity.clone(),
                        )
                        .with_refresh_hook(Box::new(move |outcome| {
                            m.inc("refreshes_total", &[("result", outcome)]);
                        }));
                        (Arc::new(local), None)
                    }
                    Some(store) => {
                        let shared = Arc::new(SharedSource::new(
                            Arc::clone(&name),
                            file.clone(),
                            Arc::clone(store),
                            http.clone(),
                            identity.clone(),
                            auth_url,
                            Arc::clone(&metrics),
                        ));
                        (Arc::clone(&shared) as Arc<dyn TokenSource>, Some(shared))
                    }
                };
                accounts.push(Account {
                    name,
                    source,
                    file: file.clone(),
                    shared,
                });
                first_entry.push(position);
                by_file.insert(file, accounts.len() - 1);
                accounts.len() - 1
            }
        };
        key_list.push((e.key, index));
    }
    Ok(Accounts {
        map: KeyMap::new(key_list, accounts),
        warnings,
        store,
        metrics,
    })
}

/// What `GET /metrics` reports (prefix `scorpiox_token_server_`).
const METRICS: &[Family] = &[
    (
        "requests_total",
        "Requests answered, by path and status.",
        Kind::Counter,
    ),
    (
        "request_duration_seconds",
        "Time from request to the end of the response, by path.",
        Kind::Histogram,
    ),
    (
        "token_failures_total",
        "Requests whose account's token could not be had, by reason.",
        Kind::Counter,
    ),
    (
        "refreshes_total",
        "Refresh requests sent to the OAuth issuer, by result (ok, rejected, transient).",
        Kind::Counter,
    ),
    (
        "store_errors_total",
        "Operations on the shared token store that failed (TOKEN_SERVER_STORE).",
        Kind::Counter,
    ),
];

/// Serve until `shutdown` completes, then finish open requests (for at most a few seconds).
pub async fn serve(
    listener: tokio::net::TcpListener,
    accounts: Accounts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stopping = Arc::new(AtomicBool::new(false));
    // With a shared store: bring each account's login into it (the first instance seeds it).
    for a in accounts.map.accounts() {
        if let Some(s) = a.shared.clone() {
            tokio::spawn(async move {
                if let Err(e) = s.sync_file().await {
                    eprintln!(
                        "warning: account '{}': {}",
                        s.account,
                        crate::one_line(&e.to_string())
                    );
                }
            });
        }
    }
    let shared = Arc::new(Shared {
        accounts: accounts.map,
        metrics: accounts.metrics,
        store: accounts.store,
        stopping: Arc::clone(&stopping),
    });
    let opts = ServeOptions {
        max_connections: MAX_CONNECTIONS,
        idle: IDLE_TIMEOUT,
        grace: SHUTDOWN_GRACE,
    };
    service::serve(listener, router(shared), opts, shutdown, Some(stopping)).await
}

struct Shared {
    accounts: KeyMap<Account>,
    metrics: Arc<Metrics>,
    store: Option<Arc<RedisStore>>,
    stopping: Arc<AtomicBool>,
}

fn router(shared: Arc<Shared>) -> Router {
    let limits = Arc::new(Limits {
        max_head: MAX_HEAD,
        max_body: MAX_BODY,
        too_large: "request bodies are not used here",
        body_timeout: REQUEST_TIMEOUT,
        request_timeout: Some(REQUEST_TIMEOUT),
        error,
    });
    let observe = Arc::new(Observe {
        metrics: Arc::clone(&shared.metrics),
        paths: &["/codex", "/healthz", "/readyz", "/metrics"],
    });
    Router::new()
        .route("/codex", get(codex))
        .route("/healthz", get(service::healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(limits, service::limits))
        .layer(middleware::from_fn_with_state(observe, service::access_log))
        .with_state(shared)
}

/// Ready while not shutting down (the keys were loaded and checked at startup) and, with a
/// shared store, while the store answers and holds every account's login.
async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    if shared.stopping.load(Ordering::SeqCst) {
        return error(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    if let Some(store) = &shared.store {
        if let Err(e) = store.ping().await {
            shared.metrics.inc("store_errors_total", &[]);
            return error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string());
        }
        for a in shared.accounts.accounts() {
            let Some(s) = &a.shared else { continue };
            if !s.synced() {
                let _ = s.sync_file().await;
            }
            if !s.synced() {
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!(
                        "account '{}': its login is not in the token store yet",
                        a.name
                    ),
                );
            }
        }
    }
    service::healthz().await
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    service::metrics_response(&shared.metrics)
}

async fn codex(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let presented = bearer(&headers);
    let Some(account) = presented.and_then(|k| shared.accounts.lookup(k)) else {
        let message = match presented {
            None => {
                "this token server needs 'Authorization: Bearer <key>'; set TOKEN_HTTP_API_KEY \
                 to the key its administrator gave you"
            }
            Some(_) => {
                "the bearer key is not valid for this token server; check TOKEN_HTTP_API_KEY"
            }
        };
        let mut r = error(StatusCode::UNAUTHORIZED, message);
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    };
    let source = Arc::clone(&account.source);
    // A task of its own: the refresh completes (and is saved) even if this caller goes away.
    let task = tokio::spawn(async move { source.token().await });
    let mut r = match tokio::time::timeout(TOKEN_WAIT, task).await {
        Ok(Ok(Ok(token))) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            format!("{}\n", token.to_json_line()),
        )
            .into_response(),
        Ok(Ok(Err(e))) => {
            eprintln!(
                "warning: account '{}': {}",
                account.name,
                crate::one_line(&e.to_string())
            );
            shared
                .metrics
                .inc("token_failures_total", &[("reason", failure_reason(&e))]);
            auth_failure(&account.name, &account.file, &e)
        }
        Ok(Err(_)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the token server failed while getting the token; ask its administrator to check its \
             log",
        ),
        Err(_) => unavailable(&format!(
            "account '{}': the token refresh is taking long; try again shortly",
            account.name
        )),
    };
    r.extensions_mut()
        .insert(LogLabel(Arc::clone(&account.name)));
    r
}

/// The failure's kind, as the metrics count it (a closed set).
fn failure_reason(e: &AuthError) -> &'static str {
    match e {
        AuthError::RefreshTransient { .. } | AuthError::Lock { .. } => "transient",
        AuthError::Source {
            retryable: true, ..
        } => "store",
        AuthError::RefreshRejected { .. } | AuthError::Unauthorized { .. } => "rejected",
        AuthError::NotLoggedIn { .. }
        | AuthError::Unreadable { .. }
        | AuthError::Malformed { .. }
        | AuthError::BadJwt { .. }
        | AuthError::ApiKeyOnly { .. } => "login",
        AuthError::Write { .. }
        | AuthError::NotConfigured { .. }
        | AuthError::Source { .. }
        | AuthError::KeyRejected { .. }
        | AuthError::AuthRequired { .. }
        | AuthError::NoBackend { .. } => "internal",
    }
}

/// The key of `Authorization: Bearer <key>` (scheme case-insensitive), if there is one.
fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let v = headers.get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, rest) = v.split_at(v.iter().position(|b| *b == b' ')?);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    let key = rest.trim_ascii();
    (!key.is_empty()).then_some(key)
}

/// A failure of the account's login, phrased for the person whose `sx` asked: what is wrong
/// and who must do what, without paths or secrets (the server's own log has the details).
/// `file` is the account's credential file: the command that signs it in again names it by
/// `--name` when it is an account file, else as "its credential file".
fn auth_failure(name: &str, file: &std::path::Path, e: &AuthError) -> Response {
    let command =
        LoginFile::of(file).command_hiding_path(true, &format!("<{name}'s credential file>"));
    let sign_in = format!("sign in again on the token server ({command})");
    let broken = |what: &str| {
        error(
            StatusCode::BAD_GATEWAY,
            &format!("account '{name}': {what}; {sign_in}"),
        )
    };
    match e {
        AuthError::NotLoggedIn { .. } => broken("the token server has no Codex login for it"),
        AuthError::Unreadable { .. } => error(
            StatusCode::BAD_GATEWAY,
            &format!(
                "account '{name}': the token server cannot read its credential file; ask its administrator to fix the file's permissions"
            ),
        ),
        AuthError::Malformed { .. } | AuthError::BadJwt { .. } => {
            broken("its login on the token server is not a valid Codex auth.json")
        }
        AuthError::ApiKeyOnly { .. } => {
            broken("its login on the token server is an API key, not a ChatGPT login")
        }
        AuthError::RefreshRejected { reason, .. } => broken(match reason {
            RefreshFailure::Expired => "its Codex refresh token has expired",
            RefreshFailure::Reused => "its Codex refresh token was already used elsewhere",
            RefreshFailure::Revoked => "its Codex refresh token was revoked",
            RefreshFailure::Other => "OpenAI refused to refresh its Codex login",
        }),
        AuthError::Unauthorized { .. } => broken("OpenAI no longer accepts its Codex login"),
        AuthError::RefreshTransient { .. } => unavailable(&format!(
            "account '{name}': the token server could not reach OpenAI to refresh the token; try again shortly"
        )),
        AuthError::Lock { .. } => unavailable(&format!(
            "account '{name}': another process on the token server is refreshing this login; try again shortly"
        )),
        AuthError::Source {
            retryable: true, ..
        } => unavailable(&format!(
            "account '{name}': the token server cannot reach its token store; try again shortly"
        )),
        AuthError::Write { .. }
        | AuthError::NotConfigured { .. }
        | AuthError::Source { .. }
        | AuthError::KeyRejected { .. }
        | AuthError::AuthRequired { .. }
        | AuthError::NoBackend { .. } => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!(
                "account '{name}': the token server failed to keep this login; ask its administrator to check its log"
            ),
        ),
    }
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such endpoint; the token is at GET /codex",
    )
}

async fn method_not_allowed() -> Response {
    let mut r = error(StatusCode::METHOD_NOT_ALLOWED, "only GET is supported here");
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    r
}

/// `{"error":{"message":…,"code":…}}` with `status`. The code tells a client that the message
/// is this server's own and already says what to do (`sxnet::auth::remote::codes`).
fn error(status: StatusCode, message: &str) -> Response {
    let code = match status {
        StatusCode::UNAUTHORIZED => Some(codes::INVALID_KEY),
        StatusCode::BAD_GATEWAY => Some(codes::LOGIN_BROKEN),
        StatusCode::SERVICE_UNAVAILABLE => Some(codes::TOKEN_UNAVAILABLE),
        StatusCode::INTERNAL_SERVER_ERROR => Some(codes::SERVER_ERROR),
        _ => None,
    };
    let body = match code {
        Some(code) => serde_json::json!({ "error": { "message": message, "code": code } }),
        None => serde_json::json!({ "error": { "message": message } }),
    }
    .to_string();
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// 503 with `Retry-After`.
fn unavailable(message: &str) -> Response {
    let mut r = error(StatusCode::SERVICE_UNAVAILABLE, message);
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    );
    r
}
