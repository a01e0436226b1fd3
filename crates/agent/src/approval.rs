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
}

impl Approval {
    /// One-shot runs: nobody to ask.
    pub fn non_interactive(mode: Mode) -> Self {
        Approval { mode, asker: None }
    }

    pub fn interactive(mode: Mode, asker: Box<dyn Asker>) -> Self {
        Approval {
            mode,
            asker: Some(asker),
        }
    }

    /// Decide about a mutating call.
    pub async fn decide(&self, tool: &str, input: &Value) -> Decision {
        match (self.mode, &self.asker) {
            (Mode::Auto, _) => Decision::Allow,
            (Mode::ReadOnly, _) => Decision::Deny(format!(
                "'{tool}' was not run: this session is read-only (APPROVAL=read-only), so commands and file changes are not allowed. Continue with read-only tools, or tell the user what you would change."
            )),
            (Mode::Ask, Some(asker)) => asker.ask(tool, input).await,
            (Mode::Ask, None) => Decision::Deny(format!(
                "'{tool}' was not run: this is a non-interactive run without --yolo, so it may only read (commands and file changes need approval nobody is here to give). Continue with read-only tools, or describe the change for the user to make or approve (they can rerun with --yolo or APPROVAL=auto)."
            )),
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
