//! The Codex provider: the ChatGPT backend's Responses API over SSE (protocols/codex.md).
//!
//! Request: `POST {CODEX_BASE_URL}/responses`, the "classic" body of the official client
//! (captures/codex-apikey-gpt55-request.json: top-level `tools`, the system prompt as the first
//! `developer` message, no `instructions`), zstd-compressed as the official client does for the
//! ChatGPT backend. Response: SSE events, `response.output_item.done` being the authoritative
//! item and `response.completed` the only success (§C). Retries per §D.3; a 401 triggers one
//! token recovery and one retry (§A.6).

mod errors;
mod request;
mod stream;

use std::sync::Arc;
use std::time::Duration;

use super::{Common, ModelInfo, OpenOptions, Provider};
use crate::auth::{AuthError, CodexToken, TokenSource, open_token_source};
use crate::error::ProviderError;
use crate::event::{Completion, EventSink, StreamEvent};
use crate::http::{SharedTrafficLog, redacted_headers, zstd_body};
use crate::model::Request;
use crate::models::codex_model;
use crate::sse::SseDecoder;
use async_trait::async_trait;
use bytes::Bytes;
use errors::{error_message, map_http_error, parse_catalog};
use futures_util::StreamExt;
use request::build_body;
use stream::ResponsesStream;
pub use stream::decode_body;

/// The Codex wire level sx speaks, sent as `client_version` to the model catalog (which hides
/// models newer clients need). It names the official client version whose requests ours are
/// modelled on (captures/), not sx's own version (that is in `originator`/`user-agent`).
pub const CODEX_WIRE_VERSION: &str = "0.169.0";

/// A server-requested delay longer than this is not waited out: the error is reported.
const MAX_SERVER_DELAY: Duration = Duration::from_secs(120);

pub struct CodexProvider {
    responses_url: String,
    common: Common,
    tokens: Arc<dyn TokenSource>,
    compress: bool,
    installation_id: Option<String>,
    traffic: SharedTrafficLog,
}

impl CodexProvider {
    pub fn from_config(
        config: &sx_config::Config,
        opts: OpenOptions,
    ) -> Result<Self, ProviderError> {
        let originator = config.get_nonempty("CODEX_ORIGINATOR").unwrap_or("sx");
        let common = Common::from_config(config, originator)?;
        let tokens = open_token_source(config, &common.http, &common.identity)?;
        let base = config
            .get_nonempty("CODEX_BASE_URL")
            .unwrap_or("https://chatgpt.com/backend-api/codex")
            .trim_end_matches('/');
        Ok(CodexProvider {
            responses_url: format!("{base}/responses"),
            common,
            tokens,
            compress: true,
            installation_id: opts.installation_id,
            traffic: opts.traffic,
        })
    }

    /// `GET {base}/models?client_version=…` (codex.md §E.3), one attempt with 401 recovery.
    async fn fetch_catalog(&self) -> Result<Vec<ModelInfo>, ProviderError> {
        let url = format!(
            "{}/models?client_version={CODEX_WIRE_VERSION}",
            self.responses_url.trim_end_matches("/responses")
        );
        let mut token = self.tokens.token().await?;
        let mut recovered = false;
        loop {
            let mut rb = self
                .common
                .http
                .get(&url)
                .header("authorization", format!("Bearer {}", token.access_token))
                .header("originator", &self.common.identity.originator)
                .timeout(Duration::from_secs(20));
            if let Some(account) = &token.account_id {
                rb = rb.header("chatgpt-account-id", account);
            }
            let resp = rb.send().await.map_err(|e| ProviderError::Network {
                url: url.clone(),
                message: crate::error_chain(&e),
            })?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp.bytes().await.map_err(|e| ProviderError::Network {
                url: url.clone(),
                message: crate::error_chain(&e),
            })?;
            if status == 401 && !recovered {
                recovered = true;
                token = self.tokens.recover_unauthorized(&token).await?;
                continue;
            }
            if !(200..300).contains(&status) {
                return Err(map_http_error(status, &headers, &body, &url));
            }
            return parse_catalog(&body);
        }
    }

