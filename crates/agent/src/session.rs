//! Sessions on disk (docs/spec.md §7): `.scorpiox/sessions/<id>/` under the project root, mode 0700,
//! holding `conversation.json` (the transcript, rewritten atomically after every message, so a
//! crash at any moment leaves the last complete version), `meta.json`, and with `TRAFFIC_LOG=1`
//! `traffic/` with every request and response, credentials replaced by `***`.
//!
//! Only this module writes under `.scorpiox/`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sx_config::atomic::{AtomicWrite, Mode};
use sxnet::http::TrafficLog;
use sxnet::model::{Block, Message, Role, ToolResult, Usage};

mod gitignore;
mod inside;
pub mod list;
pub mod retention;
mod traffic;
use traffic::TrafficDir;

pub const SESSIONS_DIR: &str = ".scorpiox/sessions";
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Meta {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub provider: String,
    pub model: String,
    pub cwd: PathBuf,
    pub created_at: String,
    pub updated_at: String,
    /// The system prompt, kept so a resumed session sends the same bytes (prompt caching).
    pub system: String,
    /// The session this one continues after a compaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continues: Option<String>,
    #[serde(default)]
    pub usage: Usage,
    #[serde(default)]
    pub messages: usize,
    /// The conversation's id at a provider that keeps its own history (the `claude` CLI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_session: Option<String>,
    /// The start of the first prompt, for `sx --sessions` (docs/sessions.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_prompt: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Conversation {
    version: u32,
    session: String,
    messages: Vec<Message>,
}

/// [`Conversation`] as it is written: the same fields, borrowed.
#[derive(Serialize)]
struct ConversationRef<'a> {
    version: u32,
    session: &'a str,
    messages: &'a [Message],
}

/// Strings that must never reach the disk (tokens, API keys): replaced by `***` in everything
/// a session writes. The one list is the process's, `sx_config::secrets`, so a secret learnt
/// anywhere (a refreshed token, an id token, a credential file's tokens) is masked here too.
#[derive(Debug, Default)]
pub struct Secrets {
    _private: (),
}

impl Secrets {
    pub fn add(&self, secret: &str) {
        sx_config::secrets::register(secret);
    }

    /// The values themselves (the traffic log redacts a byte stream with them).
    pub(crate) fn values(&self) -> Vec<String> {
        sx_config::secrets::known()
    }

    pub fn redact(&self, text: &str) -> String {
        sx_config::secrets::mask(text).into_owned()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("cannot write the session in {}: {source}; check the directory's permissions", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no saved session in {}; start one with sx -p \"…\"", dir.display())]
    NoneSaved { dir: PathBuf },
    #[error("no session matches '{selector}' in {}; list them with sx --sessions", dir.display())]
    NotFound { selector: String, dir: PathBuf },
    #[error(
        "'{selector}' matches several sessions ({candidates}); give more of the id (sx --sessions lists them)"
    )]
    Ambiguous {
        selector: String,
        candidates: String,
    },
    #[error("session {} is damaged ({detail}); resume another one or start a new session", path.display())]
    Damaged { path: PathBuf, detail: String },
    #[error(
        "{} is a symbolic link to {}, outside the project; sx keeps sessions inside the project, so replace the link with a folder",
        path.display(),
        target.display()
    )]
    Outside { path: PathBuf, target: PathBuf },
}

pub struct Session {
    pub dir: PathBuf,
    pub meta: Meta,
    secrets: Arc<Secrets>,
    traffic: Option<Arc<TrafficDir>>,
}

fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SessionError + '_ {
    move |source| SessionError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Make `dir` (below `root`) a folder of mode 0700, never through a link out of `root`.
fn private_dir(root: &Path, dir: &Path) -> Result<(), SessionError> {
    inside::private_dir_in(root, dir).map_err(SessionError::from)
}

impl From<inside::Refused> for SessionError {
    fn from(r: inside::Refused) -> Self {
        match r {
            inside::Refused::Outside { path, target } => SessionError::Outside { path, target },
            inside::Refused::Io { path, source } => SessionError::Io { path, source },
        }
    }
}

