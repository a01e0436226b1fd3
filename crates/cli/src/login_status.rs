//! `scorpiox-codex-login --status` and `--logout` (docs/login.md, "Status and signing out"):
//! which login sx uses — account, plan, expiry and where it comes from, never a token — and
//! signing out of a local login the way `codex logout` does.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sx_config::Config;
use sxnet::auth::logout::logout as sign_out;
use sxnet::auth::{AuthError, AuthFile, decode_claims, open_token_source};
use sxnet::http::{ClientIdentity, client};

use crate::{Failure, runtime, stderr_line};

/// Where the login `--status` and `--logout` look at comes from.
pub(super) enum Source<'a> {
    /// A credential file: `--name`'s account file, or `CODEX_CREDENTIALS_FILE` with
    /// `CODEX_TOKEN_SOURCE=local`.
    Local(&'a Path),
    /// `CODEX_TOKEN_SOURCE=remote` or `ssh`.
    Elsewhere,
}

/// One line on stdout; a reader that went away is no error.
fn out(args: std::fmt::Arguments<'_>) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_fmt(args).and_then(|()| o.write_all(b"\n"));
}

/// The command that signs this login in again.
fn sign_in_command(name: Option<&str>) -> String {
    match name {
        Some(n) => format!("scorpiox-codex-login --name {n}"),
        None => "scorpiox-codex-login".to_string(),
    }
}

/// `--status`: exit 0 with the login's description, or the error that says it is missing or
/// unusable (exit 3: sign in; 1: the remote source cannot be reached).
pub(super) fn status(
    config: &Config,
    source: Source<'_>,
    name: Option<&str>,
    official: bool,
) -> Result<(), Failure> {
    match source {
        Source::Local(path) => local_status(config, path, name, official)?,
        Source::Elsewhere => remote_status(config)?,
    }
    if config.get_nonempty("CODEX_API_KEY").is_some() {
        out(format_args!(
            "Note: CODEX_API_KEY is set, so `sx --provider codex` uses that API key, not this login."
        ));
    }
    Ok(())
}

fn local_status(
    config: &Config,
    path: &Path,
    name: Option<&str>,
    official: bool,
) -> Result<(), Failure> {
    let shown = super::shown_path(config, path);
    let file = match AuthFile::load(path) {
        Ok(f) => f,
        Err(AuthError::NotLoggedIn { .. }) => {
            let meanwhile = if config.get_nonempty("OPENAI_API_KEY").is_some() && name.is_none() {
                " (until then `sx --provider codex` uses OPENAI_API_KEY)"
            } else {
                ""
            };
            return Err(Failure::auth(format!(
                "not signed in: no Codex login at {shown}; run {} to sign in{meanwhile}",
                sign_in_command(name)
            )));
        }
        Err(AuthError::ApiKeyOnly { .. }) => {
            out(format_args!(
                "Signed in with an OpenAI API key, not a ChatGPT account (as `codex login --with-api-key` writes it)."
            ));
            out(format_args!("Source: local file {shown}"));
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let id = file.id_claims();
    let email = id
        .and_then(|c| c.email.clone())
        .or_else(|| file.access_claims.email.clone());
    let plan = id
        .and_then(|c| c.plan_type.clone())
        .or_else(|| file.access_claims.plan_type.clone());
    signed_in(email, plan, file.account_id().map(str::to_owned));
    out(format_args!(
        "Access token: {}",
        expiry(
            file.expires_at(),
            "refreshed on the next use (or now with scorpiox-codex-refreshtoken)"
        )
    ));
    let shared = if official {
        " (shared with the official Codex CLI)"
    } else {
        ""
    };
    out(format_args!("Source: local file {shown}{shared}"));
    Ok(())
}

fn remote_status(config: &Config) -> Result<(), Failure> {
    let identity = ClientIdentity::new(config.get_nonempty("CODEX_ORIGINATOR").unwrap_or("sx"));
    let http = client(&identity).map_err(Failure::runtime)?;
    let source = open_token_source(config, &http, &identity)?;
    let token = runtime()?.block_on(source.token())?;
    let claims = decode_claims(&token.access_token).unwrap_or_default();
    signed_in(claims.email, claims.plan_type, token.account_id.clone());
    out(format_args!(
        "Access token: {}",
        expiry(token.expires_at, "the token source refreshes it")
    ));
    let from = match token.source {
        "ssh" => format!(
            "ssh {}@{}:{}",
            config.get_nonempty("CODEX_SSH_USER").unwrap_or("?"),
            config.get_nonempty("CODEX_SSH_HOST").unwrap_or("?"),
            config.get_nonempty("CODEX_SSH_PORT").unwrap_or("22"),
        ),
        _ => format!(
            "remote token service {}",
            without_userinfo(config.get_nonempty("CODEX_REMOTE_URL").unwrap_or("?"))
        ),
    };
    out(format_args!("Source: {from}"));
    Ok(())
}

fn signed_in(email: Option<String>, plan: Option<String>, account: Option<String>) {
    let or = |v: Option<String>| v.unwrap_or_else(|| "unknown".into());
    out(format_args!(
        "Signed in as {} (plan: {}, account: {}).",
        or(email),
        or(plan),
        or(account)
    ));
}

/// `2026-12-01T10:00:00Z (in 59m)`, or how long ago it expired and what happens then.
fn expiry(exp: Option<u64>, when_expired: &str) -> String {
    let Some(exp) = exp else {
        return "expiry unknown (no exp claim)".into();
    };
    let t = UNIX_EPOCH + Duration::from_secs(exp);
    let at = humantime::format_rfc3339_seconds(t);
    match t.duration_since(SystemTime::now()) {
        Ok(d) => format!("valid until {at} (in {})", minutes(d)),
        Err(e) => format!(
            "expired at {at} ({} ago); {when_expired}",
            minutes(e.duration())
        ),
    }
}

fn minutes(d: Duration) -> String {
    let m = d.as_secs() / 60;
    if m >= 120 {
        format!("{}h {}m", m / 60, m % 60)
    } else {
        format!("{m}m")
    }
}

/// A URL as shown: without a user or password in it.
fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://{host}{}", &rest[end..]),
        None => url.to_string(),
    }
}

