//! What the configuration editor shows, without a terminal: the sections every key belongs to,
//! which rows apply to the selected `PROVIDER` (and Codex token source), each row's value and
//! where it comes from, how a value is edited, and whether a tier may hold it
//! (docs/configuration.md, "The interactive editor").

use std::path::{Path, PathBuf};

use sx_config::{
    Config, ConfigError, KeyKind, KeySpec, Source, check_value, is_secret, key_spec, parse_bool,
    trust_sensitive,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    Provider,
    Model,
    Tools,
    Sessions,
    Network,
    /// Keys sx does not know that some tier sets (kept and passed through).
    Other,
}

impl Section {
    pub const ALL: [Section; 6] = [
        Section::Provider,
        Section::Model,
        Section::Tools,
        Section::Sessions,
        Section::Network,
        Section::Other,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Section::Provider => "Provider & authentication",
            Section::Model => "Model & thinking",
            Section::Tools => "Tools",
            Section::Sessions => "Sessions",
            Section::Network => "Network",
            Section::Other => "Other keys",
        }
    }
}

/// Every known key by section, in the order the editor lists them. A key added to
/// `sx_config::KEYS` must be placed here (a test checks none is left out or listed twice).
pub const LAYOUT: &[(Section, &[&str])] = &[
    (
        Section::Provider,
        &[
            "PROVIDER",
            "ACTIVE_PROFILE",
            "CODEX_TOKEN_SOURCE",
            "CODEX_CREDENTIALS_FILE",
            "CODEX_REMOTE_URL",
            "TOKEN_HTTP_API_KEY",
            "CODEX_SSH_HOST",
            "CODEX_SSH_USER",
            "CODEX_SSH_PASS",
            "CODEX_SSH_PORT",
            "CODEX_SSH_KNOWN_HOSTS",
            "CODEX_SSH_ACCEPT_NEW",
            "CODEX_API_KEY",
            "CLAUDE_CODE_BIN",
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_AUTH_TOKEN",
            "GEMINI_API_KEY",
            "OPENAI_API_KEY",
            "ROUTER_ROUTES",
            "ROUTER_LONG_CONTEXT",
            "TOKEN_SERVER_KEYS",
            "TOKEN_SERVER_STORE",
            "TOKEN_SERVER_LEASE_MS",
        ],
    ),
    (
        Section::Model,
        &[
            "MODEL",
            "REASONING_EFFORT",
            "THINKING",
            "THINKING_BUDGET",
            "STREAMING",
            "GEMINI_CACHE",
        ],
    ),
    (
        Section::Tools,
        &[
            "TOOLS",
            "APPROVAL",
            "SANDBOX",
            "SANDBOX_NETWORK",
            "MAX_TURNS",
            "TRUSTED_PROJECTS",
        ],
    ),
    (
        Section::Sessions,
        &["AUTO_COMPACT_TOKENS", "TRAFFIC_LOG", "SESSIONS_KEEP_DAYS"],
    ),
    (
        Section::Network,
        &[
            "CODEX_BASE_URL",
            "CODEX_AUTH_URL",
            "CODEX_ORIGINATOR",
            "CODEX_CLIENT_VERSION",
            "ANTHROPIC_BASE_URL",
            "GEMINI_BASE_URL",
            "OPENAI_BASE_URL",
            "ROUTER_URL",
            "REQUEST_MAX_RETRIES",
            "STREAM_MAX_RETRIES",
            "STREAM_IDLE_TIMEOUT_MS",
            "STREAM_MAX_BYTES",
            "RETRY_BASE_DELAY_MS",
        ],
    ),
];

/// The section of a key sx knows; `None` for any other key (listed under [`Section::Other`]).
pub fn section_of(key: &str) -> Option<Section> {
    LAYOUT
        .iter()
        .find(|(_, keys)| keys.contains(&key))
        .map(|(s, _)| *s)
}

