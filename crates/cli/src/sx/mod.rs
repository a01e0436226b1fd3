//! The `sx` binary: flags → configuration → provider → agent → rendered events → exit code.

mod activity;
pub mod args;
mod closing;
mod flags;
mod images;
pub mod render;
pub mod sessions;
pub mod stdin;
mod verbose;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use args::OutputFormat;
use clap::{Parser, ValueEnum};
use clap_complete::Shell;
use sx_agent::AgentEvent;
use sx_agent::startup::{self, Resume, StartError, StartOptions, Started};
use sx_config::Config;
use sxnet::OpenOptions;
use sxnet::ProviderError;
use sxnet::model::Block;
use sxnet::models::{known_models, resolve_alias};
use tokio_util::sync::CancellationToken;

use crate::Failure;
use args::Args;
use render::{Renderer, stop_exit_code};

pub fn main() -> ExitCode {
    sx_config::phases::mark("main");
    let code = main_inner();
    sx_config::phases::mark("exit");
    sx_config::phases::report();
    code
}

fn main_inner() -> ExitCode {
    crate::install_panic_hook();
    if let Some(shell) = completions_request(std::env::args_os().skip(1)) {
        return match crate::completions::print(completions_command(), shell) {
            Ok(()) => ExitCode::SUCCESS,
            Err(f) => crate::report(&f),
        };
    }
    let args = match Args::try_parse_from(crate::args()) {
        Ok(a) => a,
        Err(e) => {
            return match crate::clap_failure(e, "sx") {
                Ok(()) => ExitCode::SUCCESS,
                Err(f) => crate::report(&f),
            };
        }
    };
    sx_config::phases::mark("flags parsed");
    match run(args) {
        Ok(code) => ExitCode::from(code),
        Err(f) => crate::report(&f),
    }
}

/// `sx completions SHELL`, exactly: any other use of the word is a prompt (`sx completions
/// are slow, why?`), so it is matched before the flags rather than being a clap subcommand.
fn completions_request(mut args: impl Iterator<Item = std::ffi::OsString>) -> Option<Shell> {
    let (first, shell) = (args.next()?, args.next()?);
    if first != "completions" || args.next().is_some() {
        return None;
    }
    Shell::from_str(shell.to_str()?, false).ok()
}

/// sx's flags plus the `completions` command, for the completion scripts.
fn completions_command() -> clap::Command {
    use clap::CommandFactory;
    Args::command().subcommand(
        clap::Command::new("completions")
            .about("Print the shell completion script for sx")
            .arg(
                clap::Arg::new("shell")
                    .value_name("SHELL")
                    .required(true)
                    .value_parser(clap::value_parser!(Shell)),
            ),
    )
}

impl From<ProviderError> for Failure {
    fn from(e: ProviderError) -> Self {
        Failure::new(crate::exit_from_code(e.exit_code()), e.to_string())
    }
}

