//! The `claude_code` provider: drives the official Claude Code CLI (docs/providers.md,
//! "claude_code"; why: docs/protocols/providers.md §2 and §2.6).
//!
//! A Claude subscription's token may only be used by Claude Code itself, so sx runs the
//! official `claude` binary (`CLAUDE_CODE_BIN`, default `claude` on `PATH`) and never reads,
//! stores or sends that token: nothing here (or anywhere in sx) opens `~/.claude` or its
//! credentials. `claude` signs in, refreshes and caches on its own.
//!
//! One sx turn is one `claude -p` process (`claude_code/args.rs`): `--output-format stream-json
//! --verbose --include-partial-messages --input-format stream-json`, the model, the permission
//! mode mapped from sx's approval mode, and `--resume <id>` with the CLI's own session id from
//! the previous turn (kept in the sx session's `meta.json`, so `sx --continue` continues it).
//! The user's newest message goes on stdin (`claude_code/input.rs`; with no CLI session yet and
//! earlier history, a summary of it first); sx's system prompt is not sent — Claude Code has its
//! own prompt and tools. The output lines become stream events (`claude_code/output.rs`, which
//! reuses the Messages stream parser for the deltas); the CLI runs its tools itself and the
//! agent only shows them. The child runs in its own process group, killed when the turn is
//! dropped (`claude_code/process.rs`). A `--resume` id the CLI no longer knows starts a new
//! CLI session with the summary instead.

mod args;
mod errors;
mod fast_line;
mod input;
mod output;
mod process;

use std::path::PathBuf;

use async_trait::async_trait;

use super::{Caching, Capabilities, OpenOptions, Provider};
use crate::ProviderId;
use crate::error::ProviderError;
use crate::event::{Completion, EventSink, StreamEvent};
use crate::model::Request;
pub use args::PermissionMode;
#[doc(hidden)]
pub use output::fast_line_agrees;
use output::{CliOutput, Outcome};
pub use process::{Limits, LineReader};

pub struct ClaudeCodeProvider {
    /// The resolved binary, and how the configuration named it (for messages).
    bin: PathBuf,
    bin_name: String,
    cwd: PathBuf,
    mode: PermissionMode,
    limits: Limits,
}

/// Open the provider: `CLAUDE_CODE_BIN` must name a program (exit 2 with how to install
/// Claude Code otherwise); `APPROVAL` (with `--yolo` as `auto`) sets the permission mode.
pub fn open(
    config: &sx_config::Config,
    _opts: OpenOptions,
) -> Result<ClaudeCodeProvider, ProviderError> {
    let name = config.get("CLAUDE_CODE_BIN").unwrap_or("claude");
    let value = match name.strip_prefix("~/") {
        Some(rest) => config
            .home()
            .map_or_else(|| name.to_string(), |h| h.join(rest).display().to_string()),
        None => name.to_string(),
    };
    let bin = args::resolve_bin(&value, config.cwd(), std::env::var_os("PATH"))?;
    Ok(ClaudeCodeProvider {
        bin,
        bin_name: name.to_string(),
        cwd: config.cwd().to_path_buf(),
        mode: PermissionMode::from_approval(config.get("APPROVAL")),
        limits: Limits::default(),
    })
}

impl ClaudeCodeProvider {
    /// A provider running `bin` in `cwd` (tests; `open` reads the configuration).
    pub fn new(bin: PathBuf, cwd: PathBuf, mode: PermissionMode, limits: Limits) -> Self {
        ClaudeCodeProvider {
            bin_name: bin.display().to_string(),
            bin,
            cwd,
            mode,
            limits,
        }
    }

    /// One `claude` process: `resume` continues its session, `with_history` sends the summary
    /// of sx's earlier transcript.
    async fn turn(
        &self,
        req: &Request<'_>,
        resume: Option<&str>,
        with_history: bool,
        sink: &mut EventSink<'_>,
    ) -> Result<Outcome, ProviderError> {
        let stdin = input::user_line(req, with_history)?;
        let argv = args::turn_args(req, self.mode, resume);
        let mut child = process::spawn(&self.bin, &argv, &self.cwd, stdin, self.limits)?;
        let mut out = CliOutput::new(req.thinking);
        // An error returns here and drops `child`: the group is killed.
        while let Some(line) = child.stdout.next_line().await? {
            out.on_line(line, sink)?;
        }
        let (exit, stderr) = child.finish().await;
        out.finish(&exit, &stderr, &self.bin_name)
    }
}

#[async_trait]
impl Provider for ClaudeCodeProvider {
    fn id(&self) -> ProviderId {
        ProviderId::ClaudeCode
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            runs_own_tools: true,
            keeps_own_history: true,
            vision: true,
            // Claude Code marks its own cache breakpoints.
            caching: Caching::Automatic,
        }
    }

    /// Unknown: the CLI manages (and compacts) its own context.
    fn context_window(&self, _model: &str) -> Option<u64> {
        None
    }

    async fn stream(
        &self,
        req: &Request<'_>,
        sink: &mut EventSink<'_>,
    ) -> Result<Completion, ProviderError> {
        let resume = req.provider_session;
        match self.turn(req, resume, resume.is_none(), sink).await? {
            Outcome::Done(c) => return Ok(c),
            Outcome::StaleSession => {}
        }
        let id = resume.unwrap_or("");
        sink(StreamEvent::Notice(&format!(
            "Claude Code no longer has its conversation {id}; starting a new one with a summary of this session"
        )));
        match self.turn(req, None, true, sink).await? {
            Outcome::Done(c) => Ok(c),
            Outcome::StaleSession => Err(ProviderError::Cli {
                message: "Claude Code could not start a new conversation; run `claude` in this directory to look into it".into(),
            }),
        }
    }
}

/// Decode a whole `stream-json` output (benchmarks, offline replay): the path a live turn's
/// stdout takes — bounded lines, the line state machine, the completion — minus the process.
pub async fn decode_output<R: tokio::io::AsyncRead + Unpin>(
    reader: R,
    show_thinking: bool,
    sink: &mut EventSink<'_>,
) -> Result<Completion, ProviderError> {
    let mut lines = LineReader::new(reader, Limits::default());
    let mut out = CliOutput::new(show_thinking);
    while let Some(line) = lines.next_line().await? {
        out.on_line(line, sink)?;
    }
    match out.finish("exited with status 0", "", "claude")? {
        Outcome::Done(c) => Ok(c),
        Outcome::StaleSession => Err(ProviderError::Cli {
            message: "the output resumes a conversation Claude Code does not have".into(),
        }),
    }
}

#[cfg(test)]
#[path = "claude_code_tests.rs"]
mod tests;
