//! Who may do what unasked (`APPROVAL`, `--yolo`; docs/spec.md §5.1).
//!
//! Read-only tools always run. Mutating tools (shell, writes, user commands) run in `auto`
//! mode; in `read-only` mode never; in `ask` mode the front end is asked — and a one-shot run
//! has nobody to ask, so there they are refused with a message the model sees.

use std::path::Path;

use async_trait::async_trait;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Ask,
    Auto,
    ReadOnly,
}

impl Mode {
    /// From `APPROVAL` (already validated by the config crate); `--yolo` wins.
    pub fn from_config(value: Option<&str>, yolo: bool) -> Mode {
        if yolo {
            return Mode::Auto;
        }
        match value {
            Some("auto") => Mode::Auto,
            Some("read-only") => Mode::ReadOnly,
            _ => Mode::Ask,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Refused; the reason is what the model reads.
    Deny(String),
}

/// Asks the user about one mutating call (the interactive UI implements this).
#[async_trait]
pub trait Asker: Send + Sync {
    async fn ask(&self, tool: &str, input: &Value) -> Decision;

    /// Ask about a file change at `path`, outside the project and every `--add-dir` folder
    /// (docs/agent.md, "Files outside the project"). Asked each time: an earlier "always"
    /// for the tool does not cover it. By default the same question as [`Asker::ask`].
    async fn ask_outside(&self, tool: &str, input: &Value, path: &Path) -> Decision {
        let _ = path;
        self.ask(tool, input).await
    }
}

/// The approval policy of a session.
pub struct Approval {
    pub mode: Mode,
    asker: Option<Box<dyn Asker>>,
    /// `--allowed-tools`: these run without asking, whatever the mode.
    allowed: Vec<String>,
    /// Calls refused because nobody was there to approve them (a one-shot run in `ask`
    /// mode), by tool name, for the run's closing line.
    unattended: std::sync::Mutex<Vec<String>>,
    /// `SANDBOX=off`: file changes outside the project follow the mode like any other.
    sandbox_off: bool,
}

impl Approval {
    /// One-shot runs: nobody to ask.
    pub fn non_interactive(mode: Mode) -> Self {
        Approval {
            mode,
            asker: None,
            allowed: Vec::new(),
            unattended: Default::default(),
            sandbox_off: false,
        }
    }

    pub fn interactive(mode: Mode, asker: Box<dyn Asker>) -> Self {
        Approval {
            asker: Some(asker),
            ..Approval::non_interactive(mode)
        }
    }

    /// Let `tools` run without asking (`--allowed-tools`).
    pub fn allowing(mut self, tools: Vec<String>) -> Self {
        self.allowed = tools;
        self
    }

    /// `SANDBOX=off`: no extra question for file changes outside the project.
    pub fn sandbox_off(mut self, off: bool) -> Self {
        self.sandbox_off = off;
        self
    }

    /// Decide about a file change at `path` (resolved), which lies outside the project and
    /// every `--add-dir` folder: asked every time in the interactive UI, refused in a one-shot
    /// run — whatever the mode, `--yolo` and `--allowed-tools` included — unless
    /// `SANDBOX=off`, where it is decided like any other change (docs/reliability.md, hole 3).
    pub async fn decide_outside(
        &self,
        tool: &str,
        input: &Value,
        path: &Path,
        project: &Path,
    ) -> Decision {
        if self.sandbox_off || self.mode == Mode::ReadOnly {
            return self.decide(tool, input).await;
        }
        match &self.asker {
            Some(asker) => asker.ask_outside(tool, input, path).await,
            None => Decision::Deny(format!(
                "'{tool}' was not run: {} is outside the project ({}) and the folders added with --add-dir, and sx does not change files there without asking, whatever the approval mode.\nWork inside the project; if the change is needed, tell the user, who can rerun with --add-dir naming its folder (or SANDBOX=off).",
                path.display(),
                project.display()
            )),
        }
    }

    /// The tools refused so far because nobody could approve them, each once, in order.
    pub fn refused_unattended(&self) -> Vec<String> {
        self.unattended
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Decide about a mutating call.
    pub async fn decide(&self, tool: &str, input: &Value) -> Decision {
        if self.allowed.iter().any(|t| t == tool) {
            return Decision::Allow;
        }
        match (self.mode, &self.asker) {
            (Mode::Auto, _) => Decision::Allow,
            (Mode::ReadOnly, _) => Decision::Deny(format!(
                "'{tool}' was not run: this session is read-only (APPROVAL=read-only), so commands and file changes are not allowed. Continue with read-only tools, or tell the user what you would change."
            )),
            (Mode::Ask, Some(asker)) => asker.ask(tool, input).await,
            (Mode::Ask, None) => {
                let mut seen = self.unattended.lock().unwrap_or_else(|p| p.into_inner());
                if !seen.iter().any(|t| t == tool) {
                    seen.push(tool.to_string());
                }
                // The first line is what the user sees beside the call (docs/agent.md).
                Decision::Deny(format!(
                    "'{tool}' was not run: it needs approval, and this non-interactive run without --yolo has nobody to give it.\nIt may only read: commands and file changes are refused. Continue with read-only tools, or describe the change for the user to make or approve (they can rerun with --yolo or APPROVAL=auto)."
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn policy() {
        assert_eq!(Mode::from_config(Some("read-only"), true), Mode::Auto);
        assert_eq!(Mode::from_config(None, false), Mode::Ask);
        let input = Value::Null;
        assert_eq!(
            Approval::non_interactive(Mode::Auto)
                .decide("bash", &input)
                .await,
            Decision::Allow
        );
        let Decision::Deny(why) = Approval::non_interactive(Mode::Ask)
            .decide("bash", &input)
            .await
        else {
            panic!("ask without a user denies")
        };
        assert!(why.contains("--yolo"));
        let unattended = Approval::non_interactive(Mode::Ask).allowing(vec!["edit_file".into()]);
        assert_eq!(
            unattended.decide("edit_file", &input).await,
            Decision::Allow
        );
        for tool in ["bash", "write_file", "bash"] {
            assert!(matches!(
                unattended.decide(tool, &input).await,
                Decision::Deny(_)
            ));
        }
        assert_eq!(unattended.refused_unattended(), ["bash", "write_file"]);
        let read_only = Approval::non_interactive(Mode::ReadOnly).allowing(vec!["bash".into()]);
        assert_eq!(read_only.decide("bash", &input).await, Decision::Allow);
        assert!(read_only.refused_unattended().is_empty());
        struct Yes;
        #[async_trait]
        impl Asker for Yes {
            async fn ask(&self, _: &str, _: &Value) -> Decision {
                Decision::Allow
            }
        }
        assert_eq!(
            Approval::interactive(Mode::Ask, Box::new(Yes))
                .decide("bash", &input)
                .await,
            Decision::Allow
        );
        assert!(matches!(
            Approval::interactive(Mode::ReadOnly, Box::new(Yes))
                .decide("bash", &input)
                .await,
            Decision::Deny(_)
        ));
    }

    #[tokio::test]
    async fn changes_outside_the_project_are_asked_each_time_or_refused_whatever_the_mode() {
        let (input, path, proj) = (Value::Null, Path::new("/etc/x"), Path::new("/p"));
        // Unattended: refused in every mode, --allowed-tools included.
        for approval in [
            Approval::non_interactive(Mode::Auto),
            Approval::non_interactive(Mode::Ask),
            Approval::non_interactive(Mode::Auto).allowing(vec!["write_file".into()]),
        ] {
            let Decision::Deny(why) = approval
                .decide_outside("write_file", &input, path, proj)
                .await
            else {
                panic!("an unattended change outside the project is refused")
            };
            assert!(
                why.starts_with("'write_file' was not run: /etc/x is outside the project (/p)")
                    && why.contains("--add-dir"),
                "{why}"
            );
        }
        // SANDBOX=off: decided like any other change.
        let off = Approval::non_interactive(Mode::Auto).sandbox_off(true);
        assert_eq!(
            off.decide_outside("write_file", &input, path, proj).await,
            Decision::Allow
        );
        let off_ask = Approval::non_interactive(Mode::Ask).sandbox_off(true);
        assert!(matches!(
            off_ask.decide_outside("write_file", &input, path, proj).await,
            Decision::Deny(why) if why.contains("needs approval")
        ));
        // Interactive: the question about the outside path, even in auto mode.
        struct Outside(std::sync::Mutex<Vec<String>>);
        #[async_trait]
        impl Asker for std::sync::Arc<Outside> {
            async fn ask(&self, _: &str, _: &Value) -> Decision {
                Decision::Allow
            }
            async fn ask_outside(&self, tool: &str, _: &Value, path: &Path) -> Decision {
                self.0
                    .lock()
                    .unwrap()
                    .push(format!("{tool} {}", path.display()));
                Decision::Deny("no".into())
            }
        }
        let asker = std::sync::Arc::new(Outside(Default::default()));
        let ui = Approval::interactive(Mode::Auto, Box::new(asker.clone()));
        for _ in 0..2 {
            assert!(matches!(
                ui.decide_outside("edit_file", &input, path, proj).await,
                Decision::Deny(_)
            ));
        }
        assert_eq!(
            *asker.0.lock().unwrap(),
            ["edit_file /etc/x", "edit_file /etc/x"]
        );
        // Read-only stays read-only.
        assert!(matches!(
            Approval::non_interactive(Mode::ReadOnly)
                .sandbox_off(true)
                .decide_outside("write_file", &input, path, proj)
                .await,
            Decision::Deny(why) if why.contains("read-only")
        ));
    }
}
