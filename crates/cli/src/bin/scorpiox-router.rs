//! `scorpiox-router`: the Anthropic Messages API in front of Codex, Anthropic, Gemini and
//! OpenAI-compatible back-ends (docs/spec.md §6). See `docs/router.md`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sx_cli::router::{self, DEFAULT_LISTEN};
use sx_cli::{Failure, clap_failure, main_with};

const BIN: &str = "scorpiox-router";

/// Serve the Anthropic Messages API (POST /v1/messages, GET /v1/models) and answer each request
/// with the upstream provider ROUTER_ROUTES picks for its model, using this machine's
/// credentials. No client authentication: keep it on loopback or behind an authenticating proxy.
#[derive(Debug, Parser)]
#[command(name = "scorpiox-router", version)]
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
    let addrs = router::listen_addrs(&args.listen)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        // Providers open inside the runtime (their HTTP clients belong to it).
        let setup = router::setup(&config)?;
        let (listener, shutdown) = sx_cli::service::bind(&addrs, &args.listen).await?;
        router::serve(listener, setup, shutdown)
            .await
            .map_err(|e| Failure::runtime(format!("the router failed: {e}; restart it")))
    })
}
