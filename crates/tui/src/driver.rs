//! The agent on its own task: it runs the user's turns and the commands that change the
//! session (provider, model, session), streams events to the UI through
//! `sx_agent::channel`, and asks the UI about approvals.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;
use sx_agent::approval::{Asker, Decision};
use sx_agent::channel::EventSender;
use sx_agent::startup::{self, Handles, Resume};
use sx_agent::{Agent, AgentEvent};
use sx_config::Config;
use sxnet::model::{Block, Effort};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// What the UI asks the agent task to do.
pub enum Command {
    /// A user turn.
    Prompt(Vec<Block>),
    /// Use this configuration's provider and model (`/provider`, `/profile`, `/use`); the
    /// outcome goes to `done` (the UI keeps or reverts what it changed).
    Switch {
        config: Config,
        done: oneshot::Sender<Result<String, String>>,
    },
    SetModel(String),
    SetEffort(Option<Effort>),
    Compact,
    Clear,
    Resume(Resume),
    Cd(PathBuf),
}

/// What the agent task tells the UI besides the agent's own events.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The session's state after a turn or a command.
    State(State),
    /// A command finished; what to tell the user.
    Info(String),
    /// A command failed; nothing changed.
    Failed(String),
    /// A turn ended (after its `Done` event).
    TurnEnded,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct State {
    pub provider: String,
    pub model: String,
    pub effort: Option<Effort>,
    pub session_id: String,
    pub context_window: Option<u64>,
    pub last_tokens: u64,
    pub cwd: PathBuf,
    /// Whether the transcript has anything (for `/compact`).
    pub has_history: bool,
}

fn state(agent: &Agent) -> State {
    State {
        provider: agent.provider().name().to_string(),
        model: agent.settings.model.clone(),
        effort: agent.settings.effort,
        session_id: agent.session_id.clone(),
        context_window: agent.provider().context_window(&agent.settings.model),
        last_tokens: agent.last_tokens(),
        cwd: agent.ctx.cwd.clone(),
        has_history: agent.has_history(),
    }
}

/// One approval question for the UI, answered through `reply`.
pub struct Approval {
    pub tool: String,
    pub input: Value,
    /// A file change outside the project and the `--add-dir` folders: the file it would
    /// write. Asked every time ("always" is not offered).
    pub outside: Option<std::path::PathBuf>,
    pub reply: oneshot::Sender<Answer>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// Yes, and do not ask again for this tool in this session.
    Always,
}

/// The UI's side of `APPROVAL=ask`.
pub struct UiAsker {
    pub requests: mpsc::Sender<Approval>,
    pub always: Arc<Mutex<HashSet<String>>>,
}

#[async_trait]
impl Asker for UiAsker {
    async fn ask(&self, tool: &str, input: &Value) -> Decision {
        if self
            .always
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(tool)
        {
            return Decision::Allow;
        }
        let (tx, rx) = oneshot::channel();
        let asked = Approval {
            tool: tool.to_string(),
            input: input.clone(),
            outside: None,
            reply: tx,
        };
        if self.requests.send(asked).await.is_err() {
            return Decision::Deny("the user interface has closed".into());
        }
        match rx.await {
            Ok(Answer::Yes) => Decision::Allow,
            Ok(Answer::Always) => {
                self.always
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(tool.to_string());
                Decision::Allow
            }
            Ok(Answer::No) | Err(_) => Decision::Deny(format!(
                "the user declined '{tool}'. Do not retry it; ask the user what to do instead, or continue without it."
            )),
        }
    }
    async fn ask_outside(&self, tool: &str, input: &Value, path: &std::path::Path) -> Decision {
        self.ask_each_time(tool, input, path).await
    }
}

impl UiAsker {
    async fn ask_each_time(&self, tool: &str, input: &Value, path: &std::path::Path) -> Decision {
        let (tx, rx) = oneshot::channel();
        let asked = Approval {
            tool: tool.to_string(),
            input: input.clone(),
            outside: Some(path.to_path_buf()),
            reply: tx,
        };
        if self.requests.send(asked).await.is_err() {
            return Decision::Deny("the user interface has closed".into());
        }
        match rx.await {
            // "Always" is not offered for a change outside the project: a yes is this once.
            Ok(Answer::Yes | Answer::Always) => Decision::Allow,
            Ok(Answer::No) | Err(_) => Decision::Deny(format!(
                "the user declined '{tool}' on {}, outside the project. Do not retry it; work inside the project or ask the user what to do instead.",
                path.display()
            )),
        }
    }
}

/// Run the agent until the UI hangs up.
pub async fn drive(
    mut agent: Agent,
    mut config: Config,
    handles: Handles,
    mut commands: mpsc::Receiver<(Command, CancellationToken)>,
    events: EventSender,
    replies: mpsc::UnboundedSender<Reply>,
) {
    let _ = replies.send(Reply::State(state(&agent)));
    while let Some((cmd, cancel)) = commands.recv().await {
        let reply = match cmd {
            Command::Prompt(input) => {
                let _ = agent.run(input, &cancel, &mut |ev| events.send(ev)).await;
                let _ = replies.send(Reply::State(state(&agent)));
                let _ = replies.send(Reply::TurnEnded);
                continue;
            }
            Command::Switch { config: next, done } => {
                let outcome = match startup::switch_provider(&next, &mut agent, &handles) {
                    Ok(()) => {
                        config = next;
                        Ok(format!(
                            "now {} · {}",
                            agent.provider().name(),
                            agent.settings.model
                        ))
                    }
                    Err(e) => Err(e.to_string()),
                };
                let _ = done.send(outcome);
                Reply::Info(String::new())
            }
            Command::SetModel(model) => {
                agent.settings.model = model;
                Reply::Info(format!("model: {}", agent.settings.model))
            }
            Command::SetEffort(effort) => {
                agent.settings.effort = effort;
                Reply::Info(format!(
                    "reasoning effort: {}",
                    effort.map_or("the model's default", Effort::as_str)
                ))
            }
            Command::Compact => {
                if agent.has_history() {
                    agent.compact_now(&mut |ev| events.send(ev));
                    Reply::Info("compacted".into())
                } else {
                    Reply::Info("nothing to compact yet".into())
                }
            }
            Command::Clear => match startup::new_session(&config, &mut agent, &handles) {
                Ok(None) => Reply::Info(format!("new session {}", agent.session_id)),
                Ok(Some(w)) => Reply::Info(w),
                Err(e) => Reply::Failed(e.to_string()),
            },
            Command::Resume(which) => {
                match startup::resume_session(&config, &mut agent, &handles, &which) {
                    Ok(()) => {
                        let n = agent.messages().len();
                        events.send(AgentEvent::Notice(&format!(
                            "resumed session {} ({n} messages)",
                            agent.session_id
                        )));
                        Reply::Info(String::new())
                    }
                    Err(e) => Reply::Failed(e.to_string()),
                }
            }
            Command::Cd(dir) => match std::fs::canonicalize(&dir) {
                Ok(d) if d.is_dir() => {
                    agent.ctx.cwd = d.clone();
                    Reply::Info(format!("working directory: {}", d.display()))
                }
                Ok(d) => Reply::Failed(format!("{} is not a directory", d.display())),
                Err(e) => Reply::Failed(format!("cannot use {}: {e}", dir.display())),
            },
        };
        let _ = replies.send(reply);
        let _ = replies.send(Reply::State(state(&agent)));
    }
}
