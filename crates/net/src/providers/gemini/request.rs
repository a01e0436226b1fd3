//! Conversation model → `streamGenerateContent` body (docs/providers.md, "gemini"; the shape of
//! tests/fixtures/captures/gemini-request.json and gemini-followup-request.json):
//! `contents` (`user`/`model` turns of parts), `systemInstruction`, `tools`
//! (`functionDeclarations` with `parametersJsonSchema`), `generationConfig`
//! (`maxOutputTokens`, `thinkingConfig`) — or, with a context cache, `cachedContent` in place
//! of the system instruction and the tools.

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::catalog::{GeminiModel, ThinkingStyle};
use super::schema;
use super::stream::LOCAL_ID_PREFIX;
use crate::ProviderId;
use crate::model::{Block, Effort, Message, Request, Role, ToolCall, ToolResult};

/// The signature Gemini documents for function calls that have none (a history from another
/// model or back-end): the official client sends it too (gemini-followup-request.json).
pub(super) const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Body<'a> {
    contents: Vec<Content<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_instruction: Option<SystemInstruction<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tools<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    generation_config: Option<GenerationConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cached_content: Option<&'a str>,
}

/// The stable prefix of every request of a session: the system instruction and the tools. It
/// is what a context cache holds.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Prefix<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_instruction: Option<SystemInstruction<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tools<'a>>,
}

#[derive(Serialize)]
pub(super) struct SystemInstruction<'a> {
    parts: [Part<'a>; 1],
    role: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Tools<'a> {
    function_declarations: Vec<FunctionDeclaration<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FunctionDeclaration<'a> {
    name: &'a str,
    description: &'a str,
    parameters_json_schema: Value,
}

#[derive(Serialize)]
struct Content<'a> {
    parts: Vec<Part<'a>>,
    role: &'static str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Part<'a> {
    Text {
        text: &'a str,
        #[serde(rename = "thoughtSignature", skip_serializing_if = "Option::is_none")]
        signature: Option<&'a str>,
    },
    InlineData {
        #[serde(rename = "inlineData")]
        inline_data: Blob<'a>,
    },
    FunctionCall {
        #[serde(rename = "functionCall")]
        call: FunctionCall<'a>,
        #[serde(rename = "thoughtSignature", skip_serializing_if = "Option::is_none")]
        signature: Option<&'a str>,
    },
    FunctionResponse {
        #[serde(rename = "functionResponse")]
        response: FunctionResponse<'a>,
    },
    /// A part replayed as Gemini sent it (a signed thought).
    Raw(&'a Value),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Blob<'a> {
    mime_type: &'a str,
    data: &'a str,
}

#[derive(Serialize)]
struct FunctionCall<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    name: &'a str,
    args: &'a RawValue,
}

#[derive(Serialize)]
struct FunctionResponse<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    name: &'a str,
    response: Outcome<'a>,
}

/// A function's result: `{"output": …}` as the official client sends it, `{"error": …}` for a
/// failure (docs/protocols/providers.md §3.3).
enum Outcome<'a> {
    Output(&'a str),
    Error(&'a str),
}

impl Serialize for Outcome<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        match self {
            Outcome::Output(t) => m.serialize_entry("output", t)?,
            Outcome::Error(t) => m.serialize_entry("error", t)?,
        }
        m.end()
    }
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_config: Option<ThinkingConfig>,
}

#[derive(Serialize, Default, PartialEq, Debug)]
#[serde(rename_all = "camelCase")]
struct ThinkingConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    include_thoughts: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_budget: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_level: Option<&'static str>,
}

/// What the body needs besides the request.
pub(super) struct BodyContext<'a> {
    pub model: GeminiModel,
    /// `THINKING_BUDGET`, for budget models.
    pub thinking_budget: u64,
    /// The context cache holding the prefix, when one does.
    pub cached_content: Option<&'a str>,
}

