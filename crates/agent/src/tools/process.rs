//! Child processes the tools and functions start: each in its own process group, so a
//! timeout, a cancel or a dropped call can take down everything the command started.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::Child;

/// How long a terminated group gets between SIGTERM and SIGKILL.
pub(crate) const KILL_GRACE: Duration = Duration::from_secs(1);

/// The process group of a child spawned with `process_group(0)`.
pub(crate) fn group_of(child: &Child) -> Option<Pid> {
    child.id().map(|id| Pid::from_raw(id as i32))
}

/// Kills the process group with SIGKILL when dropped armed (the tool's future was dropped).
pub(crate) struct GroupGuard(pub(crate) Option<Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }
}

/// SIGTERM the group, wait for it to go (at most `KILL_GRACE`), SIGKILL whatever remains, reap.
pub(crate) async fn terminate(pgid: Option<Pid>, child: &mut Child) {
    let Some(pgid) = pgid else {
        let _ = child.kill().await;
        return;
    };
    let _ = killpg(pgid, Signal::SIGTERM);
    let until = Instant::now() + KILL_GRACE;
    let mut reaped = false;
    while Instant::now() < until {
        if !reaped {
            reaped = matches!(child.try_wait(), Ok(Some(_)));
        }
        // Once the shell is reaped, signal 0 fails when no process of the group is left.
        if reaped && killpg(pgid, None).is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = killpg(pgid, Signal::SIGKILL);
    let _ = child.wait().await;
}