fn run(args: Args) -> Result<u8, Failure> {
    if let Some(dir) = &args.cwd {
        // Tools and relative paths work from here, as if sx had been started in DIR.
        std::env::set_current_dir(dir).map_err(|e| {
            Failure::usage(format!(
                "cannot use --cwd {}: {}; pass an existing directory",
                dir.display(),
                flags::io_reason(&e)
            ))
        })?;
    }
    let mut extra = Vec::new();
    if let Some(p) = &args.provider {
        extra.push(("PROVIDER".to_string(), p.clone()));
    }
    if let Some(m) = &args.model {
        extra.push(("MODEL".to_string(), m.clone()));
    }
    // `--yolo` is APPROVAL=auto for everything that reads the configuration (the claude_code
    // provider maps it to Claude Code's permission mode).
    if args.yolo {
        extra.push(("APPROVAL".to_string(), "auto".to_string()));
    }
    let config = crate::load_config(None, &args.env, extra.clone())?;
    sx_config::phases::mark("config loaded");

    if args.list_models {
        return crate::runtime()?.block_on(list_models(&config));
    }
    if args.sessions {
        return sessions::list(&config, args.output_format);
    }
    if let Some(name) = &args.name {
        sx_agent::session::list::check_name(name).map_err(Failure::usage)?;
    }

    // Answers for a stopped run's function calls are the input: no prompt needed.
    let answers = flags::function_results(&args)?;
    // Piped input is the prompt, or context for the prompt given (docs/agent.md "Piped input").
    let prompt = if !args.prompt.is_empty() {
        let prompt = args.prompt.join(" ");
        match stdin::read_piped()? {
            Some(piped) => stdin::with_context(prompt, &piped),
            None => prompt,
        }
    } else if !answers.is_empty() {
        String::new()
    } else if let Some(piped) = stdin::read_piped()? {
        piped.text
    } else if args.print {
        return Err(Failure::usage(
            "-p needs a prompt; pass it as an argument or on stdin",
        ));
    } else {
        return interactive(config, &args, extra);
    };
    if prompt.trim().is_empty() && answers.is_empty() {
        return Err(Failure::usage(
            "the prompt is empty; pass a prompt as an argument or on stdin",
        ));
    }

    let rt = crate::runtime()?;
    sx_config::phases::mark("runtime started");
    let code = rt.block_on(one_shot(&config, &args, prompt, answers));
    closing::end_background(&rt);
    // A read a tool gave up on (stuck in the kernel, docs/reliability.md) must not hold the
    // exit: the runtime does not wait for it.
    rt.shutdown_background();
    code
}

/// `sx` on a terminal with no prompt: the interactive UI (docs/ui.md).
fn interactive(config: Config, args: &Args, flags: Vec<(String, String)>) -> Result<u8, Failure> {
    if !std::io::stdout().is_terminal() {
        return Err(Failure::usage(
            "the interactive UI needs a terminal on stdout; run a prompt with sx -p \"…\" to write the answer to a pipe or file",
        ));
    }
    let session_flags = flags::session_flags(args)?;
    if args.verbose {
        crate::stderr_line(format_args!(
            "warning: --verbose applies to one-shot runs (sx -p); the interactive UI shows the same in its status line"
        ));
    }
    let env = args.env.clone();
    let launch = sx_tui::Launch {
        config,
        // `--provider`/`-m` stay in force; the session's own changes go on top.
        reload: Box::new(move |extra| {
            let all = flags.iter().cloned().chain(extra).collect();
            crate::load_config(None, &env, all).map_err(|f| f.to_string())
        }),
        resume: resume_of(args),
        functions_file: args.functions.clone(),
        yolo: args.yolo,
        max_turns: args.max_turns,
        name: args.name.clone(),
        flags: session_flags,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))?;
    let ended = rt.block_on(sx_tui::run(launch));
    closing::end_background(&rt);
    // As in one-shot runs: an abandoned read does not hold the exit.
    rt.shutdown_background();
    match ended {
        sx_tui::Ended::Left => Ok(0),
        sx_tui::Ended::Failed(code, message) => {
            Err(Failure::new(crate::exit_from_code(code), message))
        }
    }
}

fn resume_of(args: &Args) -> Option<Resume> {
    if args.continue_latest {
        return Some(Resume::Latest);
    }
    args.resume.as_ref().map(|s| {
        if s.is_empty() {
            Resume::Latest
        } else {
            Resume::Select(s.clone())
        }
    })
}

impl From<StartError> for Failure {
    fn from(e: StartError) -> Self {
        Failure::new(crate::exit_from_code(e.exit_code()), e.to_string())
    }
}

