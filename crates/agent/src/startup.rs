//! Start-up shared by every front end (one-shot `sx -p` and the interactive UI): configuration
//! → provider → session (new or resumed) → agent. Everything that can be wrong with the request
//! itself (an unknown provider, bad functions, a provider that cannot start) is found before
//! anything is written, so a failed start leaves no session behind.

use std::path::Path;
use std::sync::Arc;

use sx_config::Config;
use sxnet::http::{TrafficLog, TrafficSlot};
use sxnet::model::{Effort, Message};
use sxnet::models::resolve_alias;
use sxnet::{OpenOptions, Provider, ProviderError, ProviderId};
use tokio_util::sync::CancellationToken;

use crate::approval::{Approval, Asker, Mode};
use crate::prompt::{PromptContext, project_instructions, system_prompt};
use crate::session::{Secrets, Session};
pub use crate::session_flags::SessionFlags;
use crate::session_flags::{prompt_additions, tool_names, without};
use crate::tools::ToolContext;
use crate::{Agent, Settings};

/// Which saved session to continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// The most recent one (`--continue`, `--resume` without a value).
    Latest,
    /// By id, id prefix or name.
    Select(String),
}

/// What a front end asks of the start.
#[derive(Default)]
pub struct StartOptions<'a> {
    pub resume: Option<Resume>,
    /// `--functions FILE`.
    pub functions_file: Option<&'a Path>,
    /// `--yolo`.
    pub yolo: bool,
    /// `--max-turns`, else `MAX_TURNS`.
    pub max_turns: Option<u32>,
    /// Who answers approval questions; `None` for one-shot runs.
    pub asker: Option<Box<dyn Asker>>,
    /// `--name`: name the new or resumed session (checked with `session::list::check_name`).
    pub name: Option<&'a str>,
    /// `--append-system-prompt`, `--add-dir`, `--allowed-tools`, `--disallowed-tools`.
    pub flags: SessionFlags,
    /// Sees every request and response besides the session's traffic log (`--verbose`).
    pub observer: Option<Arc<dyn TrafficLog>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The request or the configuration is wrong (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Something failed that may work another time (exit 1).
    #[error("{0}")]
    Runtime(String),
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

impl StartError {
    pub fn exit_code(&self) -> u8 {
        match self {
            StartError::Usage(_) => sxnet::error::EXIT_CONFIG,
            StartError::Runtime(_) => sxnet::error::EXIT_RUNTIME,
            StartError::Provider(e) => e.exit_code(),
        }
    }
}

/// A started agent, and what the user should be told about the start.
pub struct Started {
    pub agent: Agent,
    /// One line each ("this session will not be saved: …").
    pub warnings: Vec<String>,
    /// What later session and provider changes need.
    pub handles: Handles,
}

/// The session's traffic log (the provider writes to it; a new session points it elsewhere)
/// and the secrets kept out of its files.
#[derive(Clone)]
pub struct Handles {
    pub traffic: Arc<TrafficSlot>,
    pub secrets: Arc<Secrets>,
}

/// `PROVIDER` as a typed id (the configuration already refused other values).
pub fn provider_id(config: &Config) -> Result<ProviderId, StartError> {
    let name = config.get("PROVIDER").unwrap_or("scorpiox");
    ProviderId::parse(name).ok_or_else(|| {
        StartError::Usage(format!(
            "unknown provider '{name}'; allowed: {}",
            sxnet::providers::PROVIDERS.join(", ")
        ))
    })
}

/// `MODEL` (default `sonnet`) with the provider's aliases resolved.
pub fn model(config: &Config, provider: ProviderId) -> String {
    resolve_alias(provider, config.get("MODEL").unwrap_or("sonnet")).to_string()
}

/// The provider the configuration names, logging its traffic to `traffic` once that is set.
pub fn open_provider(
    config: &Config,
    traffic: Option<Arc<TrafficSlot>>,
) -> Result<Arc<dyn Provider>, ProviderError> {
    sxnet::providers::open(
        config,
        OpenOptions {
            traffic: traffic.map(|t| t as Arc<dyn sxnet::http::TrafficLog>),
        },
    )
}

pub fn start(config: &Config, opts: StartOptions<'_>) -> Result<Started, StartError> {
    let mut warnings = Vec::new();
    provider_id(config)?;
    let tools_on = config.flag("TOOLS");
    let tools = if tools_on {
        crate::tools::builtin()
    } else {
        Vec::new()
    };
    let reserved: Vec<&str> = tools.iter().map(|t| t.name()).collect();
    let functions = if tools_on {
        crate::functions::load(opts.functions_file, config.project_root(), &reserved)
            .map_err(StartError::Usage)?
    } else {
        if opts.functions_file.is_some() {
            warnings.push(
                "--functions is ignored because TOOLS=0 offers the model no tools".to_string(),
            );
        }
        Vec::new()
    };
    // The tool flags name tools and functions of this session; disallowed ones are not offered.
    let (tools, functions, allowed) = if tools_on {
        let known: Vec<&str> = tools
            .iter()
            .map(|t| t.name())
            .chain(functions.iter().map(|f| f.name.as_str()))
            .collect();
        let allowed = tool_names("--allowed-tools", &opts.flags.allowed_tools, &known)
            .map_err(StartError::Usage)?;
        let disallowed = tool_names("--disallowed-tools", &opts.flags.disallowed_tools, &known)
            .map_err(StartError::Usage)?;
        let (tools, functions) = without(tools, functions, &disallowed);
        (tools, functions, allowed)
    } else {
        for (flag, given) in [
            ("--allowed-tools", &opts.flags.allowed_tools),
            ("--disallowed-tools", &opts.flags.disallowed_tools),
        ] {
            if given.iter().any(|g| !g.trim().is_empty()) {
                warnings.push(format!(
                    "{flag} is ignored because TOOLS=0 offers the model no tools"
                ));
            }
        }
        (tools, functions, Vec::new())
    };
    let mode = Mode::from_config(config.get("APPROVAL"), opts.yolo);
    warnings.extend(crate::tools::sandbox::configure(config, mode == Mode::Auto));
    let approval = match opts.asker {
        Some(asker) => Approval::interactive(mode, asker),
        None => Approval::non_interactive(mode),
    }
    .allowing(allowed)
    .sandbox_off(config.get("SANDBOX") == Some("off"));
    let secrets = Arc::new(Secrets::default());
    collect_secrets(config, &secrets);

    // The provider before the session: one that cannot start leaves nothing behind.
    let traffic_on = config.flag("TRAFFIC_LOG");
    let slot = Arc::new(TrafficSlot::default());
    let traffic: Option<Arc<dyn TrafficLog>> = match (traffic_on, opts.observer) {
        (true, Some(o)) => Some(Arc::new(crate::observe::Both::new(slot.clone(), o))),
        (true, None) => Some(slot.clone()),
        (false, o) => o,
    };
    let provider = sxnet::providers::open(config, OpenOptions { traffic })?;
    sx_config::phases::mark("provider opened");
    // The provider that answers (the default `scorpiox` may have chosen one) names the model.
    let provider_id = provider.id();
    let model = model(config, provider_id);
    if provider.capabilities().runs_own_tools && !functions.is_empty() {
        warnings.push(format!(
            "user functions are not offered through {} (it runs its own tools); {} ignored",
            provider.name(),
            match functions.len() {
                1 => "1 function is".to_string(),
                n => format!("{n} functions are"),
            }
        ));
    }

    let (mut session, messages, system) = match &opts.resume {
        Some(which) => {
            let selector = match which {
                Resume::Latest => None,
                Resume::Select(s) => Some(s.as_str()),
            };
            let dir = Session::find(config.project_root(), selector)
                .map_err(|e| StartError::Usage(e.to_string()))?;
            let (session, messages) = Session::open(&dir, traffic_on, secrets.clone())
                .map_err(|e| StartError::Runtime(e.to_string()))?;
            sx_config::phases::mark("transcript loaded");
            remove_expired_sessions(config, Some(&dir));
            let system = session.meta.system.clone();
            // A resumed session keeps its system prompt (prompt caching, docs/agent.md).
            if let Some(text) = opts.flags.append_system_prompt.as_deref()
                && !system.trim_end().ends_with(text.trim_end())
            {
                warnings.push(
                    "--append-system-prompt is ignored: a resumed session keeps the system prompt it started with"
                        .to_string(),
                );
            }
            (Some(session), messages, system)
        }
        None => {
            remove_expired_sessions(config, None);
            let instructions = project_instructions(config.project_root());
            let system = system_prompt(&PromptContext {
                cwd: config.cwd(),
                project_root: config.project_root(),
                tools_enabled: tools_on,
                instructions: instructions.as_ref(),
            }) + &prompt_additions(&opts.flags);
            let id = uuid::Uuid::now_v7().to_string();
            let session = match Session::create(
                config.project_root(),
                config.git_root(),
                &id,
                provider_id.as_str(),
                &model,
                config.cwd(),
                &system,
                traffic_on,
                secrets.clone(),
            ) {
                Ok(s) => Some(s),
                // A read-only checkout still gets its answer; only the transcript is lost.
                Err(e) => {
                    warnings.push(format!("this session will not be saved: {e}"));
                    None
                }
            };
            (session, Vec::<Message>::new(), system)
        }
    };
    if let (Some(s), Some(name)) = (session.as_mut(), opts.name) {
        s.set_name(name)
            .map_err(|e| StartError::Runtime(e.to_string()))?;
    }
    slot.set(session.as_ref().and_then(Session::traffic_log));
    sx_config::phases::mark("session ready");

    let settings = Settings {
        model,
        effort: config
            .get_nonempty("REASONING_EFFORT")
            .and_then(Effort::parse),
        thinking: config.flag("THINKING"),
        max_turns: opts
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
        extra_roots: opts.flags.add_dirs.clone(),
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
    Ok(Started {
        agent,
        warnings,
        handles: Handles {
            traffic: slot,
            secrets,
        },
    })
}

/// Talk to the provider `config` names from now on, with its `MODEL` (`/provider`,
/// `/profile`, `/use`); the conversation stays. On failure nothing changes.
pub fn switch_provider(
    config: &Config,
    agent: &mut Agent,
    handles: &Handles,
) -> Result<(), StartError> {
    provider_id(config)?;
    let provider = open_provider(
        config,
        config.flag("TRAFFIC_LOG").then(|| handles.traffic.clone()),
    )?;
    collect_secrets(config, &handles.secrets);
    let model = model(config, provider.id());
    agent.set_provider(provider, model);
    Ok(())
}

/// A fresh conversation in a new session (`/clear`). Returns a warning when it cannot be
/// saved.
pub fn new_session(
    config: &Config,
    agent: &mut Agent,
    handles: &Handles,
) -> Result<Option<String>, StartError> {
    let id = uuid::Uuid::now_v7().to_string();
    let created = Session::create(
        config.project_root(),
        config.git_root(),
        &id,
        agent.provider().name(),
        &agent.settings.model,
        &agent.ctx.cwd,
        &agent.system,
        config.flag("TRAFFIC_LOG"),
        handles.secrets.clone(),
    );
    agent.usage = Default::default();
    match created {
        Ok(session) => {
            handles.traffic.set(session.traffic_log());
            agent.attach_session(session, Vec::new());
            Ok(None)
        }
        Err(e) => {
            handles.traffic.set(None);
            agent.detach_session(id);
            Ok(Some(format!("this session will not be saved: {e}")))
        }
    }
}

/// Continue a saved session in this agent (`/resume`): its transcript and system prompt.
pub fn resume_session(
    config: &Config,
    agent: &mut Agent,
    handles: &Handles,
    which: &Resume,
) -> Result<(), StartError> {
    let selector = match which {
        Resume::Latest => None,
        Resume::Select(s) => Some(s.as_str()),
    };
    let dir = Session::find(config.project_root(), selector)
        .map_err(|e| StartError::Usage(e.to_string()))?;
    let (session, messages) =
        Session::open(&dir, config.flag("TRAFFIC_LOG"), handles.secrets.clone())
            .map_err(|e| StartError::Runtime(e.to_string()))?;
    agent.system = session.meta.system.clone();
    handles.traffic.set(session.traffic_log());
    agent.usage = Default::default();
    agent.attach_session(session, messages);
    Ok(())
}

/// `SESSIONS_KEEP_DAYS`: delete the project's sessions unused for longer, never `keep` (the
/// one being resumed). Nothing is even listed when the key is unset.
fn remove_expired_sessions(config: &Config, keep: Option<&Path>) {
    if let Some(days) = config.u64("SESSIONS_KEEP_DAYS") {
        crate::session::retention::remove_expired(config.project_root(), days, keep);
    }
}

/// Values that must never be written to a session: secret configuration values and, for the
/// local Codex login, its tokens (through the auth module, the only reader of credentials).
fn collect_secrets(config: &Config, secrets: &Secrets) {
    // The credential files sx uses: refused to the file tools, their tokens (id token too)
    // masked in tool output and in everything the session writes (docs/reliability.md, hole 4).
    sxnet::auth::protect::protect(config);
    for (key, entry) in config.entries() {
        if sx_config::is_secret(key) {
            secrets.add(&entry.value);
        }
    }
    if matches!(config.get("PROVIDER"), Some("codex" | "scorpiox"))
        && config.get("CODEX_TOKEN_SOURCE").unwrap_or("local") == "local"
        && let Some(path) = config.path("CODEX_CREDENTIALS_FILE")
        && let Ok(auth) = sxnet::auth::AuthFile::load(&path)
    {
        secrets.add(&auth.access_token);
        secrets.add(&auth.refresh_token);
    }
}
