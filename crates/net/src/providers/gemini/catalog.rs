//! What the wire needs to know about a Gemini model, from its id (docs/providers.md, "gemini";
//! docs/protocols/providers.md §3.5, §3.9): how thinking is configured, the context window, the
//! smallest prefix a `cachedContents` entry accepts — and the live catalog (`GET /v1beta/models`).

use serde::Deserialize;

use crate::error::ProviderError;
use crate::providers::ModelInfo;

/// How a model's thinking is configured (never both knobs: the API answers 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ThinkingStyle {
    /// No `thinkingConfig` (Gemini 2.0 and older, Gemma, unknown families).
    None,
    /// `thinkingBudget` in tokens (Gemini 2.5); `can_disable`: a budget of 0 turns thinking
    /// off (Flash, Flash-Lite — not Pro).
    Budget { can_disable: bool },
    /// `thinkingLevel` (Gemini 3 and later); `pro`: only `LOW` and `HIGH` are accepted.
    Level { pro: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct GeminiModel {
    pub thinking: ThinkingStyle,
    pub context_window: Option<u64>,
    /// The smallest `cachedContents` entry the model accepts, in tokens.
    pub cache_min_tokens: u64,
}

/// Every Gemini model since 1.5 reads 1,048,576 tokens.
const GEMINI_CONTEXT: u64 = 1_048_576;

/// The model id without the API's `models/` prefix.
pub(super) fn bare(model: &str) -> &str {
    model.strip_prefix("models/").unwrap_or(model)
}

/// The facts of `model`, derived from its id: `gemini-<major>.<minor>-<variant>…`.
pub(super) fn model(model: &str) -> GeminiModel {
    let id = bare(model);
    let Some(rest) = id.strip_prefix("gemini-") else {
        return GeminiModel {
            thinking: ThinkingStyle::None,
            context_window: None,
            cache_min_tokens: 4096,
        };
    };
    let version: f64 = rest
        .split('-')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let pro = rest.contains("-pro");
    let thinking = if version >= 3.0 {
        ThinkingStyle::Level { pro }
    } else if version >= 2.5 {
        ThinkingStyle::Budget { can_disable: !pro }
    } else {
        ThinkingStyle::None
    };
    // The documented minimums moved between doc snapshots (1024/2048 for 2.5 Flash, 4096 for
    // 2.5 Pro and 3.x; docs/protocols/providers.md §3.9): take the larger, so sx never asks
    // for an entry the API refuses as too small.
    let cache_min_tokens = if (2.5..3.0).contains(&version) && !pro {
        2048
    } else {
        4096
    };
    GeminiModel {
        thinking,
        context_window: Some(GEMINI_CONTEXT),
        cache_min_tokens,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModelList {
    #[serde(default)]
    models: Vec<ListedModel>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListedModel {
    name: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    supported_generation_methods: Vec<String>,
}

/// One page of `GET /v1beta/models`: the models that answer `generateContent` (embedding and
/// other models left out), and the next page's token.
pub(super) fn parse_page(body: &[u8]) -> Result<(Vec<ModelInfo>, Option<String>), ProviderError> {
    let list: ModelList = serde_json::from_slice(body).map_err(|e| ProviderError::Protocol {
        detail: format!("the Gemini model list is not what sx expects: {e}"),
    })?;
    let models = list
        .models
        .into_iter()
        .filter(|m| {
            m.supported_generation_methods
                .iter()
                .any(|g| g == "generateContent")
        })
        .map(|m| ModelInfo {
            id: bare(&m.name).to_string(),
            display_name: m.display_name,
        })
        .collect();
    Ok((models, list.next_page_token.filter(|t| !t.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinking_style_by_model_family() {
        let s = |m: &str| model(m).thinking;
        assert_eq!(s("gemini-3.8-flash"), ThinkingStyle::Level { pro: false });
        assert_eq!(
            s("gemini-3.1-pro-preview"),
            ThinkingStyle::Level { pro: true }
        );
        assert_eq!(
            s("models/gemini-3.5-flash-lite"),
            ThinkingStyle::Level { pro: false }
        );
        assert_eq!(
            s("gemini-2.5-pro"),
            ThinkingStyle::Budget { can_disable: false }
        );
        assert_eq!(
            s("gemini-2.5-flash"),
            ThinkingStyle::Budget { can_disable: true }
        );
        assert_eq!(s("gemini-2.0-flash"), ThinkingStyle::None);
        assert_eq!(s("gemma-3-27b-it"), ThinkingStyle::None);
        assert_eq!(s("gemini-exp-1206"), ThinkingStyle::None);
    }

    #[test]
    fn context_windows_and_cache_minimums() {
        assert_eq!(model("gemini-3.8-flash").context_window, Some(1_048_576));
        assert_eq!(model("gemma-3-27b-it").context_window, None);
        assert_eq!(model("gemini-2.5-flash").cache_min_tokens, 2048);
        assert_eq!(model("gemini-2.5-pro").cache_min_tokens, 4096);
        assert_eq!(model("gemini-3.8-flash").cache_min_tokens, 4096);
    }

    #[test]
    fn the_catalog_keeps_generate_content_models_only() {
        let body = br#"{"models":[
            {"name":"models/gemini-3.8-flash","displayName":"Gemini 3.8 Flash","supportedGenerationMethods":["generateContent","countTokens","createCachedContent"],"inputTokenLimit":1048576},
            {"name":"models/text-embedding-004","supportedGenerationMethods":["embedContent"]},
            {"name":"models/gemini-2.5-pro","supportedGenerationMethods":["generateContent"],"unknown":1}
        ],"nextPageToken":"p2"}"#;
        let (models, next) = parse_page(body).unwrap();
        let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["gemini-3.8-flash", "gemini-2.5-pro"]);
        assert_eq!(models[0].display_name.as_deref(), Some("Gemini 3.8 Flash"));
        assert_eq!(next.as_deref(), Some("p2"));
        let (_, next) = parse_page(br#"{"models":[],"nextPageToken":""}"#).unwrap();
        assert_eq!(next, None);
        assert!(parse_page(b"<html>").is_err());
    }
}
