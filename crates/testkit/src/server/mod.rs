//! [`MockServer`]: a loopback HTTP/1.1 server that answers scripted responses and
//! records every request.

mod expect;
mod recorded;
mod response;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::serve::ListenerExt;
use bytes::Bytes;
use tokio::sync::oneshot;

pub use expect::{Expect, MISMATCH_STATUS, Mismatch};
pub use recorded::{Recorded, decode as decode_body};
pub use response::{Chunk, MockResponse};
use response::{ResponseBody, STALL_LIMIT};

/// A loopback HTTP server with scripted responses.
///
/// It runs on its own OS thread with its own tokio runtime, so tests can be plain
/// `#[test]` functions that drive a child process. Dropping it shuts it down,
/// including connections held by [`Chunk::Stall`].
///
/// Routing is by exact `(method, path)`; the query string is ignored for matching
/// (and recorded). Responses for one route are served first in, first out; a request
/// with nothing left to serve gets HTTP 500 with
/// `{"error":{"message":"mock: no scripted response for POST /path","type":"mock_exhausted"}}`
/// and is recorded like any other.
///
/// Requests can be held to [`Expect`]ations, per route ([`MockServer::expect`]) or per
/// scripted response ([`MockResponse::expecting`]): one that falls short is answered
/// [`MISMATCH_STATUS`] with a `mock_expectation_failed` error naming each difference, and
/// the [`Mismatch`] is kept. [`MockServer::verify`] panics with every mismatch; a server
/// dropped with mismatches nobody took panics too (unless the test is already panicking),
/// so an unmet expectation always fails the test.
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

type Route = (String, String);

struct Shared {
    state: Mutex<ServerState>,
    changed: Condvar,
}

#[derive(Default)]
struct ServerState {
    queues: HashMap<Route, VecDeque<MockResponse>>,
    expectations: HashMap<Route, Expect>,
    requests: Vec<Recorded>,
    mismatches: Vec<Mismatch>,
    open_streams: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ServerState> {
        // A panicking test thread must not hide what the server recorded.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits (up to `timeout`) until `done` holds; returns the final state.
    fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&ServerState) -> bool,
    ) -> MutexGuard<'_, ServerState> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        while !done(&state) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = match self.changed.wait_timeout(state, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        state
    }
}

