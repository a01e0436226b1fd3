//! The browser's way back (docs/protocols/codex.md §A.4): the loopback callback server, and the same checks
//! for a redirect URL the user pastes when the browser cannot reach this machine.

use std::fmt;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout};

use super::{OAuthError, parse_query};
use crate::auth::mask;

const MAX_REQUEST_HEAD: usize = 8 * 1024;
const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(10);
const RESPONSE_WRITE_TIMEOUT: Duration = Duration::from_secs(5);
const LINGER: Duration = Duration::from_secs(1);
const MAX_CONNECTIONS: usize = 32;

/// Check the query of a `/auth/callback` request: the state first (exactly), then an OAuth
/// `error`, then the code.
pub fn parse_callback(query: &str, expected_state: &str) -> Result<String, OAuthError> {
    let params = parse_query(query);
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("state") != Some(expected_state) {
        return Err(OAuthError::StateMismatch);
    }
    if let Some(error) = get("error") {
        let description = get("error_description").unwrap_or_default().to_string();
        if error == "access_denied" && description.contains("missing_codex_entitlement") {
            return Err(OAuthError::MissingEntitlement {
                detail: description,
            });
        }
        return Err(OAuthError::Authorize {
            error: error.to_string(),
            description,
        });
    }
    match get("code") {
        Some(code) if !code.is_empty() => Ok(code.to_string()),
        _ => Err(OAuthError::MissingCode),
    }
}

/// What the user pasted instead of the browser reaching us: the redirect URL (its state is
/// checked), its query, or the bare code. `Ok(None)` for a blank line.
pub fn parse_pasted(input: &str, expected_state: &str) -> Result<Option<String>, OAuthError> {
    let input = input.trim();
    if input.is_empty() {
        return Ok(None);
    }
    let query = match input.split_once('?') {
        Some((_, q)) => Some(q),
        None if input.contains('=') => Some(input),
        None => None,
    };
    match query {
        Some(q) => parse_callback(q.split('#').next().unwrap_or(q), expected_state).map(Some),
        None => Ok(Some(input.to_string())),
    }
}

struct Incoming {
    path: String,
    query: String,
    stream: TcpStream,
}

/// The loopback server of the browser flow: bound on `127.0.0.1`, named `localhost` in the
/// `redirect_uri`. Routes: `/auth/callback`, `/success`, `/cancel`; anything else is 404.
pub struct CallbackServer {
    port: u16,
    requests: mpsc::Receiver<Incoming>,
    acceptor: tokio::task::JoinHandle<()>,
}

impl Drop for CallbackServer {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

/// A callback that carried a valid code; answer the browser once the login is saved.
pub struct PendingCallback {
    pub code: String,
    port: u16,
    stream: TcpStream,
}

impl fmt::Debug for PendingCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingCallback")
            .field("code", &mask(&self.code))
            .field("port", &self.port)
            .finish()
    }
}

impl PendingCallback {
    /// Send the browser on to `/success`.
    pub async fn succeed(self) {
        let location = format!("Location: http://localhost:{}/success\r\n", self.port);
        respond(
            self.stream,
            302,
            &location,
            &page("Signed in", "Continue to /success."),
        )
        .await;
    }

    /// Show the browser why the sign-in failed.
    pub async fn fail(self, message: &str) {
        respond(self.stream, 500, "", &page("Sign-in failed", message)).await;
    }
}

impl CallbackServer {
    /// Bind `127.0.0.1:port` (0 = any free port); see [`CallbackServer::bind_first`].
    pub async fn bind(port: u16) -> Result<CallbackServer, OAuthError> {
        Self::bind_first(&[port]).await
    }

