//! An incoming Messages request (`POST /v1/messages`, docs/protocols/providers.md §1) → the
//! conversation model every provider takes.
//!
//! Parsed in two steps: [`Incoming::parse`] reads the body and what routing needs (model,
//! thinking, an input-size estimate); [`Incoming::conversation`] then builds the messages for
//! the chosen upstream, reading opaque state back (`state.rs`) so that call signatures go only
//! to the upstream that made them. `cache_control`, `temperature`, `top_p`, `top_k`,
//! `stop_sequences` and `tool_choice` are accepted and not passed on (the library's wires
//! decide them); server tools (a `tools` entry with a `type` of its own) are left out. A
//! `system` message inside `messages` becomes a user message at its place.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

use serde::Deserialize;
use serde_json::Value;
use sxnet::ProviderId;
use sxnet::model::{Block, Effort, Image, Message, Role, ToolCall, ToolResult, ToolSpec};

use super::state;

/// Tokens an image is counted as in the input estimate (a ~1 megapixel image on Claude).
use sxnet::routes::IMAGE_TOKENS;

/// Why a request body is refused (HTTP 400 `invalid_request_error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

#[derive(Deserialize)]
struct Body {
    model: Option<String>,
    #[serde(default)]
    system: Option<System>,
    messages: Option<Vec<InMessage>>,
    #[serde(default)]
    tools: Option<Vec<Value>>,
    max_tokens: Option<u64>,
    #[serde(default)]
    thinking: Option<Value>,
    #[serde(default)]
    output_config: Option<Value>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    metadata: Option<Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum System {
    Text(String),
    Blocks(Vec<Value>),
}

#[derive(Deserialize)]
struct InMessage {
    role: String,
    content: Content,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Blocks(Vec<Value>),
}

/// A parsed request, before it is routed.
pub struct Incoming {
    pub model: String,
    pub system: String,
    messages: Vec<InMessage>,
    pub tools: Vec<ToolSpec>,
    pub max_tokens: u32,
    pub thinking: bool,
    pub effort: Option<Effort>,
    pub stream: bool,
    /// Stable for one conversation: the upstream's cache key.
    pub session_id: String,
    pub input_tokens: u64,
}

impl Incoming {
    pub fn parse(body: &[u8]) -> Result<Incoming, Invalid> {
        let b: Body = serde_json::from_slice(body)
            .map_err(|e| Invalid(format!("the request body is not a Messages request: {e}")))?;
        let model = b
            .model
            .filter(|m| !m.trim().is_empty())
            .ok_or_else(|| Invalid("model: field required".into()))?;
        let messages = b
            .messages
            .ok_or_else(|| Invalid("messages: field required".into()))?;
        let max_tokens = b
            .max_tokens
            .ok_or_else(|| Invalid("max_tokens: field required".into()))?;
        let max_tokens = u32::try_from(max_tokens.max(1)).unwrap_or(u32::MAX);
        let system = match b.system {
            None => String::new(),
            Some(System::Text(t)) => t,
            Some(System::Blocks(blocks)) => system_text(&blocks),
        };
        let tools = tools(b.tools.unwrap_or_default())?;
        let (thinking, effort) = thinking(b.thinking.as_ref(), b.output_config.as_ref());
        for (i, m) in messages.iter().enumerate() {
            if !["user", "assistant", "system"].contains(&m.role.as_str()) {
                return Err(Invalid(format!(
                    "messages.{i}.role: '{}' is not user, assistant or system",
                    m.role
                )));
            }
        }
        let session_id = session_id(b.metadata.as_ref(), &system, &messages);
        let input_tokens = estimate(&system, &messages, &tools);
        Ok(Incoming {
            model,
            system,
            messages,
            tools,
            max_tokens,
            thinking,
            effort,
            stream: b.stream.unwrap_or(false),
            session_id,
            input_tokens,
        })
    }

    /// `POST /v1/messages/count_tokens`: the estimate alone (no `max_tokens` needed).
    pub fn parse_for_count(body: &[u8]) -> Result<u64, Invalid> {
        let b: Body = serde_json::from_slice(body)
            .map_err(|e| Invalid(format!("the request body is not a Messages request: {e}")))?;
        let messages = b
            .messages
            .ok_or_else(|| Invalid("messages: field required".into()))?;
        let system = match b.system {
            None => String::new(),
            Some(System::Text(t)) => t,
            Some(System::Blocks(blocks)) => system_text(&blocks),
        };
        let tools = tools(b.tools.unwrap_or_default())?;
        Ok(estimate(&system, &messages, &tools))
    }

