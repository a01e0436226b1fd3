//! `scorpiox-router`: the Anthropic Messages API in front of Codex, Anthropic, Gemini and
//! OpenAI-compatible back-ends (docs/spec.md §6). See `docs/router.md`.

use std::process::ExitCode;

use crate::router::{self, DEFAULT_LISTEN};
use crate::service::{self, CommonArgs};
use crate::{Failure, clap_failure, main_with};
use clap::Parser;

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
    service::run(
        &args.listen,
        DEFAULT_LISTEN,
        &args.common,
        router::setup,
        router::serve,
    )
}
