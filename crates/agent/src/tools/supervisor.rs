//! The command supervisor: the process between sx and a tool's command (docs/reliability.md,
//! hole 8 and the sandbox). sx starts itself under the name [`NAME`]; the supervisor
//!
//! - becomes a child subreaper, so every process the command starts — in the background, with
//!   `setsid` or `nohup`, through a double fork — stays below it, however it detaches;
//! - applies the sandbox to itself (`sandbox::apply`), then starts the command (which inherits
//!   it), so nothing runs between fork and exec in sx;
//! - relays the command's stdout and stderr to sx as frames (`frames.rs`), then its exit
//!   status, then — once the output is in — the processes the command left running;
//! - keeps those background processes (reaping them, discarding what they print) until sx
//!   closes the supervisor's stdin, on a timeout, a cancel, or when sx ends in any way
//!   (kill -9 included: the kernel closes the pipe); it then ends every process below it
//!   (`proc_tree::end_all`), reports what it could not end, and exits.
//!
//! Arguments: `[policy] [--input] [--fallback PROGRAM] -- PROGRAM ARGS…`. With `--input`, the
//! command's stdin is fed from the supervisor's: an 8-byte little-endian length, then that
//! many bytes (a function's arguments); otherwise it is `/dev/null`.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt as _;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};

use super::frames::{Tag, encode, encode_procs};
use super::proc_tree::{TERM_GRACE, descendants, end_all};
use super::sandbox::Policy;

/// The name sx runs the supervisor under (its `argv[0]`, seen in `ps`).
pub const NAME: &str = "sx-exec";

/// How long output may still come after the command itself ended (background jobs may hold
/// its pipes), before the call's result is made.
pub const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(300);

struct Args {
    policy: Policy,
    input: bool,
    fallback: Option<OsString>,
    program: OsString,
    args: Vec<OsString>,
}

fn parse(all: &[OsString]) -> Result<Args, String> {
    let (policy, mut rest) = Policy::from_args(all)?;
    let mut input = false;
    let mut fallback = None;
    loop {
        match rest.first().and_then(|a| a.to_str()) {
            Some("--input") => {
                input = true;
                rest = &rest[1..];
            }
            Some("--fallback") => {
                fallback = Some(rest.get(1).ok_or("--fallback needs a program")?.clone());
                rest = &rest[2..];
            }
            Some("--") => break,
            _ => return Err("expected -- before the program".into()),
        }
    }
    let program = rest.get(1).ok_or("no program after --")?.clone();
    Ok(Args {
        policy,
        input,
        fallback,
        program,
        args: rest[2..].to_vec(),
    })
}

fn send(tag: Tag, payload: &[u8]) {
    let mut out = std::io::stdout().lock();
    // sx gone: nothing to tell, the work goes on (and ends when stdin closes).
    let _ = out
        .write_all(&encode(tag, payload))
        .and_then(|()| out.flush());
}

fn fail(why: String) -> ExitCode {
    send(Tag::Failed, why.as_bytes());
    ExitCode::from(2)
}

/// The supervisor's entry: `argv` is its whole command line (its name first).
pub fn main(argv: Vec<OsString>) -> ExitCode {
    let args = match parse(argv.get(1..).unwrap_or_default()) {
        Ok(a) => a,
        Err(why) => return fail(format!("the command supervisor was started wrongly: {why}")),
    };
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        return fail(format!(
            "cannot become the reaper of the command's processes: {e}"
        ));
    }
    let mut mask = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
    ] {
        mask.add(s);
    }
    let signals = mask
        .thread_block()
        .and_then(|()| SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC));
    let signals = match signals {
        Ok(s) => s,
        Err(e) => return fail(format!("cannot watch the command's processes: {e}")),
    };
    let input = if args.input {
        match read_input() {
            Some(bytes) => Some(bytes),
            // sx went away before handing the input over: nothing was started.
            None => return ExitCode::SUCCESS,
        }
    } else {
        None
    };
    if let Err(why) = super::sandbox::apply(&args.policy) {
        return fail(format!(
            "the sandbox could not be set up ({why}); the command was not run. Set SANDBOX=off to run commands without the sandbox"
        ));
    }
    let spawn = |program: &OsString| {
        let mut cmd = Command::new(program);
        // The command must not inherit the signals the supervisor blocked for its signalfd,
        // and std does not reset the mask. SAFETY: only pthread_sigmask runs between fork
        // and exec, and it is async-signal-safe.
        #[allow(unsafe_code)]
        unsafe {
            cmd.pre_exec(|| {
                SigSet::empty()
                    .thread_set_mask()
                    .map_err(std::io::Error::from)
            });
        }
        cmd.args(&args.args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
    };
    let spawned = match (spawn(&args.program), &args.fallback) {
        (Err(e), Some(other)) if e.kind() == std::io::ErrorKind::NotFound => spawn(other),
        (result, _) => result,
    };
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            return fail(format!(
                "could not start {}: {e}",
                args.program.to_string_lossy()
            ));
        }
    };
    if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        // A command that does not read its input must not hold the supervisor up.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
    }
    Supervisor {
        shell: child.id() as i32,
        me: std::process::id() as i32,
        out: child.stdout.take(),
        err: child.stderr.take(),
        signals,
        stdin_open: true,
        exited: false,
        drain_until: None,
        keeping: false,
    }
    .run()
}

