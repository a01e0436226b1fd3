//! `scorpiox-router`: the Anthropic Messages API in front of Codex, Anthropic, Gemini and
//! OpenAI-compatible back-ends (docs/spec.md §6). See `docs/router.md`.

use std::process::ExitCode;

use clap::Parser;
use sx_cli::router::{self, DEFAULT_LISTEN};
use sx_cli::service::{self, CommonArgs};
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
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    main_with(run)
}

fn run() -> Result<(), Failure> {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => return clap_failure(e, BIN),
    };
    service::run(
        &args.listen,
        DEFAULT_LISTEN,
        &args.common,
        router::setup,
        router::serve,
    )
}
