//! The `claude` command line: where the binary is, and the flags of one turn
//! (docs/providers.md, "claude_code").

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::ProviderError;
use crate::model::{Effort, Request};

/// How to install Claude Code, for the "not found" message.
const INSTALL: &str = "install Claude Code (npm install -g @anthropic-ai/claude-code) and sign in by running `claude` once, or set CLAUDE_CODE_BIN to the claude binary's path";

/// Claude Code's `--permission-mode`, from sx's approval mode (`APPROVAL`, `--yolo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionMode {
    /// `APPROVAL=ask`: Claude Code's `default`. In `-p` mode nobody answers its permission
    /// prompts, so a call that needs permission is refused (read-only tools still run).
    Default,
    /// `APPROVAL=auto` / `--yolo`: `bypassPermissions`, every call runs.
    BypassPermissions,
    /// `APPROVAL=read-only`: `plan`, Claude Code only reads and plans.
    Plan,
}

impl PermissionMode {
    /// From `APPROVAL` as the configuration holds it (`--yolo` is `APPROVAL=auto` there).
    pub fn from_approval(value: Option<&str>) -> PermissionMode {
        match value {
            Some("auto") => PermissionMode::BypassPermissions,
            Some("read-only") => PermissionMode::Plan,
            _ => PermissionMode::Default,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PermissionMode::Default => "default",
            PermissionMode::BypassPermissions => "bypassPermissions",
            PermissionMode::Plan => "plan",
        }
    }
}

/// The argument list of one turn. The user's message goes on stdin (`--input-format
/// stream-json`); `resume` continues the CLI's own session.
pub fn turn_args(req: &Request<'_>, mode: PermissionMode, resume: Option<&str>) -> Vec<String> {
    let mut a: Vec<String> = [
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--include-partial-messages",
        "--input-format",
        "stream-json",
        "--model",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    a.push(req.model.to_string());
    a.push("--permission-mode".into());
    a.push(mode.as_str().into());
    if let Some(effort) = req.effort {
        a.push("--effort".into());
        a.push(effort_level(effort).into());
    }
    // TOOLS=0: sx offers the model no tools, and neither does Claude Code.
    if req.tools.is_empty() {
        a.push("--tools".into());
        a.push(String::new());
    }
    if let Some(id) = resume {
        a.push("--resume".into());
        a.push(id.to_string());
    }
    a
}

/// Claude Code's `--effort` levels are low, medium, high, xhigh and max.
fn effort_level(e: Effort) -> &'static str {
    match e {
        Effort::None | Effort::Minimal | Effort::Low => "low",
        Effort::Medium => "medium",
        Effort::High => "high",
        Effort::Xhigh => "xhigh",
    }
}

/// The binary `CLAUDE_CODE_BIN` names: a path (with a `/`, relative to `cwd`) or a name looked
/// up on `path` (the `PATH` variable). The error says what to install or set (exit 2).
pub fn resolve_bin(
    value: &str,
    cwd: &Path,
    path: Option<OsString>,
) -> Result<PathBuf, ProviderError> {
    let not_found = |why: String| ProviderError::Config(format!("{why}; {INSTALL}"));
    if value.trim().is_empty() {
        return Err(not_found("CLAUDE_CODE_BIN is empty".into()));
    }
    if value.contains('/') {
        let p = cwd.join(value);
        return if is_executable(&p) {
            Ok(p)
        } else if p.exists() {
            Err(ProviderError::Config(format!(
                "CLAUDE_CODE_BIN={value} is not an executable file; point CLAUDE_CODE_BIN at the claude binary"
            )))
        } else {
            Err(not_found(format!(
                "Claude Code's CLI was not found: CLAUDE_CODE_BIN={value} does not exist"
            )))
        };
    }
    let found = path
        .as_deref()
        .into_iter()
        .flat_map(std::env::split_paths)
        .map(|dir| cwd.join(dir).join(value))
        .find(|p| is_executable(p));
    found.ok_or_else(|| {
        not_found(format!(
            "Claude Code's CLI was not found: CLAUDE_CODE_BIN={value} is not on PATH"
        ))
    })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(tools: &'a [crate::model::ToolSpec]) -> Request<'a> {
        Request {
            model: "claude-sonnet-5",
            system: "ignored",
            messages: &[],
            tools,
            effort: None,
            thinking: true,
            session_id: "s",
            turn_id: "t",
            max_output_tokens: None,
            provider_session: None,
        }
    }

    fn tool() -> crate::model::ToolSpec {
        crate::model::ToolSpec {
            name: "bash".into(),
            description: String::new(),
            parameters: serde_json::json!({}),
        }
    }

    #[test]
    fn approval_modes_map_to_permission_modes() {
        let m = PermissionMode::from_approval;
        assert_eq!(m(Some("auto")).as_str(), "bypassPermissions");
        assert_eq!(m(Some("read-only")).as_str(), "plan");
        assert_eq!(m(Some("ask")).as_str(), "default");
        assert_eq!(m(None).as_str(), "default");
    }

    #[test]
    fn a_turn_streams_json_both_ways_and_resumes_the_cli_session() {
        let tools = [tool()];
        let a = turn_args(&req(&tools), PermissionMode::Plan, Some("abc"));
        assert_eq!(
            a.join(" "),
            "-p --output-format stream-json --verbose --include-partial-messages --input-format stream-json --model claude-sonnet-5 --permission-mode plan --resume abc"
        );
        let mut r = req(&[]);
        r.effort = Some(Effort::Minimal);
        let a = turn_args(&r, PermissionMode::Default, None);
        let tail: Vec<&str> = a[a.len() - 4..].iter().map(String::as_str).collect();
        assert_eq!(tail, ["--effort", "low", "--tools", ""], "TOOLS=0");
    }

    #[test]
    fn the_binary_is_found_on_path_or_named_with_its_fix() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("claude");
        std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = Some(OsString::from(format!(
            "/nonexistent:{}",
            dir.path().display()
        )));
        assert_eq!(
            resolve_bin("claude", dir.path(), path.clone()).unwrap(),
            bin
        );
        // Not executable: not found on PATH, and named as such by path.
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = resolve_bin("claude", dir.path(), path).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let msg = e.to_string();
        assert!(
            msg.contains("CLAUDE_CODE_BIN=claude is not on PATH"),
            "{msg}"
        );
        assert!(
            msg.contains("npm install -g @anthropic-ai/claude-code"),
            "{msg}"
        );
        let e = resolve_bin("./claude", dir.path(), None).unwrap_err();
        assert!(e.to_string().contains("not an executable file"), "{e}");
        let e = resolve_bin("/nope/claude", dir.path(), None).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
    }
}
