//! The flags shared with Claude Code and `codex exec` (docs/spec.md §1.1), checked and turned
//! into what the agent takes; and `--function-result`.

use sx_agent::FunctionResult;
use sx_agent::startup::SessionFlags;

use super::args::Args;
use crate::Failure;

/// `--append-system-prompt`, `--add-dir` (each an existing folder, made canonical),
/// `--allowed-tools`, `--disallowed-tools`. Tool names are checked by the start, which knows
/// the session's tools.
pub fn session_flags(args: &Args) -> Result<SessionFlags, Failure> {
    let mut add_dirs = Vec::with_capacity(args.add_dirs.len());
    for dir in &args.add_dirs {
        let shown = dir.display();
        let canon = std::fs::canonicalize(dir).map_err(|e| {
            Failure::usage(format!(
                "cannot use --add-dir {shown}: {}; pass an existing directory",
                io_reason(&e)
            ))
        })?;
        if !canon.is_dir() {
            return Err(Failure::usage(format!(
                "cannot use --add-dir {shown}: it is not a directory; pass a directory"
            )));
        }
        if !add_dirs.contains(&canon) {
            add_dirs.push(canon);
        }
    }
    Ok(SessionFlags {
        append_system_prompt: args.append_system_prompt.clone(),
        add_dirs,
        allowed_tools: args.allowed_tools.clone(),
        disallowed_tools: args.disallowed_tools.clone(),
    })
}

/// `--function-result`: only with `--resume`/`--continue`, each well formed.
pub fn function_results(args: &Args) -> Result<Vec<FunctionResult>, Failure> {
    if args.function_results.is_empty() {
        return Ok(Vec::new());
    }
    if args.resume.is_none() && !args.continue_latest {
        return Err(Failure::usage(
            "--function-result answers a call of a saved session; add --resume ID (or --continue)",
        ));
    }
    args.function_results
        .iter()
        .map(|a| FunctionResult::parse(a).map_err(Failure::usage))
        .collect()
}

/// An I/O failure on a folder given on the command line, in a few words.
pub(super) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