impl<'a> Prefix<'a> {
    pub fn of(req: &'a Request<'a>) -> Prefix<'a> {
        let system_instruction = (!req.system.is_empty()).then_some(SystemInstruction {
            parts: [Part::Text {
                text: req.system,
                signature: None,
            }],
            role: "user",
        });
        let declarations: Vec<FunctionDeclaration<'a>> = req
            .tools
            .iter()
            .map(|t| FunctionDeclaration {
                name: &t.name,
                description: &t.description,
                parameters_json_schema: schema::parameters(&t.parameters),
            })
            .collect();
        let tools = if declarations.is_empty() {
            Vec::new()
        } else {
            vec![Tools {
                function_declarations: declarations,
            }]
        };
        Prefix {
            system_instruction,
            tools,
        }
    }

    /// The prefix as JSON (what a cache entry holds), its identity for `model`, and its size.
    pub fn fingerprint(&self, model: &str) -> ([u8; 32], usize) {
        let json = serde_json::to_vec(self).expect("prefix serializes");
        let mut h = Sha256::new();
        h.update(model.as_bytes());
        h.update([0]);
        h.update(&json);
        (h.finalize().into(), json.len())
    }
}

pub(super) fn build_body<'a>(
    req: &'a Request<'a>,
    prefix: Prefix<'a>,
    ctx: &BodyContext<'a>,
) -> Body<'a> {
    let mut contents = Vec::with_capacity(req.messages.len());
    // Call id → function name, for results from transcripts that did not keep the name.
    let mut names: Vec<(&'a str, &'a str)> = Vec::new();
    for m in req.messages {
        let (parts, role) = match m.role {
            Role::User => (user_parts(m, &names), "user"),
            Role::Assistant => (model_parts(m, &mut names), "model"),
        };
        // Gemini refuses a turn without parts (an empty answer, a withheld one).
        if !parts.is_empty() {
            contents.push(Content { parts, role });
        }
    }
    let thinking_config = thinking_config(ctx, req);
    let generation_config = (req.max_output_tokens.is_some() || thinking_config.is_some())
        .then_some(GenerationConfig {
            max_output_tokens: req.max_output_tokens,
            thinking_config,
        });
    let (system_instruction, tools) = match ctx.cached_content {
        // The cache holds them; sending them too is a 400 (docs/protocols/providers.md §6.3 G10).
        Some(_) => (None, Vec::new()),
        None => (prefix.system_instruction, prefix.tools),
    };
    Body {
        contents,
        system_instruction,
        tools,
        generation_config,
        cached_content: ctx.cached_content,
    }
}

/// `thinkingBudget` for 2.5-style models, `thinkingLevel` for 3.x — never both
/// (docs/protocols/providers.md §3.5); `includeThoughts` when thinking is shown.
fn thinking_config(ctx: &BodyContext<'_>, req: &Request<'_>) -> Option<ThinkingConfig> {
    let include_thoughts = req.thinking.then_some(true);
    match ctx.model.thinking {
        ThinkingStyle::None => None,
        ThinkingStyle::Level { pro } => Some(ThinkingConfig {
            include_thoughts,
            thinking_level: Some(level(req.effort, pro)),
            ..Default::default()
        }),
        ThinkingStyle::Budget { .. } if req.thinking => Some(ThinkingConfig {
            include_thoughts,
            thinking_budget: Some(ctx.thinking_budget),
            ..Default::default()
        }),
        ThinkingStyle::Budget { can_disable: true } => Some(ThinkingConfig {
            thinking_budget: Some(0),
            ..Default::default()
        }),
        // 2.5 Pro cannot stop thinking: its own default budget, nothing shown.
        ThinkingStyle::Budget { can_disable: false } => None,
    }
}

/// `REASONING_EFFORT` → `thinkingLevel`. Unset: `HIGH`, the API's default and what the
/// official client sends. Pro models take only `LOW` and `HIGH`.
fn level(effort: Option<Effort>, pro: bool) -> &'static str {
    match (effort, pro) {
        (None, _) => "HIGH",
        (Some(Effort::None | Effort::Minimal | Effort::Low), true) => "LOW",
        (Some(Effort::Medium | Effort::High | Effort::Xhigh), true) => "HIGH",
        (Some(Effort::None | Effort::Minimal), false) => "MINIMAL",
        (Some(Effort::Low), false) => "LOW",
        (Some(Effort::Medium), false) => "MEDIUM",
        (Some(Effort::High | Effort::Xhigh), false) => "HIGH",
    }
}

/// The id Gemini gave a call, or none when sx made it up (a call that came without one).
fn wire_id(id: &str) -> Option<&str> {
    (!id.starts_with(LOCAL_ID_PREFIX)).then_some(id)
}

