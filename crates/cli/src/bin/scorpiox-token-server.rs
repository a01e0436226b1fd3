//! `scorpiox-token-server`: the team token service that `CODEX_TOKEN_SOURCE=remote` calls
//! (docs/spec.md §4.2). See `docs/token-server.md`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sx_cli::token_server::{self, DEFAULT_LISTEN};
use sx_cli::{Failure, clap_failure, main_with};

const BIN: &str = "scorpiox-token-server";

/// Serve Codex access tokens to a team: GET /codex with 'Authorization: Bearer <key>' returns
/// the token of the account bound to that key in TOKEN_SERVER_KEYS, refreshed here as needed.
#[derive(Debug, Parser)]
#[command(name = "scorpiox-token-server", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the address is printed on stdout)
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    listen: String,
    /// Override a config key for this run; repeatable
    #[arg(short = 'e', value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Working directory (decides the project configuration)
    #[arg(long, value_name = "DIR")]
    cwd: Option<PathBuf>,
}

fn main() -> ExitCode {
    main_with(run)
}

fn run() -> Result<(), Failure> {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => return clap_failure(e, BIN),
    };
    let config = sx_cli::load_config(args.cwd.as_deref(), &args.overrides, Vec::new())?;
    let addrs = token_server::listen_addrs(&args.listen)?;
    let accounts = token_server::accounts(&config)?;
    for w in &accounts.warnings {
        eprintln!("warning: {w}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let (listener, shutdown) = sx_cli::service::bind(&addrs, &args.listen).await?;
        token_server::serve(listener, accounts.map, shutdown)
            .await
            .map_err(|e| Failure::runtime(format!("the server failed: {e}; restart it")))
    })
}
