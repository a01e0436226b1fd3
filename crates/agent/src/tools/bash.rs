//! `bash`: run a shell command and report its output and exit status.
//!
//! The command runs under `bash -c` (`sh -c` when there is no bash) with stdin on /dev/null,
//! through `command::Running`: in sx below a supervisor that applies the sandbox and ends
//! every process the command started on a timeout or a cancel, and says which survived
//! (docs/reliability.md, hole 8). Stdout and stderr are read concurrently into one capture in
//! arrival order; the capture keeps the head and tail of long output and says how much of the
//! middle it elided.

use std::collections::VecDeque;
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use nix::sys::signal::Signal;
use serde_json::{Value, json};

use super::command::{Event, Running, Spec, killed};
use super::proc_tree::Proc;
use super::{Tool, ToolContext, ToolKind, ToolOutput, str_arg};

pub struct Bash;

const DEFAULT_TIMEOUT_MS: u64 = 120_000;
const MAX_TIMEOUT_MS: u64 = 600_000;
/// Characters of output the model gets at most (head + tail).
const OUTPUT_CAP: usize = 30_000;

const DESCRIPTION: &str = "Run a shell command with `bash -c` and return its combined stdout and stderr (interleaved as they arrive) plus the exit code. \
Use it to build, run tests, use git and other command-line programs; to read or search files prefer read_file, grep, glob and list_dir. \
Each call is a fresh shell in the working directory (or `workdir`): `cd` and variables do not carry over. \
stdin is /dev/null and there is no terminal, so interactive programs (editors, pagers, password prompts) cannot work; pass flags that make them non-interactive. \
Default timeout 120 s, at most 600 s (`timeout_ms`); on timeout the command and every process it started are killed. \
Output longer than 30000 characters keeps its beginning and end and elides the middle; redirect large output to a file and grep it instead. \
To leave a server or watcher running, start it in the background with its output redirected (`cmd > /tmp/log 2>&1 &`). \
A non-zero exit code is reported, not treated as a tool failure.";

#[async_trait]
impl Tool for Bash {
    fn name(&self) -> &'static str {
        "bash"
    }
    fn description(&self) -> &'static str {
        DESCRIPTION
    }
    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "The shell command (bash syntax; pipes, &&, redirections and here-documents work)."},
                "timeout_ms": {"type": "integer", "description": "Timeout in milliseconds (default 120000, max 600000).", "minimum": 1, "maximum": MAX_TIMEOUT_MS},
                "workdir": {"type": "string", "description": "Directory to run in, absolute or relative to the working directory (default: the working directory)."}
            },
            "required": ["command"],
            "additionalProperties": false
        })
    }
    fn kind(&self) -> ToolKind {
        ToolKind::Mutating
    }
    async fn run(&self, input: Value, ctx: &ToolContext) -> ToolOutput {
        let command = match str_arg(&input, "command") {
            Ok(c) if c.trim().is_empty() => {
                return ToolOutput::error("argument 'command' is empty; pass the command to run");
            }
            Ok(c) => c,
            Err(e) => return e,
        };
        let timeout_ms = match input.get("timeout_ms") {
            None | Some(Value::Null) => DEFAULT_TIMEOUT_MS,
            Some(v) => match v.as_f64() {
                Some(ms) if ms >= 1.0 => (ms as u64).min(MAX_TIMEOUT_MS),
                _ => {
                    return ToolOutput::error(format!(
                        "argument 'timeout_ms' must be a positive number of milliseconds (max {MAX_TIMEOUT_MS}), got {v}"
                    ));
                }
            },
        };
        let dir = match input.get("workdir") {
            None | Some(Value::Null) => ctx.cwd.clone(),
            Some(Value::String(w)) => ctx.resolve(w),
            Some(other) => {
                return ToolOutput::error(format!(
                    "argument 'workdir' must be a string, got {other}"
                ));
            }
        };
        if !dir.is_dir() {
            let why = if dir.exists() {
                "is not a directory"
            } else {
                "does not exist"
            };
            return ToolOutput::error(format!(
                "workdir {} {why}; pass an existing directory or leave workdir out",
                dir.display()
            ));
        }
        run_command(command, &dir, Duration::from_millis(timeout_ms), ctx).await
    }
}

