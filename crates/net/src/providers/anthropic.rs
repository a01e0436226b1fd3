//! The Anthropic provider: the Messages API over SSE (docs/providers.md, "anthropic").
//!
//! Request: `POST {ANTHROPIC_BASE_URL}/v1/messages` with `anthropic-version: 2023-06-01`, the
//! key as `x-api-key` (`ANTHROPIC_API_KEY`) or a gateway's bearer (`ANTHROPIC_AUTH_TOKEN`), and
//! the body of `anthropic/request.rs` (cache breakpoints, thinking per model from
//! `anthropic/catalog.rs`). Response: Messages events, turned into stream events and the
//! authoritative message by `anthropic/stream.rs`; failures by `anthropic/errors.rs`. Sending,
//! retries (429/5xx/529 with `retry-after`, dropped streams) and 401 handling are the shared
//! runtime's.

mod catalog;
mod errors;
mod request;
mod stream;
mod whole;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};

use super::{Caching, Capabilities, ModelInfo, OpenOptions};
use crate::ProviderId;
use crate::auth::{ApiKey, Credentials, KeyHeader};
use crate::error::ProviderError;
use crate::http::ClientIdentity;
use crate::model::Request;
use crate::runtime::{HttpProvider, Runtime, Wire, WireRequest};
pub use catalog::{ClaudeModel, ThinkingForm, model};
use request::{BodyContext, build_body};
pub use stream::{MessagesStream, decode_body};

/// The API version every request names (the official SDK always sends this one).
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The default `ANTHROPIC_BASE_URL`.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// `GET /v1/models` pages followed at most (1000 models each).
const MAX_MODEL_PAGES: usize = 10;

pub type AnthropicProvider = HttpProvider<AnthropicWire>;

pub struct AnthropicWire {
    provider: ProviderId,
    messages_url: String,
    models_url: String,
    thinking_budget: u32,
    /// `STREAMING=0`: ask for the whole answer (`"stream": false`).
    streaming: bool,
}

/// Open the Anthropic provider from the configuration. `ANTHROPIC_AUTH_TOKEN` (a gateway's
/// bearer) wins over `ANTHROPIC_API_KEY` when both are set, as in the official client; with
/// neither, the error names both (exit 2).
pub fn open(
    config: &sx_config::Config,
    opts: OpenOptions,
) -> Result<AnthropicProvider, ProviderError> {
    let provider = ProviderId::Anthropic;
    let credentials: Arc<dyn Credentials> = if let Some(token) =
        config.get_nonempty("ANTHROPIC_AUTH_TOKEN")
    {
        Arc::new(ApiKey::new(
            provider,
            "ANTHROPIC_AUTH_TOKEN",
            KeyHeader::Bearer,
            token,
        )?)
    } else if let Some(key) = config.get_nonempty("ANTHROPIC_API_KEY") {
        Arc::new(ApiKey::new(
            provider,
            "ANTHROPIC_API_KEY",
            KeyHeader::Named("x-api-key"),
            key,
        )?)
    } else {
        return Err(ProviderError::Config(
                "the anthropic provider needs an API key and ANTHROPIC_API_KEY is not set; set it (scorpiox-config --set ANTHROPIC_API_KEY …), or ANTHROPIC_AUTH_TOKEN for a gateway's bearer token".into(),
            ));
    };
    let base = config
        .get_nonempty("ANTHROPIC_BASE_URL")
        .unwrap_or(DEFAULT_BASE_URL);
    let identity = ClientIdentity::new("sx");
    let runtime = Runtime::new(config, identity, credentials, opts.traffic, provider)?;
    let thinking_budget = config
        .u64("THINKING_BUDGET")
        .map_or(10_000, |b| b.min(u64::from(u32::MAX)) as u32);
    Ok(HttpProvider {
        wire: AnthropicWire::new(provider, base, thinking_budget)
            .with_streaming(super::streaming(config)),
        runtime,
    })
}

impl AnthropicWire {
    /// The wire for `provider` at `base` (`https://api.anthropic.com`, or one that already ends
    /// in `/v1`).
    pub fn new(provider: ProviderId, base: &str, thinking_budget: u32) -> AnthropicWire {
        let base = base.trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        AnthropicWire {
            provider,
            messages_url: format!("{base}/v1/messages"),
            models_url: format!("{base}/v1/models"),
            thinking_budget,
            streaming: true,
        }
    }

    /// `false`: ask for the whole answer at once (`STREAMING=0`).
    pub fn with_streaming(mut self, streaming: bool) -> AnthropicWire {
        self.streaming = streaming;
        self
    }

    /// Headers on every request (`/v1/messages` and `/v1/models`), besides the credentials.
    fn common_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("accept", HeaderValue::from_static("application/json"));
        h.insert(
            "anthropic-version",
            HeaderValue::from_static(ANTHROPIC_VERSION),
        );
        h
    }
}

#[async_trait]
impl Wire for AnthropicWire {
    type Stream = MessagesStream;

    fn id(&self) -> ProviderId {
        self.provider
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            runs_own_tools: false,
            keeps_own_history: false,
            vision: true,
            caching: Caching::Breakpoints,
        }
    }

    fn context_window(&self, model: &str) -> Option<u64> {
        Some(catalog::model(model).context_window)
    }

    fn build(&self, req: &Request<'_>) -> Result<WireRequest, ProviderError> {
        let mut body = build_body(
            req,
            &BodyContext {
                provider: self.provider,
                model: catalog::model(req.model),
                thinking_budget: self.thinking_budget,
            },
        );
        if !self.streaming {
            body.whole_answer();
        }
        let json = Bytes::from(serde_json::to_vec(&body).expect("request body serializes"));
        // The official client's order (claude-apikey-request.json): accept, content-type, …,
        // anthropic-version.
        let mut headers = HeaderMap::new();
        headers.insert("accept", HeaderValue::from_static("application/json"));
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert(
            "anthropic-version",
            HeaderValue::from_static(ANTHROPIC_VERSION),
        );
        Ok(WireRequest {
            url: self.messages_url.clone(),
            headers,
            body: json.clone(),
            json,
        })
    }

    fn map_error(&self, status: u16, headers: &HeaderMap, body: &[u8], url: &str) -> ProviderError {
        errors::map_http_error(self.provider, status, headers, body, url)
    }

    fn stream(&self, _req: &Request<'_>) -> MessagesStream {
        MessagesStream::new(self.provider)
    }

    fn streamed(&self, _req: &Request<'_>) -> bool {
        self.streaming
    }

    /// `GET /v1/models`, following `has_more`/`last_id` pages.
    async fn list_models(&self, rt: &Runtime) -> Result<Vec<ModelInfo>, ProviderError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_MODEL_PAGES {
            let mut url = reqwest::Url::parse(&self.models_url).map_err(|e| {
                ProviderError::Config(format!(
                    "{} is not a usable URL ({e}); check {}",
                    self.models_url,
                    self.provider.base_url_key()
                ))
            })?;
            url.query_pairs_mut().append_pair("limit", "1000");
            if let Some(id) = &after {
                url.query_pairs_mut().append_pair("after_id", id);
            }
            let body = rt.get(self, url.as_str(), Self::common_headers()).await?;
            let page = catalog::parse_page(&body)?;
            out.extend(page.data.into_iter().map(ModelInfo::from));
            match page.last_id {
                Some(last) if page.has_more => after = Some(last),
                _ => break,
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "anthropic_tests.rs"]
mod tests;
