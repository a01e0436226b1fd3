//! Model aliases and per-model defaults, in one table (SPEC §3). Model ids move fast: this is
//! the only place to edit when they do.

use crate::model::Effort;

/// `opus`/`sonnet`/`haiku` → the provider's model id; anything else passes through.
pub fn resolve_alias<'a>(provider: &str, model: &'a str) -> &'a str {
    let table: &[(&str, &str)] = match provider {
        "codex" => &[
            ("opus", "gpt-5.5"),
            ("sonnet", "gpt-5.4"),
            ("haiku", "gpt-5.4-mini"),
        ],
        "claude_code" | "anthropic" | "scorpiox" => &[
            ("opus", "claude-opus-4-8"),
            ("sonnet", "claude-sonnet-5"),
            ("haiku", "claude-haiku-4-5"),
        ],
        "gemini" => &[
            ("opus", "gemini-3.1-pro-preview"),
            ("sonnet", "gemini-3.8-flash"),
            ("haiku", "gemini-3.5-flash-lite"),
        ],
        _ => &[],
    };
    table
        .iter()
        .find(|(alias, _)| *alias == model)
        .map(|(_, id)| *id)
        .unwrap_or(model)
}

/// What the Responses wire needs to know about a Codex model (codex.md §E.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodexModel {
    pub default_effort: Option<Effort>,
    pub verbosity: Option<&'static str>,
    pub parallel_tool_calls: bool,
    pub reasoning: bool,
    pub context_window: u64,
}

pub fn codex_model(id: &str) -> CodexModel {
    let known = |effort, verbosity, window| CodexModel {
        default_effort: Some(effort),
        verbosity: Some(verbosity),
        parallel_tool_calls: true,
        reasoning: true,
        context_window: window,
    };
    match id {
        "gpt-5.5" => known(Effort::Medium, "low", 272_000),
        "gpt-5.4" => known(Effort::Xhigh, "low", 1_000_000),
        "gpt-5.4-mini" => known(Effort::Medium, "medium", 272_000),
        "gpt-5.3-codex" => known(Effort::Medium, "low", 272_000),
        "gpt-5.2" => known(Effort::Medium, "low", 272_000),
        // Unknown ids: the official client's fallback — no verbosity, no parallel calls; we
        // still request reasoning for gpt-5-family and *codex* ids, which all support it.
        other => CodexModel {
            default_effort: if other.starts_with("gpt-5") || other.contains("codex") {
                Some(Effort::Medium)
            } else {
                None
            },
            verbosity: None,
            parallel_tool_calls: false,
            reasoning: other.starts_with("gpt-5")
                || other.contains("codex")
                || other.starts_with('o'),
            context_window: 272_000,
        },
    }
}

/// Models sx knows for a provider (for `--list-models` when no live catalog is available).
pub fn known_models(provider: &str) -> &'static [&'static str] {
    match provider {
        "codex" => &[
            "gpt-5.5",
            "gpt-5.4",
            "gpt-5.4-mini",
            "gpt-5.3-codex",
            "gpt-5.2",
        ],
        "claude_code" | "anthropic" | "scorpiox" => {
            &["claude-opus-4-8", "claude-sonnet-5", "claude-haiku-4-5"]
        }
        "gemini" => &[
            "gemini-3.1-pro-preview",
            "gemini-3.8-flash",
            "gemini-3.5-flash-lite",
        ],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_per_provider() {
        assert_eq!(resolve_alias("codex", "opus"), "gpt-5.5");
        assert_eq!(resolve_alias("codex", "sonnet"), "gpt-5.4");
        assert_eq!(resolve_alias("codex", "haiku"), "gpt-5.4-mini");
        assert_eq!(resolve_alias("codex", "gpt-5.3-codex"), "gpt-5.3-codex");
        assert_eq!(resolve_alias("anthropic", "sonnet"), "claude-sonnet-5");
        assert_eq!(resolve_alias("gemini", "haiku"), "gemini-3.5-flash-lite");
        assert_eq!(resolve_alias("openai", "sonnet"), "sonnet");
    }

    #[test]
    fn codex_defaults() {
        assert_eq!(codex_model("gpt-5.4").default_effort, Some(Effort::Xhigh));
        assert!(!codex_model("my-finetune").parallel_tool_calls);
    }
}
