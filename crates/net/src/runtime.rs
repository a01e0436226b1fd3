//! The provider runtime: everything a model call does that does not depend on the wire format
//! (docs/architecture.md, "The provider runtime"). A [`Wire`] builds its request, maps its
//! error bodies and runs its stream state machine; [`Runtime::stream`] owns the rest —
//! send → status → error body → retry (request and stream budgets, `Retry-After` and "try
//! again in Ns") → `Retry` events → idle timeout → traffic log → one 401 recovery through the
//! [`Credentials`]. [`HttpProvider`] puts the two together as a [`Provider`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::HeaderMap;

use crate::ProviderId;
use crate::auth::{Credential, Credentials};
use crate::error::ProviderError;
use crate::event::{Completion, EventSink, StreamEvent};
use crate::http::{ClientIdentity, RetryPolicy, SharedTrafficLog, TrafficLog, redacted_headers};
use crate::model::Request;
use crate::providers::{Capabilities, ModelInfo, Provider};
use crate::sse::{SseDecoder, SseEvent};

/// A server-requested delay longer than this is not waited out: the error is reported.
pub const MAX_SERVER_DELAY: Duration = Duration::from_secs(120);

/// An answer that is not a stream (error bodies, catalogs) is read at most this far.
pub const MAX_REPLY_BODY: usize = 8 * 1024 * 1024;

/// One model call as a wire sends it; the runtime re-sends it unchanged on a retry, with fresh
/// credentials.
pub struct WireRequest {
    pub url: String,
    /// The wire's headers (not the credentials: the runtime adds those per attempt).
    pub headers: HeaderMap,
    /// The JSON body, for the traffic log (people read it).
    pub json: Bytes,
    /// The bytes sent (`json`, or a compressed form of it).
    pub body: Bytes,
}

