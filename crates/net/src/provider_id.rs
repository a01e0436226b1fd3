//! The providers `PROVIDER` can name, as one typed id. The names themselves are defined once,
//! in the configuration's key table (`sx_config::PROVIDERS`, which validates the key);
//! a test keeps this enum and that list in step.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderId {
    Codex,
    ClaudeCode,
    Anthropic,
    Gemini,
    Openai,
    Scorpiox,
}

impl ProviderId {
    /// Every provider, in the order of docs/configuration.md.
    pub const ALL: [ProviderId; 6] = [
        ProviderId::Codex,
        ProviderId::ClaudeCode,
        ProviderId::Anthropic,
        ProviderId::Gemini,
        ProviderId::Openai,
        ProviderId::Scorpiox,
    ];

    /// The `PROVIDER` value.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderId::Codex => "codex",
            ProviderId::ClaudeCode => "claude_code",
            ProviderId::Anthropic => "anthropic",
            ProviderId::Gemini => "gemini",
            ProviderId::Openai => "openai",
            ProviderId::Scorpiox => "scorpiox",
        }
    }

    pub fn parse(name: &str) -> Option<ProviderId> {
        ProviderId::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// How messages name the back-end.
    pub fn display_name(self) -> &'static str {
        match self {
            ProviderId::Codex => "Codex",
            ProviderId::ClaudeCode => "Claude Code",
            ProviderId::Anthropic => "Anthropic",
            ProviderId::Gemini => "Gemini",
            ProviderId::Openai => "the OpenAI-compatible server",
            ProviderId::Scorpiox => "the scorpiox router",
        }
    }

    /// The key that says where the provider's requests go (for "check …" advice).
    pub fn base_url_key(self) -> &'static str {
        match self {
            ProviderId::Codex => "CODEX_BASE_URL",
            ProviderId::ClaudeCode => "CLAUDE_CODE_BIN",
            ProviderId::Anthropic => "ANTHROPIC_BASE_URL",
            ProviderId::Gemini => "GEMINI_BASE_URL",
            ProviderId::Openai => "OPENAI_BASE_URL",
            ProviderId::Scorpiox => "ROUTER_URL",
        }
    }
}

impl std::fmt::Display for ProviderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_configuration_key_table() {
        let ours: Vec<&str> = ProviderId::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(ours, sx_config::PROVIDERS);
        for p in ProviderId::ALL {
            assert_eq!(ProviderId::parse(p.as_str()), Some(p));
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{p}\""));
        }
        assert_eq!(ProviderId::parse("claude"), None);
    }
}