fn user_parts<'a>(m: &'a Message, names: &[(&'a str, &'a str)]) -> Vec<Part<'a>> {
    let mut parts = Vec::with_capacity(m.content.len());
    // Function responses answer the previous model turn's calls and come first.
    for b in &m.content {
        if let Block::ToolResult(r) = b {
            parts.push(function_response(r, names));
        }
    }
    for b in &m.content {
        if let Block::ToolResult(r) = b {
            parts.extend(r.images.iter().map(image));
        }
    }
    for b in &m.content {
        match b {
            Block::Text { text, .. } if !text.is_empty() => parts.push(Part::Text {
                text,
                signature: None,
            }),
            Block::Image(img) => parts.push(image(img)),
            Block::Text { .. } | Block::ToolResult(_) | Block::Thinking(_) | Block::ToolCall(_) => {
            }
        }
    }
    parts
}

fn function_response<'a>(r: &'a ToolResult, names: &[(&'a str, &'a str)]) -> Part<'a> {
    let name = if r.name.is_empty() {
        names
            .iter()
            .rev()
            .find(|(id, _)| *id == r.call_id)
            .map_or("unknown", |(_, n)| n)
    } else {
        &r.name
    };
    Part::FunctionResponse {
        response: FunctionResponse {
            id: wire_id(&r.call_id),
            name,
            response: if r.is_error {
                Outcome::Error(&r.output)
            } else {
                Outcome::Output(&r.output)
            },
        },
    }
}

fn image(img: &crate::model::Image) -> Part<'_> {
    Part::InlineData {
        inline_data: Blob {
            mime_type: &img.media_type,
            data: &img.data,
        },
    }
}

fn model_parts<'a>(m: &'a Message, names: &mut Vec<(&'a str, &'a str)>) -> Vec<Part<'a>> {
    let mut parts: Vec<Part<'a>> = Vec::with_capacity(m.content.len());
    for b in &m.content {
        match b {
            Block::Thinking(t) => {
                // Gemini's signed parts go back only to Gemini (docs/protocols/providers.md §3.6).
                if t.source != Some(ProviderId::Gemini) {
                    continue;
                }
                let Some(replay) = &t.replay else { continue };
                if replay.get("text").is_some() {
                    parts.push(Part::Raw(replay));
                } else if let Some(sig) = replay["thoughtSignature"].as_str() {
                    // The signature of the text part before it.
                    match parts.last_mut() {
                        Some(Part::Text { signature, .. }) if signature.is_none() => {
                            *signature = Some(sig);
                        }
                        _ => parts.push(Part::Text {
                            text: "",
                            signature: Some(sig),
                        }),
                    }
                }
            }
            Block::Text { text, .. } if !text.is_empty() => parts.push(Part::Text {
                text,
                signature: None,
            }),
            Block::ToolCall(c) => {
                names.push((&c.id, &c.name));
                parts.push(function_call(c));
            }
            Block::Text { .. } | Block::Image(_) | Block::ToolResult(_) => {}
        }
    }
    // Gemini 3 checks the first call of each step for a signature: a call from a history
    // without one (another provider, thinking off) gets the documented placeholder.
    let signed = parts.iter().any(|p| {
        matches!(
            p,
            Part::FunctionCall {
                signature: Some(_),
                ..
            }
        )
    });
    if !signed
        && let Some(Part::FunctionCall { signature, .. }) = parts
            .iter_mut()
            .find(|p| matches!(p, Part::FunctionCall { .. }))
    {
        *signature = Some(SKIP_SIGNATURE);
    }
    parts
}

fn function_call(c: &ToolCall) -> Part<'_> {
    // Arguments go back byte for byte when they are the JSON object the model sent.
    let parsed: Option<&RawValue> = serde_json::from_str(&c.arguments).ok();
    let args = match parsed {
        Some(raw) if raw.get().trim_start().starts_with('{') => raw,
        _ => empty_args(),
    };
    Part::FunctionCall {
        call: FunctionCall {
            id: wire_id(&c.id),
            name: &c.name,
            args,
        },
        signature: c.signature.as_deref(),
    }
}

fn empty_args() -> &'static RawValue {
    serde_json::from_str("{}").expect("an empty object is JSON")
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