/// A wire format: request building, error mapping, and the stream state machine. Adding a
/// provider on HTTP is one file implementing this (docs/architecture.md).
#[async_trait]
pub trait Wire: Send + Sync + 'static {
    type Stream: WireStream;

    fn id(&self) -> ProviderId;

    fn capabilities(&self) -> Capabilities;

    /// Context window of `model` in tokens, when known.
    fn context_window(&self, model: &str) -> Option<u64>;

    /// Work a call needs before its request can be built (a catalog lookup); once per call.
    async fn prepare(&self, _rt: &Runtime, _req: &Request<'_>) {}

    /// The request for one model call.
    fn build(&self, req: &Request<'_>) -> Result<WireRequest, ProviderError>;

    /// Headers that may change between attempts of the same call (Codex's turn state).
    fn attempt_headers(&self, _req: &Request<'_>, _headers: &mut HeaderMap) {}

    /// Every response's status and headers, before its body (rate limits, turn state).
    fn on_response(
        &self,
        _req: &Request<'_>,
        _status: u16,
        _headers: &HeaderMap,
        _sink: &mut EventSink<'_>,
    ) {
    }

    /// A non-2xx answer (other than the 401 the runtime recovers from) as a typed error.
    fn map_error(&self, status: u16, headers: &HeaderMap, body: &[u8], url: &str) -> ProviderError;

    /// A fresh state machine for one response stream.
    fn stream(&self, req: &Request<'_>) -> Self::Stream;

    /// Whether this call asked for a stream (the default) or for the whole answer at once
    /// (`STREAMING=0` on a wire that has that form): a whole answer goes to
    /// [`WireStream::on_whole`] (docs/configuration.md, "STREAMING").
    fn streamed(&self, _req: &Request<'_>) -> bool {
        true
    }

    /// The models the provider offers (its live catalog when it has one).
    async fn list_models(&self, _rt: &Runtime) -> Result<Vec<ModelInfo>, ProviderError> {
        Ok(crate::models::known_models(self.id())
            .iter()
            .map(|id| ModelInfo {
                id: (*id).to_string(),
                display_name: None,
            })
            .collect())
    }
}

/// One response stream: SSE events in, stream events out, the authoritative message at the end.
pub trait WireStream: Send {
    fn on_event(&mut self, ev: SseEvent<'_>, sink: &mut EventSink<'_>)
    -> Result<(), ProviderError>;

    /// The wire's terminal event arrived: stop reading even if the socket stays open.
    fn finished(&self) -> bool;

    /// The stream ended (terminal event or end of body): the completion or why it failed.
    fn finish(self) -> Result<Completion, ProviderError>;

    /// A non-streamed answer (`STREAMING=0`): the whole JSON body, fed to this state machine
    /// as the events the stream would have carried, so the rest of sx sees the same events.
    fn on_whole(&mut self, _body: &[u8], _sink: &mut EventSink<'_>) -> Result<(), ProviderError> {
        Err(ProviderError::Protocol {
            detail: "this provider has no non-streamed answer form".into(),
        })
    }
}

/// What every HTTP provider shares, read from the configuration once.
pub struct Runtime {
    pub http: reqwest::Client,
    pub identity: ClientIdentity,
    pub retry: RetryPolicy,
    pub idle_timeout: Duration,
    /// The most one streamed answer may send (`STREAM_MAX_BYTES`, docs/reliability.md).
    pub max_stream_bytes: u64,
    pub traffic: SharedTrafficLog,
    pub credentials: Arc<dyn Credentials>,
    pub provider: ProviderId,
}

impl Runtime {
    /// The runtime of a provider: `identity`'s client, the retry policy and idle timeout the
    /// configuration sets (docs/configuration.md), these credentials and traffic log.
    pub fn new(
        config: &sx_config::Config,
        identity: ClientIdentity,
        credentials: Arc<dyn Credentials>,
        traffic: SharedTrafficLog,
        provider: ProviderId,
    ) -> Result<Runtime, ProviderError> {
        let http = crate::http::client(&identity).map_err(ProviderError::Config)?;
        Ok(Runtime::with_client(
            config,
            http,
            identity,
            credentials,
            traffic,
            provider,
        ))
    }

    /// The same with a client already built (Codex's token source shares it).
    pub fn with_client(
        config: &sx_config::Config,
        http: reqwest::Client,
        identity: ClientIdentity,
        credentials: Arc<dyn Credentials>,
        traffic: SharedTrafficLog,
        provider: ProviderId,
    ) -> Runtime {
        Runtime {
            http,
            identity,
            retry: RetryPolicy::from_config(config),
            idle_timeout: crate::http::idle_timeout(config),
            max_stream_bytes: crate::limits::stream_max_bytes(config),
            traffic,
            credentials,
            provider,
        }
    }
}

enum Failure {
    /// HTTP 401: recover the credentials once.
    Unauthorized(String),
    Failed(ProviderError),
}

impl Runtime {
    /// Run one model call to completion, retrying what may succeed on a second try.
    pub async fn stream<W: Wire>(
        &self,
        wire: &W,
        req: &Request<'_>,
        sink: &mut EventSink<'_>,
    ) -> Result<Completion, ProviderError> {
        wire.prepare(self, req).await;
        let wreq = wire.build(req)?;
        let policy = self.retry;
        let mut cred = self.credentials.current().await?;
        let mut recovered = false;
        let (mut request_retries, mut stream_retries) = (0u32, 0u32);
        loop {
            let err = match self.attempt(wire, req, &wreq, &cred, sink).await {
                Ok(c) => return Ok(c),
                Err(Failure::Unauthorized(detail)) => {
                    if recovered {
                        return Err(self.credentials.rejected(detail).into());
                    }
                    recovered = true;
                    cred = self.credentials.recover(&cred, &detail).await?;
                    continue;
                }
                Err(Failure::Failed(e)) => e,
            };
            let Some((n, max, delay)) =
                retry_plan(&err, &policy, &mut request_retries, &mut stream_retries)
            else {
                return Err(err);
            };
            let reason = err.to_string();
            sink(StreamEvent::Retry {
                attempt: n,
                max,
                delay,
                reason: &reason,
            });
            tokio::time::sleep(delay).await;
            // A long wait may have brought the credential close to expiry.
            cred = self.credentials.current().await?;
        }
    }

    /// One HTTP request and its stream.
    async fn attempt<W: Wire>(
        &self,
        wire: &W,
        req: &Request<'_>,
        wreq: &WireRequest,
        cred: &Credential,
        sink: &mut EventSink<'_>,
    ) -> Result<Completion, Failure> {
        sx_config::phases::mark("request built");
        let idle = self.idle_timeout;
        let mut headers = wreq.headers.clone();
        cred.apply(&mut headers);
        wire.attempt_headers(req, &mut headers);
        let request = self
            .http
            .post(&wreq.url)
            .headers(headers)
            .body(wreq.body.clone())
            .build()
            .map_err(|e| {
                Failure::Failed(ProviderError::Config(format!(
                    "cannot build the request to {}: {e}",
                    wreq.url
                )))
            })?;
        let log = Log::request(&self.traffic, "POST", &request, &wreq.json);

        let resp = match tokio::time::timeout(idle, self.http.execute(request))
            .await
            .inspect(|r| {
                if r.is_ok() {
                    sx_config::phases::mark("response headers");
                }
            }) {
            Err(_) => {
                log.end(Some("idle timeout before headers"));
                return Err(Failure::Failed(ProviderError::IdleTimeout { after: idle }));
            }
            Ok(Err(e)) => {
                let message = crate::error_chain(&e);
                log.end(Some(&message));
                return Err(Failure::Failed(self.network_error(&wreq.url, message)));
            }
            Ok(Ok(r)) => r,
        };
        let status = resp.status().as_u16();
        log.head(status, resp.headers());
        wire.on_response(req, status, resp.headers(), sink);
        if !(200..300).contains(&status) {
            let headers = resp.headers().clone();
            let body = read_bounded(resp, MAX_REPLY_BODY, idle).await;
            log.chunk(&body);
            log.end(None);
            if status == 401 {
                return Err(Failure::Unauthorized(format!(
                    "HTTP 401: {}",
                    crate::error_body::ErrorBody::parse(&body).message
                )));
            }
            return Err(Failure::Failed(
                wire.map_error(status, &headers, &body, &wreq.url),
            ));
        }

        if crate::error_body::is_html(resp.headers()) {
            // A proxy's sign-in page, a captive portal: not a stream (docs/reliability.md).
            let body = read_bounded(resp, crate::error_body::MAX_ERROR_BODY, idle).await;
            log.chunk(&body);
            let err = crate::error_body::html_instead_of_stream(self.provider, &body);
            log.end(Some(&err.to_string()));
            return Err(Failure::Failed(err));
        }
        let mut state = wire.stream(req);
        // A server that streams although asked not to is read as the stream it is.
        if !wire.streamed(req) && !is_event_stream(resp.headers()) {
            let result = read_whole(resp, idle)
                .await
                .inspect(|body| log.chunk(body))
                .and_then(|body| state.on_whole(&body, sink))
                .and_then(|()| state.finish());
            log.end(result.as_ref().err().map(|e| e.to_string()).as_deref());
            return result.map_err(Failure::Failed);
        }
        let mut decoder = SseDecoder::new();
        let mut body = resp.bytes_stream();
        let mut received: u64 = 0;
        let outcome: Result<(), ProviderError> = loop {
            match tokio::time::timeout(idle, body.next()).await {
                Err(_) => break Err(ProviderError::IdleTimeout { after: idle }),
                Ok(None) => break decoder.finish(|ev| state.on_event(ev, sink)),
                Ok(Some(Err(e))) => {
                    break Err(ProviderError::StreamTruncated {
                        detail: crate::error_chain(&e),
                    });
                }
                Ok(Some(Ok(chunk))) => {
                    log.chunk(&chunk);
                    if received == 0 {
                        sx_config::phases::mark("first bytes");
                    }
                    if received == 0 && crate::error_body::looks_like_html(&chunk) {
                        // An HTML page sent as something else: no event stream starts with `<`.
                        break Err(crate::error_body::html_instead_of_stream(
                            self.provider,
                            &chunk,
                        ));
                    }
                    received += chunk.len() as u64;
                    if received > self.max_stream_bytes {
                        break Err(too_large_stream(self.max_stream_bytes));
                    }
                    if let Err(e) = decoder.feed(&chunk, |ev| state.on_event(ev, sink)) {
                        break Err(e);
                    }
                    if decoder.overflowed() {
                        break Err(too_long_line(&decoder));
                    }
                    if state.finished() {
                        break Ok(());
                    }
                }
            }
        };
        sx_config::phases::mark("answer complete");
        let result = outcome.and_then(|()| state.finish());
        log.end(result.as_ref().err().map(|e| e.to_string()).as_deref());
        result.map_err(Failure::Failed)
    }

    /// `GET url` with the credentials: one attempt, one 401 recovery, a bounded body
    /// (catalogs). Errors go through the wire's mapping.
    pub async fn get<W: Wire>(
        &self,
        wire: &W,
        url: &str,
        headers: HeaderMap,
    ) -> Result<Bytes, ProviderError> {
        self.exchange(wire, reqwest::Method::GET, url, headers, None, None)
            .await
    }

    /// A JSON request that is not a model call (Gemini's `cachedContents`): `method url`
    /// with the credentials and `body` (sent as `application/json`), one attempt, one 401
    /// recovery, a bounded answer; logged in the traffic log; errors go through the wire's
    /// mapping. Not retried: the caller decides what a failure means.
    pub async fn send_json<W: Wire>(
        &self,
        wire: &W,
        method: reqwest::Method,
        url: &str,
        headers: HeaderMap,
        body: Option<Bytes>,
    ) -> Result<Bytes, ProviderError> {
        let mut headers = headers;
        if body.is_some() {
            headers.insert(
                reqwest::header::CONTENT_TYPE,
                reqwest::header::HeaderValue::from_static("application/json"),
            );
        }
        self.exchange(wire, method, url, headers, body, Some(&self.traffic))
            .await
    }

    /// One request and its bounded answer, with one 401 recovery (`get`, `send_json`).
    async fn exchange<W: Wire>(
        &self,
        wire: &W,
        method: reqwest::Method,
        url: &str,
        headers: HeaderMap,
        body: Option<Bytes>,
        traffic: Option<&SharedTrafficLog>,
    ) -> Result<Bytes, ProviderError> {
        let mut cred = self.credentials.current().await?;
        let mut recovered = false;
        loop {
            let mut h = headers.clone();
            cred.apply(&mut h);
            let mut builder = self
                .http
                .request(method.clone(), url)
                .headers(h)
                .timeout(Duration::from_secs(20));
            if let Some(b) = &body {
                builder = builder.body(b.clone());
            }
            let request = builder.build().map_err(|e| {
                ProviderError::Config(format!("cannot build the request to {url}: {e}"))
            })?;
            let empty = SharedTrafficLog::default();
            let log = Log::request(
                traffic.unwrap_or(&empty),
                method.as_str(),
                &request,
                body.as_deref().unwrap_or_default(),
            );
            let resp = match self.http.execute(request).await {
                Ok(r) => r,
                Err(e) => {
                    let message = crate::error_chain(&e);
                    log.end(Some(&message));
                    return Err(self.network_error(url, message));
                }
            };
            let status = resp.status().as_u16();
            log.head(status, resp.headers());
            let resp_headers = resp.headers().clone();
            let answer = if (200..300).contains(&status) {
                // A whole answer is needed: too long is an error, not a cut body.
                match crate::limits::read_capped(resp, MAX_REPLY_BODY, self.idle_timeout).await {
                    Ok(a) => a,
                    Err(crate::limits::ReadError::TooLarge { cap }) => {
                        let what = format!(
                            "the answer to {method} {url} is larger than {}",
                            crate::limits::human_bytes(cap as u64)
                        );
                        log.end(Some(&what));
                        return Err(ProviderError::TooLarge { what });
                    }
                    Err(crate::limits::ReadError::Failed(message)) => {
                        log.end(Some(&message));
                        return Err(self.network_error(url, message));
                    }
                }
            } else {
                read_bounded(resp, MAX_REPLY_BODY, self.idle_timeout).await
            };
            log.chunk(&answer);
            log.end(None);
            match status {
                200..=299 => return Ok(answer),
                401 if !recovered => {
                    recovered = true;
                    let detail = crate::error_body::ErrorBody::parse(&answer).message;
                    cred = self
                        .credentials
                        .recover(&cred, &format!("HTTP 401: {detail}"))
                        .await?;
                }
                401 => {
                    let detail = crate::error_body::ErrorBody::parse(&answer).message;
                    return Err(self
                        .credentials
                        .rejected(format!("HTTP 401: {detail}"))
                        .into());
                }
                _ => return Err(wire.map_error(status, &resp_headers, &answer, url)),
            }
        }
    }

    fn network_error(&self, url: &str, message: String) -> ProviderError {
        ProviderError::Network {
            provider: self.provider,
            url: url.to_string(),
            message,
        }
    }
}

/// Whether and when to retry `err`: `(attempt, budget, delay)`, counting it against the
/// request or the stream budget. `None`: report it.
fn retry_plan(
    err: &ProviderError,
    policy: &RetryPolicy,
    request_retries: &mut u32,
    stream_retries: &mut u32,
) -> Option<(u32, u32, Duration)> {
    if !err.is_retryable() {
        return None;
    }
    let (n, max) = if err.is_stream_error() {
        *stream_retries += 1;
        (*stream_retries, policy.stream_max_retries)
    } else {
        *request_retries += 1;
        (*request_retries, policy.request_max_retries)
    };
    if n > max {
        return None;
    }
    let delay = match err.retry_after() {
        Some(d) if d > MAX_SERVER_DELAY => return None,
        Some(d) => d,
        None => policy.backoff(n),
    };
    Some((n, max, delay))
}

/// Decode a whole SSE body given as chunks with `state` (benchmarks, fuzzing, offline
/// replay): exactly the path a live stream takes in [`Runtime::stream`], minus the socket.
pub fn decode_chunks<'c, S: WireStream>(
    mut state: S,
    chunks: impl IntoIterator<Item = &'c [u8]>,
    sink: &mut EventSink<'_>,
) -> Result<Completion, ProviderError> {
    let mut decoder = SseDecoder::new();
    for chunk in chunks {
        decoder.feed(chunk, |ev| state.on_event(ev, sink))?;
        if decoder.overflowed() {
            return Err(too_long_line(&decoder));
        }
        if state.finished() {
            break;
        }
    }
    decoder.finish(|ev| state.on_event(ev, sink))?;
    state.finish()
}

fn too_large_stream(max: u64) -> ProviderError {
    ProviderError::TooLarge {
        what: format!(
            "more than {} streamed for one answer; STREAM_MAX_BYTES sets the limit",
            crate::limits::human_bytes(max)
        ),
    }
}

fn too_long_line(decoder: &SseDecoder) -> ProviderError {
    ProviderError::TooLarge {
        what: format!(
            "an event or line of the stream longer than {}",
            crate::limits::human_bytes(decoder.max_line() as u64)
        ),
    }
}

/// A whole answer's JSON (`STREAMING=0`), or the malformed-response error naming what came.
pub fn whole_json(body: &[u8]) -> Result<serde_json::Value, ProviderError> {
    serde_json::from_slice(body).map_err(|e| ProviderError::Protocol {
        detail: format!(
            "the answer is not JSON ({e}): {}",
            crate::error_body::snippet(body)
        ),
    })
}

/// Feed `data` to `state` as one event of its stream (a whole answer's replay).
pub fn feed_data<S: WireStream>(
    state: &mut S,
    data: &str,
    sink: &mut EventSink<'_>,
) -> Result<(), ProviderError> {
    state.on_event(
        SseEvent {
            event: "",
            data,
            truncated: false,
        },
        sink,
    )
}

/// Whether a response says it is an event stream.
fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/event-stream"))
}

/// A whole (non-streamed) answer: read to its end, at most [`MAX_REPLY_BODY`]; a stall, a
/// broken connection or an answer too large is an error (the first two are retried).
async fn read_whole(resp: reqwest::Response, idle: Duration) -> Result<Bytes, ProviderError> {
    let mut out = Vec::new();
    let mut body = resp.bytes_stream();
    loop {
        match tokio::time::timeout(idle, body.next()).await {
            Err(_) => return Err(ProviderError::IdleTimeout { after: idle }),
            Ok(None) => return Ok(Bytes::from(out)),
            Ok(Some(Err(e))) => {
                return Err(ProviderError::StreamTruncated {
                    detail: crate::error_chain(&e),
                });
            }
            Ok(Some(Ok(chunk))) => {
                if out.len() + chunk.len() > MAX_REPLY_BODY {
                    return Err(ProviderError::TooLarge {
                        what: format!(
                            "a whole (unstreamed) answer larger than {}",
                            crate::limits::human_bytes(MAX_REPLY_BODY as u64)
                        ),
                    });
                }
                out.extend_from_slice(&chunk);
            }
        }
    }
}

/// A body read to its end or to `cap` bytes, whichever comes first; what could not be read
/// (timeout, broken connection) is left out — the status already says what happened.
pub async fn read_bounded(resp: reqwest::Response, cap: usize, idle: Duration) -> Bytes {
    let mut out = Vec::new();
    let mut body = resp.bytes_stream();
    while out.len() < cap {
        match tokio::time::timeout(idle, body.next()).await {
            Ok(Some(Ok(chunk))) => {
                let take = chunk.len().min(cap - out.len());
                out.extend_from_slice(&chunk[..take]);
            }
            _ => break,
        }
    }
    Bytes::from(out)
}

/// The traffic log of one request (a no-op without a log).
struct Log<'a> {
    log: Option<(&'a dyn TrafficLog, u64)>,
}

impl<'a> Log<'a> {
    fn request(
        traffic: &'a SharedTrafficLog,
        method: &str,
        request: &reqwest::Request,
        json: &[u8],
    ) -> Log<'a> {
        Log {
            log: traffic.as_deref().map(|t| {
                let id = t.request(
                    method,
                    request.url().as_str(),
                    &redacted_headers(request.headers()),
                    json,
                );
                (t, id)
            }),
        }
    }

    fn head(&self, status: u16, headers: &HeaderMap) {
        if let Some((t, id)) = self.log {
            t.response_head(id, status, &redacted_headers(headers));
        }
    }

    fn chunk(&self, chunk: &[u8]) {
        if let Some((t, id)) = self.log {
            t.response_chunk(id, chunk);
        }
    }

    fn end(&self, error: Option<&str>) {
        if let Some((t, id)) = self.log {
            t.response_end(id, error);
        }
    }
}

/// A [`Wire`] on the [`Runtime`]: a whole HTTP provider.
pub struct HttpProvider<W: Wire> {
    pub wire: W,
    pub runtime: Runtime,
}

#[async_trait]
impl<W: Wire> Provider for HttpProvider<W> {
    fn id(&self) -> ProviderId {
        self.wire.id()
    }

    fn capabilities(&self) -> Capabilities {
        self.wire.capabilities()
    }

    fn context_window(&self, model: &str) -> Option<u64> {
        self.wire.context_window(model)
    }

    async fn stream(
        &self,
        req: &Request<'_>,
        sink: &mut EventSink<'_>,
    ) -> Result<Completion, ProviderError> {
        self.runtime.stream(&self.wire, req, sink).await
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, ProviderError> {
        self.wire.list_models(&self.runtime).await
    }
}

#[cfg(test)]
#[path = "runtime_tests.rs"]
mod tests;
