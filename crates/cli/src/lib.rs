//! Shared plumbing for the binaries: the one-line error convention and exit codes (docs/spec.md §1).
//!
//! Every command exits 0 on success, 1 on a runtime failure, 2 on a usage or configuration
//! error and 3 on an authentication failure the user must fix. Errors are printed as one line,
//! `error: <what happened>; <what to do>`, never a panic or a backtrace.

pub mod commands;
pub mod completions;
pub mod login;
pub mod router;
pub mod service;
pub mod sx;
pub mod terminal;
pub mod token_server;

use std::fmt;
use std::process::ExitCode;

/// Exit codes of docs/spec.md §1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Runtime = 1,
    Usage = 2,
    Auth = 3,
}

/// A failure on its way out of a binary: the message (already phrased as
/// "what happened; what to do") and the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
}

impl Failure {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Failure {
            exit,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }
    pub fn runtime(message: impl Into<String>) -> Self {
        Self::new(Exit::Runtime, message)
    }
    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(Exit::Auth, message)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<sx_config::ConfigError> for Failure {
    fn from(e: sx_config::ConfigError) -> Self {
        Failure::usage(e.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::runtime(e.to_string())
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::runtime(format!("{e:#}"))
    }
}

/// Load the configuration the way every binary does: `--cwd` (or the process's directory),
/// `-e KEY=VALUE` overrides, then `extra` overrides from dedicated flags (which win). Trust
/// warnings go to stderr, one line each.
pub fn load_config(
    cwd: Option<&std::path::Path>,
    env: &[String],
    extra: Vec<(String, String)>,
) -> Result<sx_config::Config, Failure> {
    let cwd = match cwd {
        Some(dir) => std::fs::canonicalize(dir).map_err(|e| {
            Failure::usage(format!(
                "cannot use --cwd {}: {e}; pass an existing directory",
                dir.display()
            ))
        })?,
        None => std::env::current_dir()?,
    };
    let mut opts = sx_config::LoadOptions::new(cwd);
    for e in env {
        opts.overrides.push(sx_config::parse_override(e)?);
    }
    opts.overrides.extend(extra);
    let config = sx_config::load(&opts)?;
    for w in config.warnings() {
        stderr_line(format_args!("warning: {w}"));
    }
    Ok(config)
}

/// Map a library exit code (1, 2, 3) onto [`Exit`].
pub fn exit_from_code(code: u8) -> Exit {
    match code {
        2 => Exit::Usage,
        3 => Exit::Auth,
        _ => Exit::Runtime,
    }
}

impl From<sxnet::auth::AuthError> for Failure {
    fn from(e: sxnet::auth::AuthError) -> Self {
        Failure::new(exit_from_code(e.exit_code()), e.to_string())
    }
}

/// A current-thread tokio runtime (the binaries do one thing at a time).
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))
}

/// Print a failure as the one line of docs/spec.md §1 and turn it into the process exit code.
pub fn report(failure: &Failure) -> ExitCode {
    let msg = one_line(&failure.message);
    stderr_line(format_args!("error: {msg}"));
    ExitCode::from(failure.exit as u8)
}

/// Write one line to stderr, ignoring failures: a closed stderr (`sx … 2>&- `, a reader that
/// went away) must not become a panic, which `eprintln!` makes of any failed write. Known
/// secrets are masked, and on a terminal control characters removed ([`terminal::stderr_text`]).
pub fn stderr_line(args: fmt::Arguments<'_>) {
    let line = args.to_string();
    stderr_styled_line(&terminal::stderr_text(&line));
}

/// Write one line to stderr as it is: for lines whose text already went through
/// [`terminal::stderr_text`] and that carry sx's own styling.
pub fn stderr_styled_line(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Run a binary's body: installs the panic hook, reports a failure, returns the exit code.
pub fn main_with(body: impl FnOnce() -> Result<(), Failure>) -> ExitCode {
    install_panic_hook();
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => report(&f),
    }
}

/// A panic is a bug, but the user still gets one readable line and exit code 1, not a backtrace.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let what = if let Some(s) = info.payload().downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "unknown panic".to_string()
        };
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        stderr_line(format_args!("{}", internal_error_line(&what, &at)));
        std::process::exit(1);
    }));
}

/// The one line the panic hook prints for a panic with message `what` at `at` (" at file:line"
/// or empty). Public so that tests can recognise a panic by the hook's own words.
pub fn internal_error_line(what: &str, at: &str) -> String {
    format!(
        "error: internal error: {}{at}; this is a bug, please report it",
        one_line(what)
    )
}

/// Collapse a message onto one line (newlines become "; ").
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, part) in s
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(part);
    }
    out
}

/// Turn a clap parse error into our convention: help/version print normally and exit 0,
/// anything else becomes one usage line (exit 2).
pub fn clap_failure(e: clap::Error, bin: &str) -> Result<(), Failure> {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            Ok(())
        }
        _ => {
            // Clap's message may continue on indented lines ("required arguments were not
            // provided:\n  <KEY>"); keep everything before the usage/tip lines, on one line.
            let rendered = e.render().to_string();
            let mut what = String::new();
            for line in rendered.lines() {
                let t = line.trim();
                if t.is_empty()
                    || t.starts_with("Usage:")
                    || t.starts_with("tip:")
                    || t.starts_with("For more information")
                {
                    if what.is_empty() { continue } else { break }
                }
                if !what.is_empty() {
                    what.push(' ');
                }
                what.push_str(t.trim_start_matches("error: "));
            }
            if what.is_empty() {
                what.push_str("invalid arguments");
            }
            Err(Failure::usage(format!("{what}; see '{bin} --help'")))
        }
    }
}

/// The arguments of the command that runs, as its own program would see them: `scorpiox-config
/// --get X` whether it was started as `scorpiox-config --get X` or `sx config --get X`
/// (docs/commands.md). Set once by [`commands::main`]; the process's own arguments otherwise.
static ARGS: std::sync::OnceLock<Vec<std::ffi::OsString>> = std::sync::OnceLock::new();

pub fn args() -> Vec<std::ffi::OsString> {
    ARGS.get()
        .cloned()
        .unwrap_or_else(|| std::env::args_os().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_joins_lines() {
        assert_eq!(one_line("a\n\n  b  \nc"), "a; b; c");
        assert_eq!(one_line("single"), "single");
    }
}
