//! Who may do what unasked (`APPROVAL`, `--yolo`; docs/spec.md §5.1).
//!
//! Read-only tools always run. Mutating tools (shell, writes, user commands) run in `auto`
//! mode; in `read-only` mode never; in `ask` mode the front end is asked — and a one-shot run
//! has nobody to ask, so there they are refused with a message the model sees.

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
}

impl Approval {
    /// One-shot runs: nobody to ask.
    pub fn non_interactive(mode: Mode) -> Self {
        Approval {
            mode,
            asker: None,
            allowed: Vec::new(),
            unattended: Default::default(),
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
}
