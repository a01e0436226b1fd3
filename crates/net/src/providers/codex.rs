//! The Codex provider: the ChatGPT backend's Responses API over SSE (docs/providers.md, "Codex").
//!
//! Request: `POST {CODEX_BASE_URL}/responses`, in the shape the official client uses for the
//! model — "classic" or "responses lite" (`codex/request.rs`, chosen by `codex/catalog.rs`) —
//! zstd-compressed as the official client does for the ChatGPT backend, with its `version`,
//! routing hint and, within a turn, `x-codex-turn-state`. Response: SSE events,
//! `response.output_item.done` being the authoritative item and `response.completed` the only
//! success (`codex/stream.rs`). Sending, retries and 401 recovery are the shared runtime's.
//!
//! With an OpenAI API key instead of a ChatGPT login (`auth::codex_auth` decides), the same
//! wire speaks to the platform's Responses API at `https://api.openai.com/v1/responses`, as the
//! official client does with an API key (codex-apikey-gpt55-request.json): no compression, no
//! routing hint, no account id, no live catalog; there `STREAMING=0` asks for the whole answer
//! (`codex/whole.rs`), which the ChatGPT backend refuses.

mod catalog;
mod errors;
mod rate_limits;
mod request;
mod stream;
mod whole;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::sync::OnceCell;

use super::{Caching, Capabilities, ModelInfo, OpenOptions};
use crate::ProviderId;
use crate::auth::{ApiKey, CodexAuth, CodexOAuth, Credentials, KeyHeader, codex_auth};
use crate::error::ProviderError;
use crate::event::{EventSink, StreamEvent};
use crate::http::{ClientIdentity, zstd_body};
use crate::model::Request;
use crate::runtime::{HttpProvider, Runtime, Wire, WireRequest};
pub use catalog::CodexModel;
use catalog::{Catalog, builtin, fallback, parse_catalog};
use errors::map_http_error;
use request::{BodyContext, build_body};
pub use stream::{ResponsesStream, decode_body};

/// The official client version whose wire sx speaks (tests/fixtures/captures/), sent as the
/// `version` header and the catalog's `client_version` unless `CODEX_CLIENT_VERSION` says
/// otherwise: the backend gates newer models on it. sx's own version is in the user agent.
pub const CODEX_WIRE_VERSION: &str = "0.169.0";

/// The originator sx sends unless `CODEX_ORIGINATOR` overrides it.
const SX_ORIGINATOR: &str = "sx";

/// Where a ChatGPT login's requests go unless `CODEX_BASE_URL` says otherwise.
pub const CHATGPT_BASE_URL: &str = "https://chatgpt.com/backend-api/codex";

/// Where an API key's requests go unless `CODEX_BASE_URL` says otherwise (the official
/// client's default for API-key auth, docs/protocols/codex.md §B.1).
pub const PLATFORM_BASE_URL: &str = "https://api.openai.com/v1";

/// The one-time notice when `STREAMING=0` cannot be honoured.
const STREAMING_IGNORED: &str = "STREAMING=0 is ignored with a ChatGPT login: the ChatGPT backend only answers streamed requests (with an OpenAI API key, codex can answer unstreamed)";

pub type CodexProvider = HttpProvider<CodexWire>;

pub struct CodexWire {
    base: String,
    responses_url: String,
    /// A ChatGPT login (the ChatGPT backend); `false`: an API key (the platform API).
    chatgpt: bool,
    /// `STREAMING` (honoured with an API key only).
    streaming: bool,
    /// The `STREAMING=0` notice was given (once per process).
    streaming_noticed: AtomicBool,
    client_version: HeaderValue,
    originator: HeaderValue,
    installation_id: Option<String>,
    compress: bool,
    /// `x-codex-turn-state` from the first response of the current turn: `(turn id, value)`.
    turn_state: Mutex<Option<(String, HeaderValue)>>,
    /// The live catalog, fetched once, only for a model the built-in table does not know.
    catalog: OnceCell<Option<Catalog>>,
}

