//! The Codex provider: the ChatGPT backend's Responses API over SSE (protocols/codex.md).
//!
//! Request: `POST {CODEX_BASE_URL}/responses`, the "classic" body of the official client
//! (captures/codex-apikey-gpt55-request.json: top-level `tools`, the system prompt as the first
//! `developer` message, no `instructions`), zstd-compressed as the official client does for the
//! ChatGPT backend. Response: SSE events, `response.output_item.done` being the authoritative
//! item and `response.completed` the only success (§C). Retries per §D.3; a 401 triggers one
//! token recovery and one retry (§A.6).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{Common, ModelInfo, OpenOptions, Provider};
use crate::auth::codex::body_snippet;
use crate::auth::{AuthError, CodexToken, TokenSource, open_token_source};
use crate::error::{ProviderError, parse_retry_after, parse_try_again_in};
use crate::event::{Completion, EventSink, StreamEvent};
use crate::http::{SharedTrafficLog, redacted_headers, zstd_body};
use crate::model::{Block, Message, Request, Role, StopReason, Thinking, ToolCall, Usage};
use crate::models::codex_model;
use crate::sse::{SseDecoder, SseEvent};

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

// ---------------------------------------------------------------------------------------------
// Request translation: conversation model → Responses body.

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    stream: bool,
    input: Vec<Item<'a>>,
    tools: Vec<FunctionTool<'a>>,
    tool_choice: &'static str,
    parallel_tool_calls: bool,
    /// Serialized as `null` when the model has no reasoning (never skipped), as the official
    /// client does.
    reasoning: Option<Reasoning>,
    store: bool,
    include: Vec<&'static str>,
    prompt_cache_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<TextControls>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    client_metadata: Map<String, Value>,
}

#[derive(Serialize)]
struct Reasoning {
    effort: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'static str>,
}

#[derive(Serialize)]
struct TextControls {
    verbosity: &'static str,
}

