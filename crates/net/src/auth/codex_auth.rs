//! Which credential the `codex` provider uses: a ChatGPT login (the ChatGPT backend) or an
//! OpenAI API key (the platform's Responses API), decided the way the official Codex CLI
//! decides (docs/providers.md, "codex with an API key"; docs/protocols/codex.md §A.1):
//!
//! 1. `CODEX_API_KEY` — the official CLI's override for non-interactive runs (`codex exec`),
//!    which wins over any stored login;
//! 2. a ChatGPT login from `CODEX_TOKEN_SOURCE` (`remote`, `ssh`, or a `local` credential file
//!    that holds one);
//! 3. `OPENAI_API_KEY` (environment or configuration), when there is no ChatGPT login;
//! 4. an API key the local credential file holds in API-key mode (`auth_mode: "apikey"`, as
//!    `codex login --with-api-key` writes it).
//!
//! Without any of them the ChatGPT token source is used, and it reports the missing login.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::{AuthError, AuthFile, TokenSource, open_token_source};
use crate::http::ClientIdentity;

/// The credential the codex provider sends.
pub enum CodexAuth {
    /// A ChatGPT login: bearer access token and account id, to the ChatGPT backend.
    ChatGpt(Arc<dyn TokenSource>),
    /// An OpenAI API key, to the platform's Responses API; `key_name` names where it came from
    /// in messages (`CODEX_API_KEY` or `OPENAI_API_KEY`).
    ApiKey { key: String, key_name: &'static str },
}

/// Decide the codex provider's credential from the configuration (see the module docs).
pub fn codex_auth(
    config: &sx_config::Config,
    http: &reqwest::Client,
    identity: &ClientIdentity,
) -> Result<CodexAuth, AuthError> {
    if let Some(key) = config.get_nonempty("CODEX_API_KEY") {
        return Ok(api_key(key, "CODEX_API_KEY"));
    }
    let source = open_token_source(config, http, identity)?;
    let local = (source.kind() == "local")
        .then(|| config.path("CODEX_CREDENTIALS_FILE"))
        .flatten();
    let Some(path) = local else {
        return Ok(CodexAuth::ChatGpt(source));
    };
    let stored = stored_api_key(&path);
    let logged_in = stored.is_none()
        && !matches!(
            AuthFile::load(&path),
            Err(AuthError::NotLoggedIn { .. } | AuthError::ApiKeyOnly { .. })
        );
    if logged_in {
        // A ChatGPT login, or a broken file whose error the token source reports.
        return Ok(CodexAuth::ChatGpt(source));
    }
    if let Some(key) = config.get_nonempty("OPENAI_API_KEY") {
        return Ok(api_key(key, "OPENAI_API_KEY"));
    }
    Ok(match stored {
        Some(key) => api_key(&key, "OPENAI_API_KEY"),
        None => CodexAuth::ChatGpt(source),
    })
}

fn api_key(key: &str, key_name: &'static str) -> CodexAuth {
    CodexAuth::ApiKey {
        key: key.trim().to_string(),
        key_name,
    }
}

/// The key of a credential file in API-key mode: `auth_mode: "apikey"`, or no `auth_mode` and
/// no tokens beside a non-null `OPENAI_API_KEY` (the official resolution). A ChatGPT login
/// that also stores a minted key stays a ChatGPT login.
fn stored_api_key(path: &Path) -> Option<String> {
    let doc: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let key = doc.get("OPENAI_API_KEY")?.as_str()?.trim();
    let api_mode = match doc.get("auth_mode").and_then(Value::as_str) {
        Some(mode) => mode == "apikey",
        None => doc.get("tokens").is_none_or(Value::is_null),
    };
    (api_mode && !key.is_empty()).then(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(dir: &Path, doc: &Value) -> std::path::PathBuf {
        let p = dir.join("auth.json");
        std::fs::write(&p, doc.to_string()).unwrap();
        p
    }

    #[test]
    fn only_an_api_key_mode_file_yields_its_key() {
        let d = tempfile::tempdir().unwrap();
        let cases = [
            (
                json!({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-1"}),
                Some("sk-1"),
            ),
            (json!({"OPENAI_API_KEY": "sk-2"}), Some("sk-2")),
            (
                json!({"OPENAI_API_KEY": "sk-3", "tokens": null}),
                Some("sk-3"),
            ),
            (
                json!({"auth_mode": "chatgpt", "OPENAI_API_KEY": "sk-minted", "tokens": {}}),
                None,
            ),
            (
                json!({"OPENAI_API_KEY": "sk-4", "tokens": {"access_token": "a"}}),
                None,
            ),
            (json!({"auth_mode": "apikey", "OPENAI_API_KEY": null}), None),
            (json!({"auth_mode": "apikey", "OPENAI_API_KEY": " "}), None),
        ];
        for (doc, want) in cases {
            let p = write(d.path(), &doc);
            assert_eq!(stored_api_key(&p).as_deref(), want, "{doc}");
        }
        assert_eq!(stored_api_key(&d.path().join("missing.json")), None);
    }
}