impl MockServer {
    /// Bind `127.0.0.1:0` and start serving. The port accepts connections as soon as
    /// this returns.
    ///
    /// # Panics
    /// If the loopback socket or the runtime cannot be created.
    pub fn start() -> MockServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("mock: bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("mock: set_nonblocking");
        let addr = listener.local_addr().expect("mock: local_addr");
        let shared = Arc::new(Shared {
            state: Mutex::new(ServerState::default()),
            changed: Condvar::new(),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("mock: build tokio runtime");
        let (shutdown, stop) = oneshot::channel::<()>();
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let thread = std::thread::Builder::new()
            .name(format!("sx-mock-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .expect("mock: register listener")
                        .tap_io(|tcp| {
                            // Small SSE chunks must not wait for Nagle.
                            let _ = tcp.set_nodelay(true);
                        });
                    tokio::select! {
                        _ = std::future::IntoFuture::into_future(axum::serve(listener, app)) => {}
                        _ = stop => {}
                    }
                });
                // Dropping the runtime cancels every connection task, stalled ones too.
                runtime.shutdown_background();
            })
            .expect("mock: spawn server thread");
        MockServer {
            addr,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `url() + "/backend-api/codex"`: the client POSTs `{codex_base}/responses`.
    pub fn codex_base(&self) -> String {
        format!("{}/backend-api/codex", self.url())
    }

    /// `url() + "/oauth/token"`: where to point the client's refresh-URL override.
    pub fn oauth_token_url(&self) -> String {
        format!("{}{}", self.url(), crate::OAUTH_TOKEN_PATH)
    }

    /// The bound address (always `127.0.0.1`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queue `resp` for the next request to `(method, path)`. A query string in
    /// `path` is ignored.
    pub fn enqueue(&self, method: &str, path: &str, resp: MockResponse) {
        let route = route(method, path);
        self.shared
            .lock()
            .queues
            .entry(route)
            .or_default()
            .push_back(resp);
    }

    /// Hold every request to `(method, path)` (query ignored) to `expect`, added to any
    /// expectations already set on the route.
    pub fn expect(&self, method: &str, path: &str, expect: Expect) {
        self.shared
            .lock()
            .expectations
            .entry(route(method, path))
            .or_default()
            .extend(expect);
    }

    /// The requests that did not meet their expectations so far (they stay reported).
    pub fn mismatches(&self) -> Vec<Mismatch> {
        self.shared.lock().mismatches.clone()
    }

    /// The mismatches so far, taken: the server no longer reports them (for tests that
    /// provoke one on purpose).
    pub fn take_mismatches(&self) -> Vec<Mismatch> {
        std::mem::take(&mut self.shared.lock().mismatches)
    }

    /// Panics listing every request that did not meet its expectations (and takes them, so
    /// dropping the server does not report them again).
    ///
    /// # Panics
    /// If any request missed an expectation.
    pub fn verify(&self) {
        let mismatches = self.take_mismatches();
        assert!(
            mismatches.is_empty(),
            "mock: {} request(s) did not meet the test's expectations:\n{}",
            mismatches.len(),
            lines(&mismatches)
        );
    }

    /// How many scripted responses are still queued for `(method, path)` (a repeating
    /// last response counts as one).
    pub fn remaining(&self, method: &str, path: &str) -> usize {
        let route = route(method, path);
        self.shared
            .lock()
            .queues
            .get(&route)
            .map_or(0, VecDeque::len)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    /// The requests whose path is exactly `path` (query ignored), in arrival order.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        let path = strip_query(path);
        let state = self.shared.lock();
        state
            .requests
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Wait until at least `n` requests to `path` have arrived, or `timeout` passed;
    /// returns what arrived (possibly fewer than `n`: assert on the length).
    pub fn wait_for_requests(&self, path: &str, n: usize, timeout: Duration) -> Vec<Recorded> {
        let path = strip_query(path);
        let count = |s: &ServerState| s.requests.iter().filter(|r| r.path == path).count();
        let state = self.shared.wait_until(timeout, |s| count(s) >= n);
        state
            .requests
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// How many chunked response bodies are being sent right now. A [`Chunk::Stall`]
    /// stays open until the client hangs up, so this tells whether a client really
    /// dropped its connection (idle timeout, cancellation).
    pub fn open_streams(&self) -> usize {
        self.shared.lock().open_streams
    }

    /// Wait until no chunked body is being sent (see [`MockServer::open_streams`]);
    /// `true` if that happened within `timeout`.
    pub fn wait_for_streams_closed(&self, timeout: Duration) -> bool {
        self.shared
            .wait_until(timeout, |s| s.open_streams == 0)
            .open_streams
            == 0
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let unchecked = std::mem::take(&mut self.shared.lock().mismatches);
        if !unchecked.is_empty() && !std::thread::panicking() {
            panic!(
                "mock: {} request(s) did not meet the test's expectations (never verified):\n{}",
                unchecked.len(),
                lines(&unchecked)
            );
        }
    }
}

fn lines(mismatches: &[Mismatch]) -> String {
    mismatches
        .iter()
        .map(|m| format!("  {m}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

fn strip_query(path: &str) -> &str {
    path.split_once('?').map_or(path, |(p, _)| p)
}

fn route(method: &str, path: &str) -> Route {
    (method.to_ascii_uppercase(), strip_query(path).to_owned())
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let (raw_body, read_error) = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => (bytes.to_vec(), None),
        Err(err) => (
            Vec::new(),
            Some(format!("reading request body failed: {err}")),
        ),
    };
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(str::to_owned);
    let route = (method.clone(), path.clone());
    let recorded = Recorded::new(method, path, query, headers, raw_body, read_error);

    let (scripted, problems) = {
        let mut state = shared.lock();
        let scripted = state.queues.get_mut(&route).and_then(|queue| {
            if queue.len() == 1 && queue.front().is_some_and(|r| r.repeat) {
                queue.front().cloned()
            } else {
                queue.pop_front()
            }
        });
        let first = state
            .requests
            .iter()
            .find(|r| r.method == route.0 && r.path == route.1);
        let mut problems = state
            .expectations
            .get(&route)
            .map(|e| e.problems(&recorded, first))
            .unwrap_or_default();
        if let Some(expect) = scripted.as_ref().and_then(|r| r.expect.as_ref()) {
            problems.extend(expect.problems(&recorded, first));
        }
        if !problems.is_empty() {
            let mismatch = Mismatch {
                index: state.requests.len(),
                method: route.0.clone(),
                path: route.1.clone(),
                problems: problems.clone(),
            };
            state.mismatches.push(mismatch);
        }
        state.requests.push(recorded);
        shared.changed.notify_all();
        (scripted, problems)
    };
    if !problems.is_empty() {
        return mismatched(&route, &problems);
    }
    match scripted {
        Some(resp) => into_http(resp, &shared),
        None => exhausted(&route),
    }
}

/// The answer to a request that missed its expectations: [`MISMATCH_STATUS`] with an error
/// the client shows, naming what differed.
fn mismatched((method, path): &Route, problems: &[String]) -> Response {
    let body = serde_json::json!({"error": {
        "message": format!(
            "mock: {method} {path} did not meet the test's expectations: {}",
            problems.join("; ")
        ),
        "type": "mock_expectation_failed",
    }});
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() =
        StatusCode::from_u16(MISMATCH_STATUS).unwrap_or(StatusCode::EXPECTATION_FAILED);
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}

fn exhausted((method, path): &Route) -> Response {
    let body = serde_json::json!({"error": {
        "message": format!("mock: no scripted response for {method} {path}"),
        "type": "mock_exhausted",
    }});
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}

fn into_http(scripted: MockResponse, shared: &Arc<Shared>) -> Response {
    let body = match scripted.body {
        ResponseBody::Full(bytes) => Body::from(bytes),
        ResponseBody::Chunked(chunks) => Body::from_stream(chunk_stream(chunks, shared)),
    };
    let mut resp = Response::new(body);
    // Builders validated status, names and values already.
    *resp.status_mut() = StatusCode::from_u16(scripted.status).unwrap_or(StatusCode::OK);
    for (name, value) in &scripted.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            resp.headers_mut().append(name, value);
        }
    }
    resp
}

/// Counts a chunked body as open until the stream is dropped (finished, aborted, or
/// the client went away).
struct OpenStream(Arc<Shared>);

impl OpenStream {
    fn new(shared: &Arc<Shared>) -> OpenStream {
        shared.lock().open_streams += 1;
        OpenStream(Arc::clone(shared))
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.open_streams -= 1;
        self.0.changed.notify_all();
    }
}

struct StreamState {
    chunks: std::vec::IntoIter<Chunk>,
    /// A [`Chunk::Repeat`] being sent: the bytes and how many more times.
    repeating: Option<(Bytes, u64)>,
    _open: OpenStream,
}

fn chunk_stream(
    chunks: Vec<Chunk>,
    shared: &Arc<Shared>,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let start = StreamState {
        chunks: chunks.into_iter(),
        repeating: None,
        _open: OpenStream::new(shared),
    };
    futures_util::stream::unfold(Some(start), |state| async move {
        let mut state = state?;
        loop {
            if let Some((bytes, left)) = &mut state.repeating {
                if *left > 0 {
                    *left -= 1;
                    let bytes = bytes.clone();
                    return Some((Ok(bytes), Some(state)));
                }
                state.repeating = None;
            }
            match state.chunks.next()? {
                Chunk::Bytes(bytes) => return Some((Ok(bytes), Some(state))),
                Chunk::Repeat(bytes, times) => state.repeating = Some((bytes, times)),
                Chunk::Delay(delay) => tokio::time::sleep(delay).await,
                Chunk::Stall => {
                    // hyper notices the client's EOF while we wait and drops this stream.
                    tokio::time::sleep(STALL_LIMIT).await;
                    return Some((
                        Err(std::io::Error::other("mock: stall limit reached")),
                        None,
                    ));
                }
                Chunk::WaitFor(path) => {
                    let deadline = tokio::time::Instant::now() + STALL_LIMIT;
                    while !path.exists() {
                        if tokio::time::Instant::now() >= deadline {
                            return Some((
                                Err(std::io::Error::other("mock: the awaited file never came")),
                                None,
                            ));
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
                Chunk::Abort => {
                    // Yield once so hyper flushes what was sent before the abort.
                    tokio::task::yield_now().await;
                    return Some((Err(std::io::Error::other("mock: scripted abort")), None));
                }
            }
        }
    })
}
