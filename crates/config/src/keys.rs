//! The table of known keys: defaults, kinds, secrecy, help; plus the trust and value rules.

/// What kind of value a key holds; decides validation at load and at `scorpiox-config --set`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Free text.
    String,
    /// `0`/`1` (also `true/false/yes/no/on/off`, normalised to `0`/`1` at load).
    Bool,
    /// An unsigned whole number.
    U64,
    /// A whole number of at least 1 (a count where 0 would mean nothing useful).
    Count,
    /// One of the listed values (an empty string is allowed only when listed).
    Enum(&'static [&'static str]),
    /// A file path; a leading `~` is expanded by [`crate::Config::path`].
    Path,
    /// An `http://` or `https://` URL (empty allowed).
    Url,
}

/// One known configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    pub name: &'static str,
    /// Compiled default; `None` when the key has no default (or a dynamic one, see
    /// `CODEX_CREDENTIALS_FILE`, computed at load).
    pub default: Option<&'static str>,
    pub kind: KeyKind,
    /// Masked as `***` for display; files holding one are written with mode 0600.
    pub secret: bool,
    pub help: &'static str,
}

const fn k(
    name: &'static str,
    default: Option<&'static str>,
    kind: KeyKind,
    help: &'static str,
) -> KeySpec {
    KeySpec {
        name,
        default,
        kind,
        secret: false,
        help,
    }
}

const fn secret(name: &'static str, help: &'static str) -> KeySpec {
    KeySpec {
        name,
        default: None,
        kind: KeyKind::String,
        secret: true,
        help,
    }
}

use KeyKind::{Bool, Count, Path, U64, Url};

/// Allowed values of `PROVIDER`.
pub const PROVIDERS: &[&str] = &[
    "codex",
    "claude_code",
    "anthropic",
    "gemini",
    "openai",
    "scorpiox",
];

