//! The `sx` binary: flags → configuration → provider → agent → rendered events → exit code.

pub mod args;
pub mod render;

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use sx_agent::prompt::{PromptContext, project_instructions, system_prompt};
use sx_agent::{Agent, AgentEvent, Settings};
use sx_config::{Config, LoadOptions};
use sxnet::model::{Block, Effort};
use sxnet::models::{known_models, resolve_alias};
use sxnet::{OpenOptions, ProviderError};
use tokio_util::sync::CancellationToken;

use crate::{Exit, Failure};
use args::{Args, OutputFormat};
use render::{Renderer, stop_exit_code};

pub fn main() -> ExitCode {
    crate::install_panic_hook();
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            return match crate::clap_failure(e, "sx") {
                Ok(()) => ExitCode::SUCCESS,
                Err(f) => crate::report(&f),
            };
        }
    };
    match run(args) {
        Ok(code) => ExitCode::from(code),
        Err(f) => crate::report(&f),
    }
}

impl From<ProviderError> for Failure {
    fn from(e: ProviderError) -> Self {
        let exit = match e.exit_code() {
            2 => Exit::Usage,
            3 => Exit::Auth,
            _ => Exit::Runtime,
        };
        Failure::new(exit, e.to_string())
    }
}

fn run(args: Args) -> Result<u8, Failure> {
    let cwd = match &args.cwd {
        Some(dir) => {
            std::env::set_current_dir(dir).map_err(|e| {
                Failure::usage(format!(
                    "cannot use --cwd {}: {e}; pass an existing directory",
                    dir.display()
                ))
            })?;
            std::env::current_dir()?
        }
        None => std::env::current_dir()?,
    };
    let mut opts = LoadOptions::new(cwd);
    for e in &args.env {
        opts.overrides.push(sx_config::parse_override(e)?);
    }
    if let Some(p) = &args.provider {
        opts.overrides.push(("PROVIDER".into(), p.clone()));
    }
    if let Some(m) = &args.model {
        opts.overrides.push(("MODEL".into(), m.clone()));
    }
    let config = sx_config::load(&opts)?;
    for w in config.warnings() {
        eprintln!("warning: {w}");
    }

    if args.list_models {
        let provider = config.get("PROVIDER").unwrap_or("scorpiox");
        for m in known_models(provider) {
            println!("{m}");
        }
        for alias in ["opus", "sonnet", "haiku"] {
            let id = resolve_alias(provider, alias);
            if id != alias {
                println!("{alias} -> {id}");
            }
        }
        return Ok(0);
    }

    let prompt = if !args.prompt.is_empty() {
        args.prompt.join(" ")
    } else if !std::io::stdin().is_terminal() {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| {
            Failure::usage(format!(
                "cannot read the prompt from stdin: {e}; pass it as an argument"
            ))
        })?;
        s
    } else if args.print {
        return Err(Failure::usage(
            "-p needs a prompt; pass it as an argument or on stdin",
        ));
    } else {
        return Err(Failure::usage(
            "the interactive terminal UI is not available in this build yet; run a prompt with sx -p \"…\"",
        ));
    };
    if prompt.trim().is_empty() {
        return Err(Failure::usage(
            "the prompt is empty; pass a prompt as an argument or on stdin",
        ));
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(one_shot(&config, &args, prompt))
}

async fn one_shot(config: &Config, args: &Args, prompt: String) -> Result<u8, Failure> {
    let installation_id = config.home().and_then(installation_id);
    let provider = sxnet::providers::open(
        config,
        OpenOptions {
            traffic: None,
            installation_id,
        },
    )?;
    let model = resolve_alias(provider.name(), config.get("MODEL").unwrap_or("sonnet")).to_string();
    let settings = Settings {
        model,
        effort: config
            .get_nonempty("REASONING_EFFORT")
            .and_then(Effort::parse),
        thinking: config.flag("THINKING"),
        max_turns: args
            .max_turns
            .or_else(|| {
                config
                    .u64("MAX_TURNS")
                    .map(|n| n.min(u64::from(u32::MAX)) as u32)
            })
            .unwrap_or(50)
            .max(1),
    };
    let instructions = project_instructions(config.project_root());
    let system = system_prompt(&PromptContext {
        cwd: config.cwd(),
        project_root: config.project_root(),
        tools_enabled: false,
        instructions: instructions.as_ref(),
    });
    let session_id = uuid::Uuid::now_v7().to_string();
    let mut agent = Agent::new(provider, settings, system, session_id);

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

    let mut renderer = Renderer::new(args.output_format);
    renderer.event(AgentEvent::Session {
        id: &agent.session_id,
        provider: agent.provider().name(),
        model: &agent.settings.model,
        cwd: config.cwd(),
    });
    let outcome = agent
        .run(vec![Block::Text { text: prompt }], &cancel, &mut |ev| {
            renderer.event(ev)
        })
        .await;
    if let Some(e) = outcome.error {
        return Err(e.into());
    }
    if args.output_format == OutputFormat::Text && outcome.stop == sx_agent::StopReason::MaxTurns {
        eprintln!(
            "sx: stopped after {} model turns (--max-turns)",
            agent.settings.max_turns
        );
    }
    Ok(stop_exit_code(outcome.stop))
}

/// A random id for this installation, kept in `~/.scorpiox/installation_id` (Codex sends its
/// own as `client_metadata`; ours is separate). Best effort: no id is not an error.
fn installation_id(home: &Path) -> Option<String> {
    let path = home.join(".scorpiox").join("installation_id");
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim();
        if uuid::Uuid::parse_str(s).is_ok() {
            return Some(s.to_string());
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    std::fs::create_dir_all(path.parent()?).ok()?;
    std::fs::write(&path, format!("{id}\n")).ok()?;
    Some(id)
}
