//! Conversation model → Messages request body, in the shape of the official client's
//! (tests/fixtures/captures/claude-apikey-request.json, claude-followup-request.json) without
//! Claude Code's own identity: `model`, `messages`, `system` (one text block), `tools`,
//! `max_tokens`, `thinking`, `output_config`, `stream` (docs/providers.md, "anthropic").
//!
//! Prompt caching (docs/protocols/providers.md §1.8): `cache_control: {type: ephemeral}` on the
//! system prompt, on the last tool, and on the last block of the last message — three of the
//! four breakpoints a request may hold. Tools, system and the transcript are rendered the same
//! way on every request, so each request's prefix is the previous one's.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use super::catalog::{ClaudeModel, ThinkingForm};
use crate::ProviderId;
use crate::model::{Block, Effort, Image, Message, Request, Role, ToolResult};

/// The smallest budget the API accepts (docs/protocols/providers.md §1.5).
pub(super) const MIN_THINKING_BUDGET: u32 = 1024;

#[derive(Serialize)]
pub(super) struct Body<'a> {
    model: &'a str,
    messages: Vec<Msg<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    system: Vec<Content<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool<'a>>,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<ThinkingParam>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_config: Option<OutputConfig>,
    stream: bool,
}

impl Body<'_> {
    /// Ask for the whole answer at once (`"stream": false`, `STREAMING=0`).
    pub(super) fn whole_answer(&mut self) {
        self.stream = false;
    }
}

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct CacheControl {
    #[serde(rename = "type")]
    ty: &'static str,
}

const EPHEMERAL: Option<CacheControl> = Some(CacheControl { ty: "ephemeral" });

#[derive(Serialize)]
struct Tool<'a> {
    name: &'a str,
    description: &'a str,
    input_schema: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<CacheControl>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ThinkingParam {
    Enabled { budget_tokens: u32 },
    Adaptive,
}

#[derive(Serialize)]
struct OutputConfig {
    effort: &'static str,
}

#[derive(Serialize)]
struct Msg<'a> {
    role: &'static str,
    content: Vec<Content<'a>>,
}

