//! The Gemini provider: the Generative Language API's `streamGenerateContent?alt=sse`
//! (docs/providers.md, "gemini"; docs/protocols/providers.md §3).
//!
//! Request: `POST {GEMINI_BASE_URL}/v1beta/models/{model}:streamGenerateContent?alt=sse` with
//! `x-goog-api-key`, in the official client's body shape (`gemini/request.rs`, tools through
//! `gemini/schema.rs`); with `GEMINI_CACHE=1` the system instruction and tools travel in a
//! `cachedContents` entry made by `prepare` (`gemini/cache.rs`). Response: SSE events each
//! holding a `GenerateContentResponse`, ended by a finish reason (`gemini/stream.rs`). Errors:
//! `gemini/errors.rs`. Sending, retries and the traffic log are the shared runtime's.

mod cache;
mod catalog;
mod errors;
mod request;
mod response;
mod schema;
mod stream;

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};

use super::{Caching, Capabilities, ModelInfo, OpenOptions, Provider};
use crate::ProviderId;
use crate::auth::{ApiKey, KeyHeader};
use crate::error::{EXIT_AUTH, ProviderError};
use crate::event::{Completion, EventSink};
use crate::http::{ClientIdentity, VERSION};
use crate::model::Request;
use crate::runtime::{HttpProvider, Runtime, Wire, WireRequest};
use cache::ContextCache;
use catalog::bare;
use errors::{CACHE_MISSING, KEY_NAME, map_http_error};
use request::{BodyContext, Prefix, build_body};
pub use stream::{GeminiStream, decode_body};

/// Where requests go unless `GEMINI_BASE_URL` says otherwise.
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com";

/// `THINKING_BUDGET` when the configuration has none.
const DEFAULT_THINKING_BUDGET: u64 = 10_000;

/// At most this many pages of the model catalog are read.
const MAX_CATALOG_PAGES: usize = 20;

pub struct GeminiWire {
    /// `{base}/v1beta`.
    api: String,
    api_client: HeaderValue,
    thinking_budget: u64,
    /// `None` with `GEMINI_CACHE=0`.
    cache: Option<ContextCache>,
    /// `STREAMING=1`: `streamGenerateContent?alt=sse`; `0`: `generateContent`.
    streaming: bool,
}

/// The Gemini provider: the wire on the runtime, plus one more try when the context cache the
/// call named has gone (expired or deleted on the server): the entry is recreated first.
pub struct GeminiProvider {
    inner: HttpProvider<GeminiWire>,
}

/// Open the Gemini provider from the configuration.
pub fn open(
    config: &sx_config::Config,
    opts: OpenOptions,
) -> Result<GeminiProvider, ProviderError> {
    let Some(key) = config.get_nonempty(KEY_NAME) else {
        return Err(ProviderError::Config(format!(
            "{KEY_NAME} is not set; create a key at https://aistudio.google.com/apikey and set it with scorpiox-config --set {KEY_NAME} …"
        )));
    };
    let credentials = ApiKey::new(
        ProviderId::Gemini,
        KEY_NAME,
        KeyHeader::Named("x-goog-api-key"),
        key,
    )?;
    let identity = ClientIdentity::new("sx");
    let base = config
        .get_nonempty("GEMINI_BASE_URL")
        .unwrap_or(DEFAULT_BASE_URL)
        .trim_end_matches('/');
    // A base given with the API version (`…/v1beta`) works too.
    let base = base.strip_suffix("/v1beta").unwrap_or(base);
    let runtime = Runtime::new(
        config,
        identity,
        Arc::new(credentials),
        opts.traffic,
        ProviderId::Gemini,
    )?;
    Ok(GeminiProvider {
        inner: HttpProvider {
            wire: GeminiWire {
                api: format!("{base}/v1beta"),
                api_client: HeaderValue::from_str(&format!("sx/{VERSION}"))
                    .unwrap_or(HeaderValue::from_static("sx")),
                thinking_budget: config
                    .u64("THINKING_BUDGET")
                    .unwrap_or(DEFAULT_THINKING_BUDGET),
                cache: config.flag("GEMINI_CACHE").then(ContextCache::default),
                streaming: super::streaming(config),
            },
            runtime,
        },
    })
}