enum Outcome {
    Exited(ExitStatus, Vec<Proc>),
    TimedOut,
    Cancelled,
}

/// What the command's environment gets besides sx's own.
const ENV: &[(&str, &str)] = &[
    ("GIT_TERMINAL_PROMPT", "0"),
    ("PAGER", "cat"),
    ("GIT_PAGER", "cat"),
];

async fn run_command(
    command: &str,
    dir: &Path,
    timeout: Duration,
    ctx: &ToolContext,
) -> ToolOutput {
    let started = Instant::now();
    let spec = Spec {
        program: "bash",
        fallback: Some("sh"),
        args: vec!["-c".into(), command.into()],
        dir,
        env: ENV,
        input: None,
    };
    let mut run = match Running::start(spec, ctx).await {
        Ok(r) => r,
        Err(e) => return ToolOutput::error(format!("could not start the shell (bash or sh): {e}")),
    };
    let mut capture = Capture::new(OUTPUT_CAP);
    let mut status = None;
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let outcome = loop {
        tokio::select! {
            event = run.next() => match event {
                Ok(Some(Event::Stdout(b) | Event::Stderr(b))) => capture.push(&b),
                Ok(Some(Event::Exited(s))) => status = Some(s),
                Ok(Some(Event::Done(left))) => match status {
                    Some(s) => break Outcome::Exited(s, left),
                    None => return ToolOutput::error("lost track of the command: no exit status"),
                },
                Ok(None) => return ToolOutput::error("lost track of the command"),
                Err(e) => return ToolOutput::error(e),
            },
            () = &mut deadline => break Outcome::TimedOut,
            () = ctx.cancel.cancelled() => break Outcome::Cancelled,
        }
    };
    let killed = match outcome {
        Outcome::Exited(_, ref left) if !left.is_empty() => {
            run.keep();
            String::new()
        }
        Outcome::Exited(..) => String::new(),
        Outcome::TimedOut | Outcome::Cancelled => killed(run.stop().await),
    };
    let output = capture.finish();
    let wall = started.elapsed().as_secs_f64();
    match outcome {
        Outcome::Exited(status, left) => {
            let head = match (status.code(), status.signal()) {
                (Some(code), _) => format!("Exit code: {code}"),
                (None, Some(sig)) => {
                    let name = Signal::try_from(sig)
                        .map(|s| s.as_str())
                        .unwrap_or("unknown signal");
                    format!("Killed by signal {sig} ({name})")
                }
                (None, None) => "Exit status unknown".to_string(),
            };
            let background = if left.is_empty() {
                String::new()
            } else {
                format!(
                    "\nStill running in the background (ended when sx exits): {}",
                    Proc::describe(&left)
                )
            };
            ToolOutput::ok(format!(
                "{head}\nWall time: {wall:.1} seconds{background}\nOutput:\n{output}"
            ))
        }
        Outcome::TimedOut => ToolOutput::error(format!(
            "Command timed out after {}; {killed}. \
             If it needs longer, pass a larger timeout_ms (max {MAX_TIMEOUT_MS}); for servers or watchers, \
             start them in the background with output redirected to a file.\nOutput before the timeout:\n{output}",
            secs(timeout)
        )),
        Outcome::Cancelled => ToolOutput::error(format!(
            "Command cancelled by the user after {wall:.1} seconds; {killed}.\nOutput before cancellation:\n{output}"
        )),
    }
}

