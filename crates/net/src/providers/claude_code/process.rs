//! The `claude` child of one turn: spawned in its own process group, its stdin written and
//! closed, its stdout read as bounded lines, the tail of its stderr kept for messages. When
//! the turn's future is dropped (Esc, Ctrl-C) or a limit is passed, the whole group is
//! killed — the CLI and every command it started.

use std::path::Path;
use std::process::{ExitStatus, Stdio};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdout, Command};
use tokio::task::JoinHandle;

use crate::error::ProviderError;

/// Bounds on what one turn may print.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest line (a tool result holding an image is a few MB).
    pub line: usize,
    /// All of stdout.
    pub total: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            line: 64 << 20,
            total: 1 << 30,
        }
    }
}

/// Bytes of stderr kept (the end of it).
const STDERR_TAIL: usize = 8 << 10;

/// Kills the process group with SIGKILL when dropped armed.
struct GroupGuard(Option<Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }
}

/// A running turn. Dropping it kills the group.
pub struct Turn {
    // Dropped before `child`, while the leader is not reaped yet, so the group id is still
    // ours when it is signalled.
    guard: GroupGuard,
    child: Child,
    pub stdout: LineReader<ChildStdout>,
    stderr: JoinHandle<Vec<u8>>,
}

/// Start `bin` with `args` in `cwd`; `input` is written to its stdin, which is then closed.
pub fn spawn(
    bin: &Path,
    args: &[String],
    cwd: &Path,
    input: Vec<u8>,
    limits: Limits,
) -> Result<Turn, ProviderError> {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        let shown = bin.display();
        match e.kind() {
            std::io::ErrorKind::NotFound => ProviderError::Config(format!(
                "Claude Code's CLI was not found at {shown}; install Claude Code (npm install -g @anthropic-ai/claude-code) or set CLAUDE_CODE_BIN to the claude binary's path"
            )),
            std::io::ErrorKind::PermissionDenied => ProviderError::Config(format!(
                "{shown} cannot be run ({e}); point CLAUDE_CODE_BIN at the claude binary"
            )),
            _ => ProviderError::Cli {
                message: format!("cannot start {shown}: {e}; check CLAUDE_CODE_BIN"),
            },
        }
    })?;
    let guard = GroupGuard(child.id().map(|id| Pid::from_raw(id as i32)));
    let (Some(mut stdin), Some(stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        unreachable!("all three are piped above");
    };
    // A CLI that exits before reading its input makes this fail (broken pipe): what it says
    // on stderr tells why.
    tokio::spawn(async move {
        let _ = stdin.write_all(&input).await;
        let _ = stdin.shutdown().await;
    });
    let stderr = tokio::spawn(async move {
        let mut tail = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match stderr.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    tail.extend_from_slice(&chunk[..n]);
                    if tail.len() > 2 * STDERR_TAIL {
                        tail.drain(..tail.len() - STDERR_TAIL);
                    }
                }
            }
        }
        if tail.len() > STDERR_TAIL {
            tail.drain(..tail.len() - STDERR_TAIL);
        }
        tail
    });
    Ok(Turn {
        guard,
        child,
        stdout: LineReader::new(stdout, limits),
        stderr,
    })
}

impl Turn {
    /// Wait for the CLI to exit (its stdout is at its end); how it ended, in words, and the
    /// tail of its stderr.
    pub async fn finish(mut self) -> (String, String) {
        let status = self.child.wait().await;
        // Reaped: the group id may be reused from now on, so it is never signalled again.
        self.guard.0 = None;
        let tail = (&mut self.stderr).await.unwrap_or_default();
        let exit = match status {
            Ok(s) => describe(s),
            Err(e) => format!("could not be waited for ({e})"),
        };
        (exit, String::from_utf8_lossy(&tail).into_owned())
    }
}

fn describe(s: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        (None, None) => "ended".to_string(),
    }
}