/// Open the Codex provider from the configuration.
pub fn open(config: &sx_config::Config, opts: OpenOptions) -> Result<CodexProvider, ProviderError> {
    let client_version = config
        .get_nonempty("CODEX_CLIENT_VERSION")
        .unwrap_or(CODEX_WIRE_VERSION);
    let client_version_header = HeaderValue::from_str(client_version).map_err(|_| {
        ProviderError::Config(format!(
            "CODEX_CLIENT_VERSION={client_version} cannot be sent as a header; set a version like {CODEX_WIRE_VERSION}"
        ))
    })?;
    let identity = match config.get_nonempty("CODEX_ORIGINATOR") {
        // An official originator is only believable with the official client's user agent.
        Some(o) if o != SX_ORIGINATOR => ClientIdentity::as_client(o, client_version),
        _ => ClientIdentity::new(SX_ORIGINATOR),
    };
    let originator = HeaderValue::from_str(&identity.originator).map_err(|_| {
        ProviderError::Config(format!(
            "CODEX_ORIGINATOR={} cannot be sent as a header; use plain letters, digits and _",
            identity.originator
        ))
    })?;
    let http = crate::http::client(&identity).map_err(ProviderError::Config)?;
    let (credentials, chatgpt): (Arc<dyn Credentials>, bool) =
        match codex_auth(config, &http, &identity)? {
            CodexAuth::ChatGpt(source) => (Arc::new(CodexOAuth { source }), true),
            CodexAuth::ApiKey { key, key_name } => (
                Arc::new(ApiKey::new(
                    ProviderId::Codex,
                    key_name,
                    KeyHeader::Bearer,
                    &key,
                )?),
                false,
            ),
        };
    // An explicit CODEX_BASE_URL wins (tests, proxies); else the credential's own back-end.
    let default_base = if chatgpt {
        CHATGPT_BASE_URL
    } else {
        PLATFORM_BASE_URL
    };
    let base = match config.get_nonempty("CODEX_BASE_URL") {
        Some(b) if !config.is_default("CODEX_BASE_URL") => b,
        _ => default_base,
    }
    .trim_end_matches('/')
    .to_string();
    let runtime = Runtime::with_client(
        config,
        http,
        identity,
        credentials,
        opts.traffic,
        ProviderId::Codex,
    );
    Ok(HttpProvider {
        wire: CodexWire {
            responses_url: format!("{base}/responses"),
            base,
            chatgpt,
            streaming: super::streaming(config),
            streaming_noticed: AtomicBool::new(false),
            client_version: client_version_header,
            originator,
            installation_id: config.home().and_then(installation_id),
            // As the official client: zstd for the ChatGPT backend, never with an API key.
            compress: chatgpt,
            turn_state: Mutex::new(None),
            catalog: OnceCell::new(),
        },
        runtime,
    })
}

impl CodexWire {
    /// What the wire needs to know about `model`: the catalog's word when it was consulted,
    /// else the built-in table, else the official client's fallback.
    fn model(&self, model: &str) -> CodexModel {
        if let Some(Some(c)) = self.catalog.get()
            && let Some(m) = c.models.get(model)
        {
            return *m;
        }
        builtin(model).unwrap_or_else(|| fallback(model))
    }

    async fn fetch_catalog(&self, rt: &Runtime) -> Result<Catalog, ProviderError> {
        let url = format!(
            "{}/models?client_version={}",
            self.base,
            self.client_version.to_str().unwrap_or(CODEX_WIRE_VERSION)
        );
        let body = rt.get(self, &url, self.common_headers()).await?;
        parse_catalog(&body)
    }

    /// Headers on every request to the backend (`/responses` and `/models`).
    fn common_headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("version", self.client_version.clone());
        h.insert("originator", self.originator.clone());
        h
    }
}

#[async_trait]
impl Wire for CodexWire {
    type Stream = ResponsesStream;

