//! The resolved configuration and where each value came from.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::keys::parse_bool;

/// The tiers, lowest to highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Default,
    Global,
    User,
    Project,
    Profile,
    Env,
    Override,
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tier::Default => "default",
            Tier::Global => "global",
            Tier::User => "user",
            Tier::Project => "project",
            Tier::Profile => "profile",
            Tier::Env => "environment",
            Tier::Override => "command line",
        })
    }
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub tier: Tier,
    pub path: Option<PathBuf>,
    pub line: Option<usize>,
}

impl Source {
    pub fn tier(tier: Tier) -> Self {
        Source {
            tier,
            path: None,
            line: None,
        }
    }

    /// `path:line` when the value came from a file, else the tier's name.
    pub fn location(&self) -> String {
        match (&self.path, self.line) {
            (Some(p), Some(l)) => format!("{}:{l}", p.display()),
            (Some(p), None) => p.display().to_string(),
            (None, _) => self.tier.to_string(),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path {
            Some(_) => write!(f, "{} {}", self.tier, self.location()),
            None => write!(f, "{}", self.tier),
        }
    }
}

/// A resolved value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub value: String,
    pub source: Source,
}

/// Something the user should know about but that does not stop the load (an ignored line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub key: String,
    pub source: Source,
    /// The whole one-line message (this is the Display).
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) values: BTreeMap<String, Entry>,
    pub(crate) cwd: PathBuf,
    pub(crate) project_root: PathBuf,
    pub(crate) git_root: Option<PathBuf>,
    pub(crate) home: Option<PathBuf>,
    pub(crate) trusted: bool,
    pub(crate) warnings: Vec<Warning>,
    pub(crate) files_read: Vec<PathBuf>,
}

impl Config {
    /// The winning value, compiled defaults included; `None` when nothing set it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|e| e.value.as_str())
    }
    /// As [`Config::get`], but an empty value is `None`.
    pub fn get_nonempty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.values.get(key)
    }
    /// Every key with a value, sorted by key.
    pub fn entries(&self) -> Vec<(&str, &Entry)> {
        self.values.iter().map(|(k, e)| (k.as_str(), e)).collect()
    }
    /// A boolean key; false when unset (known bool keys are validated at load).
    pub fn flag(&self, key: &str) -> bool {
        self.get(key).and_then(parse_bool).unwrap_or(false)
    }
    pub fn u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(|v| v.parse().ok())
    }
    /// The value as a path, a leading `~` expanded against the home directory; `None` when
    /// unset or empty.
    pub fn path(&self, key: &str) -> Option<PathBuf> {
        self.get_nonempty(key)
            .map(|v| expand_tilde(v, self.home.as_deref()))
    }
    pub fn project_root(&self) -> &Path {
        &self.project_root
    }
    pub fn git_root(&self) -> Option<&Path> {
        self.git_root.as_deref()
    }
    pub fn home(&self) -> Option<&Path> {
        self.home.as_deref()
    }
    /// The working directory, absolute and canonical.
    pub fn cwd(&self) -> &Path {
        &self.cwd
    }
    pub fn project_trusted(&self) -> bool {
        self.trusted
    }
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }
    /// Every config file actually applied, in order.
    pub fn files_read(&self) -> &[PathBuf] {
        &self.files_read
    }

    /// The same configuration with `key` set as a command-line override would set it (for a
    /// program choosing on the user's behalf, e.g. the provider the embedded router picked).
    pub fn with_override(&self, key: &str, value: &str) -> Config {
        let mut c = self.clone();
        c.values.insert(
            key.to_string(),
            Entry {
                value: value.to_string(),
                source: Source::tier(Tier::Override),
            },
        );
        c
    }

    /// Whether `key` has its compiled default (nobody set it).
    pub fn is_default(&self, key: &str) -> bool {
        self.values
            .get(key)
            .is_none_or(|e| e.source.tier == Tier::Default)
    }
}

pub(crate) fn expand_tilde(v: &str, home: Option<&Path>) -> PathBuf {
    match (home, v.strip_prefix('~')) {
        (Some(h), Some("")) => h.to_path_buf(),
        (Some(h), Some(rest)) if rest.starts_with('/') => h.join(rest.trim_start_matches('/')),
        _ => PathBuf::from(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_expansion() {
        let h = Some(Path::new("/h"));
        assert_eq!(expand_tilde("~", h), PathBuf::from("/h"));
        assert_eq!(expand_tilde("~/a/b", h), PathBuf::from("/h/a/b"));
        assert_eq!(expand_tilde("~other/a", h), PathBuf::from("~other/a"));
        assert_eq!(expand_tilde("/abs", h), PathBuf::from("/abs"));
        assert_eq!(expand_tilde("~/a", None), PathBuf::from("~/a"));
    }

    #[test]
    fn source_display() {
        let s = Source {
            tier: Tier::User,
            path: Some("/u/f.txt".into()),
            line: Some(3),
        };
        assert_eq!(s.to_string(), "user /u/f.txt:3");
        assert_eq!(s.location(), "/u/f.txt:3");
        assert_eq!(Source::tier(Tier::Env).to_string(), "environment");
        assert_eq!(Source::tier(Tier::Override).location(), "command line");
        assert_eq!(Source::tier(Tier::Default).to_string(), "default");
    }

    #[test]
    fn with_overrides_one_key_of_a_copy() {
        let mut values = BTreeMap::new();
        values.insert(
            "PROVIDER".to_string(),
            Entry {
                value: "scorpiox".into(),
                source: Source::tier(Tier::Default),
            },
        );
        let c = Config {
            values,
            cwd: "/w".into(),
            project_root: "/w".into(),
            git_root: None,
            home: None,
            trusted: false,
            warnings: Vec::new(),
            files_read: Vec::new(),
        };
        let g = c.with_override("PROVIDER", "gemini");
        assert_eq!(g.get("PROVIDER"), Some("gemini"));
        assert_eq!(g.entry("PROVIDER").unwrap().source.tier, Tier::Override);
        assert_eq!(
            c.get("PROVIDER"),
            Some("scorpiox"),
            "the original is untouched"
        );
    }
}