/// How session files are written (see [`sx_config::atomic`]): temp file, rename, mode 0600;
/// readers (and a killed sx) only ever see a complete file. Not flushed to the disk: a
/// transcript is rewritten after every message, and two `fsync`s per write cost more than the
/// rest of a one-shot run (docs/performance.md, "Where the time goes"); a power loss may lose
/// the last message, never the file. The temporary copies a killed run left are removed by the
/// next write of the file (docs/reliability.md, "Durability").
const SESSION_WRITE: AtomicWrite = AtomicWrite::new()
    .mode(Mode::Set(0o600))
    .durable(false)
    .clean_stale_temps(true);

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SessionError> {
    SESSION_WRITE.write(path, bytes).map_err(io_err(path))
}

impl Session {
    pub fn sessions_dir(project_root: &Path) -> PathBuf {
        project_root.join(SESSIONS_DIR)
    }

    /// Start a new session folder. `git_root`: when the project is in a git repository the
    /// sessions folder is added to its `.gitignore`.
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        project_root: &Path,
        git_root: Option<&Path>,
        id: &str,
        provider: &str,
        model: &str,
        cwd: &Path,
        system: &str,
        traffic: bool,
        secrets: Arc<Secrets>,
    ) -> Result<Session, SessionError> {
        let sessions = Self::sessions_dir(project_root);
        private_dir(project_root, &sessions)?;
        if let Some(git) = git_root {
            gitignore::ensure_ignored(git, project_root);
        }
        let dir = sessions.join(id);
        private_dir(project_root, &dir)?;
        let t = now();
        let meta = Meta {
            id: id.to_string(),
            name: None,
            provider: provider.to_string(),
            model: model.to_string(),
            cwd: cwd.to_path_buf(),
            created_at: t.clone(),
            updated_at: t,
            system: system.to_string(),
            continues: None,
            usage: Usage::default(),
            messages: 0,
            provider_session: None,
            first_prompt: None,
        };
        let mut s = Session {
            dir,
            meta,
            secrets,
            traffic: None,
        };
        if traffic {
            s.enable_traffic()?;
        }
        s.write_meta()?;
        Ok(s)
    }

    /// Name the session (`--name`; `--resume NAME` finds it), checked with
    /// [`list::check_name`] by the caller.
    pub fn set_name(&mut self, name: &str) -> Result<(), SessionError> {
        self.meta.name = Some(name.to_string());
        self.write_meta()
    }

    fn enable_traffic(&mut self) -> Result<(), SessionError> {
        let dir = self.dir.join("traffic");
        private_dir(&self.dir, &dir)?;
        let next = fs::read_dir(&dir).map(|d| d.count() as u64).unwrap_or(0);
        self.traffic = Some(Arc::new(TrafficDir {
            dir,
            next: AtomicU64::new(next),
            secrets: self.secrets.clone(),
            open: Mutex::new(Vec::new()),
        }));
        Ok(())
    }

    pub fn id(&self) -> &str {
        &self.meta.id
    }

    pub fn traffic_log(&self) -> Option<Arc<dyn TrafficLog>> {
        self.traffic.clone().map(|t| t as Arc<dyn TrafficLog>)
    }

    pub fn secrets(&self) -> &Arc<Secrets> {
        &self.secrets
    }

    /// Flush the whole transcript (called after every message).
    pub fn save(&mut self, messages: &[Message], usage: &Usage) -> Result<(), SessionError> {
        // Straight from the borrowed messages to text: no copy of the transcript, and no JSON
        // tree of it (which cost a long session ~8x its size in memory; docs/performance.md).
        let conv = ConversationRef {
            version: FORMAT_VERSION,
            session: &self.meta.id,
            messages,
        };
        let text = self
            .secrets
            .redact(&serde_json::to_string_pretty(&conv).expect("serializes"));
        write_atomic(&self.dir.join("conversation.json"), text.as_bytes())?;
        self.meta.updated_at = now();
        self.meta.usage = *usage;
        self.meta.messages = messages.len();
        if self.meta.first_prompt.is_none() {
            self.meta.first_prompt = list::first_prompt(messages);
        }
        let written = self.write_meta();
        sx_config::phases::mark("session written");
        written
    }

    fn write_meta(&self) -> Result<(), SessionError> {
        let text = self
            .secrets
            .redact(&serde_json::to_string_pretty(&self.meta).expect("serializes"));
        write_atomic(&self.dir.join("meta.json"), text.as_bytes())
    }

    /// A new session continuing this one after a compaction: same settings, a new id, and
    /// `continues` pointing back here.
    pub fn continuation(&self, new_id: &str) -> Result<Session, SessionError> {
        let sessions = self.dir.parent().unwrap_or(Path::new("."));
        let dir = sessions.join(new_id);
        private_dir(sessions, &dir)?;
        let t = now();
        // The name and the first prompt go on: it is the same conversation.
        let meta = Meta {
            id: new_id.to_string(),
            continues: Some(self.meta.id.clone()),
            created_at: t.clone(),
            updated_at: t,
            usage: Usage::default(),
            messages: 0,
            provider_session: None,
            ..self.meta.clone()
        };
        let mut s = Session {
            dir,
            meta,
            secrets: self.secrets.clone(),
            traffic: None,
        };
        if self.traffic.is_some() {
            s.enable_traffic()?;
        }
        s.write_meta()?;
        Ok(s)
    }

    pub fn conversation_path(&self) -> PathBuf {
        self.dir.join("conversation.json")
    }

    /// Find a saved session: `None` = the most recently updated; else an exact id, a session
    /// name, or a unique beginning of an id or short id ([`list::select`]).
    pub fn find(project_root: &Path, selector: Option<&str>) -> Result<PathBuf, SessionError> {
        list::select(project_root, selector).map(|s| s.dir)
    }

    /// Reopen a saved session for appending. The transcript is repaired so every tool call has
    /// a result (a run killed mid-tool leaves calls without one; providers reject that).
    pub fn open(
        dir: &Path,
        traffic: bool,
        secrets: Arc<Secrets>,
    ) -> Result<(Session, Vec<Message>), SessionError> {
        let damaged = |detail: String| SessionError::Damaged {
            path: dir.to_path_buf(),
            detail,
        };
        // `<root>/.scorpiox/sessions/<id>`: a link there must not lead out of the project.
        if let Some(root) = dir.ancestors().nth(3) {
            inside::resolves_inside(root, dir)?;
        }
        let meta: Meta = serde_json::from_slice(
            &fs::read(dir.join("meta.json")).map_err(|e| damaged(e.to_string()))?,
        )
        .map_err(|e| damaged(format!("meta.json: {e}")))?;
        let messages = match fs::read(dir.join("conversation.json")) {
            Ok(bytes) => {
                let c: Conversation = serde_json::from_slice(&bytes)
                    .map_err(|e| damaged(format!("conversation.json: {e}")))?;
                c.messages
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(damaged(e.to_string())),
        };
        let mut s = Session {
            dir: dir.to_path_buf(),
            meta,
            secrets,
            traffic: None,
        };
        if traffic {
            s.enable_traffic()?;
        }
        retention::touch(dir);
        Ok((s, repair_pairing(messages)))
    }
}

