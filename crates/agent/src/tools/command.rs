//! Running a tool's command (`bash`, a function's command; docs/reliability.md, hole 8 and
//! "Sandbox for tool commands"). In the `sx` program every command runs below a supervisor
//! (`supervisor.rs`): the sandbox applies, and every process the command starts — however it
//! detaches — is found and ended. Where no supervisor is available (the library used by
//! another program, its unit tests) the command runs directly in a process group of its own,
//! without sandbox, and only that group is ended.
//!
//! Background processes a finished command leaves running are kept (a server the model
//! started for the next commands) until sx ends: their supervisor holds them and ends them
//! when its stdin closes, which the kernel does when sx exits in any way, `kill -9` included.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

use super::ToolContext;
use super::frames::{self, Decoder, Tag, decode_procs};
use super::proc_tree::Proc;
use super::process::{GroupGuard, group_of, terminate};
use super::sandbox::{self, Mode, Policy};

/// The program that runs supervisors (`/proc/self/exe` in `sx`), set once by the program.
static SUPERVISOR: OnceLock<PathBuf> = OnceLock::new();
/// `SANDBOX` and `SANDBOX_NETWORK` of this run (set at start-up).
static SANDBOX: Mutex<(Mode, bool)> = Mutex::new((Mode::Off, true));
/// Supervisors holding background processes of finished commands, until sx ends.
static KEPT: Mutex<Vec<Running>> = Mutex::new(Vec::new());

/// Run commands through supervisors started from `program` (which must dispatch
/// [`super::supervisor::NAME`] to `supervisor::main`).
pub fn use_supervisor(program: PathBuf) {
    let _ = SUPERVISOR.set(program);
}

/// Set the sandbox of the commands to come; the one-line warning for what the kernel cannot
/// enforce (docs/reliability.md), if anything.
pub fn set_sandbox(mode: Mode, network: bool) -> Option<String> {
    *SANDBOX.lock().unwrap_or_else(|e| e.into_inner()) = (mode, network);
    let policy = Policy::from_config(
        Some(match mode {
            Mode::Off => "off",
            Mode::WorkspaceWrite => "workspace-write",
        }),
        network,
        [],
    );
    if !policy.restricts() || SUPERVISOR.get().is_none() {
        return None;
    }
    sandbox::unenforced(&policy, sandbox::probe())
}

/// A command to run.
pub struct Spec<'a> {
    pub program: &'a str,
    /// Run instead when `program` is not found (`sh` for `bash`).
    pub fallback: Option<&'a str>,
    pub args: Vec<OsString>,
    pub dir: &'a Path,
    pub env: &'a [(&'a str, &'a str)],
    /// Bytes for the command's stdin (otherwise /dev/null).
    pub input: Option<Vec<u8>>,
}

/// What a running command reports, in this order: output, its exit, then [`Event::Done`].
#[derive(Debug)]
pub enum Event {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    Exited(ExitStatus),
    /// The output is in; the processes the command left running in the background.
    Done(Vec<Proc>),
}

pub struct Running(Inner);

enum Inner {
    Supervised(Box<Supervised>),
    Direct(Box<Direct>),
}

struct Supervised {
    child: Child,
    stdin: Option<ChildStdin>,
    out: ChildStdout,
    dec: Decoder,
}

struct Direct {
    child: Child,
    pgid: Option<nix::unistd::Pid>,
    guard: GroupGuard,
    out: Option<ChildStdout>,
    err: Option<ChildStderr>,
    buf: Vec<u8>,
    exited: bool,
    drain: Option<Pin<Box<tokio::time::Sleep>>>,
    done: bool,
}

/// How long output may still come after a directly run command ended.
const DRAIN_AFTER_EXIT: Duration = super::supervisor::DRAIN_AFTER_EXIT;
/// How long a supervisor gets to end a command's processes and say what is left.
const STOP_WAIT: Duration = Duration::from_secs(15);

