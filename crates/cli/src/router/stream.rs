//! One streamed answer: the upstream call runs in a task whose events are written, as SSE,
//! into a buffer the response body drains.
//!
//! - Headers wait for the first piece of the answer (up to [`FIRST_BYTE_WAIT`]), so a
//!   failure before it (a bad key, a 400, retries spent) is a plain HTTP error with its
//!   status; after it, a failure is an `error` event.
//! - A retry by the provider runtime after content went out cannot be taken back: the stream
//!   ends with an `error` event and the upstream call is dropped (the client retries).
//! - The body owns the task: a client that hangs up drops the body, which aborts the task and
//!   with it the upstream connection.
//! - A silent stretch gets a `ping` every [`PING_EVERY`] (proxies close quiet connections).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sxnet::event::StreamEvent;
use sxnet::{Provider, ProviderId};
use tokio::sync::Notify;

use super::Job;
use super::errors::ApiError;
use super::reply::{SseWriter, Step};
use crate::service::Metrics;

/// How long the headers wait for the answer to begin.
pub const FIRST_BYTE_WAIT: Duration = Duration::from_secs(10);
/// A `ping` after this long without an event.
pub const PING_EVERY: Duration = Duration::from_secs(15);

struct State {
    writer: SseWriter,
    /// Failed before anything was sent: answered as an HTTP error.
    failed: Option<ApiError>,
    /// The task is over.
    done: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Something was written (or the task ended).
    wrote: Notify,
    /// The stream broke: drop the upstream call.
    abort: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Aborts the upstream task when the response (or the handler) is dropped.
struct Owner {
    task: tokio::task::AbortHandle,
    metrics: Arc<Metrics>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.task.abort();
        self.metrics.add("streams_open", &[], -1.0);
    }
}

/// Run `job` on `provider` and answer with its SSE stream (or an HTTP error).
pub async fn respond(
    provider: Arc<dyn Provider>,
    upstream: ProviderId,
    job: Job,
    metrics: Arc<Metrics>,
) -> Response {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            writer: SseWriter::new(upstream),
            failed: None,
            done: false,
        }),
        wrote: Notify::new(),
        abort: Notify::new(),
    });
    let (id, model, estimate) = (job.id.clone(), job.client_model.clone(), job.input_tokens);
    let task = {
        let shared = Arc::clone(&shared);
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let req = job.request();
            let mut sink = |ev: StreamEvent<'_>| {
                let mut st = shared.lock();
                let content = matches!(
                    ev,
                    StreamEvent::TextDelta(_)
                        | StreamEvent::ThinkingDelta(_)
                        | StreamEvent::RawThinkingDelta(_)
                        | StreamEvent::Thinking(_)
                        | StreamEvent::ToolCallStarted { .. }
                        | StreamEvent::ToolCall(_)
                );
                if content {
                    st.writer
                        .start(&job.id, &job.client_model, job.input_tokens);
                }
                if st.writer.on_event(ev) == Step::Broken {
                    st.writer.fail(
                        "api_error",
                        &format!(
                            "{}: the upstream stream broke after part of the answer was sent; \
                             send the request again",
                            upstream.display_name()
                        ),
                    );
                    shared.abort.notify_one();
                }
                drop(st);
                shared.wrote.notify_one();
            };
            let result = tokio::select! {
                r = provider.stream(&req, &mut sink) => Some(r),
                () = shared.abort.notified() => None,
            };
            let mut st = shared.lock();
            match result {
                None => {
                    metrics.inc(
                        "upstream_errors_total",
                        &[("provider", upstream.as_str()), ("type", "stream_broken")],
                    );
                }
                Some(Ok(c)) => {
                    st.writer
                        .start(&job.id, &job.client_model, job.input_tokens);
                    st.writer.finish(&c);
                }
                Some(Err(e)) => {
                    let api = ApiError::upstream(upstream, &e);
                    metrics.inc(
                        "upstream_errors_total",
                        &[("provider", upstream.as_str()), ("type", api.kind)],
                    );
                    if st.writer.started() {
                        st.writer.fail(api.kind, &api.message);
                    } else {
                        st.failed = Some(api);
                    }
                }
            }
            st.done = true;
            drop(st);
            shared.wrote.notify_one();
        })
    };
    metrics.add("streams_open", &[], 1.0);
    let owner = Owner {
        task: task.abort_handle(),
        metrics,
    };

    // Headers once the answer begins, it fails, or the wait is over.
    let wait = tokio::time::sleep(FIRST_BYTE_WAIT);
    tokio::pin!(wait);
    loop {
        {
            let mut st = shared.lock();
            if let Some(api) = st.failed.take() {
                return api.into_response();
            }
            if st.writer.started() || st.done {
                break;
            }
        }
        tokio::select! {
            () = shared.wrote.notified() => {}
            () = &mut wait => {
                shared.lock().writer.start(&id, &model, estimate);
                break;
            }
        }
    }
    let body = futures_util::stream::unfold(
        (shared, owner, ping_timer()),
        |(shared, owner, mut ping)| async move {
            loop {
                {
                    let mut st = shared.lock();
                    if st.writer.has_output() {
                        let bytes: Bytes = st.writer.take();
                        drop(st);
                        return Some((Ok::<Bytes, std::io::Error>(bytes), (shared, owner, ping)));
                    }
                    if st.done || st.writer.finished() {
                        return None;
                    }
                }
                tokio::select! {
                    () = shared.wrote.notified() => {}
                    _ = ping.tick() => shared.lock().writer.ping(),
                }
            }
        },
    );
    (
        [
            (header::CONTENT_TYPE, "text/event-stream; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

fn ping_timer() -> tokio::time::Interval {
    let mut i = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    i
}
