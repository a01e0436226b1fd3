//! What the long-running HTTP services (`scorpiox-token-server`, `scorpiox-router`) share:
//! `--listen` resolution, binding and announcing the address, SIGTERM/SIGINT, a bounded
//! listener, bounded requests, graceful shutdown with a deadline, the access log and the
//! Prometheus counters behind `GET /metrics`.
//!
//! Each service keeps its own routes, error-body shape and limits; this module takes them as
//! parameters.

mod conn;
pub mod metrics;

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use tokio::signal::unix::{SignalKind, signal};

use crate::Failure;
pub use conn::{Guard, LimitedListener, Peer};
pub use metrics::Metrics;

/// How a service accepts and ends connections.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// Connections open at once; beyond, one still waiting for its request head is closed to
    /// make room, else new ones wait in the listen backlog.
    pub max_connections: usize,
    /// A connection with no reads or writes for this long is closed.
    pub idle: Duration,
    /// After SIGTERM/SIGINT, open requests get this long to finish.
    pub grace: Duration,
}

/// Resolve `--listen`; a malformed address is a usage error. `default` is the service's own
/// default address, shown as the example.
pub fn listen_addrs(addr: &str, default: &str) -> Result<Vec<SocketAddr>, Failure> {
    use std::net::ToSocketAddrs;
    let bad = |why: String| {
        Failure::usage(format!(
            "--listen {addr}: {why}; give HOST:PORT, e.g. --listen {default}"
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

/// Completes on the first SIGTERM or SIGINT.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The flags every service takes besides `--listen` (whose default is each service's own).
#[derive(Debug, clap::Args)]
pub struct CommonArgs {
    /// Override a config key for this run; repeatable
    #[arg(short = 'e', value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Working directory (decides the project configuration)
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<std::path::PathBuf>,
    /// Seconds a client has to send a request's line and headers; slower ones are closed
    #[arg(long, value_name = "SECS", default_value_t = ClientLimits::default().header_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// Connections one client address may hold open once half the connections are taken (0: no
    /// limit; raise it behind a reverse proxy, whose connections all come from one address)
    #[arg(long, value_name = "N", default_value_t = ClientLimits::default().per_client)]
    pub max_connections_per_client: usize,
}

/// What a service allows each client (docs/reliability.md, hole 7): the time to send a request
/// head, and the connections one address may hold. Set once by [`run`] from the command line;
/// [`serve`] applies them to the service's own [`ServeOptions`].
#[derive(Debug, Clone, Copy)]
pub struct ClientLimits {
    pub header_timeout: Duration,
    pub per_client: usize,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            header_timeout: Duration::from_secs(10),
            per_client: 32,
        }
    }
}

static CLIENT_LIMITS: std::sync::OnceLock<ClientLimits> = std::sync::OnceLock::new();

/// A service's `main`: load the configuration, resolve `--listen` (`default` is the example
/// in its error), then on a multi-thread runtime `prepare` the service from the configuration,
/// bind and announce the address, and `serve` until a signal.
pub fn run<S, F>(
    listen: &str,
    default: &str,
    common: &CommonArgs,
    prepare: impl FnOnce(&sx_config::Config) -> Result<S, Failure>,
    serve: impl FnOnce(tokio::net::TcpListener, S, Shutdown) -> F,
) -> Result<(), Failure>
where
    F: Future<Output = std::io::Result<()>>,
{
    let config = crate::load_config(common.cwd.as_deref(), &common.overrides, Vec::new())?;
    let _ = CLIENT_LIMITS.set(ClientLimits {
        header_timeout: Duration::from_secs(common.header_timeout),
        per_client: common.max_connections_per_client,
    });
    let addrs = listen_addrs(listen, default)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        // Inside the runtime: what `prepare` opens (HTTP clients) belongs to it.
        let state = prepare(&config)?;
        let (listener, shutdown) = bind(&addrs, listen).await?;
        serve(listener, state, shutdown)
            .await
            .map_err(|e| Failure::runtime(format!("the server failed: {e}; restart it")))
    })
}

/// Bind `addrs`, install the SIGTERM/SIGINT handlers, then announce `listening on http://ADDR`
/// on stdout (the line scripts and tests wait for). The returned future completes on the
/// first signal, after printing `shutting down` on stderr. An address in use is exit 1.
pub async fn bind(
    addrs: &[SocketAddr],
    listen: &str,
) -> Result<(tokio::net::TcpListener, Shutdown), Failure> {
    let listener = tokio::net::TcpListener::bind(addrs).await.map_err(|e| {
        Failure::runtime(format!(
            "cannot listen on {listen}: {e}; stop whatever uses that address or pick another \
             with --listen"
        ))
    })?;
    // Signal handlers before the address is announced: whoever reads that line may stop us.
    let signal_failed = |e: std::io::Error| Failure::runtime(format!("cannot handle signals: {e}"));
    let mut term = signal(SignalKind::terminate()).map_err(signal_failed)?;
    let mut int = signal(SignalKind::interrupt()).map_err(signal_failed)?;
    let local = listener.local_addr()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://{local}").and_then(|()| out.flush())?;
    drop(out);
    let shutdown = Box::pin(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        eprintln!("shutting down");
    });
    Ok((listener, shutdown))
}

