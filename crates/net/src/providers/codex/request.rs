//! Conversation model → Responses request body (the "classic" shape of
//! captures/codex-apikey-gpt55-request.json; codex.md §B.4, §B.5).

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::{Block, Message, Request, Role};
use crate::models::codex_model;

#[derive(Serialize)]
pub(super) struct Body<'a> {
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

pub(super) fn build_body<'a>(req: &'a Request<'a>, installation_id: Option<&str>) -> Body<'a> {
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
