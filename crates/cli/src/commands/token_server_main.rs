//! `scorpiox-token-server`: the team token service that `CODEX_TOKEN_SOURCE=remote` calls
//! (docs/spec.md §4.2). See `docs/token-server.md`.

use std::process::ExitCode;

use crate::service::{self, CommonArgs};
use crate::token_server::{self, DEFAULT_LISTEN};
use crate::{Failure, clap_failure, main_with};
use clap::Parser;

const BIN: &str = "scorpiox-token-server";

/// Serve Codex access tokens to a team: GET /codex with 'Authorization: Bearer <key>' returns
/// the token of the account bound to that key in TOKEN_SERVER_KEYS, refreshed here as needed.
#[derive(Debug, Parser)]
#[command(name = "scorpiox-token-server", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the address is printed on stdout)
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    listen: String,
    #[command(flatten)]
    common: CommonArgs,
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell) and exit
    #[arg(long, value_enum, value_name = "SHELL")]
    completions: Option<crate::completions::Shell>,
}

pub fn main() -> ExitCode {
    main_with(run)
}

fn run() -> Result<(), Failure> {
    let args = match Args::try_parse_from(crate::args()) {
        Ok(a) => a,
        Err(e) => return clap_failure(e, BIN),
    };
    if let Some(shell) = args.completions {
        return crate::completions::print(<Args as clap::CommandFactory>::command(), shell);
    }
    let prepare = |config: &sx_config::Config| {
        let accounts = token_server::accounts(config)?;
        for w in &accounts.warnings {
            eprintln!("warning: {w}");
        }
        Ok(accounts)
    };
    service::run(
        &args.listen,
        DEFAULT_LISTEN,
        &args.common,
        prepare,
        token_server::serve,
    )
}
