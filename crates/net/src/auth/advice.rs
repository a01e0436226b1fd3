//! Which `scorpiox-codex-login` command writes a given credential file again, so every "sign in
//! again" names the login concerned (docs/login.md, "Where the login is written"):
//!
//! - `~/.codex/accounts/NAME.json` is what `--name NAME` writes: `scorpiox-codex-login --name NAME`;
//! - the default file (`$CODEX_HOME/auth.json`, else `~/.codex/auth.json`): no flag;
//! - any other file: `-e CODEX_CREDENTIALS_FILE=PATH`.
//!
//! A file that exists is only replaced with `--force` (the command refuses otherwise).

use std::path::{Path, PathBuf};

/// Which login a credential file holds, as `scorpiox-codex-login` addresses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginFile {
    /// The file the command writes without flags.
    Default,
    /// `~/.codex/accounts/NAME.json`: `--name NAME`.
    Named(String),
    /// Anywhere else: `-e CODEX_CREDENTIALS_FILE=PATH`.
    Other(PathBuf),
}

impl LoginFile {
    /// `path` classified against this process's `HOME` and `CODEX_HOME`.
    pub fn of(path: &Path) -> LoginFile {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let (home, codex_home) = (env("HOME"), env("CODEX_HOME"));
        match LoginFile::classify(path, home.as_deref(), codex_home.as_deref()) {
            // The file may have been named through a symlinked home (a server canonicalizes
            // its paths): compare with the folders resolved too.
            LoginFile::Other(_) => {
                let real = |p: Option<PathBuf>| p.map(|p| std::fs::canonicalize(&p).unwrap_or(p));
                LoginFile::classify(path, real(home).as_deref(), real(codex_home).as_deref())
            }
            found => found,
        }
    }

    fn classify(path: &Path, home: Option<&Path>, codex_home: Option<&Path>) -> LoginFile {
        let default = match (codex_home, home) {
            (Some(c), _) => Some(c.join("auth.json")),
            (None, Some(h)) => Some(h.join(".codex/auth.json")),
            (None, None) => None,
        };
        if default.as_deref() == Some(path) {
            return LoginFile::Default;
        }
        if let (Some(home), Some(parent), Some(stem)) = (
            home,
            path.parent(),
            path.file_stem().and_then(|s| s.to_str()),
        ) && parent == home.join(".codex/accounts")
            && path.extension().is_some_and(|e| e == "json")
            && is_account_name(stem)
        {
            return LoginFile::Named(stem.to_string());
        }
        LoginFile::Other(path.to_path_buf())
    }

    /// The command that writes this login: `replace` when the file exists (`--force`).
    pub fn command(&self, replace: bool) -> String {
        self.command_with(replace, |p| shell_word(&p.display().to_string()))
    }

    /// The same, with the path of an `Other` file shown as `shown` (a server that does not
    /// reveal its paths to callers).
    pub fn command_hiding_path(&self, replace: bool, shown: &str) -> String {
        self.command_with(replace, |_| shown.to_string())
    }

    fn command_with(&self, replace: bool, path: impl Fn(&Path) -> String) -> String {
        let mut c = String::from("scorpiox-codex-login");
        match self {
            LoginFile::Default => {}
            LoginFile::Named(name) => {
                c.push_str(" --name ");
                c.push_str(name);
            }
            LoginFile::Other(p) => {
                c.push_str(" -e CODEX_CREDENTIALS_FILE=");
                c.push_str(&path(p));
            }
        }
        if replace {
            c.push_str(" --force");
        }
        c
    }
}

/// `scorpiox-codex-login --name` takes `[A-Za-z0-9_.-]+`, not starting with `.`.
fn is_account_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `s` as one shell word: as it is when it holds nothing a shell would split or expand.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// "run <the command> to sign in again", for the login at `path`.
pub fn sign_in_again(path: &Path) -> String {
    format!("run {} to sign in again", LoginFile::of(path).command(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_file_gets_its_command() {
        let home = Path::new("/home/a");
        let c = |p: &str, codex_home: Option<&str>| {
            LoginFile::classify(Path::new(p), Some(home), codex_home.map(Path::new))
        };
        assert_eq!(c("/home/a/.codex/auth.json", None), LoginFile::Default);
        assert_eq!(
            c("/home/a/.codex/accounts/alice.json", None),
            LoginFile::Named("alice".into())
        );
        assert_eq!(
            c("/home/a/.codex/accounts/alice.json", None).command(true),
            "scorpiox-codex-login --name alice --force"
        );
        assert_eq!(
            c("/home/a/.codex/auth.json", None).command(true),
            "scorpiox-codex-login --force"
        );
        assert_eq!(
            c("/home/a/.codex/auth.json", None).command(false),
            "scorpiox-codex-login"
        );
        // With CODEX_HOME the default file moves; ~/.codex/auth.json is then just a file.
        assert_eq!(c("/ch/auth.json", Some("/ch")), LoginFile::Default);
        assert_eq!(
            c("/home/a/.codex/auth.json", Some("/ch")).command(true),
            "scorpiox-codex-login -e CODEX_CREDENTIALS_FILE=/home/a/.codex/auth.json --force"
        );
        // Another home's accounts folder, a name --name refuses, a folder deeper: a path.
        for p in [
            "/srv/.codex/accounts/bob.json",
            "/home/a/.codex/accounts/.hidden.json",
            "/home/a/.codex/accounts/x/bob.json",
            "/home/a/.codex/accounts/bob.txt",
        ] {
            assert!(matches!(c(p, None), LoginFile::Other(_)), "{p}");
        }
        assert_eq!(
            c("/srv/my logins/bob's.json", None).command(true),
            r"scorpiox-codex-login -e CODEX_CREDENTIALS_FILE='/srv/my logins/bob'\''s.json' --force"
        );
        assert_eq!(
            c("/srv/bob.json", None).command_hiding_path(true, "<bob's file>"),
            "scorpiox-codex-login -e CODEX_CREDENTIALS_FILE=<bob's file> --force"
        );
    }
}
