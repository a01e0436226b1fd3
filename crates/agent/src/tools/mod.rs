//! The tools offered to the model (docs/spec.md §5.1), one file each. A tool declares its JSON Schema
//! and whether it only reads (read-only tools may run in parallel and are always allowed) or
//! changes something (subject to the approval mode).
//!
//! A tool never fails the run: every problem becomes a result with `is_error` set and a message
//! written for the model (what went wrong and what to try instead).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use sxnet::model::{Image, ToolSpec};
use tokio_util::sync::CancellationToken;

mod bash;
pub(crate) mod bounded;
pub mod command;
mod edit_file;
mod edit_lines;
#[doc(hidden)]
pub use edit_lines::edit_text as edit_lines_text;
mod frames;
mod glob;
mod grep;
mod list_dir;
pub mod proc_tree;
pub(crate) mod process;
mod read_file;
mod read_image;
pub mod roots;
pub mod sandbox;
pub mod supervisor;
pub mod text;
mod write_file;

/// Whether a tool changes anything outside the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    ReadOnly,
    Mutating,
}

/// What a tool gets besides its arguments.
#[derive(Debug, Clone)]
pub struct ToolContext {
    /// The working directory; relative paths in arguments resolve against it.
    pub cwd: PathBuf,
    pub project_root: PathBuf,
    /// Folders added with `--add-dir`, canonical: the file tools work in them as in the
    /// project (`roots`).
    pub extra_roots: Vec<PathBuf>,
    /// Set when the user cancels: long-running tools stop (and kill their processes).
    pub cancel: CancellationToken,
}

impl ToolContext {
    /// An argument path resolved against the working directory; `~` and `~/…` are the home
    /// folder (`HOME`), as a shell would read them, never a folder named `~`.
    pub fn resolve(&self, path: &str) -> PathBuf {
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            if path == "~" {
                return PathBuf::from(home);
            }
            if let Some(rest) = path.strip_prefix("~/") {
                return Path::new(&home).join(rest);
            }
        }
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.cwd.join(p)
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolOutput {
    /// What the model reads.
    pub text: String,
    pub is_error: bool,
    /// Images for the model (e.g. `read_image`).
    pub images: Vec<Image>,
    /// A unified diff of a file change, shown to the user (not sent to the model).
    pub diff: Option<String>,
}

impl ToolOutput {
    pub fn ok(text: impl Into<String>) -> Self {
        ToolOutput {
            text: text.into(),
            ..Default::default()
        }
    }
    pub fn error(text: impl Into<String>) -> Self {
        ToolOutput {
            text: text.into(),
            is_error: true,
            ..Default::default()
        }
    }
}

#[async_trait]
pub trait Tool: Send + Sync {
    fn name(&self) -> &'static str;
    /// Written for the model: what the tool does, when to use it, its limits.
    fn description(&self) -> &'static str;
    /// JSON Schema of the arguments (`type: object`, `properties`, `required`,
    /// `additionalProperties: false`).
    fn parameters(&self) -> Value;
    fn kind(&self) -> ToolKind;
    async fn run(&self, input: Value, ctx: &ToolContext) -> ToolOutput;

    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: self.name().into(),
            description: self.description().into(),
            parameters: self.parameters(),
        }
    }
}

/// Every built-in tool, in the order they are offered (stable: the tool list is part of the
/// cached prompt prefix).
pub fn builtin() -> Vec<Arc<dyn Tool>> {
    vec![
        Arc::new(bash::Bash),
        Arc::new(read_file::ReadFile),
        Arc::new(write_file::WriteFile),
        Arc::new(edit_file::EditFile),
        Arc::new(edit_lines::EditLines),
        Arc::new(glob::Glob),
        Arc::new(grep::Grep),
        Arc::new(list_dir::ListDir),
        Arc::new(read_image::ReadImage),
    ]
}

/// Run blocking work (file system, search, image decoding) off the async runtime; a panic
/// in it becomes an error result for the model instead of ending the run.
pub(crate) async fn blocking(
    what: &str,
    work: impl FnOnce() -> ToolOutput + Send + 'static,
) -> ToolOutput {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| ToolOutput::error(format!("{what} failed unexpectedly: {e}")))
}

/// Read a required string argument, or explain to the model what is missing.
pub(crate) fn str_arg<'a>(input: &'a Value, name: &str) -> Result<&'a str, ToolOutput> {
    match input.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(ToolOutput::error(format!(
            "argument '{name}' must be a string, got {other}"
        ))),
        None => Err(ToolOutput::error(format!(
            "missing required argument '{name}'"
        ))),
    }
}