/// Give every tool call without a result a synthetic one, right after its assistant message.
pub fn repair_pairing(mut messages: Vec<Message>) -> Vec<Message> {
    let mut i = 0;
    while i < messages.len() {
        if messages[i].role == Role::Assistant {
            let calls: Vec<(String, String)> = messages[i]
                .tool_calls()
                .map(|c| (c.id.clone(), c.name.clone()))
                .collect();
            if !calls.is_empty() {
                let answered: Vec<String> = match messages.get(i + 1) {
                    Some(m) if m.role == Role::User => m
                        .content
                        .iter()
                        .filter_map(|b| match b {
                            Block::ToolResult(r) => Some(r.call_id.clone()),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                let missing: Vec<Block> = calls
                    .into_iter()
                    .filter(|(id, _)| !answered.contains(id))
                    .map(|(id, name)| {
                        Block::ToolResult(ToolResult {
                            call_id: id,
                            name,
                            output: "interrupted: this call did not complete (the run was stopped or the call went back to the caller)".into(),
                            is_error: true,
                            images: vec![],
                        })
                    })
                    .collect();
                if !missing.is_empty() {
                    match messages.get_mut(i + 1) {
                        Some(m) if m.role == Role::User => {
                            // Results first, as providers expect.
                            let rest = std::mem::take(&mut m.content);
                            m.content = missing.into_iter().chain(rest).collect();
                        }
                        _ => messages.insert(
                            i + 1,
                            Message {
                                role: Role::User,
                                content: missing,
                                usage: None,
                            },
                        ),
                    }
                }
            }
        }
        i += 1;
    }
    messages
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