fn secs(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// The output as it arrives: everything up to a point, then the head and a rolling tail.
struct Capture {
    cap: usize,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    /// Bytes kept at most in each of head and tail (enough for `cap / 2` chars of any width).
    keep: usize,
    total_chars: usize,
    total_lines: usize,
    dropped: bool,
}

impl Capture {
    fn new(cap: usize) -> Self {
        Capture {
            cap,
            head: Vec::new(),
            tail: VecDeque::new(),
            keep: cap * 2,
            total_chars: 0,
            total_lines: 0,
            dropped: false,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        if chunk.is_empty() {
            return;
        }
        self.total_chars += chunk.iter().filter(|&&b| b & 0xC0 != 0x80).count();
        self.total_lines += memchr::memchr_iter(b'\n', chunk).count();
        let take = (self.keep - self.head.len()).min(chunk.len());
        self.head.extend_from_slice(&chunk[..take]);
        let rest = &chunk[take..];
        if rest.len() >= self.keep {
            self.dropped |= !self.tail.is_empty() || rest.len() > self.keep;
            self.tail.clear();
            self.tail.extend(&rest[rest.len() - self.keep..]);
        } else {
            self.tail.extend(rest);
            if self.tail.len() > self.keep {
                self.dropped = true;
                let excess = self.tail.len() - self.keep;
                self.tail.drain(..excess);
            }
        }
    }

    fn finish(self) -> String {
        let mut tail = Vec::from(self.tail);
        if !self.dropped && self.total_chars <= self.cap {
            let mut all = self.head;
            all.append(&mut tail);
            let text = String::from_utf8_lossy(&all);
            return if text.is_empty() {
                "(no output)".into()
            } else {
                text.trim_end_matches('\n').to_string()
            };
        }
        // Head: the first cap/2 chars, cut back to a line end when one is near.
        let half = self.cap / 2;
        let mut all_head = self.head;
        if !self.dropped {
            // Everything is still here: the tail is simply what follows the head.
            all_head.extend_from_slice(&tail);
            let cut = byte_index_of_char(&all_head, self.total_chars - half);
            tail = all_head[cut..].to_vec();
        }
        let head_str =
            String::from_utf8_lossy(&all_head[..byte_index_of_char(&all_head, half)]).into_owned();
        let head_str = match head_str.rfind('\n') {
            Some(i) if i >= head_str.len() / 2 => head_str[..=i].to_string(),
            _ => head_str,
        };
        let start = tail.len() - last_chars_len(&tail, half);
        let tail_str = String::from_utf8_lossy(&tail[start..]).into_owned();
        let tail_str = match tail_str.find('\n') {
            Some(i) if i < tail_str.len() / 2 => tail_str[i + 1..].to_string(),
            _ => tail_str,
        };
        let kept = head_str.chars().count() + tail_str.chars().count();
        let elided = self.total_chars.saturating_sub(kept);
        let sep = if head_str.ends_with('\n') { "" } else { "\n" };
        format!(
            "{head_str}{sep}[... {elided} characters elided: the output ({} characters, {} lines) exceeds the cap of {} characters, so only its beginning and end are shown; redirect it to a file and grep or read parts of it to see the rest ...]\n{}",
            self.total_chars,
            self.total_lines,
            self.cap,
            tail_str.trim_end_matches('\n')
        )
    }
}

/// Byte offset where char number `n` (counted by UTF-8 lead bytes) starts, or the length.
fn byte_index_of_char(bytes: &[u8], n: usize) -> usize {
    let mut seen = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b & 0xC0 != 0x80 {
            if seen == n {
                return i;
            }
            seen += 1;
        }
    }
    bytes.len()
}

/// Length in bytes of the last `n` chars of `bytes`.
fn last_chars_len(bytes: &[u8], n: usize) -> usize {
    let mut seen = 0;
    for (i, &b) in bytes.iter().enumerate().rev() {
        if b & 0xC0 != 0x80 {
            seen += 1;
            if seen == n {
                return bytes.len() - i;
            }
        }
    }
    bytes.len()
}

#[cfg(test)]
#[path = "bash_tests.rs"]
mod tests;