/// Serve `app` until `shutdown` completes, then let open requests finish for at most
/// `opts.grace`. `stopping` (when given) is set as soon as the shutdown begins (readiness).
/// Connections are guarded as [`conn`] describes, with the [`ClientLimits`] of the command line.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
    stopping: Option<Arc<std::sync::atomic::AtomicBool>>,
) -> std::io::Result<()> {
    let client = CLIENT_LIMITS.get().copied().unwrap_or_default();
    let guard = Guard {
        max_connections: opts.max_connections,
        per_client: client.per_client,
        header_timeout: client.header_timeout,
        idle: opts.idle,
    };
    let listener = LimitedListener::new(listener, guard);
    let (stopping_tx, mut stopping_rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<Peer>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            if let Some(flag) = stopping {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            let _ = stopping_tx.send(true);
        });
    tokio::select! {
        r = server.into_future() => r,
        () = async move {
            let _ = stopping_rx.wait_for(|s| *s).await;
            tokio::time::sleep(opts.grace).await;
        } => {
            let grace = opts.grace.as_secs();
            eprintln!("warning: requests still open after {grace}s; exiting anyway");
            Ok(())
        }
    }
}

/// Bounds on one request, applied before the handler runs.
pub struct Limits {
    /// Request line plus headers, in bytes; beyond: 431.
    pub max_head: usize,
    /// Body bytes; beyond: 413 (the body is read here and handed on whole).
    pub max_body: usize,
    /// What the 413 says (the limit is appended).
    pub too_large: &'static str,
    /// Reading the body; beyond: 408.
    pub body_timeout: Duration,
    /// The whole request, handler included (`None`: only the body read is bounded, for
    /// long streams); beyond: 503.
    pub request_timeout: Option<Duration>,
    /// The service's error body.
    pub error: fn(StatusCode, &str) -> Response,
}

/// The middleware enforcing [`Limits`] (`middleware::from_fn_with_state(Arc<Limits>, limits)`).
pub async fn limits(State(l): State<Arc<Limits>>, req: Request, next: Next) -> Response {
    if head_len(&req) > l.max_head {
        return (l.error)(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            &format!("the request head is larger than {} bytes", l.max_head),
        );
    }
    let too_large = || {
        (l.error)(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("{} (at most {} bytes)", l.too_large, l.max_body),
        )
    };
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > l.max_body as u64) {
        return too_large();
    }
    let (parts, mut body) = req.into_parts();
    let read = async {
        let mut buf: Vec<u8> = Vec::new();
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            let Ok(frame) = frame else {
                return Err((l.error)(
                    StatusCode::BAD_REQUEST,
                    "the request body could not be read",
                ));
            };
            if let Some(d) = frame.data_ref() {
                if buf.len() + d.len() > l.max_body {
                    return Err(too_large());
                }
                buf.extend_from_slice(d);
            }
        }
        Ok(Bytes::from(buf))
    };
    let body = match tokio::time::timeout(l.body_timeout, read).await {
        Ok(Ok(b)) => b,
        Ok(Err(r)) => return r,
        Err(_) => {
            return (l.error)(
                StatusCode::REQUEST_TIMEOUT,
                "the request body took too long to arrive",
            );
        }
    };
    let run = next.run(Request::from_parts(parts, Body::from(body)));
    match l.request_timeout {
        None => run.await,
        Some(t) => match tokio::time::timeout(t, run).await {
            Ok(r) => r,
            Err(_) => {
                let mut r = (l.error)(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the request took too long; try again shortly",
                );
                r.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from_static("5"),
                );
                r
            }
        },
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

/// What a handler adds to its access-log line (the account, the route taken), set as a
/// response extension. Never a secret.
#[derive(Clone)]
pub struct LogLabel(pub Arc<str>);

/// The access log and the request counters of one service.
pub struct Observe {
    pub metrics: Arc<Metrics>,
    /// The paths counted by name; any other path is counted as `other` (bounded labels).
    pub paths: &'static [&'static str],
}

/// One line per request on stderr, written when the response body ends (a stream's whole
/// duration): time, peer, method, path, status, label, latency. Never the query, a header,
/// a body, a key or a token. Also counts `requests_total{path,status}` and observes
/// `request_duration_seconds{path}`.
pub async fn access_log(
    State(o): State<Arc<Observe>>,
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
    let counted = o
        .paths
        .iter()
        .find(|p| **p == path)
        .copied()
        .unwrap_or("other");
    let r = next.run(req).await;
    let label = r
        .extensions()
        .get::<LogLabel>()
        .map_or_else(|| Arc::from("-"), |l| Arc::clone(&l.0));
    let status = r.status().as_u16();
    let line = Finished {
        start,
        text: format!("{peer} {method} {path} {status} {label}"),
        metrics: Arc::clone(&o.metrics),
        path: counted,
        status,
    };
    r.map(|inner| {
        Body::new(Logged {
            inner,
            line: Some(line),
        })
    })
}

/// The log line and counters of a response, written when its body is done or dropped.
struct Finished {
    start: Instant,
    text: String,
    metrics: Arc<Metrics>,
    path: &'static str,
    status: u16,
}

impl Drop for Finished {
    fn drop(&mut self) {
        let elapsed = self.start.elapsed();
        let ms = elapsed.as_secs_f64() * 1000.0;
        eprintln!(
            "{} {} {ms:.1}ms",
            humantime::format_rfc3339_millis(SystemTime::now()),
            self.text
        );
        let status = self.status.to_string();
        self.metrics.inc(
            "requests_total",
            &[("path", self.path), ("status", &status)],
        );
        self.metrics.observe(
            "request_duration_seconds",
            &[("path", self.path)],
            elapsed.as_secs_f64(),
        );
    }
}

/// A response body that writes its log line when it ends (or the client goes away).
struct Logged {
    inner: Body,
    line: Option<Finished>,
}

impl HttpBody for Logged {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(None) = r {
            this.line.take();
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Response {
    use axum::response::IntoResponse;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        "ok\n",
    )
        .into_response()
}

/// `GET /metrics` body: Prometheus text format.
pub fn metrics_response(m: &Metrics) -> Response {
    use axum::response::IntoResponse;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        m.render(),
    )
        .into_response()
}
