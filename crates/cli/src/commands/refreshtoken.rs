//! `scorpiox-codex-refreshtoken`: refresh the local Codex login now (docs/spec.md §1). Without
//! `--force`, a token that is not due (more than 5 minutes left) is left alone; with it, the
//! refresh happens regardless. Same lock, re-read and atomic write as every other refresh.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{Failure, clap_failure, load_config, main_with, runtime};
use clap::Parser;
use sxnet::auth::{AuthFile, LocalSource, mask};
use sxnet::http::{ClientIdentity, client};

#[derive(Debug, Parser)]
#[command(
    name = "scorpiox-codex-refreshtoken",
    version,
    about = "Refresh the Codex login now",
    after_help = "Exit codes: 0 ok, 1 network, 2 configuration, 3 the login is dead (sign in again)."
)]
struct Args {
    /// Refresh even if the access token is not about to expire.
    #[arg(long)]
    force: bool,
    /// Also show the tokens (masked to a prefix).
    #[arg(long)]
    verbose: bool,
    /// The credential file (default: CODEX_CREDENTIALS_FILE).
    #[arg(long, value_name = "PATH")]
    credentials_file: Option<PathBuf>,
    /// Override a configuration key (repeatable).
    #[arg(short = 'e', value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Working directory (selects the project configuration).
    #[arg(long, value_name = "DIR")]
    cwd: Option<PathBuf>,
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell) and exit
    #[arg(long, value_enum, value_name = "SHELL")]
    completions: Option<crate::completions::Shell>,
}

pub fn main() -> ExitCode {
    main_with(|| {
        let args = match Args::try_parse_from(crate::args()) {
            Ok(a) => a,
            Err(e) => return clap_failure(e, "scorpiox-codex-refreshtoken"),
        };
        if let Some(shell) = args.completions {
            return crate::completions::print(<Args as clap::CommandFactory>::command(), shell);
        }
        let config = load_config(args.cwd.as_deref(), &args.env, Vec::new())?;
        let path = match &args.credentials_file {
            Some(p) => p.clone(),
            None => config.path("CODEX_CREDENTIALS_FILE").ok_or_else(|| {
                Failure::usage("CODEX_CREDENTIALS_FILE is empty; pass --credentials-file PATH")
            })?,
        };
        let identity = ClientIdentity::new(config.get_nonempty("CODEX_ORIGINATOR").unwrap_or("sx"));
        let http = client(&identity).map_err(Failure::runtime)?;
        let auth_url = config
            .get_nonempty("CODEX_AUTH_URL")
            .unwrap_or("https://auth.openai.com");
        let source = LocalSource::new(path.clone(), auth_url, http, identity);
        let (before, after) = runtime()?.block_on(source.refresh_now(args.force))?;
        let refreshed = before.access_token != after.access_token;
        if refreshed {
            println!(
                "refreshed {} (account {})",
                path.display(),
                after.account_id().unwrap_or("-")
            );
        } else {
            println!(
                "{} is still valid; nothing to do (use --force to refresh anyway)",
                path.display()
            );
        }
        println!("  old access token expires: {}", expiry(&before));
        if refreshed {
            println!("  new access token expires: {}", expiry(&after));
        }
        if args.verbose {
            println!("  old access token: {}", mask(&before.access_token));
            println!("  old refresh token: {}", mask(&before.refresh_token));
            if refreshed {
                println!("  new access token: {}", mask(&after.access_token));
                println!("  new refresh token: {}", mask(&after.refresh_token));
            }
        }
        Ok(())
    })
}

fn expiry(f: &AuthFile) -> String {
    let Some(exp) = f.expires_at() else {
        return "unknown (no exp claim)".into();
    };
    let t = UNIX_EPOCH + Duration::from_secs(exp);
    let rel = match t.duration_since(SystemTime::now()) {
        Ok(d) => format!("in {}m", d.as_secs() / 60),
        Err(e) => format!("{}m ago", e.duration().as_secs() / 60),
    };
    format!("{} ({rel})", humantime::format_rfc3339_seconds(t))
}