#[derive(Serialize)]
struct FunctionTool<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    name: &'a str,
    description: &'a str,
    strict: bool,
    parameters: &'a Value,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Item<'a> {
    Typed(TypedItem<'a>),
    /// A provider item replayed verbatim (reasoning with `encrypted_content`).
    Raw(&'a Value),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum TypedItem<'a> {
    Message {
        role: &'static str,
        content: Vec<Part<'a>>,
    },
    FunctionCall {
        name: &'a str,
        arguments: &'a str,
        call_id: &'a str,
    },
    FunctionCallOutput {
        call_id: &'a str,
        output: Output<'a>,
    },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Part<'a> {
    InputText {
        text: Cow<'a, str>,
    },
    InputImage {
        image_url: String,
        detail: &'static str,
    },
    OutputText {
        text: &'a str,
    },
}

#[derive(Serialize)]
#[serde(untagged)]
enum Output<'a> {
    Text(&'a str),
    Parts(Vec<Part<'a>>),
}

fn image_part(img: &crate::model::Image) -> Part<'_> {
    Part::InputImage {
        image_url: format!("data:{};base64,{}", img.media_type, img.data),
        detail: "high",
    }
}

fn build_body<'a>(req: &'a Request<'a>, installation_id: Option<&str>) -> Body<'a> {
    let info = codex_model(req.model);
    let mut input = Vec::with_capacity(req.messages.len() + 1);
    input.push(Item::Typed(TypedItem::Message {
        role: "developer",
        content: vec![Part::InputText {
            text: Cow::Borrowed(req.system),
        }],
    }));
    let mut image_no = 0;
    for m in req.messages {
        match m.role {
            Role::User => push_user(&mut input, m, &mut image_no),
            Role::Assistant => push_assistant(&mut input, m),
        }
    }
    let reasoning = info.reasoning.then(|| Reasoning {
        effort: req
            .effort
            .or(info.default_effort)
            .map_or("medium", |e| e.as_str()),
        summary: req.thinking.then_some("auto"),
    });
    let include = if reasoning.is_some() {
        vec!["reasoning.encrypted_content"]
    } else {
        vec![]
    };
    let mut client_metadata = Map::new();
    if let Some(id) = installation_id {
        client_metadata.insert("x-codex-installation-id".into(), Value::String(id.into()));
    }
    Body {
        model: req.model,
        stream: true,
        input,
        tools: req
            .tools
            .iter()
            .map(|t| FunctionTool {
                ty: "function",
                name: &t.name,
                description: &t.description,
                strict: false,
                parameters: &t.parameters,
            })
            .collect(),
        tool_choice: "auto",
        parallel_tool_calls: info.parallel_tool_calls && !req.tools.is_empty(),
        reasoning,
        store: false,
        include,
        prompt_cache_key: req.session_id,
        text: info.verbosity.map(|verbosity| TextControls { verbosity }),
        client_metadata,
    }
}

fn push_user<'a>(input: &mut Vec<Item<'a>>, m: &'a Message, image_no: &mut usize) {
    // Tool outputs answer the previous assistant turn's calls and must come first.
    for b in &m.content {
        if let Block::ToolResult(r) = b {
            let output = if r.images.is_empty() {
                Output::Text(&r.output)
            } else {
                let mut parts = vec![Part::InputText {
                    text: Cow::Borrowed(&r.output),
                }];
                parts.extend(r.images.iter().map(image_part));
                Output::Parts(parts)
            };
            input.push(Item::Typed(TypedItem::FunctionCallOutput {
                call_id: &r.call_id,
                output,
            }));
        }
    }
    let mut content = Vec::new();
    for b in &m.content {
        match b {
            Block::Text { text } => content.push(Part::InputText {
                text: Cow::Borrowed(text),
            }),
            Block::Image(img) => {
                // The official client frames local images this way (codex.md §B.5).
                *image_no += 1;
                let open = match &img.name {
                    Some(name) => format!("<image name=[Image #{image_no}] file={name}>"),
                    None => format!("<image name=[Image #{image_no}]>"),
                };
                content.push(Part::InputText {
                    text: Cow::Owned(open),
                });
                content.push(image_part(img));
                content.push(Part::InputText {
                    text: Cow::Borrowed("</image>"),
                });
            }
            Block::ToolResult(_) | Block::Thinking(_) | Block::ToolCall(_) => {}
        }
    }
    if !content.is_empty() {
        input.push(Item::Typed(TypedItem::Message {
            role: "user",
            content,
        }));
    }
}

fn push_assistant<'a>(input: &mut Vec<Item<'a>>, m: &'a Message) {
    for b in &m.content {
        match b {
            Block::Thinking(t) => {
                // Reasoning state goes back only to the back-end that produced it.
                if t.source.as_deref() == Some("codex")
                    && let Some(item) = &t.replay
                {
                    input.push(Item::Raw(item));
                }
            }
            Block::Text { text } => input.push(Item::Typed(TypedItem::Message {
                role: "assistant",
                content: vec![Part::OutputText { text }],
            })),
            Block::ToolCall(c) => input.push(Item::Typed(TypedItem::FunctionCall {
                name: &c.name,
                arguments: &c.arguments,
                call_id: &c.id,
            })),
            Block::Image(_) | Block::ToolResult(_) => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Stream translation: Responses events → StreamEvents + the authoritative message.

#[derive(Deserialize)]
struct WireEvent<'a> {
    #[serde(rename = "type", borrow)]
    ty: Cow<'a, str>,
    #[serde(borrow, default)]
    delta: Option<Cow<'a, str>>,
    #[serde(default)]
    summary_index: Option<u64>,
    #[serde(borrow, default)]
    item: Option<&'a RawValue>,
    #[serde(borrow, default)]
    response: Option<&'a RawValue>,
}

struct ResponsesStream<'s, 'k> {
    sink: &'s mut EventSink<'k>,
    blocks: Vec<Block>,
    usage: Usage,
    completed: bool,
    failure: Option<ProviderError>,
    /// Deltas streamed since the last finished item (so an item that arrives whole, with no
    /// deltas, is still shown).
    text_streamed: bool,
    thinking_streamed: bool,
    last_summary_index: Option<u64>,
}

impl<'s, 'k> ResponsesStream<'s, 'k> {
    fn new(sink: &'s mut EventSink<'k>) -> Self {
        ResponsesStream {
            sink,
            blocks: Vec::new(),
            usage: Usage::default(),
            completed: false,
            failure: None,
            text_streamed: false,
            thinking_streamed: false,
            last_summary_index: None,
        }
    }

    fn finished(&self) -> bool {
        self.completed || self.failure.is_some()
    }

    fn on_event(&mut self, ev: SseEvent<'_>) -> Result<(), ProviderError> {
        if self.finished() {
            return Ok(());
        }
        // Unparseable data is skipped, as the official client does; a stream made only of
        // junk still fails for lack of `response.completed`.
        let Ok(w) = serde_json::from_str::<WireEvent<'_>>(ev.data) else {
            return Ok(());
        };
        match &*w.ty {
            "response.output_text.delta" => {
                if let Some(d) = w.delta.as_deref().filter(|d| !d.is_empty()) {
                    self.text_streamed = true;
                    (self.sink)(StreamEvent::TextDelta(d));
                }
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                if let Some(d) = w.delta.as_deref().filter(|d| !d.is_empty()) {
                    if let Some(i) = w.summary_index {
                        if self.last_summary_index.is_some_and(|last| i > last) {
                            (self.sink)(StreamEvent::ThinkingDelta("\n\n"));
                        }
                        self.last_summary_index = Some(i);
                    }
                    self.thinking_streamed = true;
                    (self.sink)(StreamEvent::ThinkingDelta(d));
                }
            }
            "response.output_item.done" => {
                if let Some(raw) = w.item {
                    let item: Value =
                        serde_json::from_str(raw.get()).map_err(|e| ProviderError::Protocol {
                            detail: format!("output item: {e}"),
                        })?;
                    self.on_item(item)?;
                }
            }
            "response.completed" => {
                if let Some(raw) = w.response {
                    let r: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
                    self.usage = usage_of(&r["usage"]);
                }
                (self.sink)(StreamEvent::Usage(&self.usage));
                self.completed = true;
            }
            "response.failed" => {
                let r: Value = w
                    .response
                    .and_then(|raw| serde_json::from_str(raw.get()).ok())
                    .unwrap_or(Value::Null);
                let err = &r["error"];
                let code = err["code"].as_str().unwrap_or("unknown").to_string();
                let message = err["message"].as_str().unwrap_or("no message").to_string();
                self.failure = Some(map_failed(code, message));
            }
            "response.incomplete" => {
                let r: Value = w
                    .response
                    .and_then(|raw| serde_json::from_str(raw.get()).ok())
                    .unwrap_or(Value::Null);
                let reason = r["incomplete_details"]["reason"]
                    .as_str()
                    .unwrap_or("unknown")
                    .to_string();
                self.failure = Some(ProviderError::Incomplete { reason });
            }
            _ => {}
        }
        Ok(())
    }

    fn on_item(&mut self, mut item: Value) -> Result<(), ProviderError> {
        match item["type"].as_str().unwrap_or("") {
            "message" => {
                let mut text = String::new();
                for part in item["content"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                    match part["type"].as_str() {
                        Some("output_text") => text.push_str(part["text"].as_str().unwrap_or("")),
                        Some("refusal") => text.push_str(part["refusal"].as_str().unwrap_or("")),
                        _ => {}
                    }
                }
                if !self.text_streamed && !text.is_empty() {
                    (self.sink)(StreamEvent::TextDelta(&text));
                }
                self.text_streamed = false;
                if !text.is_empty() {
                    self.blocks.push(Block::Text { text });
                }
            }
            "reasoning" => {
                let texts: Vec<&str> = item["summary"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|p| p["text"].as_str()).collect())
                    .unwrap_or_default();
                let text = texts.join("\n\n");
                if !self.thinking_streamed && !text.is_empty() {
                    (self.sink)(StreamEvent::ThinkingDelta(&text));
                }
                self.thinking_streamed = false;
                self.last_summary_index = None;
                let signature = item["encrypted_content"].as_str().map(str::to_owned);
                // Item ids are never sent back with store:false (codex.md §B.5).
                if let Some(obj) = item.as_object_mut() {
                    obj.remove("id");
                    obj.remove("status");
                }
                self.blocks.push(Block::Thinking(Thinking {
                    text,
                    signature,
                    source: Some("codex".into()),
                    replay: Some(item),
                }));
            }
            "function_call" => {
                let field = |k: &str| item[k].as_str().map(str::to_owned);
                let (Some(id), Some(name)) = (field("call_id"), field("name")) else {
                    return Err(ProviderError::Protocol {
                        detail: "function_call item without call_id or name".into(),
                    });
                };
                let call = ToolCall {
                    id,
                    name,
                    arguments: field("arguments").unwrap_or_default(),
                };
                (self.sink)(StreamEvent::ToolCall(&call));
                self.blocks.push(Block::ToolCall(call));
            }
            // Built-in tools we never offer (web search, …): nothing to record.
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<Completion, ProviderError> {
        if let Some(f) = self.failure {
            return Err(f);
        }
        if !self.completed {
            return Err(ProviderError::StreamTruncated {
                detail: "stream closed before response.completed".into(),
            });
        }
        let stop = if self.blocks.iter().any(|b| matches!(b, Block::ToolCall(_))) {
            StopReason::ToolUse
        } else {
            StopReason::EndTurn
        };
        Ok(Completion {
            message: Message {
                role: Role::Assistant,
                content: self.blocks,
                usage: Some(self.usage),
            },
            usage: self.usage,
            stop,
        })
    }
}

/// The catalog's `{"models":[{slug, display_name, visibility, priority, …}]}`: listed models
/// (visibility `list`, or absent), by priority.
fn parse_catalog(body: &[u8]) -> Result<Vec<ModelInfo>, ProviderError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| ProviderError::Protocol {
        detail: format!("model catalog is not JSON: {e}"),
    })?;
    let Some(models) = v["models"].as_array() else {
        return Err(ProviderError::Protocol {
            detail: "model catalog has no \"models\" list".into(),
        });
    };
    let mut listed: Vec<(i64, ModelInfo)> = models
        .iter()
        .filter(|m| matches!(m["visibility"].as_str(), None | Some("list")))
        .filter_map(|m| {
            let id = m["slug"].as_str()?.to_string();
            let display_name = m["display_name"].as_str().map(str::to_owned);
            Some((
                m["priority"].as_i64().unwrap_or(i64::MAX),
                ModelInfo { id, display_name },
            ))
        })
        .collect();
    listed.sort_by_key(|(p, _)| *p);
    Ok(listed.into_iter().map(|(_, m)| m).collect())
}

/// Decode a whole Responses SSE body given as chunks (benchmarks, fuzzing, offline replay):
/// exactly the path a live stream takes, minus the socket.
pub fn decode_body<'c>(
    chunks: impl IntoIterator<Item = &'c [u8]>,
    sink: &mut EventSink<'_>,
) -> Result<Completion, ProviderError> {
    let mut state = ResponsesStream::new(sink);
    let mut decoder = SseDecoder::new();
    for chunk in chunks {
        decoder.feed(chunk, |ev| state.on_event(ev))?;
        if state.finished() {
            break;
        }
    }
    decoder.finish(|ev| state.on_event(ev))?;
    state.finish()
}

