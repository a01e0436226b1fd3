//! `sx` command-line flags (docs/spec.md §1.1).

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// The answer streams to stdout; thinking and activity go to stderr.
    Text,
    /// One JSON object when the run ends.
    Json,
    /// One JSON object per event, as they happen.
    StreamJson,
}

#[derive(Debug, Parser)]
#[command(
    name = "sx",
    version,
    about = "scorpiox code: a fast terminal coding agent",
    long_about = "scorpiox code: a fast terminal coding agent.\n\n\
        `sx` alone starts an interactive session; `sx \"prompt\"` or `sx -p \"prompt\"` runs one \
        prompt to completion and exits. Without a prompt, a prompt piped on stdin is used.",
    after_help = "Configuration: scorpiox-env.txt (see `scorpiox-config --verbose`). Shell completions: `sx completions bash|zsh|fish`. Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error, 3 authentication failure, 130 cancelled."
)]
pub struct Args {
    /// The prompt (words are joined with spaces).
    #[arg(value_name = "PROMPT")]
    pub prompt: Vec<String>,

    /// One-shot (print) mode: run the prompt to completion and exit.
    #[arg(short = 'p', long = "print")]
    pub print: bool,

    /// Model or alias (opus, sonnet, haiku) for this run.
    #[arg(short = 'm', long = "model", value_name = "MODEL")]
    pub model: Option<String>,

    /// Provider for this run: codex, claude_code, anthropic, gemini, openai, scorpiox.
    #[arg(long = "provider", value_name = "NAME")]
    pub provider: Option<String>,

    /// Override a configuration key for this run (repeatable; nothing is written).
    #[arg(short = 'e', value_name = "KEY=VALUE")]
    pub env: Vec<String>,

    /// Working directory.
    #[arg(long = "cwd", value_name = "DIR")]
    pub cwd: Option<PathBuf>,

    /// Attach an image to the prompt (PNG, JPEG, WebP, GIF); repeatable.
    #[arg(short = 'i', long = "image", value_name = "PATH")]
    pub images: Vec<PathBuf>,

    /// User-defined functions for function calling (a JSON array; see docs/agent.md).
    #[arg(long = "functions", value_name = "FILE")]
    pub functions: Option<PathBuf>,

    /// Resume a saved session: by name, id, short id (sx --sessions lists them) or a unique
    /// beginning of one; the latest without a value.
    #[arg(long = "resume", value_name = "ID", num_args = 0..=1, default_missing_value = "")]
    pub resume: Option<String>,

    /// Continue the most recent session.
    #[arg(short = 'c', long = "continue", conflicts_with = "resume")]
    pub continue_latest: bool,

    /// Approve every tool call without asking (same as APPROVAL=auto).
    #[arg(long = "yolo")]
    pub yolo: bool,

    /// Output format.
    #[arg(long = "output-format", value_enum, default_value_t = OutputFormat::Text, value_name = "FMT")]
    pub output_format: OutputFormat,

    /// Stop after this many model turns, 1 or more (default: MAX_TURNS, 50).
    #[arg(long = "max-turns", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_turns: Option<u32>,

    /// List the models the provider offers and exit.
    #[arg(long = "list-models")]
    pub list_models: bool,

    /// List this project's saved sessions (newest first) and exit.
    #[arg(long = "sessions", conflicts_with_all = ["prompt", "print", "resume", "continue_latest"])]
    pub sessions: bool,

    /// Name this session (a new one, or the one resumed); --resume NAME finds it.
    #[arg(long = "name", value_name = "NAME")]
    pub name: Option<String>,

    /// One-shot runs: say on stderr where the configuration came from, each request and
    /// response (method, URL, status, size, time) and each model turn's usage; never a secret.
    #[arg(long = "verbose")]
    pub verbose: bool,

    /// Text added at the end of a new session's system prompt.
    #[arg(long = "append-system-prompt", value_name = "TEXT")]
    pub append_system_prompt: Option<String>,

    /// A folder the file tools may work in besides the project; repeatable.
    #[arg(long = "add-dir", value_name = "DIR")]
    pub add_dirs: Vec<PathBuf>,

    /// Tools that run without asking (names separated by commas or spaces); repeatable.
    #[arg(long = "allowed-tools", alias = "allowedTools", value_name = "TOOLS")]
    pub allowed_tools: Vec<String>,

    /// Tools the model is not offered (names separated by commas or spaces); repeatable.
    #[arg(
        long = "disallowed-tools",
        alias = "disallowedTools",
        value_name = "TOOLS"
    )]
    pub disallowed_tools: Vec<String>,

    /// With --resume/--continue: the result of a call to a function without a command, as
    /// CALL_ID=OUTPUT or {"id":…,"output":…,"is_error":false}; one per waiting call.
    #[arg(long = "function-result", value_name = "RESULT")]
    pub function_results: Vec<String>,
}