    /// The messages for `upstream`: tool-call signatures are attached only when `upstream`
    /// made them; thinking keeps its source (each wire sends back only its own).
    pub fn conversation(&self, upstream: ProviderId) -> Result<Vec<Message>, Invalid> {
        let mut out = Vec::with_capacity(self.messages.len());
        // Call id → tool name, for results (Gemini names the function a result answers).
        let mut names: HashMap<String, String> = HashMap::new();
        for (i, m) in self.messages.iter().enumerate() {
            // A system message in mid-conversation (Claude Code's `mid-conversation-system`
            // beta) is text the model reads at that point: a user message there, so the
            // system prompt and the prefix before it stay the same (prompt caches hold).
            let role = if m.role == "assistant" {
                Role::Assistant
            } else {
                Role::User
            };
            if m.role == "system" {
                let text = match &m.content {
                    Content::Text(t) => t.clone(),
                    Content::Blocks(b) => system_text(b),
                };
                if !text.is_empty() {
                    out.push(Message::user_text(text));
                }
                continue;
            }
            let blocks: &[Value] = match &m.content {
                Content::Text(t) => {
                    out.push(Message {
                        role,
                        content: vec![Block::text(t.clone())],
                        usage: None,
                    });
                    continue;
                }
                Content::Blocks(b) => b,
            };
            let mut content = Vec::with_capacity(blocks.len());
            let mut signatures: BTreeMap<String, String> = BTreeMap::new();
            for (j, b) in blocks.iter().enumerate() {
                let at = format!("messages.{i}.content.{j}");
                let ty = b["type"].as_str().unwrap_or("");
                match (role, ty) {
                    (_, "text") => {
                        let text = b["text"].as_str().unwrap_or("");
                        if !text.is_empty() {
                            content.push(Block::text(text));
                        }
                    }
                    (Role::User, "image") => content.push(Block::Image(image(b, &at)?)),
                    (Role::User, "tool_result") => {
                        let call_id = b["tool_use_id"].as_str().unwrap_or("").to_string();
                        let (output, images) = result_content(&b["content"], &at)?;
                        content.push(Block::ToolResult(ToolResult {
                            name: names.get(&call_id).cloned().unwrap_or_default(),
                            call_id,
                            output,
                            is_error: b["is_error"].as_bool().unwrap_or(false),
                            images,
                        }));
                    }
                    (Role::User, "document") => {
                        return Err(Invalid(format!(
                            "{at}: document blocks are not supported by the router; send the \
                             document's text instead"
                        )));
                    }
                    (Role::User, other) => {
                        return Err(Invalid(format!(
                            "{at}: content blocks of type '{other}' are not supported by the router"
                        )));
                    }
                    (Role::Assistant, "tool_use") => {
                        let id = b["id"].as_str().unwrap_or("").to_string();
                        let name = b["name"].as_str().unwrap_or("").to_string();
                        names.insert(id.clone(), name.clone());
                        let input = match &b["input"] {
                            Value::Null => "{}".to_string(),
                            v => v.to_string(),
                        };
                        content.push(Block::ToolCall(ToolCall::function(id, name, input)));
                    }
                    (Role::Assistant, "thinking" | "redacted_thinking") => {
                        let redacted = ty == "redacted_thinking";
                        let text = if redacted {
                            ""
                        } else {
                            b["thinking"].as_str().unwrap_or("")
                        };
                        let sig = b[if redacted { "data" } else { "signature" }]
                            .as_str()
                            .unwrap_or("");
                        let (thinking, calls) = state::read_back(text, sig, redacted.then_some(b));
                        if let Some(t) = thinking {
                            content.push(Block::Thinking(t));
                        }
                        if let Some((p, map)) = calls
                            && p == upstream
                        {
                            signatures.extend(map);
                        }
                    }
                    // The model's own server-tool blocks (web search, …) the router never
                    // offers: nothing to send on.
                    (Role::Assistant, _) => {}
                }
            }
            for b in &mut content {
                if let Block::ToolCall(c) = b {
                    c.signature = signatures.remove(&c.id);
                }
            }
            out.push(Message {
                role,
                content,
                usage: None,
            });
        }
        Ok(out)
    }
}

/// System blocks' texts, joined by blank lines.
fn system_text(blocks: &[Value]) -> String {
    blocks
        .iter()
        .filter_map(|b| b["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn tools(list: Vec<Value>) -> Result<Vec<ToolSpec>, Invalid> {
    let mut out = Vec::with_capacity(list.len());
    for (i, t) in list.into_iter().enumerate() {
        // Server tools (`web_search_20250305`, …) have a type of their own.
        if t["type"].as_str().is_some_and(|ty| ty != "custom") {
            continue;
        }
        let Some(name) = t["name"].as_str().filter(|n| !n.is_empty()) else {
            return Err(Invalid(format!("tools.{i}.name: field required")));
        };
        let parameters = match &t["input_schema"] {
            Value::Object(_) => t["input_schema"].clone(),
            _ => return Err(Invalid(format!("tools.{i}.input_schema: field required"))),
        };
        out.push(ToolSpec {
            name: name.to_string(),
            description: t["description"].as_str().unwrap_or("").to_string(),
            parameters,
        });
    }
    Ok(out)
}

/// `thinking` (`enabled` with a budget, `adaptive`, `disabled`) and `output_config.effort` →
/// whether to think, and how hard.
fn thinking(thinking: Option<&Value>, output: Option<&Value>) -> (bool, Option<Effort>) {
    let named = output
        .and_then(|o| o["effort"].as_str())
        .and_then(|e| match e {
            "max" => Some(Effort::Xhigh),
            e => Effort::parse(e),
        });
    let Some(t) = thinking else {
        return (false, named);
    };
    match t["type"].as_str() {
        Some("enabled") => {
            let budget = t["budget_tokens"].as_u64().unwrap_or(0);
            let by_budget = match budget {
                0..4_096 => Effort::Low,
                4_096..16_384 => Effort::Medium,
                _ => Effort::High,
            };
            (true, named.or(Some(by_budget)))
        }
        Some("adaptive") => (true, named),
        _ => (false, named),
    }
}

fn image(b: &Value, at: &str) -> Result<Image, Invalid> {
    let src = &b["source"];
    match src["type"].as_str() {
        Some("base64") => {}
        Some(other) => {
            return Err(Invalid(format!(
                "{at}.source.type: '{other}' images are not supported by the router; send the \
                 image as base64"
            )));
        }
        None => return Err(Invalid(format!("{at}.source: field required"))),
    }
    let (Some(media_type), Some(data)) = (src["media_type"].as_str(), src["data"].as_str()) else {
        return Err(Invalid(format!(
            "{at}.source: media_type and data are required"
        )));
    };
    Ok(Image {
        media_type: media_type.to_string(),
        data: data.to_string(),
        name: None,
    })
}

/// A tool result's content: a string, or text and image blocks.
fn result_content(v: &Value, at: &str) -> Result<(String, Vec<Image>), Invalid> {
    match v {
        Value::Null => Ok((String::new(), Vec::new())),
        Value::String(s) => Ok((s.clone(), Vec::new())),
        Value::Array(blocks) => {
            let mut text = String::new();
            let mut images = Vec::new();
            for (k, b) in blocks.iter().enumerate() {
                match b["type"].as_str() {
                    Some("text") => {
                        if !text.is_empty() {
                            text.push('\n');
                        }
                        text.push_str(b["text"].as_str().unwrap_or(""));
                    }
                    Some("image") => images.push(image(b, &format!("{at}.content.{k}"))?),
                    // Blocks a client may add that carry nothing for the model here.
                    _ => {}
                }
            }
            Ok((text, images))
        }
        _ => Err(Invalid(format!(
            "{at}.content: a string or a list of blocks"
        ))),
    }
}

/// A cache key that stays the same for one conversation: the client's `metadata.user_id`
/// (Claude Code puts its session in it) with the system prompt and the first message.
fn session_id(metadata: Option<&Value>, system: &str, messages: &[InMessage]) -> String {
    let mut h1 = std::collections::hash_map::DefaultHasher::new();
    metadata
        .and_then(|m| m["user_id"].as_str())
        .unwrap_or("")
        .hash(&mut h1);
    system.hash(&mut h1);
    if let Some(first) = messages.first() {
        match &first.content {
            Content::Text(t) => t.hash(&mut h1),
            Content::Blocks(b) => serde_json::to_string(b).unwrap_or_default().hash(&mut h1),
        }
    }
    let a = h1.finish();
    let mut h2 = std::collections::hash_map::DefaultHasher::new();
    (a, "sx-router").hash(&mut h2);
    let b = h2.finish();
    let hex = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Input tokens, roughly: characters / 4, images at a fixed count.
fn estimate(system: &str, messages: &[InMessage], tools: &[ToolSpec]) -> u64 {
    fn walk(v: &Value, chars: &mut u64, images: &mut u64) {
        match v {
            Value::Object(o) => {
                match o.get("type").and_then(Value::as_str) {
                    Some("image") => {
                        *images += 1;
                        return;
                    }
                    // Opaque state is not read by the model as text.
                    Some("redacted_thinking") => return,
                    _ => {}
                }
                for (k, v) in o {
                    if k != "signature" {
                        walk(v, chars, images);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, chars, images)),
            Value::String(s) => *chars += s.len() as u64,
            Value::Number(_) | Value::Bool(_) | Value::Null => *chars += 2,
        }
    }
    let mut chars = system.len() as u64;
    let mut images = 0u64;
    for m in messages {
        match &m.content {
            Content::Text(t) => chars += t.len() as u64,
            Content::Blocks(b) => b.iter().for_each(|v| walk(v, &mut chars, &mut images)),
        }
    }
    for t in tools {
        chars += (t.name.len() + t.description.len() + t.parameters.to_string().len()) as u64;
    }
    chars.div_ceil(4) + images * IMAGE_TOKENS
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
