//! The `sx` binary: flags → configuration → provider → agent → rendered events → exit code.

pub mod args;
pub mod render;

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use clap::Parser;
use std::sync::Arc;
use sx_agent::prompt::{PromptContext, project_instructions, system_prompt};

use sx_agent::approval::{Approval, Mode};
use sx_agent::session::{Secrets, Session};
use sx_agent::tools::ToolContext;
use sx_agent::{Agent, AgentEvent, Settings};
use sx_config::Config;
use sxnet::model::{Block, Effort};
use sxnet::models::{known_models, resolve_alias};
use sxnet::{OpenOptions, ProviderError, ProviderId};
use tokio_util::sync::CancellationToken;

use crate::Failure;
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
        Failure::new(crate::exit_from_code(e.exit_code()), e.to_string())
    }
}

fn run(args: Args) -> Result<u8, Failure> {
    if let Some(dir) = &args.cwd {
        // Tools and relative paths work from here, as if sx had been started in DIR.
        std::env::set_current_dir(dir).map_err(|e| {
            Failure::usage(format!(
                "cannot use --cwd {}: {e}; pass an existing directory",
                dir.display()
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
    let config = crate::load_config(None, &args.env, extra)?;

    if args.list_models {
        return crate::runtime()?.block_on(list_models(&config));
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

    crate::runtime()?.block_on(one_shot(&config, &args, prompt))
}

async fn one_shot(config: &Config, args: &Args, prompt: String) -> Result<u8, Failure> {
    let provider_id = provider_id(config)?;
    let provider_name = provider_id.as_str();
    let model = resolve_alias(provider_id, config.get("MODEL").unwrap_or("sonnet")).to_string();

    // Everything that can be wrong with the request itself is checked before anything is
    // written or sent.
    let mut input = vec![Block::text(prompt)];
    for path in &args.images {
        let img = sx_agent::vision::load_image(path).map_err(|why| {
            Failure::usage(format!(
                "cannot attach {}: {why}; pass a PNG, JPEG, WebP or GIF file",
                path.display()
            ))
        })?;
        input.push(Block::Image(img));
    }
    let tools_on = config.flag("TOOLS");
    let tools = if tools_on {
        sx_agent::tools::builtin()
    } else {
        Vec::new()
    };
    let reserved: Vec<&str> = tools.iter().map(|t| t.name()).collect();
    let functions = if tools_on {
        sx_agent::functions::load(args.functions.as_deref(), config.project_root(), &reserved)
            .map_err(Failure::usage)?
    } else {
        if args.functions.is_some() {
            crate::stderr_line(format_args!(
                "warning: --functions is ignored because TOOLS=0 offers the model no tools"
            ));
        }
        Vec::new()
    };
    let approval = Approval::non_interactive(Mode::from_config(config.get("APPROVAL"), args.yolo));
    let secrets = Arc::new(Secrets::default());
    collect_secrets(config, &secrets);

    // The session: resumed, or new.
    let traffic = config.flag("TRAFFIC_LOG");
    let resume = if args.continue_latest {
        Some("")
    } else {
        args.resume.as_deref()
    };
    let (session, messages, system, created) = match resume {
        Some(selector) => {
            let dir = Session::find(
                config.project_root(),
                Some(selector).filter(|s| !s.is_empty()),
            )
            .map_err(|e| Failure::usage(e.to_string()))?;
            let (session, messages) = Session::open(&dir, traffic, secrets.clone())
                .map_err(|e| Failure::runtime(e.to_string()))?;
            let system = session.meta.system.clone();
            (Some(session), messages, system, false)
        }
        None => {
            let instructions = project_instructions(config.project_root());
            let system = system_prompt(&PromptContext {
                cwd: config.cwd(),
                project_root: config.project_root(),
                tools_enabled: tools_on,
                instructions: instructions.as_ref(),
            });
            let id = uuid::Uuid::now_v7().to_string();
            let session = match Session::create(
                config.project_root(),
                config.git_root(),
                &id,
                provider_name,
                &model,
                config.cwd(),
                &system,
                traffic,
                secrets.clone(),
            ) {
                Ok(s) => Some(s),
                // A read-only checkout still gets its answer; only the transcript is lost.
                Err(e) => {
                    crate::stderr_line(format_args!(
                        "warning: this session will not be saved: {e}"
                    ));
                    None
                }
            };
            (session, Vec::new(), system, true)
        }
    };

    let provider = match sxnet::providers::open(
        config,
        OpenOptions {
            traffic: session.as_ref().and_then(Session::traffic_log),
        },
    ) {
        Ok(p) => p,
        Err(e) => {
            if created && let Some(s) = &session {
                // Nothing happened in it: leave no empty session behind.
                let _ = std::fs::remove_dir_all(&s.dir);
            }
            return Err(e.into());
        }
    };
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
        compact_at: config.u64("AUTO_COMPACT_TOKENS").filter(|n| *n > 0),
    };
    let ctx = ToolContext {
        cwd: config.cwd().to_path_buf(),
        project_root: config.project_root().to_path_buf(),
        cancel: CancellationToken::new(),
    };
    let mut agent = Agent::new(
        provider,
        settings,
        system,
        session
            .as_ref()
            .map_or_else(|| uuid::Uuid::now_v7().to_string(), |s| s.id().to_string()),
        tools,
        functions,
        approval,
        ctx,
    );
    if let Some(session) = session {
        agent.attach_session(session, messages);
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

    let mut renderer = Renderer::new(args.output_format, cancel.clone());
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
    if let Some(e) = outcome.error {
        return Err(e.into());
    }
    if args.output_format == OutputFormat::Text && outcome.stop == sx_agent::StopReason::MaxTurns {
        crate::stderr_line(format_args!(
            "sx: stopped after {} model turns (--max-turns)",
            agent.settings.max_turns
        ));
    }
    Ok(stop_exit_code(outcome.stop))
}

/// `--list-models`: the provider's live catalog, else the built-in table (with a note why),
/// then the aliases.
async fn list_models(config: &Config) -> Result<u8, Failure> {
    let provider_name = provider_id(config)?;
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

/// `PROVIDER` as a typed id (the configuration already refused other values).
fn provider_id(config: &Config) -> Result<ProviderId, Failure> {
    let name = config.get("PROVIDER").unwrap_or("scorpiox");
    ProviderId::parse(name).ok_or_else(|| {
        Failure::usage(format!(
            "unknown provider '{name}'; allowed: {}",
            sxnet::providers::PROVIDERS.join(", ")
        ))
    })
}

/// Values that must never be written to a session: secret configuration values and, for the
/// local Codex login, its tokens (through the auth module, the only reader of credentials).
fn collect_secrets(config: &Config, secrets: &Secrets) {
    for (key, entry) in config.entries() {
        if sx_config::is_secret(key) {
            secrets.add(&entry.value);
        }
    }
    if config.get("PROVIDER") == Some("codex")
        && config.get("CODEX_TOKEN_SOURCE").unwrap_or("local") == "local"
        && let Some(path) = config.path("CODEX_CREDENTIALS_FILE")
        && let Ok(auth) = sxnet::auth::AuthFile::load(&path)
    {
        secrets.add(&auth.access_token);
        secrets.add(&auth.refresh_token);
    }
}
