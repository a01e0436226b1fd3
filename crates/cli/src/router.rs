//! `scorpiox-router` (docs/spec.md §6): the Anthropic Messages API in front of any provider of
//! the library. `POST /v1/messages` (streaming or not) is routed by `ROUTER_ROUTES`
//! (`sxnet::routes`, shared with the embedded default), translated into the conversation model (`request.rs`), answered by the
//! upstream's `stream()` and translated back (`reply.rs`, `stream.rs`), with opaque upstream
//! state carried through the client (`state.rs`) and failures as Messages error bodies
//! (`errors.rs`). `GET /v1/models` lists what the rules reach. No client authentication: put
//! it on loopback or behind a proxy that authenticates (docs/router.md).

mod errors;
mod message;
pub mod reply;
mod request;
pub use sxnet::routes;
mod state;
mod stream;
mod upstreams;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sx_config::Config;
use sxnet::ProviderId;
use sxnet::model::{Effort, Message, Request, ToolSpec};

use crate::Failure;
use crate::service::metrics::{Family, Kind};
use crate::service::{self, Limits, LogLabel, Metrics, Observe, ServeOptions};
use errors::ApiError;
use request::{Incoming, Invalid};
use routes::{NoRoute, Routes, Traits};
use upstreams::Upstreams;

/// Where the router listens without `--listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8790";
/// Request line plus headers, in bytes; beyond: 431.
pub const MAX_HEAD: usize = 64 * 1024;
/// A request body (the whole conversation, images included); beyond: 413.
pub const MAX_BODY: usize = 32 * 1024 * 1024;
/// Connections open at once; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 256;
/// Reading a request body; beyond: 408.
const BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// A connection with no reads or writes for this long is closed (a non-streaming answer
/// may take minutes to come).
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// After SIGTERM/SIGINT, streams in flight get this long to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(120);

/// What `GET /metrics` reports (prefix `scorpiox_router_`).
const METRICS: &[Family] = &[
    (
        "requests_total",
        "Requests answered, by path and status.",
        Kind::Counter,
    ),
    (
        "request_duration_seconds",
        "Time from request to the end of the response (a stream's whole length), by path.",
        Kind::Histogram,
    ),
    (
        "upstream_requests_total",
        "Model calls sent upstream, by provider.",
        Kind::Counter,
    ),
    (
        "upstream_errors_total",
        "Model calls that failed, by provider and the error type answered.",
        Kind::Counter,
    ),
    ("streams_open", "Streamed answers in flight.", Kind::Gauge),
];

/// What startup built from the configuration.
pub struct Setup {
    routes: Routes,
    upstreams: Upstreams,
}

/// Read `ROUTER_ROUTES` and `ROUTER_LONG_CONTEXT`, and open the upstream providers. A bad
/// table or an upstream named by it that cannot be opened is exit 2 (3 for a login).
pub fn setup(config: &Config) -> Result<Setup, Failure> {
    let long_context = match config.get_nonempty(routes::LONG_CONTEXT_KEY) {
        None => routes::DEFAULT_LONG_CONTEXT,
        Some(v) => v.parse().map_err(|_| {
            Failure::usage(format!(
                "{} is '{v}'; set it to a whole number of tokens (default {})",
                routes::LONG_CONTEXT_KEY,
                routes::DEFAULT_LONG_CONTEXT
            ))
        })?,
    };
    let routes = Routes::parse(config.get(routes::KEY), long_context).map_err(Failure::usage)?;
    let upstreams = Upstreams::open(config, &routes)?;
    Ok(Setup { routes, upstreams })
}

/// Serve until `shutdown` completes, then let streams in flight finish (bounded).
pub async fn serve(
    listener: tokio::net::TcpListener,
    setup: Setup,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stopping = Arc::new(AtomicBool::new(false));
    let app = Arc::new(App {
        routes: setup.routes,
        upstreams: setup.upstreams,
        metrics: Arc::new(Metrics::new("scorpiox_router_", METRICS)),
        stopping: Arc::clone(&stopping),
    });
    let opts = ServeOptions {
        max_connections: MAX_CONNECTIONS,
        idle: IDLE_TIMEOUT,
        grace: SHUTDOWN_GRACE,
    };
    service::serve(listener, app_router(app), opts, shutdown, Some(stopping)).await
}

struct App {
    routes: Routes,
    upstreams: Upstreams,
    metrics: Arc<Metrics>,
    stopping: Arc<AtomicBool>,
}