impl Running {
    /// Start `spec` with the sandbox of this run and the writable roots of `ctx`.
    pub async fn start(spec: Spec<'_>, ctx: &ToolContext) -> Result<Running, String> {
        let Some(program) = SUPERVISOR.get() else {
            return start_direct(spec);
        };
        let (mode, network) = *SANDBOX.lock().unwrap_or_else(|e| e.into_inner());
        let roots = std::iter::once(ctx.project_root.as_path())
            .chain(ctx.extra_roots.iter().map(PathBuf::as_path));
        let policy = match mode {
            Mode::Off => Policy::off(),
            Mode::WorkspaceWrite => Policy::from_config(Some("workspace-write"), network, roots),
        };
        let mut cmd = Command::new(program);
        cmd.arg0(super::supervisor::NAME).args(policy.to_args());
        if spec.input.is_some() {
            cmd.arg("--input");
        }
        if let Some(f) = spec.fallback {
            cmd.args(["--fallback", f]);
        }
        cmd.arg("--")
            .arg(spec.program)
            .args(&spec.args)
            .current_dir(spec.dir)
            .envs(spec.env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().map_err(|e| e.to_string())?;
        let mut stdin = child.stdin.take();
        if let (Some(bytes), Some(pipe)) = (&spec.input, stdin.as_mut()) {
            let mut framed = (bytes.len() as u64).to_le_bytes().to_vec();
            framed.extend_from_slice(bytes);
            // A supervisor that ended early says why on its stdout.
            let _ = pipe.write_all(&framed).await;
        }
        let out = child.stdout.take().ok_or("no pipe from the supervisor")?;
        Ok(Running(Inner::Supervised(Box::new(Supervised {
            child,
            stdin,
            out,
            dec: Decoder::default(),
        }))))
    }

    /// The next event; `Ok(None)` after [`Event::Done`]. An error when the command could not
    /// be started (or sandboxed), or its supervisor was lost. Cancel-safe.
    pub async fn next(&mut self) -> Result<Option<Event>, String> {
        match &mut self.0 {
            Inner::Supervised(sup) => loop {
                let frame = frames::read(&mut sup.out, &mut sup.dec)
                    .await
                    .map_err(|e| format!("lost track of the command: {e}"))?;
                let Some((tag, payload)) = frame else {
                    return Err("lost track of the command: its supervisor ended".into());
                };
                return Ok(Some(match tag {
                    Tag::Stdout => Event::Stdout(payload),
                    Tag::Stderr => Event::Stderr(payload),
                    Tag::Exited => {
                        let raw = payload
                            .get(..4)
                            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                            .unwrap_or(-1);
                        Event::Exited(ExitStatus::from_raw(raw))
                    }
                    Tag::Done => Event::Done(decode_procs(&payload)),
                    Tag::Failed => return Err(String::from_utf8_lossy(&payload).into_owned()),
                    // Only sent once told to stop.
                    Tag::Stopped => continue,
                }));
            },
            Inner::Direct(d) => d.next().await,
        }
    }

    /// End the command and every process it started; what could not be ended (`None` when
    /// that is unknown: the supervisor did not answer).
    pub async fn stop(self) -> Option<Vec<Proc>> {
        match self.0 {
            Inner::Supervised(sup) => {
                let Supervised {
                    mut child,
                    stdin,
                    mut out,
                    mut dec,
                } = *sup;
                drop(stdin);
                let told = tokio::time::timeout(STOP_WAIT, async {
                    loop {
                        match frames::read(&mut out, &mut dec).await {
                            Ok(Some((Tag::Stopped, left))) => return Some(decode_procs(&left)),
                            Ok(Some(_)) => {}
                            // Ended without a report: it had nothing left to stop.
                            Ok(None) => return Some(Vec::new()),
                            Err(_) => return None,
                        }
                    }
                })
                .await
                .ok()
                .flatten();
                if told.is_none() {
                    let _ = child.start_kill();
                }
                let _ = child.wait().await;
                told
            }
            Inner::Direct(mut d) => {
                terminate(d.pgid, &mut d.child).await;
                d.guard.0 = None;
                Some(Vec::new())
            }
        }
    }

    /// The call is over: keep its background processes until sx ends.
    pub fn keep(self) {
        match self.0 {
            Inner::Supervised(_) => KEPT.lock().unwrap_or_else(|e| e.into_inner()).push(self),
            // Only the process group was ever tracked; it is left alone as before.
            Inner::Direct(mut d) => d.guard.0 = None,
        }
    }
}

/// End the background processes every finished command left (at the end of a run); what
/// could not be ended.
pub async fn stop_kept() -> Vec<Proc> {
    let kept = std::mem::take(&mut *KEPT.lock().unwrap_or_else(|e| e.into_inner()));
    let mut left = Vec::new();
    for r in kept {
        left.extend(r.stop().await.unwrap_or_default());
    }
    left
}

/// What a timeout or a cancel did to the command's processes, truthfully.
pub fn killed(left: Option<Vec<Proc>>) -> String {
    match left {
        Some(left) if left.is_empty() => {
            "it was killed together with every process it started".to_string()
        }
        Some(left) => format!(
            "it was killed, but {} of the processes it started still run{}: {}",
            left.len(),
            if left.len() == 1 { "s" } else { "" },
            Proc::describe(&left)
        ),
        None => "it was killed, but whether every process it started ended is unknown".to_string(),
    }
}

fn start_direct(spec: Spec<'_>) -> Result<Running, String> {
    let spawn = |program: &str| {
        Command::new(program)
            .args(&spec.args)
            .current_dir(spec.dir)
            .envs(spec.env.iter().copied())
            .stdin(if spec.input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
    };
    let spawned = match (spawn(spec.program), spec.fallback) {
        (Err(e), Some(other)) if e.kind() == std::io::ErrorKind::NotFound => spawn(other),
        (result, _) => result,
    };
    let mut child = spawned.map_err(|e| e.to_string())?;
    if let (Some(bytes), Some(mut stdin)) = (spec.input, child.stdin.take()) {
        // A command that does not read its input must not hold the call up.
        tokio::spawn(async move {
            let _ = stdin.write_all(&bytes).await;
        });
    }
    let pgid = group_of(&child);
    Ok(Running(Inner::Direct(Box::new(Direct {
        pgid,
        guard: GroupGuard(pgid),
        out: child.stdout.take(),
        err: child.stderr.take(),
        child,
        buf: vec![0u8; 16 * 1024],
        exited: false,
        drain: None,
        done: false,
    }))))
}

impl Direct {
    async fn next(&mut self) -> Result<Option<Event>, String> {
        loop {
            if self.done {
                return Ok(None);
            }
            if self.exited && self.out.is_none() && self.err.is_none() {
                self.done = true;
                return Ok(Some(Event::Done(Vec::new())));
            }
            let timer = &mut self.drain;
            let drain = async {
                match timer.as_mut() {
                    Some(d) => d.await,
                    None => std::future::pending().await,
                }
            };
            let (obuf, ebuf) = self.buf.split_at_mut(8 * 1024);
            tokio::select! {
                n = read_some(&mut self.out, obuf) => if n > 0 {
                    return Ok(Some(Event::Stdout(obuf[..n].to_vec())));
                },
                n = read_some(&mut self.err, ebuf) => if n > 0 {
                    return Ok(Some(Event::Stderr(ebuf[..n].to_vec())));
                },
                status = self.child.wait(), if !self.exited => {
                    let status = status.map_err(|e| format!("lost track of the command: {e}"))?;
                    self.exited = true;
                    self.guard.0 = None;
                    self.drain = Some(Box::pin(tokio::time::sleep(DRAIN_AFTER_EXIT)));
                    return Ok(Some(Event::Exited(status)));
                }
                () = drain => {
                    self.done = true;
                    return Ok(Some(Event::Done(Vec::new())));
                }
            }
        }
    }
}

/// Read what is available from a pipe; a closed or failed pipe becomes `None` (and reads 0).
/// The future for a `None` pipe never completes, so `select!` ignores it.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_timeout_did_is_said_truthfully() {
        assert_eq!(
            killed(Some(Vec::new())),
            "it was killed together with every process it started"
        );
        let left = vec![Proc {
            pid: 7,
            name: "sleep".into(),
        }];
        assert_eq!(
            killed(Some(left)),
            "it was killed, but 1 of the processes it started still runs: pid 7 (sleep)"
        );
        assert!(killed(None).contains("unknown"));
    }
}
