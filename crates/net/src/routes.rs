//! `ROUTER_ROUTES`: which upstream provider (and model) answers a request (docs/router.md).
//!
//! The value is a comma-separated list of `MATCH=TARGET` rules, tried in order; the first that
//! applies wins. `MATCH` is a model glob (`*` any run of characters, `?` one; ASCII case
//! ignored) or a scenario, a trait of the request: `background` (a haiku-class model was
//! asked for), `think` (thinking was requested) or `long_context` (the estimated input is
//! above `ROUTER_LONG_CONTEXT` tokens). `TARGET` is `PROVIDER` or `PROVIDER:MODEL`; without a
//! model the requested one goes on, with `opus`/`sonnet`/`haiku` (and Claude ids of those
//! families) mapped through the provider's aliases. Before any rule, a request whose `model`
//! is `PROVIDER,MODEL` goes straight to that provider.

use crate::ProviderId;
use crate::model::{Block, Message, ToolSpec};
use crate::models::resolve_alias;

/// What one image counts as in the input estimate (a ~1 megapixel image on Claude).
pub const IMAGE_TOKENS: u64 = 1_600;

/// Input tokens of a request, roughly (for `long_context`): characters / 4, an image at
/// [`IMAGE_TOKENS`]; thinking state the model does not read as text is not counted.
pub fn estimate_input_tokens(system: &str, messages: &[Message], tools: &[ToolSpec]) -> u64 {
    let mut chars = system.len() as u64;
    let mut images = 0u64;
    for m in messages {
        for b in &m.content {
            match b {
                Block::Text { text, .. } => chars += text.len() as u64,
                Block::Image(_) => images += 1,
                Block::Thinking(t) => chars += t.text.len() as u64,
                Block::ToolCall(c) => chars += (c.name.len() + c.arguments.len()) as u64,
                Block::ToolResult(r) => {
                    chars += r.output.len() as u64;
                    images += r.images.len() as u64;
                }
            }
        }
    }
    for t in tools {
        chars += (t.name.len() + t.description.len() + t.parameters.to_string().len()) as u64;
    }
    chars.div_ceil(4) + images * IMAGE_TOKENS
}

/// The config key of the rules.
pub const KEY: &str = "ROUTER_ROUTES";
/// The config key of the `long_context` threshold.
pub const LONG_CONTEXT_KEY: &str = "ROUTER_LONG_CONTEXT";
/// Its default, in estimated input tokens.
pub const DEFAULT_LONG_CONTEXT: u64 = 60_000;

/// The providers the router can send requests to: the HTTP wires of the library. (`claude_code`
/// runs its own tools and keeps its own history, and `scorpiox` would be the router itself.)
pub const UPSTREAMS: [ProviderId; 4] = [
    ProviderId::Codex,
    ProviderId::Anthropic,
    ProviderId::Gemini,
    ProviderId::Openai,
];

const EXAMPLE: &str = "e.g. ROUTER_ROUTES=background=gemini:gemini-3.5-flash-lite,\
     gpt-*=codex,gemini-*=gemini,*=anthropic";

/// What a rule looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// The requested model, by glob.
    Model(String),
    /// A haiku-class model was requested.
    Background,
    /// Thinking was requested.
    Think,
    /// The estimated input is above the threshold.
    LongContext,
}

/// Where a rule sends a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub provider: ProviderId,
    /// `None`: the requested model (aliases mapped).
    pub model: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub matcher: Match,
    pub target: Target,
    /// The rule as written, for logs and `/v1/models`.
    pub text: String,
}

/// The parsed table.
#[derive(Debug, Clone)]
pub struct Routes {
    pub rules: Vec<Rule>,
    pub long_context: u64,
}

/// What routing looks at in a request.
#[derive(Debug, Clone, Copy)]
pub struct Traits<'a> {
    pub model: &'a str,
    pub thinking: bool,
    pub input_tokens: u64,
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub provider: ProviderId,
    pub model: String,
    /// Which rule decided (`explicit` for `PROVIDER,MODEL`), for the access log.
    pub why: String,
}

/// Why a request could not be routed (answered 404 `not_found_error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoRoute(pub String);

