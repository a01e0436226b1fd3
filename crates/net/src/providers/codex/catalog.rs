//! What the Responses wire needs to know about a Codex model (docs/providers.md, "Codex
//! models"): the built-in table, the live catalog `GET {base}/models?client_version=…` and the
//! official client's fallback for unknown ids.

use std::collections::HashMap;

use serde_json::Value;

use crate::error::ProviderError;
use crate::model::Effort;
use crate::providers::ModelInfo;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodexModel {
    pub default_effort: Option<Effort>,
    pub verbosity: Option<&'static str>,
    pub parallel_tool_calls: bool,
    pub reasoning: bool,
    pub context_window: u64,
    /// The "responses lite" request shape (tools in an `additional_tools` input item,
    /// `reasoning.context`, the lite header), which the code-mode models require.
    pub responses_lite: bool,
}

/// The models sx knows without asking (docs/protocols/codex.md §E.1 and the 0.169 captures).
pub fn builtin(id: &str) -> Option<CodexModel> {
    let known = |effort, verbosity, window| CodexModel {
        default_effort: Some(effort),
        verbosity: Some(verbosity),
        parallel_tool_calls: true,
        reasoning: true,
        context_window: window,
        responses_lite: false,
    };
    Some(match id {
        "gpt-6.1-sol" => CodexModel {
            parallel_tool_calls: false,
            responses_lite: true,
            ..known(Effort::Low, "low", 272_000)
        },
        "gpt-5.5" => known(Effort::Medium, "low", 272_000),
        "gpt-5.4" => known(Effort::Xhigh, "low", 1_000_000),
        "gpt-5.4-mini" => known(Effort::Medium, "medium", 272_000),
        "gpt-5.3-codex" => known(Effort::Medium, "low", 272_000),
        "gpt-5.2" => known(Effort::Medium, "low", 272_000),
        _ => return None,
    })
}

/// Unknown ids: the official client's fallback — no verbosity, no parallel calls; we still
/// request reasoning for gpt-5-family and *codex* ids, which all support it.
pub fn fallback(id: &str) -> CodexModel {
    let gpt5 = id.starts_with("gpt-5") || id.starts_with("gpt-6") || id.contains("codex");
    CodexModel {
        default_effort: gpt5.then_some(Effort::Medium),
        verbosity: None,
        parallel_tool_calls: false,
        reasoning: gpt5 || id.starts_with('o'),
        context_window: 272_000,
        responses_lite: false,
    }
}

/// A catalog entry (docs/protocols/codex.md §E.2), with the fallback for what it leaves out.
fn from_entry(m: &Value, slug: &str) -> CodexModel {
    let base = builtin(slug).unwrap_or_else(|| fallback(slug));
    let flag = |k: &str| m[k].as_bool();
    let reasoning = flag("supports_reasoning_summaries").unwrap_or(base.reasoning);
    CodexModel {
        default_effort: m["default_reasoning_level"]
            .as_str()
            .and_then(Effort::parse)
            .or(base.default_effort),
        verbosity: match (flag("support_verbosity"), m["default_verbosity"].as_str()) {
            (Some(false), _) => None,
            (_, Some("low")) => Some("low"),
            (_, Some("medium")) => Some("medium"),
            (_, Some("high")) => Some("high"),
            _ => base.verbosity,
        },
        parallel_tool_calls: flag("supports_parallel_tool_calls")
            .unwrap_or(base.parallel_tool_calls),
        reasoning,
        context_window: m["context_window"]
            .as_u64()
            .filter(|w| *w > 0)
            .unwrap_or(base.context_window),
        responses_lite: flag("use_responses_lite").unwrap_or(base.responses_lite),
    }
}

/// A parsed catalog: what `--list-models` shows, and the facts of every model it names.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Listed models (visibility `list`, or absent), by priority.
    pub listed: Vec<ModelInfo>,
    pub models: HashMap<String, CodexModel>,
}

/// The catalog's `{"models":[{slug, display_name, visibility, priority, …}]}`.
pub fn parse_catalog(body: &[u8]) -> Result<Catalog, ProviderError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| ProviderError::Protocol {
        detail: format!("model catalog is not JSON: {e}"),
    })?;
    let Some(models) = v["models"].as_array() else {
        return Err(ProviderError::Protocol {
            detail: "model catalog has no \"models\" list".into(),
        });
    };
    let mut catalog = Catalog::default();
    let mut listed: Vec<(i64, ModelInfo)> = Vec::new();
    for m in models {
        let Some(slug) = m["slug"].as_str() else {
            continue;
        };
        catalog.models.insert(slug.to_string(), from_entry(m, slug));
        if matches!(m["visibility"].as_str(), None | Some("list")) {
            listed.push((
                m["priority"].as_i64().unwrap_or(i64::MAX),
                ModelInfo {
                    id: slug.to_string(),
                    display_name: m["display_name"].as_str().map(str::to_owned),
                },
            ));
        }
    }
    listed.sort_by_key(|(p, _)| *p);
    catalog.listed = listed.into_iter().map(|(_, m)| m).collect();
    Ok(catalog)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtin_and_fallback() {
        assert_eq!(
            builtin("gpt-5.4").unwrap().default_effort,
            Some(Effort::Xhigh)
        );
        assert!(builtin("gpt-6.1-sol").unwrap().responses_lite);
        assert!(!builtin("gpt-5.5").unwrap().responses_lite);
        assert!(builtin("my-finetune").is_none());
        assert!(!fallback("my-finetune").parallel_tool_calls);
        assert!(!fallback("my-finetune").reasoning);
        assert!(fallback("gpt-5.9").reasoning);
    }

    #[test]
    fn the_catalog_says_which_shape_a_model_gets() {
        let body = json!({"models":[
            {"slug":"gpt-7-sol","priority":1,"use_responses_lite":true,"supports_parallel_tool_calls":false,
             "default_reasoning_level":"high","default_verbosity":"medium","context_window":400000},
            {"slug":"gpt-5.5","priority":0,"use_responses_lite":false},
            {"slug":"codex-auto-review","priority":29,"visibility":"hide"}
        ]});
        let c = parse_catalog(body.to_string().as_bytes()).unwrap();
        let ids: Vec<&str> = c.listed.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["gpt-5.5", "gpt-7-sol"]);
        let sol = c.models["gpt-7-sol"];
        assert!(sol.responses_lite);
        assert!(!sol.parallel_tool_calls);
        assert_eq!(sol.default_effort, Some(Effort::High));
        assert_eq!(sol.verbosity, Some("medium"));
        assert_eq!(sol.context_window, 400_000);
        // What the catalog leaves out comes from the built-in table.
        assert_eq!(c.models["gpt-5.5"], builtin("gpt-5.5").unwrap());
        assert!(c.models.contains_key("codex-auto-review"));
    }
}