/// Whether `key` matters with this `PROVIDER` (and, for Codex, this `CODEX_TOKEN_SOURCE`):
/// a provider's own keys (`CODEX_*`, `CLAUDE_CODE_BIN`, `ANTHROPIC_*`, `GEMINI_*`, `OPENAI_*`,
/// `ROUTER_*` for `scorpiox`) only with that provider, a token source's keys only with that
/// source, `THINKING_BUDGET` with the budget providers and `REASONING_EFFORT` with the effort
/// providers (docs/spec.md §3); every other key always.
pub fn applies(key: &str, provider: &str, token_source: &str) -> bool {
    let codex_source = |sources: &[&str]| provider == "codex" && sources.contains(&token_source);
    match key {
        "CODEX_CREDENTIALS_FILE" => codex_source(&["local"]),
        "CODEX_REMOTE_URL" | "TOKEN_HTTP_API_KEY" => codex_source(&["remote", "http"]),
        k if k.starts_with("CODEX_SSH_") => codex_source(&["ssh"]),
        k if k.starts_with("CODEX_") => provider == "codex",
        "CLAUDE_CODE_BIN" => provider == "claude_code",
        k if k.starts_with("ANTHROPIC_") => provider == "anthropic",
        k if k.starts_with("GEMINI_") => provider == "gemini",
        k if k.starts_with("OPENAI_") => provider == "openai",
        k if k.starts_with("ROUTER_") => provider == "scorpiox",
        "THINKING_BUDGET" => matches!(provider, "anthropic" | "gemini" | "scorpiox"),
        "REASONING_EFFORT" => matches!(provider, "codex" | "openai"),
        _ => true,
    }
}

/// One key as the editor lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub key: String,
    pub section: Section,
    pub spec: Option<&'static KeySpec>,
    /// The resolved value and where it comes from; `None` when no tier sets it.
    pub value: Option<(String, Source)>,
    /// A line for this key that the load ignored (an untrusted project), its message.
    pub ignored: Option<String>,
}

impl Row {
    pub fn secret(&self) -> bool {
        is_secret(&self.key)
    }

    /// The value as it may be shown: secrets masked, empty and unset values said so, paths
    /// in the home directory written `~/…`.
    pub fn shown(&self, home: Option<&Path>) -> String {
        match &self.value {
            None => "(unset)".into(),
            Some((v, _)) if v.is_empty() => "(empty)".into(),
            Some((v, _)) if self.spec.is_some_and(|s| s.kind == KeyKind::Path) => {
                short_path(Path::new(v), home)
            }
            Some((v, _)) => sx_config::display_value(&self.key, v),
        }
    }

    pub fn edit(&self) -> EditKind {
        match self.spec.map(|s| s.kind) {
            Some(KeyKind::Bool) => EditKind::Toggle,
            Some(KeyKind::Enum(values)) => EditKind::Choice(values),
            Some(
                KeyKind::String | KeyKind::U64 | KeyKind::Count | KeyKind::Path | KeyKind::Url,
            )
            | None => EditKind::Text,
        }
    }
}

/// How Enter edits a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditKind {
    /// A bool: Enter flips it and saves.
    Toggle,
    /// An enum: pick one of the values.
    Choice(&'static [&'static str]),
    /// Typed in place (secrets masked and never pre-filled).
    Text,
}

/// The rows for `cfg`: the keys that apply to its `PROVIDER` (every known key when `all`), in
/// [`LAYOUT`] order; then the keys sx does not know that some tier sets, sorted.
pub fn rows(cfg: &Config, all: bool) -> Vec<Row> {
    let provider = cfg.get("PROVIDER").unwrap_or("scorpiox");
    let source = cfg.get("CODEX_TOKEN_SOURCE").unwrap_or("local");
    let row = |key: &str, section: Section| Row {
        key: key.to_string(),
        section,
        spec: key_spec(key),
        value: cfg.entry(key).map(|e| (e.value.clone(), e.source.clone())),
        ignored: cfg
            .warnings()
            .iter()
            .rev()
            .find(|w| w.key == key)
            .map(|w| w.message.clone()),
    };
    let mut out: Vec<Row> = Vec::new();
    for (section, keys) in LAYOUT {
        for key in keys.iter().filter(|k| all || applies(k, provider, source)) {
            out.push(row(key, *section));
        }
    }
    for (key, _) in cfg.entries() {
        if section_of(key).is_none() {
            out.push(row(key, Section::Other));
        }
    }
    out
}

