//! Conversation model → Responses request body, in the two shapes of the official client
//! (docs/providers.md, "Codex"): "classic" (top-level `tools`;
//! tests/fixtures/captures/codex-apikey-gpt55-request.json) and "responses lite" for the
//! code-mode models (tools in an `additional_tools` input item, `reasoning.context`, a trailing
//! `configuration_update`; codex-chatgpt-request.json).

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Map, Value};

use super::catalog::CodexModel;
use crate::model::{Block, CallKind, Message, Request, Role};

#[derive(Serialize)]
pub(super) struct Body<'a> {
    model: &'a str,
    stream: bool,
    input: Vec<Item<'a>>,
    /// Absent in the lite shape (the tools travel in `input`).
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<Vec<FunctionTool<'a>>>,
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
    /// `all_turns` in the lite shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<&'static str>,
}

#[derive(Serialize)]
struct Effort {
    effort: &'static str,
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
    /// The lite shape's tool list.
    AdditionalTools {
        role: &'static str,
        tools: Vec<FunctionTool<'a>>,
    },
    Message {
        role: &'static str,
        content: Vec<Part<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        phase: Option<&'a str>,
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
    CustomToolCall {
        call_id: &'a str,
        name: &'a str,
        input: &'a str,
    },
    /// Answers a `custom_tool_call`; its output is a list of parts (as the official client
    /// sends it).
    CustomToolCallOutput {
        call_id: &'a str,
        output: Vec<Part<'a>>,
    },
    /// The lite shape's trailing settings item (ChatGPT backend).
    ConfigurationUpdate { reasoning: Effort },
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

/// What the body needs besides the request.
pub(super) struct BodyContext<'a> {
    pub model: CodexModel,
    pub installation_id: Option<&'a str>,
    /// The ChatGPT backend (a ChatGPT login), not the platform API (an API key): only it
    /// gets the lite shape's trailing `configuration_update` (codex-apikey-request.json has none).
    pub chatgpt_backend: bool,
    /// `false`: ask for the whole answer (`"stream": false`, `STREAMING=0` with an API key).
    pub stream: bool,
}

pub(super) fn build_body<'a>(req: &'a Request<'a>, ctx: &BodyContext<'a>) -> Body<'a> {
    let info = ctx.model;
    let lite = info.responses_lite;
    let tools: Vec<FunctionTool<'a>> = req
        .tools
        .iter()
        .map(|t| FunctionTool {
            ty: "function",
            name: &t.name,
            description: &t.description,
            strict: false,
            parameters: &t.parameters,
        })
        .collect();
    let mut input = Vec::with_capacity(req.messages.len() + 3);
    let tools = if lite {
        if !tools.is_empty() {
            input.push(Item::Typed(TypedItem::AdditionalTools {
                role: "developer",
                tools,
            }));
        }
        None
    } else {
        Some(tools)
    };
    input.push(Item::Typed(TypedItem::Message {
        role: "developer",
        content: vec![Part::InputText {
            text: Cow::Borrowed(req.system),
        }],
        phase: None,
    }));
    let mut image_no = 0;
    let mut custom_calls: Vec<&str> = Vec::new();
    for m in req.messages {
        match m.role {
            Role::User => push_user(&mut input, m, &mut image_no, &custom_calls),
            Role::Assistant => push_assistant(&mut input, m, &mut custom_calls),
        }
    }
    let effort = req
        .effort
        .or(info.default_effort)
        .map_or("medium", |e| e.as_str());
    let reasoning = info.reasoning.then(|| Reasoning {
        effort,
        summary: req.thinking.then_some("auto"),
        context: lite.then_some("all_turns"),
    });
    if lite && reasoning.is_some() && ctx.chatgpt_backend {
        input.push(Item::Typed(TypedItem::ConfigurationUpdate {
            reasoning: Effort { effort },
        }));
    }
    let include = if reasoning.is_some() {
        vec!["reasoning.encrypted_content"]
    } else {
        vec![]
    };
    // As the official client fills it (codex-chatgpt-request.json), minus its turn metadata.
    let mut client_metadata = Map::new();
    let mut meta = |k: &str, v: &str| {
        client_metadata.insert(k.into(), Value::String(v.into()));
    };
    meta("thread_id", req.session_id);
    meta("session_id", req.session_id);
    meta("turn_id", req.turn_id);
    meta("root_turn_id", req.turn_id);
    meta("x-codex-window-id", &format!("{}:0", req.session_id));
    if let Some(id) = ctx.installation_id {
        meta("x-codex-installation-id", id);
    }
    Body {
        model: req.model,
        stream: ctx.stream,
        input,
        parallel_tool_calls: info.parallel_tool_calls && !req.tools.is_empty(),
        tools,
        tool_choice: "auto",
        reasoning,
        store: false,
        include,
        prompt_cache_key: req.session_id,
        text: info.verbosity.map(|verbosity| TextControls { verbosity }),
        client_metadata,
    }
}

fn push_user<'a>(
    input: &mut Vec<Item<'a>>,
    m: &'a Message,
    image_no: &mut usize,
    custom_calls: &[&str],
) {
    // Tool outputs answer the previous assistant turn's calls and must come first.
    for b in &m.content {
        if let Block::ToolResult(r) = b {
            if custom_calls.contains(&r.call_id.as_str()) {
                let mut output = vec![Part::InputText {
                    text: Cow::Borrowed(&r.output),
                }];
                output.extend(r.images.iter().map(image_part));
                input.push(Item::Typed(TypedItem::CustomToolCallOutput {
                    call_id: &r.call_id,
                    output,
                }));
                continue;
            }
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
            Block::Text { text, .. } => content.push(Part::InputText {
                text: Cow::Borrowed(text),
            }),
            Block::Image(img) => {
                // The official client frames local images this way (docs/protocols/codex.md §B.5).
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
            phase: None,
        }));
    }
}

fn push_assistant<'a>(input: &mut Vec<Item<'a>>, m: &'a Message, custom_calls: &mut Vec<&'a str>) {
    for b in &m.content {
        match b {
            Block::Thinking(t) => {
                // Reasoning state goes back only to the back-end that produced it.
                if t.source == Some(crate::ProviderId::Codex)
                    && let Some(item) = &t.replay
                {
                    input.push(Item::Raw(item));
                }
            }
            Block::Text { text, phase } => input.push(Item::Typed(TypedItem::Message {
                role: "assistant",
                content: vec![Part::OutputText { text }],
                phase: phase.as_deref(),
            })),
            Block::ToolCall(c) => match c.kind {
                CallKind::Function => input.push(Item::Typed(TypedItem::FunctionCall {
                    name: &c.name,
                    arguments: &c.arguments,
                    call_id: &c.id,
                })),
                CallKind::Custom => {
                    custom_calls.push(&c.id);
                    input.push(Item::Typed(TypedItem::CustomToolCall {
                        call_id: &c.id,
                        name: &c.name,
                        input: &c.arguments,
                    }));
                }
            },
            Block::Image(_) | Block::ToolResult(_) => {}
        }
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
