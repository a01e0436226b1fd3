//! What the Messages wire needs to know about a Claude model (docs/providers.md, "anthropic"):
//! its output cap (`max_tokens` is required), its context window, and which thinking form it
//! takes — the budget form (`{type: enabled, budget_tokens}`), the adaptive form
//! (`{type: adaptive}` + `output_config.effort`, which the newest models require), or none
//! (docs/protocols/providers.md §1.5). Plus the live catalog `GET /v1/models`.

use serde::Deserialize;

use crate::error::ProviderError;
use crate::providers::ModelInfo;

/// How a model takes a thinking request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThinkingForm {
    /// `{"type":"adaptive"}` plus `output_config.effort` (Claude 4.6 and later; the
    /// captures' claude-opus-4-8 and claude-sonnet-5 use it).
    Adaptive,
    /// `{"type":"enabled","budget_tokens":N}` (Claude 3.7 up to 4.5).
    Budget,
    /// No extended thinking (Claude 3.5 and before).
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaudeModel {
    /// The answer's cap when the request sets none (`max_tokens` is required by the API).
    pub max_tokens: u32,
    pub context_window: u64,
    pub thinking: ThinkingForm,
}

/// Without the `context-1m` beta (which sx does not send) every current model has 200k tokens.
const WINDOW: u64 = 200_000;

/// The model's facts: the built-in ids exactly, any other Claude id by its generation
/// (`claude-opus-4-8`, `claude-sonnet-4-5-20250929`, `claude-3-7-sonnet-latest`, a gateway's
/// `anthropic/claude-sonnet-4-5` or `us.anthropic.claude-opus-4-1-v1:0`), and ids that name no
/// Claude generation as a current model that takes budget thinking.
pub fn model(id: &str) -> ClaudeModel {
    let facts = |max_tokens, thinking| ClaudeModel {
        max_tokens,
        context_window: WINDOW,
        thinking,
    };
    match id {
        // As the official client sends them (claude-apikey-request.json: max_tokens 64000).
        "claude-opus-4-8" | "claude-sonnet-5" => return facts(64_000, ThinkingForm::Adaptive),
        "claude-haiku-4-5" => return facts(64_000, ThinkingForm::Budget),
        _ => {}
    }
    let Some((family, version)) = generation(id) else {
        return facts(32_000, ThinkingForm::Budget);
    };
    match version {
        v if v >= (4, 6) => facts(64_000, ThinkingForm::Adaptive),
        // Opus 4 and 4.1 answer at most 32k tokens; the other 4.x models 64k.
        v if v >= (4, 0) && family == "opus" && v < (4, 5) => facts(32_000, ThinkingForm::Budget),
        v if v >= (4, 0) => facts(64_000, ThinkingForm::Budget),
        // 3.7 Sonnet: 64k (128k only with a beta sx does not send).
        v if v >= (3, 7) => facts(64_000, ThinkingForm::Budget),
        v if v >= (3, 5) => facts(8_192, ThinkingForm::None),
        _ => facts(4_096, ThinkingForm::None),
    }
}

/// `(family, (major, minor))` of a Claude id in either naming scheme: `claude-<family>-<major>
/// [-<minor>][-<date>]` (Claude 4 on) or `claude-<major>[-<minor>]-<family>[-<date>]`
/// (Claude 3). `None` when the id names no Claude generation.
fn generation(id: &str) -> Option<(&str, (u32, u32))> {
    let start = id.find("claude-")?;
    let rest = &id[start + "claude-".len()..];
    // A gateway's suffix (`-v1:0`, `@20250929`) is not part of the name.
    let rest = rest.split([':', '@']).next().unwrap_or(rest);
    let mut family = None;
    let mut numbers = Vec::new();
    for part in rest.split('-') {
        match part.parse::<u32>() {
            // A date (20250929) or a gateway's version tag ends the name.
            Ok(_) if part.len() >= 8 => break,
            Ok(n) if numbers.len() < 2 => numbers.push(n),
            Ok(_) => break,
            Err(_) if family.is_none() && ["opus", "sonnet", "haiku"].contains(&part) => {
                family = Some(part);
            }
            // Claude 3 names put the family last: its numbers are complete by then.
            Err(_) => {
                if family.is_some() || !numbers.is_empty() {
                    break;
                }
            }
        }
    }
    let family = family?;
    let major = *numbers.first()?;
    Some((family, (major, numbers.get(1).copied().unwrap_or(0))))
}

