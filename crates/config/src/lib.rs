//! The `scorpiox-env.txt` configuration cascade (docs/spec.md §2): compiled defaults, global, user,
//! project and profile files, the process environment and `-e` overrides, with project trust
//! and typed validation of the winning values. See `docs/configuration.md`.
//!
//! ```no_run
//! let cfg = sx_config::load(&sx_config::LoadOptions::new(std::env::current_dir().unwrap()))?;
//! let provider = cfg.get("PROVIDER").unwrap_or("scorpiox");
//! # Ok::<(), sx_config::ConfigError>(())
//! ```

pub mod atomic;
mod config;
mod edit;
mod keys;
mod load;
mod parse;
pub mod phases;
pub mod secrets;

use std::fmt;
use std::path::PathBuf;

pub use atomic::{AtomicWrite, write_atomic};
pub use config::{Config, Entry, Source, Tier, Warning};
pub use edit::{display_value, project_file, set_in_file, trust_project, unset_in_file, user_file};
pub use keys::{
    KEYS, KeyKind, KeySpec, PROVIDERS, is_secret, key_spec, parse_bool, trust_sensitive, valid_key,
};
pub use load::{LoadOptions, check_value, find_roots, load, parse_override};
#[doc(hidden)]
pub use parse::parse_text;

/// Everything that can go wrong reading or writing configuration. Every variant's Display is one
/// line, "what happened; what to do", without an `error:` prefix; all are usage/config errors
/// (exit code 2).
#[derive(Debug)]
pub enum ConfigError {
    /// A line that is neither blank, a comment, nor `KEY=VALUE` with a valid key.
    Malformed {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// The winning value of a known key is not allowed for its kind.
    InvalidValue {
        key: String,
        value: String,
        allowed: String,
        source: Source,
    },
    /// `ACTIVE_PROFILE` names a profile that exists in none of the searched places.
    ProfileNotFound {
        name: String,
        searched: Vec<PathBuf>,
    },
    /// A `-e` argument that is not `KEY=VALUE`.
    BadOverride { arg: String, reason: String },
    /// A file or directory could not be read (a missing config file is not an error).
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A config file could not be written.
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A key name that is not `[A-Za-z_][A-Za-z0-9_]*` given for writing.
    BadKey { key: String },
    /// A value that cannot be stored in a file (line breaks, `:` in a trusted path).
    BadValue { key: String, reason: String },
    /// A config file that is a symbolic link to something that is not a config file.
    LinkedElsewhere { path: PathBuf, target: PathBuf },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Malformed { path, line, reason } => {
                write!(
                    f,
                    "{}:{line}: {reason}; fix or remove that line",
                    path.display()
                )
            }
            ConfigError::InvalidValue {
                key,
                value,
                allowed,
                source,
            } => {
                write!(
                    f,
                    "{key}={value} (from {}) is not valid; allowed: {allowed}",
                    source.location()
                )
            }
            ConfigError::ProfileNotFound { name, searched } => {
                write!(f, "profile '{name}' not found (looked in ")?;
                for (i, p) in searched.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", p.display())?;
                }
                write!(
                    f,
                    "); create scorpiox-env/{name}.txt or unset ACTIVE_PROFILE"
                )
            }
            ConfigError::BadOverride { arg, reason } => {
                write!(f, "bad override {arg:?}: {reason}; use -e KEY=VALUE")
            }
            ConfigError::Io { path, source } => write!(
                f,
                "cannot read {}: {source}; check that it exists and is readable",
                path.display()
            ),
            ConfigError::Write { path, source } => write!(
                f,
                "cannot write {}: {source}; check the permissions of the file and its directory",
                path.display()
            ),
            ConfigError::BadKey { key } => write!(
                f,
                "invalid key name {key:?}; keys are letters, digits and _, not starting with a digit"
            ),
            ConfigError::BadValue { key, reason } => {
                write!(f, "cannot store {key}: {reason}; use a different value")
            }
            ConfigError::LinkedElsewhere { path, target } => write!(
                f,
                "{} is a symbolic link to {}, which is not a scorpiox configuration file; sx does not write through it: replace the link with a file",
                path.display(),
                target.display()
            ),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Io { source, .. } | ConfigError::Write { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_displays_are_one_line() {
        let errs = [
            ConfigError::ProfileNotFound {
                name: "x".into(),
                searched: vec!["/a/x.txt".into(), "/b/x.txt".into()],
            },
            ConfigError::BadOverride {
                arg: "foo".into(),
                reason: "no '='".into(),
            },
            ConfigError::Io {
                path: "/p".into(),
                source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            },
            ConfigError::BadKey { key: "1x".into() },
            ConfigError::InvalidValue {
                key: "PROVIDER".into(),
                value: "foo".into(),
                allowed: "codex, claude_code".into(),
                source: Source {
                    tier: Tier::Project,
                    path: Some("/p/s.txt".into()),
                    line: Some(2),
                },
            },
        ];
        for e in &errs {
            let s = e.to_string();
            assert!(
                !s.contains('\n') && s.contains("; ") && !s.starts_with("error"),
                "{s}"
            );
        }
        assert_eq!(
            errs[0].to_string(),
            "profile 'x' not found (looked in /a/x.txt, /b/x.txt); \
             create scorpiox-env/x.txt or unset ACTIVE_PROFILE"
        );
        assert_eq!(
            errs[4].to_string(),
            "PROVIDER=foo (from /p/s.txt:2) is not valid; allowed: codex, claude_code"
        );
    }
}
