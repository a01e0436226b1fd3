//! Model aliases and the built-in model lists, in one table per provider (docs/spec.md §3). Model ids
//! move fast: this is the only place to edit when they do (Codex's per-model wire facts are in
//! `providers/codex/catalog.rs`).

use crate::ProviderId;

/// `opus`/`sonnet`/`haiku` → the provider's model id; anything else passes through.
pub fn resolve_alias(provider: ProviderId, model: &str) -> &str {
    let table: &[(&str, &str)] = match provider {
        ProviderId::Codex => &[
            ("opus", "gpt-5.5"),
            ("sonnet", "gpt-5.4"),
            ("haiku", "gpt-5.4-mini"),
        ],
        ProviderId::ClaudeCode | ProviderId::Anthropic | ProviderId::Scorpiox => &[
            ("opus", "claude-opus-4-8"),
            ("sonnet", "claude-sonnet-5"),
            ("haiku", "claude-haiku-4-5"),
        ],
        ProviderId::Gemini => &[
            ("opus", "gemini-3.1-pro-preview"),
            ("sonnet", "gemini-3.8-flash"),
            ("haiku", "gemini-3.5-flash-lite"),
        ],
        ProviderId::Openai => &[],
    };
    table
        .iter()
        .find(|(alias, _)| *alias == model)
        .map(|(_, id)| *id)
        .unwrap_or(model)
}

/// Models sx knows for a provider (for `--list-models` when no live catalog is available).
pub fn known_models(provider: ProviderId) -> &'static [&'static str] {
    match provider {
        ProviderId::Codex => &[
            "gpt-5.5",
            "gpt-5.4",
            "gpt-5.4-mini",
            "gpt-5.3-codex",
            "gpt-5.2",
            "gpt-6.1-sol",
        ],
        ProviderId::ClaudeCode | ProviderId::Anthropic | ProviderId::Scorpiox => {
            &["claude-opus-4-8", "claude-sonnet-5", "claude-haiku-4-5"]
        }
        ProviderId::Gemini => &[
            "gemini-3.1-pro-preview",
            "gemini-3.8-flash",
            "gemini-3.5-flash-lite",
            "gemini-2.5-pro",
            "gemini-2.5-flash",
            "gemini-2.5-flash-lite",
        ],
        ProviderId::Openai => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_per_provider() {
        let codex = ProviderId::Codex;
        assert_eq!(resolve_alias(codex, "opus"), "gpt-5.5");
        assert_eq!(resolve_alias(codex, "sonnet"), "gpt-5.4");
        assert_eq!(resolve_alias(codex, "haiku"), "gpt-5.4-mini");
        assert_eq!(resolve_alias(codex, "gpt-5.3-codex"), "gpt-5.3-codex");
        assert_eq!(
            resolve_alias(ProviderId::Anthropic, "sonnet"),
            "claude-sonnet-5"
        );
        assert_eq!(
            resolve_alias(ProviderId::Gemini, "haiku"),
            "gemini-3.5-flash-lite"
        );
        assert_eq!(resolve_alias(ProviderId::Openai, "sonnet"), "sonnet");
    }
}
