//! `scorpiox-token-server`: the team token service that `CODEX_TOKEN_SOURCE=remote` calls
//! (docs/spec.md §4.2). See `docs/token-server.md`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::token_server::{self, DEFAULT_LISTEN};
use crate::{Failure, clap_failure, main_with};
use clap::Parser;
use tokio::signal::unix::{SignalKind, signal};

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
    let config = crate::load_config(args.cwd.as_deref(), &args.overrides, Vec::new())?;
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
        let listener = tokio::net::TcpListener::bind(&addrs[..])
            .await
            .map_err(|e| {
                Failure::runtime(format!(
                    "cannot listen on {}: {e}; stop whatever uses that address or pick another \
                 with --listen",
                    args.listen
                ))
            })?;
        // Signal handlers before the address is announced: whoever reads that line may stop us.
        let signal_failed =
            |e: std::io::Error| Failure::runtime(format!("cannot handle signals: {e}"));
        let mut term = signal(SignalKind::terminate()).map_err(signal_failed)?;
        let mut int = signal(SignalKind::interrupt()).map_err(signal_failed)?;
        let local = listener.local_addr()?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{local}").and_then(|()| out.flush())?;
        drop(out);
        let shutdown = async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            eprintln!("shutting down");
        };
        token_server::serve(listener, accounts.map, shutdown)
            .await
            .map_err(|e| Failure::runtime(format!("the server failed: {e}; restart it")))
    })
}