/// A content block: one we build, or a provider block replayed verbatim (`redacted_thinking`).
#[derive(Serialize)]
#[serde(untagged)]
enum Content<'a> {
    Typed {
        #[serde(flatten)]
        block: Typed<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    Raw(&'a Value),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Typed<'a> {
    Text {
        text: Cow<'a, str>,
    },
    Image {
        source: ImageSource<'a>,
    },
    ToolUse {
        id: Cow<'a, str>,
        name: &'a str,
        input: Value,
    },
    ToolResult {
        tool_use_id: Cow<'a, str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<ResultContent<'a>>,
        is_error: bool,
    },
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
}

#[derive(Serialize)]
struct ImageSource<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    media_type: &'a str,
    data: &'a str,
}

/// A tool's output: a string as the official client sends it (claude-followup-request.json),
/// or text and image blocks when the tool returned images.
#[derive(Serialize)]
#[serde(untagged)]
enum ResultContent<'a> {
    Text(&'a str),
    Blocks(Vec<Content<'a>>),
}

impl<'a> Content<'a> {
    fn typed(block: Typed<'a>) -> Content<'a> {
        Content::Typed {
            block,
            cache_control: None,
        }
    }

    /// Mark a breakpoint here; false for blocks that cannot carry one (thinking, replays).
    fn mark_cached(&mut self) -> bool {
        match self {
            Content::Typed {
                block: Typed::Thinking { .. },
                ..
            }
            | Content::Raw(_) => false,
            Content::Typed { cache_control, .. } => {
                *cache_control = EPHEMERAL;
                true
            }
        }
    }
}

/// What the body needs besides the request.
pub(super) struct BodyContext {
    pub provider: ProviderId,
    pub model: ClaudeModel,
    /// `THINKING_BUDGET`, for models that take the budget form.
    pub thinking_budget: u32,
}

pub(super) fn build_body<'a>(req: &'a Request<'a>, ctx: &BodyContext) -> Body<'a> {
    let system = if req.system.is_empty() {
        Vec::new()
    } else {
        vec![Content::Typed {
            block: Typed::Text {
                text: Cow::Borrowed(req.system),
            },
            cache_control: EPHEMERAL,
        }]
    };
    let mut tools: Vec<Tool<'a>> = req
        .tools
        .iter()
        .map(|t| Tool {
            name: &t.name,
            description: &t.description,
            input_schema: &t.parameters,
            cache_control: None,
        })
        .collect();
    if let Some(last) = tools.last_mut() {
        last.cache_control = EPHEMERAL;
    }
    let mut messages: Vec<Msg<'a>> = req
        .messages
        .iter()
        .filter_map(|m| message(m, ctx.provider))
        .collect();
    if let Some(last) = messages.last_mut() {
        // The last block that can carry a breakpoint (not a thinking block).
        for block in last.content.iter_mut().rev() {
            if block.mark_cached() {
                break;
            }
        }
    }
    let (max_tokens, thinking, output_config) = thinking(req, ctx);
    Body {
        model: req.model,
        messages,
        system,
        tools,
        max_tokens,
        thinking,
        output_config,
        stream: true,
    }
}

/// `max_tokens`, `thinking` and `output_config` for the model's thinking form. Budget form:
/// `budget_tokens` is `THINKING_BUDGET` (at least 1024) and `max_tokens` must exceed it — an
/// explicit answer cap gets the budget added on top, the model's own cap lowers the budget.
/// Adaptive form: `output_config.effort` from `REASONING_EFFORT` (default `high`, as the
/// official client sends it; `none` turns thinking off).
fn thinking(
    req: &Request<'_>,
    ctx: &BodyContext,
) -> (u32, Option<ThinkingParam>, Option<OutputConfig>) {
    let cap = ctx.model.max_tokens;
    let mut max_tokens = req.max_output_tokens.unwrap_or(cap).max(1);
    let wanted = req.thinking && req.effort != Some(Effort::None);
    match ctx.model.thinking {
        ThinkingForm::Adaptive => {
            let effort = match req.effort {
                None => "high",
                Some(Effort::None | Effort::Minimal | Effort::Low) => "low",
                Some(Effort::Medium) => "medium",
                Some(Effort::High) => "high",
                Some(Effort::Xhigh) => "xhigh",
            };
            let thinking = wanted.then_some(ThinkingParam::Adaptive);
            (max_tokens, thinking, Some(OutputConfig { effort }))
        }
        ThinkingForm::Budget if wanted => {
            let mut budget = ctx.thinking_budget.max(MIN_THINKING_BUDGET);
            if req.max_output_tokens.is_some() {
                max_tokens = max_tokens.saturating_add(budget).min(cap.max(max_tokens));
            }
            if budget >= max_tokens {
                budget = max_tokens.saturating_sub(1);
            }
            if budget < MIN_THINKING_BUDGET {
                // No room to think within the cap: answer without thinking.
                return (max_tokens, None, None);
            }
            (
                max_tokens,
                Some(ThinkingParam::Enabled {
                    budget_tokens: budget,
                }),
                None,
            )
        }
        ThinkingForm::Budget | ThinkingForm::None => (max_tokens, None, None),
    }
}

/// One message; `None` when nothing of it can be sent (an empty answer, thinking from another
/// provider), since the API rejects empty content.
fn message<'a>(m: &'a Message, provider: ProviderId) -> Option<Msg<'a>> {
    let mut content = Vec::with_capacity(m.content.len());
    match m.role {
        Role::User => {
            // Tool results answer the previous turn's calls and must come first.
            for b in &m.content {
                if let Block::ToolResult(r) = b {
                    content.push(tool_result(r));
                }
            }
            for b in &m.content {
                match b {
                    Block::Text { text, .. } if !text.is_empty() => {
                        content.push(text_block(text));
                    }
                    Block::Image(img) => {
                        if let Some(name) = &img.name {
                            // The model sees the file's name next to the image.
                            content.push(Content::typed(Typed::Text {
                                text: Cow::Owned(format!("[Image: {name}]")),
                            }));
                        }
                        content.push(image(img));
                    }
                    Block::Text { .. }
                    | Block::ToolResult(_)
                    | Block::Thinking(_)
                    | Block::ToolCall(_) => {}
                }
            }
        }
        Role::Assistant => {
            for b in &m.content {
                match b {
                    // Thinking goes back unchanged, in order, and only to the back-end that
                    // signed it; unsigned thinking (a cut stream) cannot be sent at all.
                    Block::Thinking(t) if t.source == Some(provider) => {
                        if let Some(raw) = &t.replay {
                            content.push(Content::Raw(raw));
                        } else if let Some(signature) = &t.signature {
                            content.push(Content::typed(Typed::Thinking {
                                thinking: &t.text,
                                signature,
                            }));
                        }
                    }
                    Block::Text { text, .. } if !text.is_empty() => {
                        content.push(text_block(text));
                    }
                    Block::ToolCall(c) => content.push(Content::typed(Typed::ToolUse {
                        id: tool_id(&c.id),
                        name: &c.name,
                        // An object in the model's key order (serde_json keeps it); arguments
                        // that are not a JSON object (a broken call) go back as `{}`.
                        input: c
                            .input()
                            .ok()
                            .filter(Value::is_object)
                            .unwrap_or_else(|| Value::Object(Default::default())),
                    })),
                    Block::Thinking(_)
                    | Block::Text { .. }
                    | Block::Image(_)
                    | Block::ToolResult(_) => {}
                }
            }
        }
    }
    if content.is_empty() {
        return None;
    }
    Some(Msg {
        role: match m.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        },
        content,
    })
}

fn text_block(text: &str) -> Content<'_> {
    Content::typed(Typed::Text {
        text: Cow::Borrowed(text),
    })
}

fn image(img: &Image) -> Content<'_> {
    Content::typed(Typed::Image {
        source: ImageSource {
            ty: "base64",
            media_type: &img.media_type,
            data: &img.data,
        },
    })
}

fn tool_result(r: &ToolResult) -> Content<'_> {
    let content = if r.images.is_empty() {
        (!r.output.is_empty()).then_some(ResultContent::Text(&r.output))
    } else {
        let mut blocks = Vec::with_capacity(r.images.len() + 1);
        if !r.output.is_empty() {
            blocks.push(text_block(&r.output));
        }
        blocks.extend(r.images.iter().map(image));
        Some(ResultContent::Blocks(blocks))
    };
    Content::typed(Typed::ToolResult {
        tool_use_id: tool_id(&r.call_id),
        content,
        is_error: r.is_error,
    })
}

/// A call id as the Messages API takes it (`^[a-zA-Z0-9_-]+$`): ids another provider made
/// (a session that moved here) keep their letters, digits, `_` and `-`; anything else becomes
/// `_`. The same function maps a call and its result, so they stay paired.
fn tool_id(id: &str) -> Cow<'_, str> {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if !id.is_empty() && id.chars().all(ok) {
        return Cow::Borrowed(id);
    }
    let mapped: String = id.chars().map(|c| if ok(c) { c } else { '_' }).collect();
    Cow::Owned(if mapped.is_empty() {
        "_".into()
    } else {
        mapped
    })
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
