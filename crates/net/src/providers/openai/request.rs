//! Conversation model → Chat Completions request body (docs/protocols/providers.md §4.2, §4.3;
//! docs/providers.md, "openai").
//!
//! `messages`: the system prompt as the first `system` message; user text as a string, or as
//! `text` + `image_url` parts when it carries images; assistant turns as `content` (text, or
//! `null` with only calls) and `tool_calls` with the arguments byte for byte; tool results as
//! `tool` messages with their `tool_call_id`. Thinking is never sent back (Chat Completions
//! has no field for it, and DeepSeek-style servers reject `reasoning_content` in history).

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use crate::model::{Block, Image, Message, Request, Role};

/// Who is on the other end, as far as the body is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `api.openai.com`: `max_completion_tokens` (reasoning models refuse `max_tokens`) and
    /// `prompt_cache_key`.
    OpenAi,
    /// Any other server (llama.cpp, vLLM, Ollama, OpenRouter, gateways): only fields every one
    /// of them accepts — `max_tokens`, and no `prompt_cache_key` (servers with strict schemas
    /// reject unknown fields with a 400).
    Compatible,
}

#[derive(Serialize)]
pub(super) struct Body<'a> {
    model: &'a str,
    messages: Vec<Msg<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool<'a>>,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_effort: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_cache_key: Option<&'a str>,
}

impl Body<'_> {
    /// Ask for the whole answer at once (`"stream": false`, `STREAMING=0`): without
    /// `stream_options`, which OpenAI accepts only on a stream (the usage is in the answer).
    pub(super) fn whole_answer(&mut self) {
        self.stream = false;
        self.stream_options = None;
    }
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
struct Tool<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    function: FunctionDef<'a>,
}

#[derive(Serialize)]
struct FunctionDef<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a Value,
}

#[derive(Serialize)]
#[serde(tag = "role", rename_all = "snake_case")]
enum Msg<'a> {
    System {
        content: &'a str,
    },
    User {
        content: Content<'a>,
    },
    Assistant {
        /// `null` when the turn is only tool calls (docs/protocols/providers.md §4.3).
        content: Option<Cow<'a, str>>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<CallOut<'a>>,
    },
    Tool {
        tool_call_id: &'a str,
        content: &'a str,
    },
}

#[derive(Serialize)]
#[serde(untagged)]
enum Content<'a> {
    Text(Cow<'a, str>),
    Parts(Vec<Part<'a>>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Part<'a> {
    Text { text: Cow<'a, str> },
    ImageUrl { image_url: ImageUrl },
}

#[derive(Serialize)]
struct ImageUrl {
    url: String,
    detail: &'static str,
}

#[derive(Serialize)]
struct CallOut<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    ty: &'static str,
    function: CallFunction<'a>,
}

#[derive(Serialize)]
struct CallFunction<'a> {
    name: &'a str,
    arguments: &'a str,
}

fn image_part(img: &Image) -> Part<'_> {
    Part::ImageUrl {
        image_url: ImageUrl {
            url: format!("data:{};base64,{}", img.media_type, img.data),
            detail: "auto",
        },
    }
}

pub(super) fn build_body<'a>(req: &'a Request<'a>, dialect: Dialect) -> Body<'a> {
    let mut messages = Vec::with_capacity(req.messages.len() + 2);
    messages.push(Msg::System {
        content: req.system,
    });
    for m in req.messages {
        match m.role {
            Role::User => push_user(&mut messages, m),
            Role::Assistant => push_assistant(&mut messages, m),
        }
    }
    let tools = req
        .tools
        .iter()
        .map(|t| Tool {
            ty: "function",
            function: FunctionDef {
                name: &t.name,
                description: &t.description,
                parameters: &t.parameters,
            },
        })
        .collect();
    let openai = dialect == Dialect::OpenAi;
    Body {
        model: req.model,
        messages,
        tools,
        stream: true,
        stream_options: Some(StreamOptions {
            include_usage: true,
        }),
        reasoning_effort: req.effort.map(|e| e.as_str()),
        max_completion_tokens: req.max_output_tokens.filter(|_| openai),
        max_tokens: req.max_output_tokens.filter(|_| !openai),
        prompt_cache_key: openai.then_some(req.session_id),
    }
}

fn push_user<'a>(out: &mut Vec<Msg<'a>>, m: &'a Message) {
    // Tool results answer the previous assistant turn and must follow it directly.
    let mut tool_images: Vec<Part<'a>> = Vec::new();
    for b in &m.content {
        if let Block::ToolResult(r) = b {
            out.push(Msg::Tool {
                tool_call_id: &r.call_id,
                content: &r.output,
            });
            if !r.images.is_empty() {
                // A tool message holds text only: its images follow in the next user message.
                tool_images.push(Part::Text {
                    text: Cow::Owned(format!("Images returned by the tool call {}:", r.call_id)),
                });
                tool_images.extend(r.images.iter().map(image_part));
            }
        }
    }
    let has_image =
        !tool_images.is_empty() || m.content.iter().any(|b| matches!(b, Block::Image(_)));
    let content = if has_image {
        let mut parts = tool_images;
        for b in &m.content {
            match b {
                Block::Text { text, .. } => parts.push(Part::Text {
                    text: Cow::Borrowed(text),
                }),
                Block::Image(img) => parts.push(image_part(img)),
                Block::ToolResult(_) | Block::Thinking(_) | Block::ToolCall(_) => {}
            }
        }
        Content::Parts(parts)
    } else {
        let texts: Vec<&'a str> = m
            .content
            .iter()
            .filter_map(|b| match b {
                Block::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        match texts.as_slice() {
            [] => return,
            [one] => Content::Text(Cow::Borrowed(*one)),
            // Several text blocks: one string, as every server takes it.
            many => Content::Text(Cow::Owned(many.join("\n\n"))),
        }
    };
    out.push(Msg::User { content });
}

fn push_assistant<'a>(out: &mut Vec<Msg<'a>>, m: &'a Message) {
    let mut texts: Vec<&'a str> = Vec::new();
    let mut tool_calls = Vec::new();
    for b in &m.content {
        match b {
            Block::Text { text, .. } if !text.is_empty() => texts.push(text),
            Block::ToolCall(c) => tool_calls.push(CallOut {
                id: &c.id,
                ty: "function",
                function: CallFunction {
                    name: &c.name,
                    // Byte for byte, except no arguments at all: templates that parse them as
                    // JSON fail on "" (docs/protocols/providers.md §6.4 O8).
                    arguments: if c.arguments.trim().is_empty() {
                        "{}"
                    } else {
                        &c.arguments
                    },
                },
            }),
            // Thinking stays out of the history (module docs); images are not an assistant's.
            Block::Text { .. } | Block::Thinking(_) | Block::Image(_) | Block::ToolResult(_) => {}
        }
    }
    let content = match texts.as_slice() {
        [] => None,
        [one] => Some(Cow::Borrowed(*one)),
        many => Some(Cow::Owned(many.concat())),
    };
    // A turn with nothing to replay (only thinking) still keeps the roles alternating, which
    // some servers' chat templates require.
    let content = match content {
        None if tool_calls.is_empty() => Some(Cow::Borrowed("")),
        c => c,
    };
    out.push(Msg::Assistant {
        content,
        tool_calls,
    });
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