/// Every key `sx` knows, in documentation order.
pub static KEYS: &[KeySpec] = &[
    k(
        "PROVIDER",
        Some("scorpiox"),
        KeyKind::Enum(PROVIDERS),
        "which provider answers: codex, claude_code, anthropic, gemini, openai, scorpiox (router)",
    ),
    k(
        "MODEL",
        Some("sonnet"),
        KeyKind::String,
        "model id or alias (opus, sonnet, haiku map per provider)",
    ),
    k(
        "TOOLS",
        Some("1"),
        Bool,
        "0 disables all tool execution (the model is offered no tools)",
    ),
    k(
        "APPROVAL",
        Some("ask"),
        KeyKind::Enum(&["ask", "auto", "read-only"]),
        "ask (confirm shell/writes interactively), auto, read-only",
    ),
    k(
        "SANDBOX",
        None,
        KeyKind::Enum(&["workspace-write", "off"]),
        "workspace-write: tool commands write only in the project, --add-dir folders and temp folders (default with --yolo/APPROVAL=auto); off: no sandbox",
    ),
    k(
        "SANDBOX_NETWORK",
        Some("1"),
        Bool,
        "0 cuts the network of tool commands (with SANDBOX=workspace-write)",
    ),
    k("THINKING", Some("1"), Bool, "show/request model thinking"),
    k(
        "THINKING_BUDGET",
        Some("10000"),
        U64,
        "thinking token budget for budget providers",
    ),
    k(
        "REASONING_EFFORT",
        Some(""),
        KeyKind::Enum(&["", "none", "minimal", "low", "medium", "high", "xhigh"]),
        "reasoning effort for effort providers; empty = the model's default",
    ),
    k(
        "STREAMING",
        Some("1"),
        Bool,
        "0 asks providers for a single non-streamed response",
    ),
    k(
        "MAX_TURNS",
        Some("50"),
        Count,
        "most model turns in one agent run",
    ),
    k(
        "AUTO_COMPACT_TOKENS",
        Some("0"),
        U64,
        "compact the conversation when a request used more tokens than this (0 = 90% of the model's context window)",
    ),
    k(
        "CODEX_TOKEN_SOURCE",
        Some("local"),
        KeyKind::Enum(&["local", "remote", "http", "ssh"]),
        "where the Codex token comes from: local, remote (alias http), ssh",
    ),
    k(
        "CODEX_CREDENTIALS_FILE",
        None,
        Path,
        "local Codex credential file (default $CODEX_HOME/auth.json, else ~/.codex/auth.json)",
    ),
    k(
        "CODEX_REMOTE_URL",
        Some("https://token.scorpiox.net/codex"),
        Url,
        "token service for CODEX_TOKEN_SOURCE=remote",
    ),
    secret("TOKEN_HTTP_API_KEY", "bearer key sent to the token service"),
    k(
        "CODEX_SSH_HOST",
        None,
        KeyKind::String,
        "host for CODEX_TOKEN_SOURCE=ssh",
    ),
    k(
        "CODEX_SSH_USER",
        None,
        KeyKind::String,
        "user for CODEX_TOKEN_SOURCE=ssh",
    ),
    secret(
        "CODEX_SSH_PASS",
        "password for CODEX_TOKEN_SOURCE=ssh; empty = keys/agent",
    ),
    k(
        "CODEX_SSH_PORT",
        Some("22"),
        U64,
        "port for CODEX_TOKEN_SOURCE=ssh",
    ),
    k(
        "CODEX_SSH_KNOWN_HOSTS",
        Some("~/.ssh/known_hosts"),
        Path,
        "known-hosts file used to verify the ssh host key",
    ),
    k(
        "CODEX_SSH_ACCEPT_NEW",
        Some("0"),
        Bool,
        "1 accepts (and records) an unknown ssh host key",
    ),
    k(
        "CODEX_BASE_URL",
        Some("https://chatgpt.com/backend-api/codex"),
        Url,
        "Codex Responses endpoint base (POST {base}/responses)",
    ),
    secret(
        "CODEX_API_KEY",
        "OpenAI API key for PROVIDER=codex; wins over a ChatGPT login (as codex exec does)",
    ),
    k(
        "CODEX_AUTH_URL",
        Some("https://auth.openai.com"),
        Url,
        "OAuth issuer for Codex login and token refresh",
    ),
    k(
        "CODEX_ORIGINATOR",
        Some("sx"),
        KeyKind::String,
        "the originator header sent to Codex; another client's name also sends that client's user agent",
    ),
    k(
        "CODEX_CLIENT_VERSION",
        Some("0.169.0"),
        KeyKind::String,
        "official Codex client version sent as the version header; the backend gates newer models on it",
    ),
    k(
        "CLAUDE_CODE_BIN",
        Some("claude"),
        KeyKind::String,
        "the official Claude Code CLI driven by the claude_code provider",
    ),
    secret("ANTHROPIC_API_KEY", "Anthropic API key (x-api-key)"),
    secret(
        "ANTHROPIC_AUTH_TOKEN",
        "bearer token instead of x-api-key, for gateways; wins over ANTHROPIC_API_KEY",
    ),
    k(
        "ANTHROPIC_BASE_URL",
        Some("https://api.anthropic.com"),
        Url,
        "Anthropic Messages API base",
    ),
    secret("GEMINI_API_KEY", "Gemini API key (x-goog-api-key)"),
    k(
        "GEMINI_BASE_URL",
        Some("https://generativelanguage.googleapis.com"),
        Url,
        "Gemini API base",
    ),
    k(
        "GEMINI_CACHE",
        Some("1"),
        Bool,
        "explicit context caching of the stable prompt prefix",
    ),
    secret(
        "OPENAI_API_KEY",
        "OpenAI-compatible API key (Authorization: Bearer)",
    ),
    k(
        "OPENAI_BASE_URL",
        Some("https://api.openai.com"),
        Url,
        "any /v1/chat/completions server",
    ),
    k(
        "ROUTER_URL",
        Some("http://127.0.0.1:8790"),
        Url,
        "where PROVIDER=scorpiox sends requests",
    ),
    k(
        "ROUTER_ROUTES",
        None,
        KeyKind::String,
        "scorpiox router rules MATCH=PROVIDER[:MODEL], first match wins (model globs; background, think, long_context)",
    ),
    k(
        "ROUTER_LONG_CONTEXT",
        Some("60000"),
        U64,
        "estimated input tokens above which the router's long_context rule applies",
    ),
    k(
        "ACTIVE_PROFILE",
        None,
        KeyKind::String,
        "profile overlay name (scorpiox-env/<name>.txt)",
    ),
    k(
        "TRAFFIC_LOG",
        Some("1"),
        Bool,
        "redacted wire log per session",
    ),
    k(
        "SESSIONS_KEEP_DAYS",
        None,
        Count,
        "delete saved sessions not used for this many days (unset: keep them all)",
    ),
    k(
        "TRUSTED_PROJECTS",
        None,
        KeyKind::String,
        "':'-separated project roots allowed to set trust-sensitive keys",
    ),
    KeySpec {
        name: "TOKEN_SERVER_KEYS",
        default: None,
        kind: KeyKind::String,
        secret: true,
        help: "token server: key=credentials-file pairs, comma-separated",
    },
    KeySpec {
        name: "TOKEN_SERVER_STORE",
        default: None,
        kind: KeyKind::String,
        secret: true,
        help: "token server: redis://host:port[/db], shared token state for several instances",
    },
    k(
        "TOKEN_SERVER_LEASE_MS",
        Some("60000"),
        U64,
        "token server with a shared store: the refresh lock's lease",
    ),
    k(
        "REQUEST_MAX_RETRIES",
        Some("4"),
        U64,
        "retries of a failed request (429/5xx)",
    ),
    k(
        "STREAM_MAX_RETRIES",
        Some("5"),
        U64,
        "retries of a dropped stream",
    ),
    k(
        "STREAM_IDLE_TIMEOUT_MS",
        Some("300000"),
        U64,
        "a stream silent this long is dropped",
    ),
    k(
        "STREAM_MAX_BYTES",
        Some("268435456"),
        U64,
        "the most one streamed answer may send (bytes)",
    ),
    k(
        "RETRY_BASE_DELAY_MS",
        Some("200"),
        U64,
        "base delay of the exponential retry backoff",
    ),
];

