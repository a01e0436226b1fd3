//! Slash commands (docs/spec.md §1.1): what they are, how they parse, and Tab completion of
//! their names and arguments.

/// Every command with its one-line help, in the order `/help` lists them.
pub const COMMANDS: &[(&str, &str)] = &[
    ("/help", "this list, and the keys"),
    (
        "/model",
        "[MODEL] show or set the model (aliases opus, sonnet, haiku)",
    ),
    (
        "/provider",
        "[NAME] show or switch the provider for this session",
    ),
    (
        "/profile",
        "[NAME|off] switch the profile and remember it (user scorpiox-env.txt)",
    ),
    (
        "/use",
        "[NAME|off] switch the profile for this session only",
    ),
    (
        "/reasoning_effort",
        "[LEVEL|default] none, minimal, low, medium, high, xhigh",
    ),
    ("/clear", "start a new conversation (a new session)"),
    (
        "/compact",
        "summarise the conversation so far and continue from the summary",
    ),
    (
        "/resume",
        "[ID] continue a saved session (the latest without an id)",
    ),
    (
        "/usage",
        "tokens used, cache use, and the provider's usage windows",
    ),
    (
        "/config",
        "the configuration in effect and where each value comes from",
    ),
    ("/cd", "DIR change the working directory of tools"),
    (
        "/exit",
        "leave (also Ctrl-C twice, or Ctrl-D on an empty line)",
    ),
];

pub const EFFORTS: &[&str] = &[
    "default", "none", "minimal", "low", "medium", "high", "xhigh",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slash {
    Help,
    Model(Option<String>),
    Provider(Option<String>),
    Profile(Option<String>),
    Use(Option<String>),
    Effort(Option<String>),
    Clear,
    Compact,
    Resume(Option<String>),
    Usage,
    Config,
    Cd(Option<String>),
    Exit,
    Unknown(String),
}

/// `text` as a command, when it starts with `/` (and is not a path like `/etc/hosts …`).
pub fn parse(text: &str) -> Option<Slash> {
    let t = text.trim();
    let rest = t.strip_prefix('/')?;
    let (name, arg) = match rest.split_once(char::is_whitespace) {
        Some((n, a)) => (n, Some(a.trim().to_string()).filter(|a| !a.is_empty())),
        None => (rest, None),
    };
    if name.contains('/') {
        return None;
    }
    Some(match name {
        "help" | "?" => Slash::Help,
        "model" => Slash::Model(arg),
        "provider" => Slash::Provider(arg),
        "profile" => Slash::Profile(arg),
        "use" => Slash::Use(arg),
        "reasoning_effort" | "effort" => Slash::Effort(arg),
        "clear" | "new" => Slash::Clear,
        "compact" => Slash::Compact,
        "resume" => Slash::Resume(arg),
        "usage" | "cost" => Slash::Usage,
        "config" => Slash::Config,
        "cd" => Slash::Cd(arg),
        "exit" | "quit" => Slash::Exit,
        other => Slash::Unknown(other.to_string()),
    })
}

/// What completion can offer for arguments.
#[derive(Debug, Default)]
pub struct Candidates {
    pub models: Vec<String>,
    pub providers: Vec<String>,
    pub profiles: Vec<String>,
    pub sessions: Vec<String>,
}

/// Completions of the whole input `text` (each a full replacement), for Tab.
pub fn complete(text: &str, c: &Candidates) -> Vec<String> {
    if !text.starts_with('/') || text.contains('\n') {
        return Vec::new();
    }
    match text.split_once(' ') {
        None => COMMANDS
            .iter()
            .filter(|(name, _)| name.starts_with(text))
            .map(|(name, _)| format!("{name} "))
            .collect(),
        Some((cmd, arg)) => {
            let pool: Vec<String> = match cmd {
                "/model" => c.models.clone(),
                "/provider" => c.providers.clone(),
                "/profile" | "/use" => {
                    let mut p = c.profiles.clone();
                    p.push("off".into());
                    p
                }
                "/reasoning_effort" => EFFORTS.iter().map(|s| (*s).to_string()).collect(),
                "/resume" => c.sessions.clone(),
                _ => Vec::new(),
            };
            pool.into_iter()
                .filter(|p| p.starts_with(arg.trim_start()))
                .map(|p| format!("{cmd} {p}"))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing() {
        assert_eq!(
            parse("/model opus"),
            Some(Slash::Model(Some("opus".into())))
        );
        assert_eq!(parse("  /model  "), Some(Slash::Model(None)));
        assert_eq!(parse("/exit"), Some(Slash::Exit));
        assert_eq!(
            parse("/frobnicate"),
            Some(Slash::Unknown("frobnicate".into()))
        );
        assert_eq!(parse("/etc/hosts is odd"), None, "a path is a message");
        assert_eq!(parse("hello"), None);
    }

    #[test]
    fn completion_of_names_and_arguments() {
        let c = Candidates {
            models: vec!["gpt-5.5".into(), "gpt-5.4".into(), "opus".into()],
            providers: vec!["codex".into(), "gemini".into()],
            ..Candidates::default()
        };
        assert_eq!(complete("/mo", &c), ["/model "]);
        assert_eq!(complete("/re", &c), ["/reasoning_effort ", "/resume "]);
        assert_eq!(
            complete("/model gpt", &c),
            ["/model gpt-5.5", "/model gpt-5.4"]
        );
        assert_eq!(complete("/provider g", &c), ["/provider gemini"]);
        assert_eq!(
            complete("/reasoning_effort h", &c),
            ["/reasoning_effort high"]
        );
        assert_eq!(complete("/use ", &c), ["/use off"]);
        assert!(complete("hello", &c).is_empty());
    }
}