async fn one_shot(
    config: &Config,
    args: &Args,
    prompt: String,
    answers: Vec<sx_agent::FunctionResult>,
) -> Result<u8, Failure> {
    // Everything that can be wrong with the request itself is checked before anything is
    // written or sent.
    let mut input = Vec::new();
    if !prompt.trim().is_empty() {
        input.push(Block::text(prompt));
    }
    input.extend(images::attach(&args.images)?);
    let session_flags = flags::session_flags(args)?;
    if args.verbose {
        for line in verbose::config_lines(config) {
            crate::stderr_line(format_args!("sx: {line}"));
        }
    }
    let resume = resume_of(args);
    let Started {
        mut agent,
        warnings,
        ..
    } = startup::start(
        config,
        StartOptions {
            resume,
            functions_file: args.functions.as_deref(),
            yolo: args.yolo,
            max_turns: args.max_turns,
            asker: None,
            name: args.name.as_deref(),
            flags: session_flags,
            observer: args
                .verbose
                .then(|| std::sync::Arc::new(verbose::Traffic::default()) as _),
        },
    )?;
    for w in warnings {
        crate::stderr_line(format_args!("warning: {w}"));
    }
    if !answers.is_empty() {
        // The results go first, in place of the calls' "interrupted" placeholders.
        let mut blocks = agent.hand_back(&answers).map_err(Failure::usage)?;
        blocks.append(&mut input);
        input = blocks;
    }
    if args.verbose {
        let tools: Vec<&str> = agent.tool_specs().iter().map(|t| t.name.as_str()).collect();
        crate::stderr_line(format_args!(
            "sx: session {} ({} · {}); tools: {}",
            agent.session_id,
            agent.provider().name(),
            agent.settings.model,
            if tools.is_empty() {
                "none".to_string()
            } else {
                tools.join(", ")
            }
        ));
    }

    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
        // A second Ctrl-C while cancelling: leave now.
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });

    let mut renderer = Renderer::new(args.output_format, cancel.clone()).verbose(args.verbose);
    renderer.event(AgentEvent::Session {
        id: &agent.session_id,
        provider: agent.provider().name(),
        model: &agent.settings.model,
        cwd: config.cwd(),
    });
    let outcome = agent
        .run(input, &cancel, &mut |ev| renderer.event(ev))
        .await;
    if renderer.reader_gone() {
        // `sx -p … | head -n 1`: the reader has what it wanted. Not an error (docs/agent.md).
        return Ok(0);
    }
    if let Some(line) = closing::refused(&agent.refused_unattended()) {
        crate::stderr_line(format_args!("{line}"));
    }
    if let Some(e) = outcome.error {
        return Err(e.into());
    }
    if args.output_format == OutputFormat::Text
        && let Some(line) =
            closing::function_stop(outcome.stop, &agent.waiting_for_caller(), &agent.session_id)
    {
        crate::stderr_line(format_args!("{line}"));
    }
    if outcome.stop == sx_agent::StopReason::MaxTurns {
        return Err(Failure::runtime(format!(
            "stopped after {} model turns (the --max-turns limit); resume with sx --continue -p \"continue\", adding --max-turns N to allow more turns",
            agent.settings.max_turns
        )));
    }
    Ok(stop_exit_code(outcome.stop))
}

/// `--list-models`: the provider's live catalog, else the built-in table (with a note why),
/// then the aliases.
async fn list_models(config: &Config) -> Result<u8, Failure> {
    let provider_name = startup::provider_id(config)?;
    let live = match sxnet::providers::open(config, OpenOptions::default()) {
        Ok(p) => p.list_models().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let models: Vec<String> = match live {
        Ok(list) => list
            .into_iter()
            .map(|m| match m.display_name {
                Some(d) if d != m.id => format!("{}  ({d})", m.id),
                _ => m.id,
            })
            .collect(),
        Err(why) => {
            let known = known_models(provider_name);
            if known.is_empty() {
                // `openai`: any server, any model ids — nothing sx could list for it.
                crate::stderr_line(format_args!(
                    "sx: cannot list the models ({why}); {provider_name} has no built-in list: set MODEL to a model id the server serves"
                ));
            } else {
                crate::stderr_line(format_args!("sx: showing the built-in model list ({why})"));
            }
            known.iter().map(|m| (*m).to_string()).collect()
        }
    };
    let mut out = std::io::stdout().lock();
    let written = (|| {
        for m in models {
            writeln!(out, "{m}")?;
        }
        for alias in ["opus", "sonnet", "haiku"] {
            let id = resolve_alias(provider_name, alias);
            if id != alias {
                writeln!(out, "{alias} -> {id}")?;
            }
        }
        out.flush()
    })();
    match written {
        // `sx --list-models | head -n 1`: not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::runtime(format!(
            "cannot write the model list: {e}; check where stdout goes"
        ))),
        _ => Ok(0),
    }
}