/// The value after `current` (or before it, `back`) among an enum's values, wrapping.
pub fn cycle<'a>(values: &[&'a str], current: &str, back: bool) -> &'a str {
    let n = values.len();
    let at = values.iter().position(|v| *v == current);
    let next = match (at, back) {
        (None, _) => 0,
        (Some(i), false) => (i + 1) % n,
        (Some(i), true) => (i + n - 1) % n,
    };
    values[next]
}

/// A bool flipped, written the canonical way.
pub fn toggled(current: Option<&str>) -> &'static str {
    if current.and_then(parse_bool).unwrap_or(false) {
        "0"
    } else {
        "1"
    }
}

/// What a kind accepts, in words.
pub fn describe_kind(kind: KeyKind) -> String {
    match kind {
        KeyKind::String => "text".into(),
        KeyKind::Bool => "on/off".into(),
        KeyKind::U64 => "a whole number".into(),
        KeyKind::Count => "a whole number, 1 or more".into(),
        KeyKind::Enum(v) => {
            let v: Vec<&str> = v
                .iter()
                .map(|s| if s.is_empty() { "\"\"" } else { s })
                .collect();
            format!("one of {}", v.join(", "))
        }
        KeyKind::Path => "a path (~ is your home)".into(),
        KeyKind::Url => "an http(s) URL, or empty".into(),
    }
}

/// Check a value the way the configuration will (`sx_config::check_value`); the refusal says
/// what is allowed, never repeating a secret.
pub fn validate(key: &str, value: &str) -> Result<(), String> {
    match check_value(key, value) {
        Ok(()) => Ok(()),
        Err(ConfigError::InvalidValue { allowed, .. }) => {
            let shown = if is_secret(key) {
                "this value".to_string()
            } else {
                format!("{value:?}")
            };
            Err(format!("{key}: {shown} is not valid; allowed: {allowed}"))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The tier the editor writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `<project root>/scorpiox-env.txt` (the default).
    Project,
    /// `~/.scorpiox/scorpiox-env.txt`.
    User,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Project => "project",
            Target::User => "user",
        }
    }

    pub fn other(self) -> Target {
        match self {
            Target::Project => Target::User,
            Target::User => Target::Project,
        }
    }

    /// The file this tier's edits go to; `None` for the user tier without a home directory.
    pub fn file(self, cfg: &Config) -> Option<PathBuf> {
        match self {
            Target::Project => Some(sx_config::project_file(cfg.project_root())),
            Target::User => cfg.home().map(sx_config::user_file),
        }
    }
}

/// Why a tier may not hold a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `TRUSTED_PROJECTS`: a project can never trust itself.
    NeverInProject,
    /// A trust-sensitive key and a project that is not trusted: the line would be ignored.
    Untrusted,
    /// The user tier without a home directory.
    NoHome,
}

/// Whether `target` may hold `key` (docs/configuration.md, "Trust").
pub fn may_save(key: &str, target: Target, cfg: &Config) -> Result<(), Refusal> {
    match target {
        Target::User if cfg.home().is_none() => Err(Refusal::NoHome),
        Target::User => Ok(()),
        Target::Project if key == "TRUSTED_PROJECTS" => Err(Refusal::NeverInProject),
        Target::Project if trust_sensitive(key) && !cfg.project_trusted() => {
            Err(Refusal::Untrusted)
        }
        Target::Project => Ok(()),
    }
}

/// `path` with the home directory written `~`, for short display.
pub fn short_path(path: &Path, home: Option<&Path>) -> String {
    match home
        .filter(|h| h.parent().is_some())
        .and_then(|h| path.strip_prefix(h).ok())
    {
        Some(rest) => format!("~/{}", rest.display()),
        None => path.display().to_string(),
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