    /// One HTTP request and its stream.
    async fn attempt(
        &self,
        token: &CodexToken,
        req: &Request<'_>,
        json: &Bytes,
        wire: &Bytes,
        sink: &mut EventSink<'_>,
    ) -> Result<Completion, Attempt> {
        let idle = self.common.idle_timeout;
        let mut rb = self
            .common
            .http
            .post(&self.responses_url)
            .header("authorization", format!("Bearer {}", token.access_token))
            .header("originator", &self.common.identity.originator)
            .header("session-id", req.session_id)
            .header("thread-id", req.session_id)
            .header("x-client-request-id", req.session_id)
            .header("x-codex-window-id", format!("{}:0", req.session_id))
            .header("accept", "text/event-stream")
            .header("content-type", "application/json");
        if let Some(account) = &token.account_id {
            rb = rb.header("chatgpt-account-id", account);
        }
        if token.fedramp {
            rb = rb.header("x-openai-fedramp", "true");
        }
        if self.compress {
            rb = rb.header("content-encoding", "zstd");
        }
        let request = rb.body(wire.clone()).build().map_err(|e| {
            Attempt::Failed(ProviderError::Config(format!(
                "cannot build the request to {}: {e}",
                self.responses_url
            )))
        })?;
        let log_id = self.traffic.as_ref().map(|t| {
            // The log gets the JSON, not the zstd bytes: it is for people to read.
            t.request(
                "POST",
                request.url().as_str(),
                &redacted_headers(request.headers()),
                json,
            )
        });
        let log = |f: &dyn Fn(&dyn crate::http::TrafficLog, u64)| {
            if let (Some(t), Some(id)) = (&self.traffic, log_id) {
                f(t.as_ref(), id);
            }
        };

        let resp = match tokio::time::timeout(idle, self.common.http.execute(request)).await {
            Err(_) => {
                log(&|t, id| t.response_end(id, Some("idle timeout before headers")));
                return Err(Attempt::Failed(ProviderError::IdleTimeout { after: idle }));
            }
            Ok(Err(e)) => {
                let message = crate::error_chain(&e);
                log(&|t, id| t.response_end(id, Some(&message)));
                return Err(Attempt::Failed(ProviderError::Network {
                    url: self.responses_url.clone(),
                    message,
                }));
            }
            Ok(Ok(r)) => r,
        };
        let status = resp.status().as_u16();
        log(&|t, id| t.response_head(id, status, &redacted_headers(resp.headers())));
        if !(200..300).contains(&status) {
            let headers = resp.headers().clone();
            let body = match tokio::time::timeout(idle, resp.bytes()).await {
                Ok(Ok(b)) => b,
                _ => Bytes::new(),
            };
            log(&|t, id| {
                t.response_chunk(id, &body);
                t.response_end(id, None);
            });
            if status == 401 {
                return Err(Attempt::Unauthorized(format!(
                    "HTTP 401: {}",
                    error_message(&body)
                )));
            }
            return Err(Attempt::Failed(map_http_error(
                status,
                &headers,
                &body,
                &self.responses_url,
            )));
        }

        let mut decoder = SseDecoder::new();
        let mut state = ResponsesStream::new(sink);
        let mut body = resp.bytes_stream();
        let outcome: Result<(), ProviderError> = loop {
            match tokio::time::timeout(idle, body.next()).await {
                Err(_) => break Err(ProviderError::IdleTimeout { after: idle }),
                Ok(None) => break decoder.finish(|ev| state.on_event(ev)),
                Ok(Some(Err(e))) => {
                    break Err(ProviderError::StreamTruncated {
                        detail: crate::error_chain(&e),
                    });
                }
                Ok(Some(Ok(chunk))) => {
                    log(&|t, id| t.response_chunk(id, &chunk));
                    if let Err(e) = decoder.feed(&chunk, |ev| state.on_event(ev)) {
                        break Err(e);
                    }
                    if state.finished() {
                        // `response.completed` ends the request even if the socket stays open.
                        break Ok(());
                    }
                }
            }
        };
        let result = outcome.and_then(|()| state.finish());
        log(&|t, id| t.response_end(id, result.as_ref().err().map(|e| e.to_string()).as_deref()));
        result.map_err(Attempt::Failed)
    }
}

enum Attempt {
    Unauthorized(String),
    Failed(ProviderError),
}

#[async_trait]
impl Provider for CodexProvider {
    fn name(&self) -> &'static str {
        "codex"
    }

    fn context_window(&self, model: &str) -> Option<u64> {
        Some(codex_model(model).context_window)
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, ProviderError> {
        self.fetch_catalog().await
    }

    async fn stream(
        &self,
        req: &Request<'_>,
        sink: &mut EventSink<'_>,
    ) -> Result<Completion, ProviderError> {
        let body = build_body(req, self.installation_id.as_deref());
        let json = Bytes::from(serde_json::to_vec(&body).expect("request body serializes"));
        let wire = if self.compress {
            Bytes::from(zstd_body(&json))
        } else {
            json.clone()
        };
        let policy = self.common.retry;
        let mut token = self.tokens.token().await?;
        let mut recovered = false;
        let (mut request_retries, mut stream_retries) = (0u32, 0u32);
        loop {
            let err = match self.attempt(&token, req, &json, &wire, sink).await {
                Ok(c) => return Ok(c),
                Err(Attempt::Unauthorized(detail)) => {
                    if recovered {
                        return Err(AuthError::Unauthorized { detail }.into());
                    }
                    recovered = true;
                    token = self.tokens.recover_unauthorized(&token).await?;
                    continue;
                }
                Err(Attempt::Failed(e)) => e,
            };
            if !err.is_retryable() {
                return Err(err);
            }
            let (n, max) = if err.is_stream_error() {
                stream_retries += 1;
                (stream_retries, policy.stream_max_retries)
            } else {
                request_retries += 1;
                (request_retries, policy.request_max_retries)
            };
            if n > max {
                return Err(err);
            }
            let delay = match err.retry_after() {
                Some(d) if d > MAX_SERVER_DELAY => return Err(err),
                Some(d) => d,
                None => policy.backoff(n),
            };
            let reason = err.to_string();
            sink(StreamEvent::Retry {
                attempt: n,
                max,
                delay,
                reason: &reason,
            });
            tokio::time::sleep(delay).await;
            // A long wait may have brought the token close to expiry.
            token = self.tokens.token().await?;
        }
    }
}

#[cfg(test)]
#[path = "codex_tests.rs"]
mod tests;