    /// Bind the first of `ports` that can be had, in order, as the official client does with
    /// its registered ports 1455 then 1457 (docs/protocols/codex.md §A.4): a busy first port
    /// gets one `GET /cancel` (an abandoned sign-in of ours or the official client's) and up to
    /// 10 retries 200 ms apart; each later one only the retries. 0 = any free port.
    pub async fn bind_first(ports: &[u16]) -> Result<CallbackServer, OAuthError> {
        let mut busy = Vec::new();
        let mut last = None;
        for (i, &port) in ports.iter().enumerate() {
            match bind_retrying(port, i == 0).await {
                Ok(listener) => return Self::serve(listener, port),
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    busy.push(port);
                    last = Some(OAuthError::Bind {
                        port,
                        detail: e.to_string(),
                    });
                }
                Err(e) => {
                    return Err(OAuthError::Bind {
                        port,
                        detail: e.to_string(),
                    });
                }
            }
        }
        Err(match (busy.len(), last) {
            (2.., _) => OAuthError::PortsBusy { ports: busy },
            (_, Some(e)) => e,
            (_, None) => OAuthError::Bind {
                port: 0,
                detail: "no callback port to listen on".into(),
            },
        })
    }

    fn serve(listener: TcpListener, port: u16) -> Result<CallbackServer, OAuthError> {
        let port = listener
            .local_addr()
            .map_err(|e| OAuthError::Bind {
                port,
                detail: e.to_string(),
            })?
            .port();
        let (tx, requests) = mpsc::channel(16);
        let acceptor = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of file descriptors and the like: do not spin.
                    sleep(Duration::from_millis(50)).await;
                    continue;
                };
                while connections.try_join_next().is_some() {}
                if connections.len() >= MAX_CONNECTIONS {
                    continue;
                }
                // Browsers open idle speculative connections: read each one on its own.
                let tx = tx.clone();
                connections.spawn(async move {
                    if let Some(req) = read_request(stream).await {
                        let _ = tx.send(req).await;
                    }
                });
            }
        });
        Ok(CallbackServer {
            port,
            requests,
            acceptor,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://localhost:{port}/auth/callback`
    pub fn redirect_uri(&self) -> String {
        format!("http://localhost:{}/auth/callback", self.port)
    }

    /// Serve requests until one brings the code for `state`. A callback with the wrong state,
    /// an OAuth error or no code is answered (400) and ends the sign-in; so does `/cancel`.
    pub async fn wait_for_code(&mut self, state: &str) -> Result<PendingCallback, OAuthError> {
        loop {
            let req = self.next().await?;
            match req.path.as_str() {
                "/auth/callback" => match parse_callback(&req.query, state) {
                    Ok(code) => {
                        return Ok(PendingCallback {
                            code,
                            port: self.port,
                            stream: req.stream,
                        });
                    }
                    Err(e) => {
                        let title = match e {
                            OAuthError::StateMismatch => "State mismatch",
                            _ => "Sign-in failed",
                        };
                        respond(req.stream, 400, "", &page(title, &e.to_string())).await;
                        return Err(e);
                    }
                },
                "/cancel" => {
                    respond(req.stream, 200, "", &page("Login cancelled", "")).await;
                    return Err(OAuthError::Cancelled {
                        reason: "another sign-in took over the callback port".into(),
                    });
                }
                _ => self.answer_other(req).await,
            }
        }
    }

    /// After [`PendingCallback::succeed`]: serve the browser's `/success` request, waiting at
    /// most `grace` for it.
    pub async fn serve_success(&mut self, grace: Duration) {
        let _ = timeout(grace, async {
            loop {
                let Ok(req) = self.next().await else { return };
                let done = req.path == "/success";
                self.answer_other(req).await;
                if done {
                    return;
                }
            }
        })
        .await;
    }

    async fn next(&mut self) -> Result<Incoming, OAuthError> {
        self.requests.recv().await.ok_or_else(|| OAuthError::Bind {
            port: self.port,
            detail: "the callback server stopped".into(),
        })
    }

    async fn answer_other(&self, req: Incoming) {
        match req.path.as_str() {
            "/success" => {
                let body = page(
                    "Signed in to Codex",
                    "You can close this tab and go back to the terminal.",
                );
                respond(req.stream, 200, "", &body).await;
            }
            _ => respond(req.stream, 404, "", &page("Not found", "")).await,
        }
    }
}

/// Read one request head (bounded size and time); answers malformed ones itself.
async fn read_request(mut stream: TcpStream) -> Option<Incoming> {
    let mut buf = Vec::with_capacity(1024);
    let head = timeout(REQUEST_READ_TIMEOUT, async {
        let mut chunk = [0u8; 1024];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                return Some(end);
            }
            if buf.len() > MAX_REQUEST_HEAD {
                return None;
            }
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    })
    .await;
    let end = match head {
        Ok(Some(end)) => end,
        Ok(None) if buf.len() > MAX_REQUEST_HEAD => {
            respond(stream, 431, "", &page("Request too large", "")).await;
            return None;
        }
        _ => return None,
    };
    let line = String::from_utf8_lossy(&buf[..end]);
    let mut parts = line.lines().next().unwrap_or_default().split(' ');
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        respond(stream, 400, "", &page("Bad request", "")).await;
        return None;
    };
    if method != "GET" {
        respond(stream, 405, "", &page("Method not allowed", "")).await;
        return None;
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Some(Incoming {
        path: path.to_string(),
        query: query.to_string(),
        stream,
    })
}

async fn respond(mut stream: TcpStream, status: u16, extra_headers: &str, body: &str) {
    let reason = match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Internal Server Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n{extra_headers}\r\n",
        body.len()
    );
    let sent = timeout(RESPONSE_WRITE_TIMEOUT, async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
    if matches!(sent, Ok(Ok(()))) {
        // Read what the client still sends until it closes, so closing does not reset the
        // connection before it has read the response.
        let _ = timeout(LINGER, async {
            let mut sink = [0u8; 1024];
            let mut left = MAX_REQUEST_HEAD * 8;
            while let Ok(n @ 1..) = stream.read(&mut sink).await {
                left = left.saturating_sub(n);
                if left == 0 {
                    break;
                }
            }
        })
        .await;
    }
}

/// `127.0.0.1:port`, retried while in use (up to 10 times, 200 ms apart; the first time after
/// asking its holder to cancel when `cancel`).
async fn bind_retrying(port: u16, cancel: bool) -> std::io::Result<TcpListener> {
    let mut attempts = 0;
    loop {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => return Ok(l),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && port != 0 && attempts < 10 => {
                if attempts == 0 && cancel {
                    send_cancel(port).await;
                }
                attempts += 1;
                sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Ask a server already on `port` to give it up (best effort).
async fn send_cancel(port: u16) {
    let _ = timeout(Duration::from_secs(2), async {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
        let req =
            format!("GET /cancel HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await?;
        let mut sink = Vec::new();
        s.read_to_end(&mut sink).await
    })
    .await;
}

fn page(title: &str, message: &str) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body style=\"font-family:sans-serif;margin:4em auto;max-width:40em\">\
         <h1>{t}</h1><p>{m}</p></body></html>\n",
        t = esc(title),
        m = esc(message)
    )
}
