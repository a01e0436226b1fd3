//! The one conversation model every provider translates to and from.
//!
//! A conversation is a list of [`Message`]s of blocks: text, image, thinking, tool call and tool
//! result. It is also the on-disk transcript format (`conversation.json`), so it is plain serde
//! data with a stable, tagged shape.

use serde::{Deserialize, Serialize};

use crate::ProviderId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<Block>,
    /// Token usage of the model call that produced this (assistant) message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

impl Message {
    pub fn user_text(text: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: vec![Block::text(text)],
            usage: None,
        }
    }

    /// The message's text blocks, concatenated (the "answer" of an assistant message).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for b in &self.content {
            if let Block::Text { text, .. } = b {
                out.push_str(text);
            }
        }
        out
    }

    pub fn tool_calls(&self) -> impl Iterator<Item = &ToolCall> {
        self.content.iter().filter_map(|b| match b {
            Block::ToolCall(c) => Some(c),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Text {
        text: String,
        /// Codex's `phase` of an assistant message (`commentary` before tool calls,
        /// `final_answer`), kept so the history replays as the model wrote it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phase: Option<String>,
    },
    Image(Image),
    Thinking(Thinking),
    ToolCall(ToolCall),
    ToolResult(ToolResult),
}

impl Block {
    /// A text block without a phase.
    pub fn text(text: impl Into<String>) -> Block {
        Block::Text {
            text: text.into(),
            phase: None,
        }
    }
}

/// An image, held inline as base64 (what every wire sends).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// `image/png`, `image/jpeg`, `image/webp` or `image/gif`.
    pub media_type: String,
    /// Standard base64 of the image bytes.
    pub data: String,
    /// A label the model sees next to the image (e.g. the file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Model reasoning. `text` is what is shown (a summary on some wires); `raw` is the raw chain
/// of thought where a wire sends it apart from the summary (Codex `reasoning_text`), kept
/// apart so neither is mistaken for the other. `signature` and `replay` are the provider's
/// opaque state that must go back unchanged on the next request — but only to the provider
/// that produced it (`source`), since other back-ends reject foreign signatures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thinking {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ProviderId>,
    /// The provider's own item, verbatim (e.g. a Responses `reasoning` item).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// The arguments exactly as the model produced them (a JSON object in text form; raw text
    /// for a freeform call). Kept as text so the history replays byte for byte, which keeps
    /// provider prompt caches warm.
    pub arguments: String,
    /// Opaque per-call state the provider wants back with this call (Gemini's
    /// `thoughtSignature`). Only the wire that set it reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(default, skip_serializing_if = "CallKind::is_function")]
    pub kind: CallKind,
}

/// How a tool call arrived.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    /// A function call with JSON arguments (every wire).
    #[default]
    Function,
    /// A freeform call whose input is raw text (Codex `custom_tool_call`); its result goes
    /// back as `custom_tool_call_output`.
    Custom,
}

impl CallKind {
    pub fn is_function(&self) -> bool {
        *self == CallKind::Function
    }
}

impl ToolCall {
    /// A function call with JSON arguments, as most wires produce it.
    pub fn function(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> ToolCall {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
            signature: None,
            kind: CallKind::Function,
        }
    }

    /// The arguments parsed as JSON; empty text (no-argument tools on some wires) is `{}`.
    pub fn input(&self) -> Result<serde_json::Value, serde_json::Error> {
        if self.arguments.trim().is_empty() {
            return Ok(serde_json::Value::Object(Default::default()));
        }
        serde_json::from_str(&self.arguments)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResult {
    pub call_id: String,
    /// The called tool's name (Gemini's `functionResponse` names it; empty in transcripts
    /// written before it was kept).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub output: String,
    #[serde(default)]
    pub is_error: bool,
    /// Images produced by the tool (e.g. `read_image`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub reasoning_tokens: u64,
}

impl Usage {
    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
        self.reasoning_tokens += other.reasoning_tokens;
    }
}

/// A tool offered to the model: name, description for the model, JSON Schema of its arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: serde_json::Value,
}

/// How hard the model should think (effort providers) — docs/spec.md §2 `REASONING_EFFORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effort {
    None,
    Minimal,
    Low,
    Medium,
    High,
    Xhigh,
}

impl Effort {
    pub fn parse(s: &str) -> Option<Effort> {
        Some(match s {
            "none" => Effort::None,
            "minimal" => Effort::Minimal,
            "low" => Effort::Low,
            "medium" => Effort::Medium,
            "high" => Effort::High,
            "xhigh" => Effort::Xhigh,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Effort::None => "none",
            Effort::Minimal => "minimal",
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
            Effort::Xhigh => "xhigh",
        }
    }
}

/// One model call: everything a provider needs to build its wire request.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub model: &'a str,
    /// The system prompt; byte-identical across a session's requests (prompt caching).
    pub system: &'a str,
    pub messages: &'a [Message],
    pub tools: &'a [ToolSpec],
    /// `None` = the model's default.
    pub effort: Option<Effort>,
    /// Whether to request (and stream) thinking.
    pub thinking: bool,
    /// The session id: sent as the provider's conversation/cache key.
    pub session_id: &'a str,
    /// One user prompt and the model calls that answer it (tool loops included) form a turn;
    /// a wire may keep state for the rest of a turn (Codex `x-codex-turn-state`), never longer.
    pub turn_id: &'a str,
    /// Cap on the answer's tokens; `None` = the wire's default (Anthropic requires one and uses
    /// its own default then).
    pub max_output_tokens: Option<u32>,
    /// The conversation's id at a provider that keeps its own history (the `claude` CLI's
    /// session), from the last completion; `None` on a first turn.
    pub provider_session: Option<&'a str>,
}

/// Why the model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// A final answer.
    EndTurn,
    /// The model asked for tool calls.
    ToolUse,
    /// The output limit was hit.
    MaxTokens,
    /// The model declined to answer.
    Refusal,
    /// The back-end paused a long turn; sending the conversation again continues it
    /// (Anthropic `pause_turn`).
    Pause,
    /// The back-end withheld the answer for safety reasons (Gemini `SAFETY` and kin).
    Safety,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_serialize_tagged() {
        let m = Message {
            role: Role::Assistant,
            content: vec![
                Block::text("hi"),
                Block::ToolCall(ToolCall::function("c1", "bash", "{\"command\":\"ls\"}")),
            ],
            usage: None,
        };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["content"][0]["type"], "text");
        assert_eq!(v["content"][1]["type"], "tool_call");
        assert_eq!(v["content"][1]["name"], "bash");
        let back: Message = serde_json::from_value(v).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn empty_arguments_are_an_empty_object() {
        let c = ToolCall::function("x", "n", " ");
        assert_eq!(c.input().unwrap(), serde_json::json!({}));
    }
}
