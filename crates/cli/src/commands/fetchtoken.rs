//! `scorpiox-codex-fetchtoken`: print a valid Codex access token as one JSON line (docs/spec.md §4.1),
//! from the source `CODEX_TOKEN_SOURCE` (or `--source`) names. `sx` resolves its token through
//! exactly the same code (`sxnet::auth::open_token_source`).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::{Failure, clap_failure, load_config, main_with, runtime};
use clap::Parser;
use sx_config::{Config, display_value};
use sxnet::auth::open_token_source;
use sxnet::http::{ClientIdentity, client};

#[derive(Debug, Parser)]
#[command(
    name = "scorpiox-codex-fetchtoken",
    args_override_self = true,
    version,
    about = "Print a valid Codex access token as one JSON line",
    after_help = "The single-dash forms -local, -remote, -http, -ssh and -config (the configured source) are accepted too.\nOutput: {\"access_token\":…,\"account_id\":…,\"expires_at\":…,\"source\":…}. Exit codes: 0 ok, 1 network, 2 configuration, 3 sign in again."
)]
struct Args {
    /// Where the token comes from (default: CODEX_TOKEN_SOURCE).
    #[arg(long, value_parser = ["local", "remote", "http", "ssh"])]
    source: Option<String>,
    /// Show (on stderr) each setting used and where it came from; never a secret.
    #[arg(long)]
    verbose: bool,
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

/// The C original's single-dash spellings.
fn normalize(args: impl Iterator<Item = String>) -> Vec<String> {
    args.filter_map(|a| match a.as_str() {
        "-local" | "-remote" | "-http" | "-ssh" => Some(format!("--source={}", &a[1..])),
        "-config" => None,
        _ => Some(a),
    })
    .collect()
}

pub fn main() -> ExitCode {
    main_with(|| {
        let args = match Args::try_parse_from(normalize(
            crate::args()
                .into_iter()
                .map(|a| a.to_string_lossy().into_owned()),
        )) {
            Ok(a) => a,
            Err(e) => return clap_failure(e, "scorpiox-codex-fetchtoken"),
        };
        if let Some(shell) = args.completions {
            return crate::completions::print(<Args as clap::CommandFactory>::command(), shell);
        }
        let extra = args
            .source
            .iter()
            .map(|s| ("CODEX_TOKEN_SOURCE".to_string(), s.clone()))
            .collect();
        let config = load_config(args.cwd.as_deref(), &args.env, extra)?;
        if args.verbose {
            describe(&config);
        }
        let identity = ClientIdentity::new(config.get_nonempty("CODEX_ORIGINATOR").unwrap_or("sx"));
        let http = client(&identity).map_err(Failure::runtime)?;
        let source = open_token_source(&config, &http, &identity)?;
        let token = runtime()?.block_on(source.token())?;
        if args.verbose {
            let left = token.expires_at.map(|e| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                format!(", expires in {}s", e.saturating_sub(now))
            });
            eprintln!(
                "token: source={} account={}{}",
                token.source,
                token.account_id.as_deref().unwrap_or("-"),
                left.unwrap_or_default()
            );
        }
        println!("{}", token.to_json_line());
        Ok(())
    })
}

/// The settings the chosen source reads, with their tiers (secrets masked).
fn describe(config: &Config) {
    let source = config.get("CODEX_TOKEN_SOURCE").unwrap_or("local");
    let keys: &[&str] = match source {
        "remote" | "http" => &[
            "CODEX_TOKEN_SOURCE",
            "CODEX_REMOTE_URL",
            "TOKEN_HTTP_API_KEY",
        ],
        "ssh" => &[
            "CODEX_TOKEN_SOURCE",
            "CODEX_SSH_HOST",
            "CODEX_SSH_USER",
            "CODEX_SSH_PORT",
            "CODEX_SSH_PASS",
            "CODEX_SSH_KNOWN_HOSTS",
            "CODEX_SSH_ACCEPT_NEW",
        ],
        _ => &[
            "CODEX_TOKEN_SOURCE",
            "CODEX_CREDENTIALS_FILE",
            "CODEX_AUTH_URL",
        ],
    };
    for key in keys {
        match config.entry(key) {
            Some(e) => eprintln!("{key}={} ({})", display_value(key, &e.value), e.source),
            None => eprintln!("{key} is not set"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_dash_forms() {
        let v = |a: &[&str]| normalize(a.iter().map(|s| s.to_string()));
        assert_eq!(
            v(&["x", "-ssh", "--verbose"]),
            ["x", "--source=ssh", "--verbose"]
        );
        assert_eq!(v(&["x", "-config"]), ["x"]);
        assert_eq!(v(&["x", "-local"]), ["x", "--source=local"]);
    }
}
