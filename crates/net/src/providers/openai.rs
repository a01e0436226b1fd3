//! The `openai` provider: any OpenAI-compatible Chat Completions server — OpenAI, llama.cpp,
//! vLLM, Ollama, OpenRouter (docs/providers.md, "openai"; docs/protocols/providers.md §4).
//!
//! Request: `POST {OPENAI_BASE_URL}/v1/chat/completions` (a base URL that already ends in a
//! version segment such as `/v1` is used as it is), `Authorization: Bearer OPENAI_API_KEY`
//! when a key is set and nothing otherwise (local servers), the body of `openai/request.rs`.
//! Response: `data:` chunks up to `[DONE]` (`openai/stream.rs`), with the servers' quirks
//! absorbed there and in `openai/tools.rs`, `openai/think.rs`; failures in `openai/errors.rs`.
//! Sending, retries and the 401 report are the shared runtime's.

mod errors;
mod json;
mod request;
mod stream;
mod think;
mod tools;
mod whole;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

use super::{Caching, Capabilities, ModelInfo, OpenOptions};
use crate::ProviderId;
use crate::auth::{ApiKey, Credentials, KeyHeader, NoAuth};
use crate::error::ProviderError;
use crate::http::ClientIdentity;
use crate::model::Request;
use crate::runtime::{HttpProvider, Runtime, Wire, WireRequest};
use errors::{KEY_NAME, map_http_error};
pub use request::Dialect;
use request::build_body;
pub use stream::{ChatStream, decode_body};

/// Where requests go when `OPENAI_BASE_URL` is not set.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com";

pub type OpenaiProvider = HttpProvider<OpenaiWire>;

pub struct OpenaiWire {
    chat_url: String,
    models_url: String,
    dialect: Dialect,
    has_key: bool,
    /// `STREAMING=0`: ask for the whole answer (`"stream": false`).
    streaming: bool,
}

/// The API root for a base URL: the base itself when its last path segment is a version
/// (`/v1`, `/v1beta`, `/api/v1`), else the base + `/v1`. So `http://localhost:8080` and
/// `http://localhost:8080/v1` are the same server.
pub fn api_root(base: &str) -> String {
    let base = base.trim().trim_end_matches('/');
    let path = base.split_once("://").map_or(base, |(_, rest)| {
        rest.split_once('/').map_or("", |(_, p)| p)
    });
    let last = path.rsplit('/').next().unwrap_or("");
    let versioned = last.len() >= 2 && last.starts_with('v') && last.as_bytes()[1].is_ascii_digit();
    if versioned {
        base.to_string()
    } else {
        format!("{base}/v1")
    }
}

/// Which body fields the server gets: OpenAI's own API, or a compatible server.
pub fn dialect_of(base: &str) -> Dialect {
    let host = base
        .split_once("://")
        .map_or(base, |(_, rest)| rest)
        .split(['/', '?'])
        .next()
        .unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next().unwrap_or("").to_ascii_lowercase();
    if host == "api.openai.com" {
        Dialect::OpenAi
    } else {
        Dialect::Compatible
    }
}

/// Open the `openai` provider from the configuration.
pub fn open(
    config: &sx_config::Config,
    opts: OpenOptions,
) -> Result<OpenaiProvider, ProviderError> {
    let identity = ClientIdentity::new("sx");
    let base = config
        .get_nonempty("OPENAI_BASE_URL")
        .unwrap_or(DEFAULT_BASE_URL);
    let root = api_root(base);
    let key = config.get_nonempty(KEY_NAME);
    let credentials: Arc<dyn Credentials> = match key {
        Some(k) => Arc::new(ApiKey::new(
            ProviderId::Openai,
            KEY_NAME,
            KeyHeader::Bearer,
            k,
        )?),
        None => Arc::new(NoAuth {
            provider: ProviderId::Openai,
            key_name: Some(KEY_NAME),
        }),
    };
    let runtime = Runtime::new(
        config,
        identity,
        credentials,
        opts.traffic,
        ProviderId::Openai,
    )?;
    Ok(HttpProvider {
        wire: OpenaiWire {
            chat_url: format!("{root}/chat/completions"),
            models_url: format!("{root}/models"),
            dialect: dialect_of(base),
            has_key: key.is_some(),
            streaming: super::streaming(config),
        },
        runtime,
    })
}

#[async_trait]
impl Wire for OpenaiWire {
    type Stream = ChatStream;

    fn id(&self) -> ProviderId {
        ProviderId::Openai
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            runs_own_tools: false,
            keeps_own_history: false,
            // `image_url` parts; whether the model sees them is the model's business.
            vision: true,
            // OpenAI caches prefixes (and takes `prompt_cache_key`); llama.cpp and vLLM reuse
            // their prompt cache on a byte-identical prefix.
            caching: Caching::Automatic,
        }
    }

    fn context_window(&self, _model: &str) -> Option<u64> {
        // Servers differ per deployment; the agent compacts when the server says it is full.
        None
    }

    fn build(&self, req: &Request<'_>) -> Result<WireRequest, ProviderError> {
        let mut body = build_body(req, self.dialect);
        if !self.streaming {
            body.whole_answer();
        }
        let json = Bytes::from(serde_json::to_vec(&body).expect("request body serializes"));
        let mut h = HeaderMap::new();
        let accept = if self.streaming {
            "text/event-stream"
        } else {
            "application/json"
        };
        h.insert("accept", HeaderValue::from_static(accept));
        h.insert("content-type", HeaderValue::from_static("application/json"));
        Ok(WireRequest {
            url: self.chat_url.clone(),
            headers: h,
            body: json.clone(),
            json,
        })
    }

    fn map_error(&self, status: u16, headers: &HeaderMap, body: &[u8], url: &str) -> ProviderError {
        map_http_error(status, headers, body, url, self.has_key)
    }

    fn stream(&self, req: &Request<'_>) -> ChatStream {
        ChatStream::new(req.thinking)
    }

    fn streamed(&self, _req: &Request<'_>) -> bool {
        self.streaming
    }

    /// `GET {root}/models`: OpenAI's `{"data":[{"id"}]}`, which llama.cpp, vLLM, Ollama and
    /// OpenRouter answer too.
    async fn list_models(&self, rt: &Runtime) -> Result<Vec<ModelInfo>, ProviderError> {
        let mut h = HeaderMap::new();
        h.insert("accept", HeaderValue::from_static("application/json"));
        let body = rt.get(self, &self.models_url, h).await?;
        parse_models(&body)
    }
}

fn parse_models(body: &[u8]) -> Result<Vec<ModelInfo>, ProviderError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| ProviderError::Protocol {
        detail: format!("the model list is not JSON ({e})"),
    })?;
    let Some(data) = v["data"].as_array() else {
        return Err(ProviderError::Protocol {
            detail: "the model list has no data array".into(),
        });
    };
    Ok(data
        .iter()
        .filter_map(|m| m["id"].as_str())
        .map(|id| ModelInfo {
            id: id.to_string(),
            display_name: None,
        })
        .collect())
}

#[cfg(test)]
#[path = "openai_tests.rs"]
mod tests;