impl Routes {
    /// Parse `ROUTER_ROUTES` (required) with the `long_context` threshold. Errors are one line
    /// naming the rule by position.
    pub fn parse(value: Option<&str>, long_context: u64) -> Result<Routes, String> {
        let value = value.map(str::trim).unwrap_or_default();
        if value.is_empty() {
            return Err(format!(
                "{KEY} is not set; the router needs rules saying which provider answers which \
                 model, {EXAMPLE} (docs/router.md)"
            ));
        }
        let mut rules = Vec::new();
        for (i, item) in value.split(',').enumerate() {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let bad = |why: String| format!("{KEY} rule {} ('{item}'): {why}; {EXAMPLE}", i + 1);
            let Some((lhs, rhs)) = item.split_once('=') else {
                return Err(bad("expected MATCH=PROVIDER[:MODEL]".into()));
            };
            let (lhs, rhs) = (lhs.trim(), rhs.trim());
            let matcher = match lhs {
                "" => return Err(bad("the match is empty".into())),
                "background" => Match::Background,
                "think" => Match::Think,
                "long_context" => Match::LongContext,
                glob => Match::Model(glob.to_string()),
            };
            let (provider, model) = match rhs.split_once(':') {
                Some((p, m)) => (p.trim(), Some(m.trim())),
                None => (rhs, None),
            };
            let provider = upstream(provider).map_err(bad)?;
            if model.is_some_and(str::is_empty) {
                return Err(bad("the model after ':' is empty".into()));
            }
            rules.push(Rule {
                matcher,
                target: Target {
                    provider,
                    model: model.map(str::to_string),
                },
                text: item.to_string(),
            });
        }
        if rules.is_empty() {
            return Err(format!("{KEY} has no rules; {EXAMPLE}"));
        }
        Ok(Routes {
            rules,
            long_context,
        })
    }

    /// The providers the rules name, each once, in order of first mention.
    pub fn providers(&self) -> Vec<ProviderId> {
        let mut out: Vec<ProviderId> = Vec::new();
        for r in &self.rules {
            if !out.contains(&r.target.provider) {
                out.push(r.target.provider);
            }
        }
        out
    }

    /// Where a request with these traits goes.
    pub fn route(&self, t: &Traits<'_>) -> Result<Route, NoRoute> {
        if let Some((provider, model)) = t.model.split_once(',') {
            let provider = upstream(provider.trim())
                .map_err(|why| NoRoute(format!("model '{}': {why}", t.model)))?;
            let model = model.trim();
            if model.is_empty() {
                return Err(NoRoute(format!(
                    "model '{}' names no model after the comma; use PROVIDER,MODEL",
                    t.model
                )));
            }
            return Ok(Route {
                provider,
                model: resolve_alias(provider, model).to_string(),
                why: "explicit".into(),
            });
        }
        for r in &self.rules {
            let applies = match &r.matcher {
                Match::Model(glob) => glob_match(glob, t.model),
                Match::Background => is_background(t.model),
                Match::Think => t.thinking,
                Match::LongContext => t.input_tokens > self.long_context,
            };
            if applies {
                let model = match &r.target.model {
                    Some(m) => resolve_alias(r.target.provider, m).to_string(),
                    None => carry_model(r.target.provider, t.model),
                };
                return Ok(Route {
                    provider: r.target.provider,
                    model,
                    why: r.text.clone(),
                });
            }
        }
        Err(NoRoute(format!(
            "no {KEY} rule routes model '{}'; add one (e.g. *=anthropic) or ask for a model the \
             rules name (GET /v1/models lists them)",
            t.model
        )))
    }
}

/// A provider name the router can send to.
fn upstream(name: &str) -> Result<ProviderId, String> {
    match ProviderId::parse(name) {
        Some(p) if UPSTREAMS.contains(&p) => Ok(p),
        Some(p) => Err(format!(
            "the router cannot send requests to '{p}'; use one of codex, anthropic, gemini, openai"
        )),
        None => Err(format!(
            "unknown provider '{name}'; use one of codex, anthropic, gemini, openai"
        )),
    }
}

/// A request for a haiku-class model (Claude Code's background work: titles, summaries).
pub fn is_background(model: &str) -> bool {
    model.to_ascii_lowercase().contains("haiku")
}

/// The requested model for a rule without one: the family of a Claude id (or an alias) becomes
/// the provider's model for it; anything else passes through.
fn carry_model(provider: ProviderId, requested: &str) -> String {
    let lower = requested.to_ascii_lowercase();
    if provider != ProviderId::Anthropic && provider != ProviderId::Openai {
        for family in ["opus", "sonnet", "haiku"] {
            if lower == family || (lower.contains("claude") && lower.contains(family)) {
                return resolve_alias(provider, family).to_string();
            }
        }
    }
    resolve_alias(provider, requested).to_string()
}

/// `*` matches any run of characters, `?` one; ASCII case is ignored.
pub fn glob_match(glob: &str, text: &str) -> bool {
    let g: Vec<char> = glob.chars().map(|c| c.to_ascii_lowercase()).collect();
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    // Iterative wildcard match with one backtrack point (the last `*`).
    let (mut gi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if gi < g.len() && (g[gi] == '?' || g[gi] == t[ti]) {
            gi += 1;
            ti += 1;
        } else if gi < g.len() && g[gi] == '*' {
            star = Some((gi, ti));
            gi += 1;
        } else if let Some((sg, st)) = star {
            gi = sg + 1;
            ti = st + 1;
            star = Some((sg, st + 1));
        } else {
            return false;
        }
    }
    g[gi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