impl GeminiWire {
    /// The model call's URL: `streamGenerateContent?alt=sse`, or `generateContent` (the
    /// whole answer at once) with `STREAMING=0`.
    fn stream_url(&self, model: &str) -> String {
        if self.streaming {
            format!(
                "{}/models/{}:streamGenerateContent?alt=sse",
                self.api,
                bare(model)
            )
        } else {
            format!("{}/models/{}:generateContent", self.api, bare(model))
        }
    }

    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        // Google's client-identification header, naming sx (the official client names its SDK).
        h.insert("x-goog-api-client", self.api_client.clone());
        h
    }

    /// Make an entry holding `prefix` (see `cache.rs` for what a failure means).
    async fn create_cache(
        &self,
        rt: &Runtime,
        cache: &ContextCache,
        model: &str,
        prefix: &Prefix<'_>,
        key: cache::Key,
    ) {
        let url = format!("{}/cachedContents", self.api);
        let body = Bytes::from(cache::create_body(model, prefix));
        let sent = rt
            .send_json(
                self,
                reqwest::Method::POST,
                &url,
                self.headers(),
                Some(body),
            )
            .await;
        match sent.and_then(|answer| cache::parse_created(&answer, SystemTime::now())) {
            Ok((name, expires)) => cache.store(key, name, expires),
            // The call itself reports a bad key; a failure that may pass skips this call only.
            Err(e) if e.is_retryable() || e.exit_code() == EXIT_AUTH => {}
            Err(_) => cache.refuse(key),
        }
    }
}

#[async_trait]
impl Wire for GeminiWire {
    type Stream = GeminiStream;

    fn id(&self) -> ProviderId {
        ProviderId::Gemini
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            runs_own_tools: false,
            keeps_own_history: false,
            vision: true,
            // Without explicit entries, Gemini 2.5+ still caches repeated prefixes implicitly.
            caching: if self.cache.is_some() {
                Caching::Explicit
            } else {
                Caching::Automatic
            },
        }
    }

    fn context_window(&self, model: &str) -> Option<u64> {
        catalog::model(model).context_window
    }

    async fn prepare(&self, rt: &Runtime, req: &Request<'_>) {
        let Some(cache) = &self.cache else { return };
        let model = bare(req.model);
        let prefix = Prefix::of(req);
        let (key, bytes) = prefix.fingerprint(model);
        if !cache::worth_caching(bytes, catalog::model(model).cache_min_tokens)
            || !cache.needs(&key, SystemTime::now())
        {
            return;
        }
        self.create_cache(rt, cache, model, &prefix, key).await;
    }

    fn build(&self, req: &Request<'_>) -> Result<WireRequest, ProviderError> {
        let model = bare(req.model);
        let prefix = Prefix::of(req);
        let cached = self
            .cache
            .as_ref()
            .and_then(|c| c.current(&prefix.fingerprint(model).0));
        let ctx = BodyContext {
            model: catalog::model(model),
            thinking_budget: self.thinking_budget,
            cached_content: cached.as_deref(),
        };
        let body = build_body(req, prefix, &ctx);
        let json = Bytes::from(serde_json::to_vec(&body).expect("request body serializes"));
        let mut headers = self.headers();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        Ok(WireRequest {
            url: self.stream_url(model),
            headers,
            body: json.clone(),
            json,
        })
    }

    fn map_error(&self, status: u16, headers: &HeaderMap, body: &[u8], url: &str) -> ProviderError {
        map_http_error(status, headers, body, url)
    }

    fn stream(&self, req: &Request<'_>) -> GeminiStream {
        GeminiStream::new(&self.stream_url(req.model))
    }

    fn streamed(&self, _req: &Request<'_>) -> bool {
        self.streaming
    }

    /// `GET {base}/v1beta/models`, page by page: the models that answer `generateContent`.
    async fn list_models(&self, rt: &Runtime) -> Result<Vec<ModelInfo>, ProviderError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_CATALOG_PAGES {
            let mut url = format!("{}/models?pageSize=1000", self.api);
            if let Some(t) = &token {
                url.push_str("&pageToken=");
                url.push_str(&crate::auth::oauth::percent_encode(t));
            }
            let body = rt.get(self, &url, self.headers()).await?;
            let (models, next) = catalog::parse_page(&body)?;
            out.extend(models);
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Provider for GeminiProvider {
    fn id(&self) -> ProviderId {
        ProviderId::Gemini
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn context_window(&self, model: &str) -> Option<u64> {
        self.inner.context_window(model)
    }

    async fn stream(
        &self,
        req: &Request<'_>,
        sink: &mut EventSink<'_>,
    ) -> Result<Completion, ProviderError> {
        let first = self.inner.stream(req, sink).await;
        if let (Err(ProviderError::Failed { code, .. }), Some(cache)) =
            (&first, &self.inner.wire.cache)
            && code == CACHE_MISSING
        {
            // The entry lapsed on the server before sx expected: make a new one, once.
            cache.forget();
            return self.inner.stream(req, sink).await;
        }
        first
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, ProviderError> {
        self.inner.list_models().await
    }
}

#[cfg(test)]
#[path = "gemini_tests.rs"]
mod tests;
