//! `scorpiox-token-server` (docs/spec.md §4.2): serves each caller the Codex access token of the
//! account its bearer key is bound to, and keeps those logins fresh.
//!
//! One [`LocalSource`] per credential file, shared by every request for that account: its
//! refresh gate (plus the file lock) means any number of callers across an expiry cause one
//! refresh upstream. The refresh runs in its own task, so a caller that hangs up or times out
//! never cancels a refresh half-way (refresh tokens are single-use).
//!
//! Docs: `docs/token-server.md`.

mod conn;
pub mod keys;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sx_config::Config;
use sxnet::auth::{AuthError, LocalSource, RefreshFailure, TokenSource};
use sxnet::http::ClientIdentity;

use crate::Failure;
use conn::LimitedListener;
pub use conn::Peer;
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
    pub source: Arc<LocalSource>,
}

/// What startup built from the configuration.
pub struct Accounts {
    pub map: KeyMap<Account>,
    /// One line each, for stderr (short keys, logins that look broken already).
    pub warnings: Vec<String>,
}

/// Read `TOKEN_SERVER_KEYS` and open one shared source per distinct credential file
/// (issuer `CODEX_AUTH_URL`). Configuration errors are exit 2 and never show a key.
pub fn accounts(config: &Config) -> Result<Accounts, Failure> {
    let (entries, mut warnings) =
        keys::parse(config.get(keys::KEY), config.home(), config.cwd()).map_err(Failure::usage)?;
    let auth_url = config
        .get_nonempty("CODEX_AUTH_URL")
        .unwrap_or("https://auth.openai.com");
    let identity = ClientIdentity::new("sx");
    let http = sxnet::http::client(&identity).map_err(Failure::runtime)?;

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
                let source =
                    LocalSource::new(file.clone(), auth_url, http.clone(), identity.clone());
                if let Err(err) = source.load() {
                    warnings.push(format!(
                        "account '{account}': {}; its callers get HTTP 502 until this is fixed",
                        crate::one_line(&err.to_string())
                    ));
                }
                accounts.push(Account {
                    name: Arc::from(account.as_str()),
                    source: Arc::new(source),
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
    })
}

/// Resolve `--listen`; a malformed address is a usage error.
pub fn listen_addrs(addr: &str) -> Result<Vec<SocketAddr>, Failure> {
    use std::net::ToSocketAddrs;
    let bad = |why: String| {
        Failure::usage(format!(
            "--listen {addr}: {why}; give HOST:PORT, e.g. --listen 127.0.0.1:8791"
        ))
    };
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| bad(e.to_string()))?
        .collect();
    if addrs.is_empty() {
        return Err(bad("the host has no address".into()));
    }
    Ok(addrs)
}

/// Serve until `shutdown` completes, then finish open requests (for at most a few seconds).
pub async fn serve(
    listener: tokio::net::TcpListener,
    accounts: KeyMap<Account>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(Arc::new(accounts));
    let listener = LimitedListener::new(listener, MAX_CONNECTIONS, IDLE_TIMEOUT);
    let (stopping_tx, mut stopping) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<Peer>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stopping_tx.send(true);
        });
    tokio::select! {
        r = server.into_future() => r,
        () = async move {
            let _ = stopping.wait_for(|s| *s).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            let grace = SHUTDOWN_GRACE.as_secs();
            eprintln!("warning: requests still open after {grace}s; exiting anyway");
            Ok(())
        }
    }
}

type Shared = Arc<KeyMap<Account>>;

fn router(accounts: Shared) -> Router {
    Router::new()
        .route("/codex", get(codex))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(limits))
        .layer(middleware::from_fn(access_log))
        .with_state(accounts)
}

/// The account a response was for, read by the access log.
#[derive(Clone)]
struct AccountName(Arc<str>);

async fn codex(State(accounts): State<Shared>, headers: HeaderMap) -> Response {
    let presented = bearer(&headers);
    let Some(account) = presented.and_then(|k| accounts.lookup(k)) else {
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
            auth_failure(&account.name, &e)
        }
        Ok(Err(_)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the token server failed while getting the token; see its log",
        ),
        Err(_) => unavailable(&format!(
            "account '{}': the token refresh is taking long; try again shortly",
            account.name
        )),
    };
    r.extensions_mut()
        .insert(AccountName(Arc::clone(&account.name)));
    r
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
fn auth_failure(name: &str, e: &AuthError) -> Response {
    let sign_in =
        format!("sign in again on the token server (scorpiox-codex-login --name {name} --force)");
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

async fn healthz() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok\n",
    )
        .into_response()
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

/// `{"error":{"message":…}}` with `status`.
fn error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "message": message } }).to_string();
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

/// Bounded requests: head size, body size, total time.
async fn limits(req: Request, next: Next) -> Response {
    if head_len(&req) > MAX_HEAD {
        return error(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            &format!("the request head is larger than {MAX_HEAD} bytes"),
        );
    }
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request bodies are not used here (at most {MAX_BODY} bytes are accepted)"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return too_large();
    }
    let (parts, mut body) = req.into_parts();
    let run = async move {
        // Read (and drop) the body, refusing it once it passes MAX_BODY.
        let mut read = 0usize;
        while let Some(frame) =
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
        {
            match frame {
                Ok(f) => {
                    read += f.data_ref().map_or(0, |d| d.len());
                    if read > MAX_BODY {
                        return too_large();
                    }
                }
                Err(_) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "the request body could not be read",
                    );
                }
            }
        }
        next.run(Request::from_parts(parts, Body::empty())).await
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, run).await {
        Ok(r) => r,
        Err(_) => unavailable("the request took too long; try again shortly"),
    }
}

/// The size of the request line and headers as sent (HTTP/1.1 framing).
fn head_len(req: &Request) -> usize {
    let target = req.uri().path_and_query().map_or(1, |pq| pq.as_str().len());
    let line = req.method().as_str().len() + 1 + target + " HTTP/1.1\r\n".len();
    let headers: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + 2 + v.len() + 2)
        .sum();
    line + headers + 2
}

/// One line per request on stderr: time, peer, method, path, status, account, latency. Never
/// the query, a header, a key or a token.
async fn access_log(
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path: String = req
        .uri()
        .path()
        .chars()
        .take(200)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    let r = next.run(req).await;
    let account = r.extensions().get::<AccountName>().map_or("-", |a| &*a.0);
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    eprintln!(
        "{} {peer} {method} {path} {} {account} {ms:.1}ms",
        humantime::format_rfc3339_millis(SystemTime::now()),
        r.status().as_u16()
    );
    r
}
