//! The provider trait and the registry by `PROVIDER`.
//!
//! A provider turns one [`Request`] into a wire request, streams the answer into the shared
//! [`StreamEvent`](crate::StreamEvent)s and returns the authoritative [`Completion`]. Retries,
//! token refresh and wire translation live inside the provider; a provider never prints.

pub mod codex;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::ProviderError;
use crate::event::{Completion, EventSink};
use crate::http::{ClientIdentity, RetryPolicy, SharedTrafficLog};
use crate::model::Request;

#[async_trait]
pub trait Provider: Send + Sync {
    /// The `PROVIDER` name (`codex`, …).
    fn name(&self) -> &'static str;

    /// Context window of `model` in tokens, when known.
    fn context_window(&self, model: &str) -> Option<u64>;

    /// Run one model call, streaming events into `sink`.
    async fn stream(
        &self,
        req: &Request<'_>,
        sink: &mut EventSink<'_>,
    ) -> Result<Completion, ProviderError>;

    /// The models this provider offers, from its live catalog when it has one.
    async fn list_models(&self) -> Result<Vec<ModelInfo>, ProviderError> {
        Ok(crate::models::known_models(self.name())
            .iter()
            .map(|id| ModelInfo {
                id: (*id).to_string(),
                display_name: None,
            })
            .collect())
    }

    /// The same call without caring about the stream.
    async fn complete(&self, req: &Request<'_>) -> Result<Completion, ProviderError> {
        self.stream(req, &mut |_| {}).await
    }
}

/// A model a provider offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    pub id: String,
    pub display_name: Option<String>,
}

/// All provider names SPEC §2 allows for `PROVIDER`.
pub const PROVIDERS: &[&str] = &[
    "codex",
    "claude_code",
    "anthropic",
    "gemini",
    "openai",
    "scorpiox",
];

/// What the caller supplies besides the configuration.
#[derive(Default, Clone)]
pub struct OpenOptions {
    pub traffic: SharedTrafficLog,
    /// Persistent installation id (sent as Codex `client_metadata`).
    pub installation_id: Option<String>,
}

/// Settings shared by every HTTP provider, read from the configuration in one place.
pub(crate) struct Common {
    pub http: reqwest::Client,
    pub identity: ClientIdentity,
    pub retry: RetryPolicy,
    pub idle_timeout: Duration,
}

impl Common {
    pub(crate) fn from_config(
        config: &sx_config::Config,
        originator: &str,
    ) -> Result<Common, ProviderError> {
        let identity = ClientIdentity::new(originator);
        let http = crate::http::client(&identity).map_err(ProviderError::Config)?;
        let defaults = RetryPolicy::default();
        let retry = RetryPolicy {
            request_max_retries: config
                .u64("REQUEST_MAX_RETRIES")
                .map_or(defaults.request_max_retries, |v| v.min(100) as u32),
            stream_max_retries: config
                .u64("STREAM_MAX_RETRIES")
                .map_or(defaults.stream_max_retries, |v| v.min(100) as u32),
            base_delay: config
                .u64("RETRY_BASE_DELAY_MS")
                .map_or(defaults.base_delay, Duration::from_millis),
        };
        let idle_timeout = Duration::from_millis(
            config
                .u64("STREAM_IDLE_TIMEOUT_MS")
                .unwrap_or(300_000)
                .max(1),
        );
        Ok(Common {
            http,
            identity,
            retry,
            idle_timeout,
        })
    }
}

/// Open the provider `PROVIDER` names.
pub fn open(
    config: &sx_config::Config,
    opts: OpenOptions,
) -> Result<Arc<dyn Provider>, ProviderError> {
    let name = config.get("PROVIDER").unwrap_or("scorpiox");
    match name {
        "codex" => Ok(Arc::new(codex::CodexProvider::from_config(config, opts)?)),
        other if PROVIDERS.contains(&other) => Err(ProviderError::Config(format!(
            "provider '{other}' is not available in this build yet; use PROVIDER=codex (e.g. `sx --provider codex`)"
        ))),
        other => Err(ProviderError::Config(format!(
            "unknown provider '{other}'; allowed: {}",
            PROVIDERS.join(", ")
        ))),
    }
}
