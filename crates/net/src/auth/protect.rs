//! The credential files sx itself uses, kept from the model (docs/reliability.md, hole 4): the
//! file tools refuse to read them, and the tokens they hold are masked in whatever a tool
//! prints (a `cat` through `bash`, a copy elsewhere) before the model or the transcript sees
//! it.
//!
//! The files: `CODEX_CREDENTIALS_FILE` (default `$CODEX_HOME/auth.json`), `~/.codex/auth.json`
//! (the official client's), every file in `~/.codex/accounts/` (the logins of
//! `scorpiox-codex-login --name`), and the files `TOKEN_SERVER_KEYS` names. Reading them here is
//! cheap (small JSON files, read once at start-up, bounded) and has no other effect. Claude
//! Code's own login is not among them: sx never reads it (docs/providers.md).

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sx_config::Config;
use sx_config::secrets;

/// Read at most this much of one credential file (they are a few KiB).
const MAX_FILE: u64 = 1024 * 1024;
/// At most this many files of a folder of logins are read.
const MAX_FOLDER_FILES: usize = 256;

/// The credential files `config` points at, and the folders of them.
pub fn credential_files(config: &Config) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut files = Vec::new();
    let mut folders = Vec::new();
    if let Some(p) = config.path("CODEX_CREDENTIALS_FILE") {
        files.push(p);
    }
    if let Some(home) = config.home() {
        files.push(home.join(".codex/auth.json"));
        folders.push(home.join(".codex/accounts"));
    }
    if let Some(v) = config.get_nonempty("TOKEN_SERVER_KEYS") {
        for item in v.split(',') {
            // `KEY=FILE`: the key is a secret of its own; the file a credential file.
            let Some((key, path)) = item.split_once('=') else {
                continue;
            };
            secrets::register(key.trim());
            let path = path.trim();
            if path.is_empty() {
                continue;
            }
            let path = match (path.strip_prefix("~/"), config.home()) {
                (Some(rest), Some(home)) => home.join(rest),
                _ => config.cwd().join(path),
            };
            files.push(path);
        }
    }
    files.dedup();
    (files, folders)
}

/// Protect every credential file `config` points at: refused to the file tools
/// ([`secrets::is_protected`]), their tokens masked ([`secrets::mask`]).
pub fn protect(config: &Config) {
    let (files, folders) = credential_files(config);
    for f in &files {
        secrets::protect_file(f);
        register_tokens(f);
    }
    for dir in &folders {
        secrets::protect_folder(dir);
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten().take(MAX_FOLDER_FILES) {
            register_tokens(&e.path());
        }
    }
}

/// Register the secrets in one credential file: every string under a key that names a token,
/// key, secret or password, and every string shaped like a JWT. A missing or unreadable file
/// registers nothing.
fn register_tokens(path: &Path) {
    let Some(text) = read_small(path) else {
        return;
    };
    let Ok(doc) = serde_json::from_str::<Value>(&text) else {
        return;
    };
    walk(&doc, false);
}

fn walk(v: &Value, secret_key: bool) {
    match v {
        Value::String(s) if secret_key || looks_like_jwt(s) => secrets::register(s),
        Value::Array(items) => items.iter().for_each(|i| walk(i, secret_key)),
        Value::Object(map) => {
            for (k, v) in map {
                let k = k.to_ascii_lowercase();
                let named = ["token", "key", "secret", "password"]
                    .iter()
                    .any(|w| k.contains(w));
                walk(v, named);
            }
        }
        _ => {}
    }
}

fn looks_like_jwt(s: &str) -> bool {
    s.starts_with("eyJ") && s.split('.').count() == 3
}

/// A regular file's text, read without blocking and at most [`MAX_FILE`] bytes.
fn read_small(path: &Path) -> Option<String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    file.take(MAX_FILE).read_to_string(&mut text).ok()?;
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_of_every_shape_are_registered() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("creds.json");
        std::fs::write(
            &p,
            r#"{"oauth":{"accessToken":"sk-ant-oat01-protect-test-access",
                "refreshToken":"sk-ant-ort01-protect-test-refresh","expiresAt":1},
                "OPENAI_API_KEY":"sk-protect-test-api-key","account_id":"acct-protect-test-id",
                "other":"eyJhbGciOiJub25lIn0.eyJwcm90ZWN0LXRlc3QiOjF9.c2lnbmF0dXJlLXByb3RlY3Q"}"#,
        )
        .unwrap();
        register_tokens(&p);
        let text = "sk-ant-oat01-protect-test-access sk-ant-ort01-protect-test-refresh \
                    sk-protect-test-api-key acct-protect-test-id \
                    eyJhbGciOiJub25lIn0.eyJwcm90ZWN0LXRlc3QiOjF9.c2lnbmF0dXJlLXByb3RlY3Q";
        assert_eq!(
            secrets::mask(text),
            "*** *** *** acct-protect-test-id ***",
            "the account id is not a secret"
        );
    }
}