fn usage_of(u: &Value) -> Usage {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    Usage {
        input_tokens: n(&u["input_tokens"]),
        output_tokens: n(&u["output_tokens"]),
        cache_read_tokens: n(&u["input_tokens_details"]["cached_tokens"]),
        cache_write_tokens: 0,
        reasoning_tokens: n(&u["output_tokens_details"]["reasoning_tokens"]),
    }
}

/// `response.failed` codes (codex.md §D.2).
fn map_failed(code: String, message: String) -> ProviderError {
    match code.as_str() {
        "context_length_exceeded" => ProviderError::ContextWindowExceeded { message },
        "insufficient_quota" => ProviderError::QuotaExceeded { message },
        "usage_not_included" => ProviderError::UsageNotIncluded { message },
        "invalid_prompt" | "cyber_policy" => ProviderError::InvalidRequest {
            status: 400,
            message,
        },
        "server_is_overloaded" | "slow_down" => ProviderError::Overloaded {
            status: 503,
            message,
            retry_after: None,
        },
        "rate_limit_exceeded" => {
            let retry_after = parse_try_again_in(&message);
            ProviderError::Failed {
                code,
                message,
                retry_after,
            }
        }
        _ => ProviderError::Failed {
            code,
            message,
            retry_after: None,
        },
    }
}

