//! Scripted responses: what the mock answers, byte by byte.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use bytes::Bytes;
use serde_json::Value;

/// Longest a [`Chunk::Stall`] holds a connection open when the client never hangs up.
pub(crate) const STALL_LIMIT: Duration = Duration::from_secs(120);

/// One step of a streamed (chunked) response body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chunk {
    /// Send these bytes as one HTTP chunk, flushed at once.
    Bytes(Bytes),
    /// Send these bytes this many times, one HTTP chunk each, without holding more than one
    /// copy: a hostile server's endless line or endless stream of empty deltas (the client is
    /// expected to hang up first; then the rest is never sent).
    Repeat(Bytes, u64),
    /// Send nothing for this long, then go on with the next chunk.
    Delay(Duration),
    /// Send nothing more and keep the connection open until the client disconnects
    /// (at most 120 s, after which the connection is dropped). Chunks after it are
    /// never sent.
    Stall,
    /// Send nothing until this file exists (a test's signal that something happened, e.g.
    /// "the reader closed its pipe"), then go on; after 120 s the connection is dropped.
    WaitFor(std::path::PathBuf),
    /// Drop the connection mid-body: the chunked body never gets its terminating
    /// chunk, so the client sees an incomplete body (an error), not a clean end.
    /// Chunks after it are never sent.
    Abort,
}

impl Chunk {
    /// One [`Chunk::Bytes`] per event, each framed like the real server
    /// (`event: <type>\ndata: <json>\n\n`), ready to be interleaved with delays,
    /// a stall or an abort.
    pub fn events(events: &[Value]) -> Vec<Chunk> {
        events
            .iter()
            .map(|event| Chunk::Bytes(Bytes::from(crate::sse::encode(std::slice::from_ref(event)))))
            .collect()
    }
}

#[derive(Clone, Debug)]
pub(crate) enum ResponseBody {
    /// Whole body, sent with `content-length`.
    Full(Bytes),
    /// Streamed with `transfer-encoding: chunked`, like a real SSE server.
    Chunked(Vec<Chunk>),
}

/// A scripted answer for [`crate::MockServer::enqueue`].
#[derive(Clone, Debug)]
pub struct MockResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: ResponseBody,
    pub(crate) repeat: bool,
    pub(crate) expect: Option<super::Expect>,
}

impl MockResponse {
    /// `200`, `content-type: text/event-stream`, the whole body sent as one chunk
    /// (chunked transfer encoding, as a streaming server does).
    pub fn sse(body: impl Into<Bytes>) -> MockResponse {
        MockResponse::sse_chunks(vec![Chunk::Bytes(body.into())])
    }

    /// [`MockResponse::sse`] of `sse::encode(events)`.
    pub fn sse_events(events: &[Value]) -> MockResponse {
        MockResponse::sse(crate::sse::encode(events))
    }

    /// `200` SSE sent chunk by chunk, each flushed at once. Reaching the end of the
    /// list ends the body cleanly (a "truncated stream" simply omits
    /// `response.completed`).
    pub fn sse_chunks(chunks: Vec<Chunk>) -> MockResponse {
        MockResponse {
            status: 200,
            headers: vec![
                ("content-type".to_owned(), "text/event-stream".to_owned()),
                ("cache-control".to_owned(), "no-cache".to_owned()),
            ],
            body: ResponseBody::Chunked(chunks),
            repeat: false,
            expect: None,
        }
    }

    /// `status` with a JSON body and `content-type: application/json`.
    pub fn json(status: u16, body: Value) -> MockResponse {
        MockResponse::status(status)
            .content_type("application/json")
            .body(serde_json::to_vec(&body).unwrap_or_else(|err| panic!("mock json body: {err}")))
    }

    /// A bare status with an empty body and no content type; see [`MockResponse::body`]
    /// and [`MockResponse::content_type`].
    ///
    /// # Panics
    /// If `status` is not a valid HTTP status code (100..=999).
    pub fn status(status: u16) -> MockResponse {
        assert!(
            (100..=999).contains(&status),
            "mock: invalid HTTP status {status}"
        );
        MockResponse {
            status,
            headers: Vec::new(),
            body: ResponseBody::Full(Bytes::new()),
            repeat: false,
            expect: None,
        }
    }

    /// Replace the body with these bytes (sent whole, with `content-length`).
    pub fn body(mut self, body: impl Into<Bytes>) -> MockResponse {
        self.body = ResponseBody::Full(body.into());
        self
    }

    /// Replace the body with these chunks (chunked transfer encoding, no `content-length`),
    /// e.g. an error page that never ends.
    pub fn chunked_body(mut self, chunks: Vec<Chunk>) -> MockResponse {
        self.body = ResponseBody::Chunked(chunks);
        self
    }

    /// Set (replace) `content-type`.
    pub fn content_type(mut self, content_type: &str) -> MockResponse {
        self.headers.retain(|(name, _)| name != "content-type");
        self.header("content-type", content_type)
    }

    /// Add a response header (added after any already set; repeated names are sent
    /// repeatedly), e.g. `retry-after` or `x-codex-primary-used-percent`.
    ///
    /// # Panics
    /// If the name or value is not valid in HTTP/1.1.
    pub fn header(mut self, name: &str, value: &str) -> MockResponse {
        let name = HeaderName::from_bytes(name.as_bytes())
            .unwrap_or_else(|err| panic!("mock: invalid header name {name:?}: {err}"));
        HeaderValue::from_str(value).unwrap_or_else(|err| {
            panic!("mock: invalid value for header {name}: {value:?}: {err}")
        });
        self.headers
            .push((name.as_str().to_owned(), value.to_owned()));
        self
    }

    /// Answer this response only to a request that meets `expect` (in addition to the
    /// route's expectations); see [`crate::MockServer`] for what happens otherwise.
    pub fn expecting(mut self, expect: super::Expect) -> MockResponse {
        self.expect = Some(expect);
        self
    }

    /// Serve this response forever once it is the last one left in its queue
    /// (for benches and concurrency tests). A repeating response that still has
    /// others queued behind it is served once, like any other.
    pub fn repeat(mut self) -> MockResponse {
        self.repeat = true;
        self
    }
}