    fn id(&self) -> ProviderId {
        ProviderId::Codex
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            runs_own_tools: false,
            keeps_own_history: false,
            vision: true,
            caching: Caching::Automatic,
        }
    }

    fn context_window(&self, model: &str) -> Option<u64> {
        Some(self.model(model).context_window)
    }

    async fn prepare(&self, rt: &Runtime, req: &Request<'_>) {
        // Only a model the built-in table lacks costs a catalog request (once per process);
        // a catalog that cannot be had leaves the fallback in place. The platform API has no
        // Codex catalog.
        if self.chatgpt && builtin(req.model).is_none() {
            self.catalog
                .get_or_init(|| async { self.fetch_catalog(rt).await.ok() })
                .await;
        }
    }

    fn build(&self, req: &Request<'_>) -> Result<WireRequest, ProviderError> {
        let model = self.model(req.model);
        let body = build_body(
            req,
            &BodyContext {
                model,
                installation_id: self.installation_id.as_deref(),
                chatgpt_backend: self.chatgpt,
                stream: self.streamed(req),
            },
        );
        let json = Bytes::from(serde_json::to_vec(&body).expect("request body serializes"));
        let wire_body = if self.compress {
            Bytes::from(zstd_body(&json))
        } else {
            json.clone()
        };
        let mut h = HeaderMap::new();
        let mut set = |name: &'static str, value: &str| -> Result<(), ProviderError> {
            let v = HeaderValue::from_str(value).map_err(|_| {
                ProviderError::Config(format!(
                    "cannot send {name}: {value:?} is not a header value"
                ))
            })?;
            h.insert(HeaderName::from_static(name), v);
            Ok(())
        };
        // The official client's order (codex-chatgpt-request.json).
        set("x-codex-window-id", &format!("{}:0", req.session_id))?;
        if model.responses_lite {
            set("x-openai-internal-codex-responses-lite", "true")?;
        }
        if self.chatgpt {
            // The ChatGPT backend's routing; the platform API has none.
            set("x-codex-routing-hint", &format!("model={}", req.model))?;
        }
        set("x-client-request-id", req.session_id)?;
        set("session-id", req.session_id)?;
        set("thread-id", req.session_id)?;
        set(
            "accept",
            if self.streamed(req) {
                "text/event-stream"
            } else {
                "application/json"
            },
        )?;
        if self.compress {
            set("content-encoding", "zstd")?;
        }
        set("content-type", "application/json")?;
        h.extend(self.common_headers());
        Ok(WireRequest {
            url: self.responses_url.clone(),
            headers: h,
            json,
            body: wire_body,
        })
    }

    fn attempt_headers(&self, req: &Request<'_>, headers: &mut HeaderMap) {
        let state = self.turn_state.lock().expect("turn state lock");
        if let Some((turn, value)) = state.as_ref()
            && turn == req.turn_id
        {
            headers.insert("x-codex-turn-state", value.clone());
        }
    }

    fn on_response(
        &self,
        req: &Request<'_>,
        _status: u16,
        headers: &HeaderMap,
        sink: &mut EventSink<'_>,
    ) {
        if let Some(v) = headers.get("x-codex-turn-state") {
            let mut state = self.turn_state.lock().expect("turn state lock");
            // The first response of a turn sets it; a new turn starts over.
            if state.as_ref().is_none_or(|(turn, _)| turn != req.turn_id) {
                *state = Some((req.turn_id.to_string(), v.clone()));
            }
        }
        if let Some(limits) = rate_limits::parse(headers) {
            sink(StreamEvent::RateLimits(&limits));
        }
        if self.chatgpt && !self.streaming && !self.streaming_noticed.swap(true, Ordering::Relaxed)
        {
            sink(StreamEvent::Notice(STREAMING_IGNORED));
        }
    }

    fn map_error(&self, status: u16, headers: &HeaderMap, body: &[u8], url: &str) -> ProviderError {
        map_http_error(status, headers, body, url)
    }

    fn stream(&self, _req: &Request<'_>) -> ResponsesStream {
        ResponsesStream::default()
    }

    /// The ChatGPT backend answers only streamed requests ("Stream must be set to true"), so
    /// only an API key's requests follow `STREAMING=0`.
    fn streamed(&self, _req: &Request<'_>) -> bool {
        self.streaming || self.chatgpt
    }

    async fn list_models(&self, rt: &Runtime) -> Result<Vec<ModelInfo>, ProviderError> {
        if !self.chatgpt {
            return Err(ProviderError::Config(
                "the platform API has no Codex model catalog (an API key is in use)".into(),
            ));
        }
        Ok(self.fetch_catalog(rt).await?.listed)
    }
}

/// A random id for this installation, kept in `~/.scorpiox/installation_id` and sent as
/// Codex's `client_metadata["x-codex-installation-id"]` (the official client sends its own;
/// ours is separate). Best effort: no id is not an error.
fn installation_id(home: &Path) -> Option<String> {
    let path = home.join(".scorpiox").join("installation_id");
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim();
        if uuid::Uuid::parse_str(s).is_ok() {
            return Some(s.to_string());
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    sx_config::atomic::AtomicWrite::new()
        .parent(sx_config::atomic::Parent::Create)
        .write(&path, format!("{id}\n").as_bytes())
        .ok()?;
    Some(id)
}

#[cfg(test)]
#[path = "codex_tests.rs"]
mod tests;