/// Lines of a stream, each at most `limits.line` bytes, all at most `limits.total`.
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Start of the unread part of `buf`, and how far it is known to hold no newline.
    start: usize,
    scanned: usize,
    total: u64,
    eof: bool,
    limits: Limits,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub fn new(inner: R, limits: Limits) -> LineReader<R> {
        LineReader {
            inner,
            buf: Vec::with_capacity(64 << 10),
            start: 0,
            scanned: 0,
            total: 0,
            eof: false,
            limits,
        }
    }

    /// The next line without its newline; `None` at the end. The error says which bound was
    /// passed, or that a line is not UTF-8.
    pub async fn next_line(&mut self) -> Result<Option<&str>, ProviderError> {
        loop {
            if let Some(pos) = memchr::memchr(b'\n', &self.buf[self.scanned..]) {
                let (from, to) = (self.start, self.scanned + pos);
                if to - from > self.limits.line {
                    return Err(self.too_long());
                }
                self.start = to + 1;
                self.scanned = self.start;
                return utf8(&self.buf[from..to]).map(Some);
            }
            self.scanned = self.buf.len();
            if self.buf.len() - self.start > self.limits.line {
                return Err(self.too_long());
            }
            if self.eof {
                if self.start == self.buf.len() {
                    return Ok(None);
                }
                let from = self.start;
                self.start = self.buf.len();
                return utf8(&self.buf[from..]).map(Some);
            }
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.scanned -= self.start;
                self.start = 0;
            }
            self.buf.reserve(64 << 10);
            let n = self
                .inner
                .read_buf(&mut self.buf)
                .await
                .map_err(|e| ProviderError::Cli {
                    message: format!("cannot read Claude Code's output: {e}; try again"),
                })?;
            self.eof = n == 0;
            self.total += n as u64;
            if self.total > self.limits.total {
                return Err(ProviderError::Protocol {
                    detail: format!(
                        "Claude Code printed more than {} in one turn; sx stopped it",
                        size(self.limits.total)
                    ),
                });
            }
        }
    }

    fn too_long(&self) -> ProviderError {
        ProviderError::Protocol {
            detail: format!(
                "a line of Claude Code's output is longer than {}; sx stopped it",
                size(self.limits.line as u64)
            ),
        }
    }
}

/// "64 MiB", "10 bytes".
fn size(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n} bytes")
    }
}

fn utf8(line: &[u8]) -> Result<&str, ProviderError> {
    std::str::from_utf8(line).map_err(|e| ProviderError::Protocol {
        detail: format!("a line of Claude Code's output is not UTF-8 ({e})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8], limits: Limits) -> Result<Vec<String>, ProviderError> {
        let mut r = LineReader::new(input, limits);
        let mut out = Vec::new();
        while let Some(l) = r.next_line().await? {
            out.push(l.to_string());
        }
        Ok(out)
    }

    #[tokio::test]
    async fn lines_split_on_newlines_and_the_last_one_may_lack_it() {
        let l = lines(b"a\n\nbc\nd", Limits::default()).await.unwrap();
        assert_eq!(l, ["a", "", "bc", "d"]);
        let big = format!("{}\nx\n", "y".repeat(200_000));
        let l = lines(big.as_bytes(), Limits::default()).await.unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].len(), 200_000);
    }

    #[tokio::test]
    async fn a_line_or_a_total_over_its_bound_is_an_error() {
        let limits = Limits {
            line: 10,
            total: 1 << 20,
        };
        assert_eq!(lines(b"0123456789\n", limits).await.unwrap().len(), 1);
        let e = lines(b"01234567890\n", limits).await.unwrap_err();
        assert!(e.to_string().contains("longer than"), "{e}");
        let limits = Limits {
            line: 1 << 20,
            total: 100,
        };
        let e = lines(&b"abc\n".repeat(30), limits).await.unwrap_err();
        assert!(e.to_string().contains("printed more than"), "{e}");
        let e = lines(b"\xff\xfe\n", Limits::default()).await.unwrap_err();
        assert!(e.to_string().contains("not UTF-8"), "{e}");
    }
}
