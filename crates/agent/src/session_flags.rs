//! The flags that shape a session the way Claude Code's and `codex exec`'s do (docs/spec.md
//! §1.1): `--append-system-prompt`, `--add-dir`, `--allowed-tools`, `--disallowed-tools`.
//! The same for one-shot and interactive runs; checked before anything is written or sent.

use std::path::PathBuf;
use std::sync::Arc;

use crate::functions::Function;
use crate::tools::Tool;

#[derive(Debug, Clone, Default)]
pub struct SessionFlags {
    /// Added at the end of a new session's system prompt.
    pub append_system_prompt: Option<String>,
    /// Folders the file tools work in besides the project (canonical paths).
    pub add_dirs: Vec<PathBuf>,
    /// Tool lists as given (names separated by commas or spaces; each flag repeatable).
    pub allowed_tools: Vec<String>,
    pub disallowed_tools: Vec<String>,
}

/// Claude Code's names for the tools sx has too, so that its command lines work unchanged.
const CLAUDE_NAMES: [(&str, &str); 7] = [
    ("bash", "bash"),
    ("read", "read_file"),
    ("write", "write_file"),
    ("edit", "edit_file"),
    ("glob", "glob"),
    ("grep", "grep"),
    ("ls", "list_dir"),
];

/// The names in `lists` (each split at commas and whitespace), resolved against `known` (sx's
/// names, case-insensitive, or Claude Code's), without repeats. `flag` names the flag in errors.
pub fn tool_names(flag: &str, lists: &[String], known: &[&str]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for word in lists
        .iter()
        .flat_map(|l| l.split(|c: char| c == ',' || c.is_whitespace()))
        .filter(|w| !w.is_empty())
    {
        if word.contains('(') {
            return Err(format!(
                "{flag}: '{word}' is a rule with a pattern, which sx does not support; name whole tools ({})",
                known.join(", ")
            ));
        }
        let lower = word.to_ascii_lowercase();
        let name = known
            .iter()
            .find(|k| k.eq_ignore_ascii_case(word))
            .map(|k| (*k).to_string())
            .or_else(|| {
                CLAUDE_NAMES
                    .iter()
                    .find(|(alias, _)| *alias == lower)
                    .map(|(_, ours)| (*ours).to_string())
                    .filter(|ours| known.contains(&ours.as_str()))
            })
            .ok_or_else(|| {
                format!(
                    "{flag}: there is no tool '{word}'; the tools of this session are: {}",
                    known.join(", ")
                )
            })?;
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

/// Drop the disallowed tools and functions: the model is not offered them.
pub fn without(
    tools: Vec<Arc<dyn Tool>>,
    functions: Vec<Function>,
    disallowed: &[String],
) -> (Vec<Arc<dyn Tool>>, Vec<Function>) {
    let keep = |name: &str| !disallowed.iter().any(|d| d == name);
    (
        tools.into_iter().filter(|t| keep(t.name())).collect(),
        functions.into_iter().filter(|f| keep(&f.name)).collect(),
    )
}

/// What a new session's system prompt gets from the flags: the added folders, then the
/// user's text.
pub fn prompt_additions(flags: &SessionFlags) -> String {
    let mut s = String::new();
    if !flags.add_dirs.is_empty() {
        s.push_str(
            "\n\n# Additional directories\n\nBesides the project, the user gave you these directories to read and change files in (--add-dir):",
        );
        for d in &flags.add_dirs {
            s.push_str(&format!("\n- {}", d.display()));
        }
    }
    if let Some(text) = flags
        .append_system_prompt
        .as_deref()
        .filter(|t| !t.trim().is_empty())
    {
        s.push_str("\n\n");
        s.push_str(text.trim_end());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: [&str; 5] = ["bash", "read_file", "edit_file", "list_dir", "notify_human"];

    #[test]
    fn lists_split_resolve_and_refuse_what_is_unknown() {
        let got = tool_names(
            "--allowed-tools",
            &[
                "Edit,Bash  read_file".into(),
                "LS, edit_file".into(),
                "NOTIFY_HUMAN".into(),
            ],
            &KNOWN,
        )
        .unwrap();
        assert_eq!(
            got,
            ["edit_file", "bash", "read_file", "list_dir", "notify_human"]
        );
        let e = tool_names("--disallowed-tools", &["webfetch".into()], &KNOWN).unwrap_err();
        assert!(
            e.starts_with("--disallowed-tools: there is no tool 'webfetch'")
                && e.contains("bash, read_file"),
            "{e}"
        );
        let e = tool_names("--allowed-tools", &["Bash(git log:*)".into()], &KNOWN).unwrap_err();
        assert!(e.contains("pattern"), "{e}");
        // Claude Code's `Write` names a tool this session does not have.
        assert!(tool_names("--allowed-tools", &["Write".into()], &KNOWN).is_err());
        assert!(
            tool_names("--allowed-tools", &[String::new()], &KNOWN)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn the_prompt_names_the_folders_then_the_users_text() {
        assert_eq!(prompt_additions(&SessionFlags::default()), "");
        let flags = SessionFlags {
            append_system_prompt: Some("Answer in French.\n".into()),
            add_dirs: vec!["/srv/lib".into()],
            ..Default::default()
        };
        let s = prompt_additions(&flags);
        assert!(s.contains("\n- /srv/lib"), "{s}");
        assert!(s.ends_with("\n\nAnswer in French."), "{s}");
    }
}
