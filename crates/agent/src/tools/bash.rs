//! `bash`: run a shell command and report its output and exit status.
//!
//! The command runs under `bash -c` (`sh -c` when there is no bash) with stdin on /dev/null, in
//! a process group of its own so that a timeout, a cancellation or a dropped future can kill it
//! together with everything it started (SIGTERM, then SIGKILL after a short grace). Stdout and
//! stderr are read concurrently into one capture in arrival order; the capture keeps the head
//! and tail of long output and says how much of the middle it elided.

use std::collections::VecDeque;
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::process::{Child, Command};

use super::process::{GroupGuard, group_of, terminate};
use super::{Tool, ToolContext, ToolKind, ToolOutput, str_arg};

pub struct Bash;

const DEFAULT_TIMEOUT_MS: u64 = 120_000;
const MAX_TIMEOUT_MS: u64 = 600_000;
/// Characters of output the model gets at most (head + tail).
const OUTPUT_CAP: usize = 30_000;
/// Between SIGTERM and SIGKILL.
/// How long to keep reading after the shell exits (background jobs may hold the pipes).
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(300);

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
    Exited(ExitStatus),
    TimedOut,
    Cancelled,
}

fn spawn(shell: &str, command: &str, dir: &Path) -> std::io::Result<Child> {
    Command::new(shell)
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("PAGER", "cat")
        .env("GIT_PAGER", "cat")
        .spawn()
}

async fn run_command(
    command: &str,
    dir: &Path,
    timeout: Duration,
    ctx: &ToolContext,
) -> ToolOutput {
    let started = Instant::now();
    let spawned = match spawn("bash", command, dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => spawn("sh", command, dir),
        other => other,
    };
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return ToolOutput::error(format!("could not start the shell (bash or sh): {e}")),
    };
    let pgid = group_of(&child);
    let mut guard = GroupGuard(pgid);

    let mut capture = Capture::new(OUTPUT_CAP);
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let (mut obuf, mut ebuf) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);

    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let outcome = loop {
        tokio::select! {
            n = read_some(&mut out, &mut obuf) => capture.push(&obuf[..n]),
            n = read_some(&mut err, &mut ebuf) => capture.push(&ebuf[..n]),
            status = child.wait() => match status {
                Ok(status) => break Outcome::Exited(status),
                Err(e) => {
                    terminate(pgid, &mut child).await;
                    guard.0 = None;
                    return ToolOutput::error(format!("lost track of the command: {e}"));
                }
            },
            () = &mut deadline => break Outcome::TimedOut,
            () = ctx.cancel.cancelled() => break Outcome::Cancelled,
        }
    };
    if !matches!(outcome, Outcome::Exited(_)) {
        terminate(pgid, &mut child).await;
    }
    guard.0 = None;
    // What is still in the pipes (background jobs may keep them open: stop after a moment).
    let drain_until = tokio::time::sleep(DRAIN_AFTER_EXIT);
    tokio::pin!(drain_until);
    while out.is_some() || err.is_some() {
        tokio::select! {
            n = read_some(&mut out, &mut obuf) => capture.push(&obuf[..n]),
            n = read_some(&mut err, &mut ebuf) => capture.push(&ebuf[..n]),
            () = &mut drain_until => break,
        }
    }
    let output = capture.finish();
    let wall = started.elapsed().as_secs_f64();
    match outcome {
        Outcome::Exited(status) => {
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
            ToolOutput::ok(format!(
                "{head}\nWall time: {wall:.1} seconds\nOutput:\n{output}"
            ))
        }
        Outcome::TimedOut => ToolOutput::error(format!(
            "Command timed out after {}; it was killed together with every process it started. \
             If it needs longer, pass a larger timeout_ms (max {MAX_TIMEOUT_MS}); for servers or watchers, \
             start them in the background with output redirected to a file.\nOutput before the timeout:\n{output}",
            secs(timeout)
        )),
        Outcome::Cancelled => ToolOutput::error(format!(
            "Command cancelled by the user after {wall:.1} seconds; it was killed together with every process it started.\nOutput before cancellation:\n{output}"
        )),
    }
}

/// Read what is available from a pipe; a closed or failed pipe becomes `None` and the future
/// for a `None` pipe never completes (so `select!` ignores it).
async fn read_some<R: AsyncRead + Unpin>(pipe: &mut Option<R>, buf: &mut [u8]) -> usize {
    let Some(r) = pipe.as_mut() else {
        return std::future::pending().await;
    };
    match r.read(buf).await {
        Ok(n) if n > 0 => n,
        _ => {
            *pipe = None;
            0
        }
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
