//! The system prompt: who sx is, how it works, where it runs, and the project's own
//! instructions (`AGENTS.md`, else `CLAUDE.md`, at the project root — docs/spec.md §5.2).
//!
//! Built once per session and stored with it: every request of a session sends the same bytes
//! so provider prompt caches hit (docs/spec.md §5.4).

use std::path::{Path, PathBuf};

const BASE: &str = "\
You are sx (scorpiox code), a coding agent running in the user's terminal. You and the user \
share one workspace: read the code before changing it, make focused changes that fit the \
project's style, and verify your work (build, run the tests) when you can.

- Be concise. Lead with the answer or the result; skip preamble.
- Use the tools to inspect and change files and to run commands; do not guess at file contents.
- Prefer editing existing files over creating new ones. Never invent APIs, paths or results.
- When a command fails, read the error and fix the cause rather than retrying blindly.
- If a request is ambiguous or risky (deleting data, force-pushing), say so and ask first.
- When you are done, summarise what you changed and how you checked it.";

/// Where the project's instructions came from, and what they say.
#[derive(Debug, Clone)]
pub struct Instructions {
    pub path: PathBuf,
    pub text: String,
}

/// `AGENTS.md`, else `CLAUDE.md`, at the project root.
pub fn project_instructions(project_root: &Path) -> Option<Instructions> {
    ["AGENTS.md", "CLAUDE.md"].iter().find_map(|name| {
        let path = project_root.join(name);
        let text = std::fs::read_to_string(&path).ok()?;
        (!text.trim().is_empty()).then_some(Instructions { path, text })
    })
}

pub struct PromptContext<'a> {
    pub cwd: &'a Path,
    pub project_root: &'a Path,
    pub tools_enabled: bool,
    pub instructions: Option<&'a Instructions>,
}

pub fn system_prompt(ctx: &PromptContext<'_>) -> String {
    let mut s = String::with_capacity(BASE.len() + 512);
    s.push_str(BASE);
    if !ctx.tools_enabled {
        s.push_str(
            "\n\nNo tools are available in this session: answer from the conversation alone.",
        );
    }
    let shell = std::env::var("SHELL")
        .ok()
        .and_then(|p| {
            Path::new(&p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "sh".into());
    let today = humantime_date();
    s.push_str(&format!(
        "\n\n<environment_context>\n  <cwd>{}</cwd>\n  <project_root>{}</project_root>\n  <shell>{shell}</shell>\n  <os>{} {}</os>\n  <current_date>{today}</current_date>\n</environment_context>",
        ctx.cwd.display(),
        ctx.project_root.display(),
        std::env::consts::OS,
        std::env::consts::ARCH,
    ));
    if let Some(ins) = ctx.instructions {
        s.push_str(&format!(
            "\n\n# Project instructions ({})\n\n<INSTRUCTIONS>\n{}\n</INSTRUCTIONS>",
            ins.path.display(),
            ins.text.trim_end()
        ));
    }
    s
}

/// Today's date (UTC) as YYYY-MM-DD.
fn humantime_date() -> String {
    let mut s = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    s.truncate(10);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_is_iso() {
        let d = humantime_date();
        assert_eq!(d.len(), 10);
        assert_eq!(&d[4..5], "-");
    }

    #[test]
    fn instructions_prefer_agents_md() {
        let dir = tempfile::tempdir().unwrap();
        assert!(project_instructions(dir.path()).is_none());
        std::fs::write(dir.path().join("CLAUDE.md"), "claude rules").unwrap();
        assert_eq!(
            project_instructions(dir.path()).unwrap().text,
            "claude rules"
        );
        std::fs::write(dir.path().join("AGENTS.md"), "agent rules").unwrap();
        let ins = project_instructions(dir.path()).unwrap();
        assert_eq!(ins.text, "agent rules");
        let p = system_prompt(&PromptContext {
            cwd: dir.path(),
            project_root: dir.path(),
            tools_enabled: true,
            instructions: Some(&ins),
        });
        assert!(p.contains("<INSTRUCTIONS>\nagent rules\n</INSTRUCTIONS>"));
        assert!(p.contains("<cwd>"));
    }
}