/// The input for `--input`: its length, then its bytes. `None` when sx went away first.
fn read_input() -> Option<Vec<u8>> {
    let mut stdin = std::io::stdin().lock();
    let mut len = [0u8; 8];
    stdin.read_exact(&mut len).ok()?;
    let mut bytes = vec![0u8; usize::try_from(u64::from_le_bytes(len)).ok()?];
    stdin.read_exact(&mut bytes).ok()?;
    Some(bytes)
}

struct Supervisor {
    shell: i32,
    me: i32,
    out: Option<std::process::ChildStdout>,
    err: Option<std::process::ChildStderr>,
    signals: SignalFd,
    stdin_open: bool,
    exited: bool,
    /// After the command ended: until when its output may still come.
    drain_until: Option<Instant>,
    /// The call is over; background processes are kept until sx says to stop them.
    keeping: bool,
}

enum Next {
    Continue,
    Stop,
    Exit,
}

impl Supervisor {
    fn run(mut self) -> ExitCode {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let timeout = match self.drain_until {
                Some(t) if !self.keeping => {
                    PollTimeout::try_from(t.saturating_duration_since(Instant::now()))
                        .unwrap_or(PollTimeout::MAX)
                }
                _ => PollTimeout::NONE,
            };
            let (stdin_ev, out_ev, err_ev, sig_ev) = {
                let stdin = std::io::stdin();
                let mut fds = Vec::with_capacity(4);
                let flags = PollFlags::POLLIN;
                let mut slots = [None; 4];
                if self.stdin_open {
                    slots[0] = Some(fds.len());
                    fds.push(PollFd::new(stdin.as_fd(), flags));
                }
                if let Some(o) = &self.out {
                    slots[1] = Some(fds.len());
                    fds.push(PollFd::new(o.as_fd(), flags));
                }
                if let Some(e) = &self.err {
                    slots[2] = Some(fds.len());
                    fds.push(PollFd::new(e.as_fd(), flags));
                }
                slots[3] = Some(fds.len());
                fds.push(PollFd::new(self.signals.as_fd(), flags));
                match poll(&mut fds, timeout) {
                    Ok(_) => {}
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => {
                        send(Tag::Failed, format!("poll failed: {e}").as_bytes());
                        return self.stop();
                    }
                }
                let ready = |slot: Option<usize>| {
                    slot.and_then(|i| fds[i].revents())
                        .is_some_and(|r| !r.is_empty())
                };
                (
                    ready(slots[0]),
                    ready(slots[1]),
                    ready(slots[2]),
                    ready(slots[3]),
                )
            };
            if stdin_ev {
                // Nothing more is expected on stdin: its end (or anything) means stop.
                let mut one = [0u8; 64];
                match std::io::stdin().read(&mut one) {
                    Ok(n) if n > 0 => {}
                    _ => return self.stop(),
                }
            }
            if out_ev {
                self.relay(Tag::Stdout, &mut buf);
            }
            if err_ev {
                self.relay(Tag::Stderr, &mut buf);
            }
            if sig_ev {
                match self.on_signals() {
                    Next::Continue => {}
                    Next::Stop => return self.stop(),
                    Next::Exit => return ExitCode::SUCCESS,
                }
            }
            if self.exited && !self.keeping {
                let drained = self.out.is_none() && self.err.is_none();
                if drained || self.drain_until.is_some_and(|t| Instant::now() >= t) {
                    self.reap();
                    let left = descendants(self.me);
                    send(Tag::Done, &encode_procs(&left));
                    if left.is_empty() {
                        return ExitCode::SUCCESS;
                    }
                    self.keeping = true;
                }
            }
        }
    }

    /// Read what one of the command's pipes holds; relay it while the call lasts (afterwards
    /// background processes' output is read and dropped, so they never block on a full pipe).
    fn relay(&mut self, tag: Tag, buf: &mut [u8]) {
        let n = match tag {
            Tag::Stdout => self.out.as_mut().map(|p| p.read(buf)),
            _ => self.err.as_mut().map(|p| p.read(buf)),
        };
        match n {
            Some(Ok(n)) if n > 0 => {
                if !self.keeping {
                    send(tag, &buf[..n]);
                }
            }
            Some(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
            _ => {
                if tag == Tag::Stdout {
                    self.out = None;
                } else {
                    self.err = None;
                }
            }
        }
    }

    fn on_signals(&mut self) -> Next {
        let mut stop = false;
        while let Ok(Some(info)) = self.signals.read_signal() {
            if info.ssi_signo != Signal::SIGCHLD as u32 {
                stop = true;
            }
        }
        if stop {
            return Next::Stop;
        }
        let none_left = self.reap();
        if self.keeping && none_left {
            return Next::Exit;
        }
        Next::Continue
    }

    /// Reap every child that ended; report the command's own end. True when no child is left.
    fn reap(&mut self) -> bool {
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => return false,
                Ok(status) => {
                    if status.pid().map(|p| p.as_raw()) == Some(self.shell) && !self.exited {
                        let raw = match status {
                            WaitStatus::Exited(_, code) => code << 8,
                            WaitStatus::Signaled(_, sig, core) => {
                                sig as i32 | if core { 0x80 } else { 0 }
                            }
                            _ => continue,
                        };
                        self.exited = true;
                        self.drain_until = Some(Instant::now() + DRAIN_AFTER_EXIT);
                        send(Tag::Exited, &raw.to_le_bytes());
                    }
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) => return true,
            }
        }
    }

    /// End every process below the supervisor, pass on what they printed meanwhile, report
    /// what is left, exit.
    fn stop(mut self) -> ExitCode {
        let me = self.me;
        let left = end_all(me, TERM_GRACE, || {
            let _ = self.reap();
        });
        // What the command printed before it ended.
        let mut buf = vec![0u8; 16 * 1024];
        for _ in 0..64 {
            let ready = |fd: Option<std::os::fd::BorrowedFd<'_>>| {
                fd.is_some_and(|fd| {
                    let mut f = [PollFd::new(fd, PollFlags::POLLIN)];
                    poll(&mut f, PollTimeout::ZERO).is_ok_and(|n| n > 0)
                })
            };
            let (o, e) = (
                ready(self.out.as_ref().map(|p| p.as_fd())),
                ready(self.err.as_ref().map(|p| p.as_fd())),
            );
            if !o && !e {
                break;
            }
            if o {
                self.relay(Tag::Stdout, &mut buf);
            }
            if e {
                self.relay(Tag::Stderr, &mut buf);
            }
        }
        send(Tag::Stopped, &encode_procs(&left));
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_read_back() {
        let argv: Vec<OsString> = [
            "--sandbox",
            "--write",
            "/p",
            "--input",
            "--fallback",
            "sh",
            "--",
            "bash",
            "-c",
            "echo hi",
        ]
        .into_iter()
        .map(OsString::from)
        .collect();
        let a = parse(&argv).unwrap();
        assert!(a.policy.restricts() && a.input);
        assert_eq!(a.fallback, Some("sh".into()));
        assert_eq!(a.program, "bash");
        assert_eq!(a.args, [OsString::from("-c"), OsString::from("echo hi")]);
        let argv: Vec<OsString> = ["--", "sh"].into_iter().map(OsString::from).collect();
        let a = parse(&argv).unwrap();
        assert!(!a.policy.restricts() && !a.input && a.args.is_empty());
        for bad in [&["bash"][..], &["--"], &["--fallback"]] {
            let argv: Vec<OsString> = bad.iter().map(OsString::from).collect();
            assert!(parse(&argv).is_err(), "{bad:?}");
        }
    }
}