/// `--logout`: revoke and delete the local login (docs/login.md). Nothing there is no error.
pub(super) fn logout(
    config: &Config,
    source: Source<'_>,
    name: Option<&str>,
    official: bool,
) -> Result<(), Failure> {
    let Source::Local(path) = source else {
        let kind = config.get("CODEX_TOKEN_SOURCE").unwrap_or("remote");
        return Err(Failure::usage(format!(
            "CODEX_TOKEN_SOURCE={kind}: the login lives on the token source, not on this machine; \
             sign out there (scorpiox-codex-login --name ACCOUNT --logout on the token server), \
             or pass --name ACCOUNT to remove a local account file"
        )));
    };
    let shown = super::shown_path(config, path);
    let auth_url = config
        .get_nonempty("CODEX_AUTH_URL")
        .unwrap_or(sxnet::auth::oauth::DEFAULT_ISSUER);
    let identity = ClientIdentity::new(config.get_nonempty("CODEX_ORIGINATOR").unwrap_or("sx"));
    let http = client(&identity).map_err(Failure::runtime)?;
    let done = runtime()?.block_on(sign_out(path, auth_url, &http, &identity))?;
    if !done.removed {
        out(format_args!(
            "Not signed in (no login at {shown}); nothing to remove."
        ));
        return Ok(());
    }
    if let Err(why) = &done.revoked {
        stderr_line(format_args!(
            "sx: the login was not revoked at the issuer ({why}); the file is removed anyway"
        ));
    }
    out(format_args!("Signed out: removed {shown}."));
    if official {
        out(format_args!(
            "The official Codex CLI used the same file, so it is signed out too (as `codex logout` does)."
        ));
    }
    out(format_args!(
        "Sign in again with {}.",
        sign_in_command(name)
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_credentials() {
        assert_eq!(
            without_userinfo("https://bob:secret@tok.example/codex?x=1"),
            "https://tok.example/codex?x=1"
        );
        assert_eq!(without_userinfo("http://h:1/codex"), "http://h:1/codex");
        assert_eq!(without_userinfo("weird"), "weird");
    }

    #[test]
    fn expiry_reads_both_ways() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(expiry(Some(now + 3600), "x").starts_with("valid until "));
        let past = expiry(Some(now - 600), "refreshed later");
        assert!(
            past.starts_with("expired at ") && past.ends_with("refreshed later"),
            "{past}"
        );
        assert!(expiry(None, "x").contains("unknown"));
    }
}