/// One page of `GET /v1/models`.
#[derive(Deserialize)]
pub(super) struct ModelsPage {
    #[serde(default)]
    pub data: Vec<ModelEntry>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub last_id: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ModelEntry {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

pub(super) fn parse_page(body: &[u8]) -> Result<ModelsPage, ProviderError> {
    serde_json::from_slice(body).map_err(|e| ProviderError::Protocol {
        detail: format!(
            "the model list from GET /v1/models is not what the Messages API sends ({e})"
        ),
    })
}

impl From<ModelEntry> for ModelInfo {
    fn from(m: ModelEntry) -> ModelInfo {
        ModelInfo {
            id: m.id,
            display_name: m.display_name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_in_both_naming_schemes() {
        assert_eq!(generation("claude-opus-4-8"), Some(("opus", (4, 8))));
        assert_eq!(generation("claude-sonnet-5"), Some(("sonnet", (5, 0))));
        assert_eq!(
            generation("claude-sonnet-4-5-20250929"),
            Some(("sonnet", (4, 5)))
        );
        assert_eq!(generation("claude-opus-4-20250514"), Some(("opus", (4, 0))));
        assert_eq!(
            generation("claude-3-7-sonnet-latest"),
            Some(("sonnet", (3, 7)))
        );
        assert_eq!(
            generation("claude-3-5-haiku-20241022"),
            Some(("haiku", (3, 5)))
        );
        assert_eq!(generation("claude-3-opus-20240229"), Some(("opus", (3, 0))));
        assert_eq!(
            generation("us.anthropic.claude-opus-4-1-20250805-v1:0"),
            Some(("opus", (4, 1)))
        );
        assert_eq!(
            generation("anthropic/claude-haiku-4-5"),
            Some(("haiku", (4, 5)))
        );
        assert_eq!(generation("gpt-5.5"), None);
        assert_eq!(generation("claude-instant"), None);
    }

    #[test]
    fn thinking_form_and_output_cap_per_model() {
        let m = model("claude-opus-4-8");
        assert_eq!((m.max_tokens, m.thinking), (64_000, ThinkingForm::Adaptive));
        assert_eq!(model("claude-sonnet-5").thinking, ThinkingForm::Adaptive);
        assert_eq!(model("claude-opus-4-6").thinking, ThinkingForm::Adaptive);
        assert_eq!(model("claude-haiku-4-5").thinking, ThinkingForm::Budget);
        assert_eq!(
            model("claude-sonnet-4-5-20250929").thinking,
            ThinkingForm::Budget
        );
        assert_eq!(model("claude-opus-4-1").max_tokens, 32_000);
        assert_eq!(model("claude-opus-4-5").max_tokens, 64_000);
        assert_eq!(
            model("claude-3-7-sonnet-latest").thinking,
            ThinkingForm::Budget
        );
        let old = model("claude-3-5-haiku-latest");
        assert_eq!((old.max_tokens, old.thinking), (8_192, ThinkingForm::None));
        assert_eq!(model("claude-3-opus-20240229").max_tokens, 4_096);
        // A gateway's own name: a current model.
        assert_eq!(model("my-gateway-model").thinking, ThinkingForm::Budget);
        assert_eq!(model("claude-opus-4-8").context_window, 200_000);
    }

    #[test]
    fn a_models_page() {
        let p = parse_page(
            br#"{"data":[{"type":"model","id":"claude-opus-4-8","display_name":"Claude Opus 4.8","created_at":"2026-10-01T00:00:00Z"}],"has_more":true,"first_id":"claude-opus-4-8","last_id":"claude-opus-4-8"}"#,
        )
        .unwrap();
        assert!(p.has_more);
        assert_eq!(p.last_id.as_deref(), Some("claude-opus-4-8"));
        assert_eq!(p.data[0].display_name.as_deref(), Some("Claude Opus 4.8"));
        assert!(parse_page(b"<html>").is_err());
    }
}