/// The spec of a known key.
pub fn key_spec(name: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|s| s.name == name)
}

/// Whether a project-tier file may set this key only once the project is trusted
/// (keys that decide where credentials go, which programs run, how much runs unasked).
pub fn trust_sensitive(name: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "_BASE_URL",
        "_AUTH_URL",
        "_REMOTE_URL",
        "_CREDENTIALS_FILE",
        "_BIN",
    ];
    const EXACT: &[&str] = &[
        "ROUTER_URL",
        "TOKEN_HTTP_API_KEY",
        "APPROVAL",
        "TRUSTED_PROJECTS",
        "TOKEN_SERVER_KEYS",
        "TOKEN_SERVER_STORE",
    ];
    SUFFIXES.iter().any(|s| name.ends_with(s))
        || name.contains("_SSH_")
        || name.starts_with("SANDBOX")
        || EXACT.contains(&name)
}

/// Whether a value is a secret: a known secret key, or an unknown key whose name looks like one.
pub fn is_secret(name: &str) -> bool {
    match key_spec(name) {
        Some(s) => s.secret,
        None => {
            const SUFFIXES: &[&str] = &[
                "_API_KEY",
                "_SECRET",
                "_PASSWORD",
                "_PASS",
                "_TOKEN",
                "_KEYS",
            ];
            SUFFIXES.iter().any(|s| name.ends_with(s))
        }
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`
pub fn valid_key(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `0/1`, `true/false`, `yes/no`, `on/off` (ASCII case-insensitive).
pub fn parse_bool(v: &str) -> Option<bool> {
    const T: &[&str] = &["1", "true", "yes", "on"];
    const F: &[&str] = &["0", "false", "no", "off"];
    if T.iter().any(|t| v.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if F.iter().any(|f| v.eq_ignore_ascii_case(f)) {
        Some(false)
    } else {
        None
    }
}

/// Check `value` against `kind`. `Ok(Some(v))` when the value is valid but normalised (bools),
/// `Ok(None)` when valid as is, `Err(allowed)` describing the allowed values otherwise.
pub(crate) fn check_kind(kind: KeyKind, value: &str) -> Result<Option<&'static str>, String> {
    match kind {
        KeyKind::String | KeyKind::Path => Ok(None),
        KeyKind::Bool => match parse_bool(value) {
            Some(true) if value == "1" => Ok(None),
            Some(false) if value == "0" => Ok(None),
            Some(b) => Ok(Some(if b { "1" } else { "0" })),
            None => Err("0, 1 (or true/false, yes/no, on/off)".into()),
        },
        KeyKind::U64 => match value.parse::<u64>() {
            Ok(_) if !value.starts_with('+') => Ok(None),
            _ => Err(format!("a whole number from 0 to {}", u64::MAX)),
        },
        KeyKind::Count => match value.parse::<u64>() {
            Ok(n) if n >= 1 && !value.starts_with('+') => Ok(None),
            _ => Err(format!("a whole number from 1 to {}", u64::MAX)),
        },
        KeyKind::Enum(allowed) => {
            if allowed.contains(&value) {
                Ok(None)
            } else {
                Err(allowed
                    .iter()
                    .map(|a| if a.is_empty() { "\"\" (empty)" } else { a })
                    .collect::<Vec<_>>()
                    .join(", "))
            }
        }
        KeyKind::Url => {
            if value.is_empty() || value.starts_with("http://") || value.starts_with("https://") {
                Ok(None)
            } else {
                Err("an http:// or https:// URL".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for (i, s) in KEYS.iter().enumerate() {
            assert!(valid_key(s.name), "{}", s.name);
            assert!(
                KEYS[i + 1..].iter().all(|o| o.name != s.name),
                "duplicate {}",
                s.name
            );
            if let Some(d) = s.default {
                assert!(
                    check_kind(s.kind, d) == Ok(None),
                    "default of {} invalid",
                    s.name
                );
            }
            assert!(!s.help.is_empty());
        }
        assert_eq!(key_spec("PROVIDER").unwrap().default, Some("scorpiox"));
        assert!(key_spec("NOPE").is_none());
    }

    #[test]
    fn trust_sensitive_names() {
        for n in [
            "CODEX_BASE_URL",
            "CODEX_AUTH_URL",
            "CODEX_REMOTE_URL",
            "CODEX_CREDENTIALS_FILE",
            "CLAUDE_CODE_BIN",
            "CODEX_SSH_HOST",
            "SANDBOX",
            "SANDBOX_MODE",
            "ROUTER_URL",
            "TOKEN_HTTP_API_KEY",
            "APPROVAL",
            "TRUSTED_PROJECTS",
            "TOKEN_SERVER_KEYS",
            "FOO_BASE_URL",
        ] {
            assert!(trust_sensitive(n), "{n}");
        }
        for n in [
            "PROVIDER",
            "MODEL",
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_AUTH_TOKEN",
            "ROUTER_ROUTES",
            "CODEX_ORIGINATOR",
        ] {
            assert!(!trust_sensitive(n), "{n}");
        }
    }

    #[test]
    fn key_names_and_secrets() {
        assert!(valid_key("A") && valid_key("_x1") && valid_key("FOO_BAR9"));
        assert!(!valid_key("") && !valid_key("1A") && !valid_key("A-B") && !valid_key("A B"));
        assert!(is_secret("OPENAI_API_KEY") && is_secret("MY_SERVICE_TOKEN"));
        assert!(key_spec("ANTHROPIC_AUTH_TOKEN").is_some_and(|s| s.secret));
        assert!(!is_secret("MODEL") && !is_secret("CODEX_TOKEN_SOURCE"));
    }

    #[test]
    fn kinds() {
        assert_eq!(check_kind(Bool, "1"), Ok(None));
        assert_eq!(check_kind(Bool, "Yes"), Ok(Some("1")));
        assert_eq!(check_kind(Bool, "off"), Ok(Some("0")));
        assert!(check_kind(Bool, "").is_err());
        assert!(check_kind(Bool, "2").is_err());
        assert_eq!(check_kind(U64, "42"), Ok(None));
        assert!(check_kind(U64, "-1").is_err() && check_kind(U64, "+1").is_err());
        assert!(check_kind(U64, "").is_err());
        assert_eq!(check_kind(Count, "1"), Ok(None));
        assert_eq!(
            check_kind(Count, "0"),
            Err(format!("a whole number from 1 to {}", u64::MAX))
        );
        assert!(check_kind(Count, "+1").is_err() && check_kind(Count, "").is_err());
        let e = check_kind(KeyKind::Enum(PROVIDERS), "foo").unwrap_err();
        assert_eq!(e, "codex, claude_code, anthropic, gemini, openai, scorpiox");
        let effort = key_spec("REASONING_EFFORT").unwrap().kind;
        assert_eq!(check_kind(effort, ""), Ok(None));
        assert_eq!(check_kind(Url, ""), Ok(None));
        assert!(check_kind(Url, "ftp://x").is_err());
    }
}