fn app_router(app: Arc<App>) -> Router {
    let limits = Arc::new(Limits {
        max_head: MAX_HEAD,
        max_body: MAX_BODY,
        too_large: "the request body is too large for the router",
        body_timeout: BODY_TIMEOUT,
        request_timeout: None,
        error: errors::plain,
    });
    let observe = Arc::new(Observe {
        metrics: Arc::clone(&app.metrics),
        paths: &[
            "/",
            "/v1/messages",
            "/v1/messages/count_tokens",
            "/v1/models",
            "/healthz",
            "/readyz",
            "/metrics",
        ],
    });
    Router::new()
        .route("/v1/messages", post(messages))
        .route("/v1/messages/count_tokens", post(count_tokens))
        .route("/v1/models", get(models))
        .route("/", get(service::healthz))
        .route("/healthz", get(service::healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(limits, service::limits))
        .layer(middleware::from_fn_with_state(observe, service::access_log))
        .with_state(app)
}

/// One model call, owned, for the task that runs it.
pub(crate) struct Job {
    pub id: String,
    /// The model as the client named it (echoed back).
    pub client_model: String,
    pub input_tokens: u64,
    model: String,
    system: String,
    messages: Vec<Message>,
    tools: Vec<ToolSpec>,
    effort: Option<Effort>,
    thinking: bool,
    session_id: String,
    turn_id: String,
    max_tokens: u32,
}

impl Job {
    pub fn request(&self) -> Request<'_> {
        Request {
            model: &self.model,
            system: &self.system,
            messages: &self.messages,
            tools: &self.tools,
            effort: self.effort,
            thinking: self.thinking,
            session_id: &self.session_id,
            turn_id: &self.turn_id,
            max_output_tokens: Some(self.max_tokens),
            provider_session: None,
        }
    }
}

async fn messages(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let inc = match Incoming::parse(&body) {
        Ok(i) => i,
        Err(Invalid(m)) => return ApiError::invalid(m).into_response(),
    };
    let traits = Traits {
        model: &inc.model,
        thinking: inc.thinking,
        input_tokens: inc.input_tokens,
    };
    let route = match app.routes.route(&traits) {
        Ok(r) => r,
        Err(NoRoute(m)) => return ApiError::not_found(m).into_response(),
    };
    let provider = match app.upstreams.get(route.provider) {
        Ok(p) => p,
        Err(m) => return ApiError::not_found(m).into_response(),
    };
    let messages = match inc.conversation(route.provider) {
        Ok(m) => m,
        Err(Invalid(m)) => return ApiError::invalid(m).into_response(),
    };
    app.metrics.inc(
        "upstream_requests_total",
        &[("provider", route.provider.as_str())],
    );
    let job = Job {
        id: format!("msg_{}", uuid::Uuid::new_v4().simple()),
        client_model: inc.model.clone(),
        input_tokens: inc.input_tokens,
        model: route.model.clone(),
        system: inc.system,
        messages,
        tools: inc.tools,
        effort: inc.effort,
        thinking: inc.thinking,
        session_id: inc.session_id,
        turn_id: uuid::Uuid::new_v4().to_string(),
        max_tokens: inc.max_tokens,
    };
    let mut r = if inc.stream {
        stream::respond(provider, route.provider, job, Arc::clone(&app.metrics)).await
    } else {
        complete(&*provider, route.provider, &job, &app.metrics).await
    };
    // The model may be the client's own text: one printable word in the log and the header.
    let model: String = route
        .model
        .chars()
        .take(100)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    let label = format!("{} {model}", route.provider);
    if let Ok(v) = HeaderValue::from_str(&label) {
        r.headers_mut().insert("x-scorpiox-route", v);
    }
    r.extensions_mut().insert(LogLabel(Arc::from(label)));
    r
}

/// `stream: false`: the whole answer as one message.
async fn complete(
    provider: &dyn sxnet::Provider,
    upstream: ProviderId,
    job: &Job,
    metrics: &Metrics,
) -> Response {
    match provider.complete(&job.request()).await {
        Ok(c) => (
            [(header::CONTENT_TYPE, "application/json")],
            message::message_json(&job.id, &job.client_model, upstream, &c),
        )
            .into_response(),
        Err(e) => {
            let api = ApiError::upstream(upstream, &e);
            metrics.inc(
                "upstream_errors_total",
                &[("provider", upstream.as_str()), ("type", api.kind)],
            );
            api.into_response()
        }
    }
}

/// `POST /v1/messages/count_tokens`: the router's estimate (characters / 4).
async fn count_tokens(body: Bytes) -> Response {
    match Incoming::parse_for_count(&body) {
        Ok(n) => axum::Json(serde_json::json!({ "input_tokens": n })).into_response(),
        Err(Invalid(m)) => ApiError::invalid(m).into_response(),
    }
}

/// `GET /v1/models`: every model id the rules reach, in the Messages API's list shape.
async fn models(State(app): State<Arc<App>>) -> Response {
    let list = app.upstreams.reachable(&app.routes).await;
    let data: Vec<serde_json::Value> = list
        .iter()
        .map(|m| {
            serde_json::json!({
                "type": "model",
                "id": m.id,
                "display_name": m.display_name,
                "created_at": "2026-01-01T00:00:00Z",
            })
        })
        .collect();
    axum::Json(serde_json::json!({
        "data": data,
        "has_more": false,
        "first_id": list.first().map(|m| m.id.as_str()),
        "last_id": list.last().map(|m| m.id.as_str()),
    }))
    .into_response()
}

/// Ready while not shutting down (the upstreams were opened at startup).
async fn readyz(State(app): State<Arc<App>>) -> Response {
    if app.stopping.load(Ordering::SeqCst) {
        return errors::plain(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    service::healthz().await
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    service::metrics_response(&app.metrics)
}

async fn not_found() -> Response {
    ApiError::not_found("no such endpoint; the router serves POST /v1/messages and GET /v1/models")
        .into_response()
}

async fn method_not_allowed() -> Response {
    let mut r = errors::plain(
        StatusCode::METHOD_NOT_ALLOWED,
        "this method is not supported here",
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, POST"));
    r
}