fn error_message(body: &[u8]) -> String {
    let v: Option<Value> = serde_json::from_slice(body).ok();
    v.as_ref()
        .and_then(|v| {
            v["error"]["message"]
                .as_str()
                .or_else(|| v["detail"].as_str())
                .or_else(|| v["error"].as_str())
        })
        .map(str::to_owned)
        .unwrap_or_else(|| body_snippet(body))
}

/// HTTP errors before the stream starts (codex.md §D.1).
fn map_http_error(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    url: &str,
) -> ProviderError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let err = &v["error"];
    let ty = err["type"].as_str().unwrap_or("");
    let code = err["code"].as_str().unwrap_or("");
    let message = error_message(body);
    let header_delay = headers
        .get("retry-after")
        .and_then(|h| h.to_str().ok())
        .and_then(parse_retry_after);
    match status {
        400 if code == "context_length_exceeded" => {
            ProviderError::ContextWindowExceeded { message }
        }
        400 | 422 => ProviderError::InvalidRequest { status, message },
        429 if ty == "usage_limit_reached" || code == "usage_limit_reached" => {
            ProviderError::UsageLimitReached {
                plan: err["plan_type"].as_str().map(str::to_owned),
                resets_at: err["resets_at"].as_u64().or_else(|| {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .ok()?
                        .as_secs();
                    err["resets_in_seconds"].as_u64().map(|s| now + s)
                }),
            }
        }
        429 if ty == "usage_not_included" || code == "usage_not_included" => {
            ProviderError::UsageNotIncluded { message }
        }
        429 if code == "insufficient_quota" || ty == "insufficient_quota" => {
            ProviderError::QuotaExceeded { message }
        }
        429 => {
            let retry_after = header_delay.or_else(|| parse_try_again_in(&message));
            ProviderError::RateLimited {
                message,
                retry_after,
            }
        }
        500..=599 if code == "server_is_overloaded" || code == "slow_down" || status == 529 => {
            ProviderError::Overloaded {
                status,
                message,
                retry_after: header_delay,
            }
        }
        500..=599 => ProviderError::Server {
            status,
            message,
            retry_after: header_delay,
        },
        408 | 409 => ProviderError::Server {
            status,
            message,
            retry_after: header_delay,
        },
        _ => ProviderError::UnexpectedStatus {
            status,
            url: url.to_string(),
            message,
        },
    }
}

#[cfg(test)]
#[path = "codex_tests.rs"]
mod tests;
