//! The provider trait and the registry by `PROVIDER`.
//!
//! A provider turns one [`Request`] into a wire request, streams the answer into the shared
//! [`StreamEvent`](crate::StreamEvent)s and returns the authoritative [`Completion`]. HTTP
//! providers are a wire on the shared [`runtime`](crate::runtime), which owns retries, the
//! idle timeout, the traffic log and credential recovery; a provider never prints.

pub mod anthropic;
pub mod claude_code;
pub mod codex;
pub mod gemini;
pub mod openai;
pub mod scorpiox;

use std::sync::Arc;

use async_trait::async_trait;

use crate::ProviderId;
use crate::error::ProviderError;
use crate::event::{Completion, EventSink};
use crate::http::SharedTrafficLog;
use crate::model::Request;

#[async_trait]
pub trait Provider: Send + Sync {
    fn id(&self) -> ProviderId;

    /// The `PROVIDER` name (`codex`, …).
    fn name(&self) -> &'static str {
        self.id().as_str()
    }

    /// What the provider does itself, so the agent knows what is left to it.
    fn capabilities(&self) -> Capabilities;

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
        Ok(crate::models::known_models(self.id())
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

/// What a provider does on its own. An HTTP wire is stateless and runs no tools; a driver of
/// another agent (the `claude` CLI) runs its own tools and keeps its own history, and the
/// agent must then neither run the calls it reports nor resend the transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Tool calls are executed by the provider; the agent only shows them.
    pub runs_own_tools: bool,
    /// The provider keeps the conversation; the agent sends only the new user message.
    pub keeps_own_history: bool,
    /// Images in the conversation reach the model.
    pub vision: bool,
    pub caching: Caching,
}

/// How the stable prompt prefix is cached (docs/spec.md §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    None,
    /// The back-end caches on its own, keyed by the request (`prompt_cache_key`, prefixes).
    Automatic,
    /// The wire marks breakpoints (`cache_control`).
    Breakpoints,
    /// The wire creates and reuses a cache entry (`cachedContents`).
    Explicit,
}

/// A model a provider offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    pub id: String,
    pub display_name: Option<String>,
}

/// Every provider name docs/spec.md §2 allows for `PROVIDER` (defined once, in the key table).
pub const PROVIDERS: &[&str] = sx_config::PROVIDERS;

/// `STREAMING` (default 1): whether model calls ask for a stream; `0` asks the wires that
/// have a whole-answer form for it (docs/configuration.md, "STREAMING").
pub fn streaming(config: &sx_config::Config) -> bool {
    config.get("STREAMING").is_none_or(|v| v != "0")
}

/// What the caller supplies besides the configuration.
#[derive(Default, Clone)]
pub struct OpenOptions {
    pub traffic: SharedTrafficLog,
}

/// Open the provider `PROVIDER` names.
pub fn open(
    config: &sx_config::Config,
    opts: OpenOptions,
) -> Result<Arc<dyn Provider>, ProviderError> {
    let name = config.get("PROVIDER").unwrap_or("scorpiox");
    let Some(id) = ProviderId::parse(name) else {
        return Err(ProviderError::Config(format!(
            "unknown provider '{name}'; allowed: {}",
            PROVIDERS.join(", ")
        )));
    };
    match id {
        ProviderId::Codex => Ok(Arc::new(codex::open(config, opts)?)),
        ProviderId::Anthropic => Ok(Arc::new(anthropic::open(config, opts)?)),
        ProviderId::Gemini => Ok(Arc::new(gemini::open(config, opts)?)),
        ProviderId::Openai => Ok(Arc::new(openai::open(config, opts)?)),
        ProviderId::ClaudeCode => Ok(Arc::new(claude_code::open(config, opts)?)),
        ProviderId::Scorpiox => scorpiox::open(config, opts),
    }
}

#[cfg(test)]
#[path = "whole_tests.rs"]
mod whole_tests;
