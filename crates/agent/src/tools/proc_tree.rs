//! A process's descendants, found from `/proc`, and how to end them all (docs/reliability.md,
//! hole 8). The command supervisor is a child subreaper, so every process a command starts —
//! in the background, in a new session (`setsid`), through a double fork — stays below it: a
//! process whose parent ends is re-parented to the supervisor, never to init. Walking the
//! parent links of `/proc/<pid>/stat` from the supervisor therefore finds them all.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A process that still runs: its id and its name (`comm`, at most 15 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    pub pid: i32,
    pub name: String,
}

impl Proc {
    /// `pid 123 (sleep)`.
    pub fn describe(list: &[Proc]) -> String {
        let shown: Vec<String> = list
            .iter()
            .take(10)
            .map(|p| format!("pid {} ({})", p.pid, p.name))
            .collect();
        let more = list.len().saturating_sub(shown.len());
        if more > 0 {
            format!("{} and {more} more", shown.join(", "))
        } else {
            shown.join(", ")
        }
    }
}

/// One line of `/proc/<pid>/stat`: parent, state, name.
struct Stat {
    ppid: i32,
    zombie: bool,
    name: String,
}

fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid …"; comm may hold spaces and parentheses.
    let (head, rest) = text.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_string();
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some(Stat {
        ppid,
        zombie: state == "Z" || state == "X",
        name,
    })
}

/// Every process below `root` that has not ended (zombies are left out: they only wait to be
/// reaped), in no particular order. A process that ends while the walk runs may or may not be
/// listed.
pub fn descendants(root: i32) -> Vec<Proc> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut children: HashMap<i32, Vec<(i32, Stat)>> = HashMap::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if let Some(s) = stat(pid) {
            children.entry(s.ppid).or_default().push((pid, s));
        }
    }
    let mut out = Vec::new();
    let mut queue = vec![root];
    while let Some(parent) = queue.pop() {
        for (pid, s) in children.remove(&parent).unwrap_or_default() {
            queue.push(pid);
            if !s.zombie {
                out.push(Proc { pid, name: s.name });
            }
        }
    }
    out
}

/// How long processes get to end after SIGTERM before SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(1);
/// How long SIGKILL rounds go on (a process forking while it is killed is caught by the next
/// round) before what is left is reported.
const KILL_ROUNDS_FOR: Duration = Duration::from_secs(3);

/// End every process below `root`: SIGTERM, up to [`TERM_GRACE`] to go, then SIGKILL in
/// rounds until none is left or [`KILL_ROUNDS_FOR`] passed. `reap` is called between checks
/// (the caller reaps its own children there). Returns what still runs at the end.
pub fn end_all(root: i32, term_grace: Duration, mut reap: impl FnMut()) -> Vec<Proc> {
    let signal_all = |sig: Signal| {
        let procs = descendants(root);
        for p in &procs {
            let _ = kill(Pid::from_raw(p.pid), sig);
        }
        procs
    };
    if signal_all(Signal::SIGTERM).is_empty() {
        return Vec::new();
    }
    let until = Instant::now() + term_grace;
    while Instant::now() < until {
        reap();
        if descendants(root).is_empty() {
            return Vec::new();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let until = Instant::now() + KILL_ROUNDS_FOR;
    loop {
        let left = signal_all(Signal::SIGKILL);
        reap();
        if left.is_empty() {
            return Vec::new();
        }
        if Instant::now() >= until {
            // What SIGKILL has not ended yet (a process stuck in the kernel).
            std::thread::sleep(Duration::from_millis(50));
            reap();
            return descendants(root);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    fn wait_for(mut cond: impl FnMut() -> bool, what: &str) {
        let until = Instant::now() + Duration::from_secs(60);
        while !cond() {
            assert!(Instant::now() < until, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn the_walk_finds_grandchildren_and_ending_them_leaves_none() {
        // A shell with a background job and a foreground child: three processes below us.
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("ready");
        let mut sh = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "sleep 1000 & sleep 1001 & touch {}; wait",
                ready.display()
            ))
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        wait_for(|| ready.exists(), "the shell to start its jobs");
        let root = sh.id() as i32;
        let below = descendants(root);
        let names: Vec<&str> = below.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names.iter().filter(|n| **n == "sleep").count(),
            2,
            "{below:?}"
        );
        // The shell is not its own descendant; ours include it.
        assert!(below.iter().all(|p| p.pid != root));
        let me = std::process::id() as i32;
        assert!(descendants(me).iter().any(|p| p.pid == root));

        let left = end_all(root, TERM_GRACE, || {});
        assert!(left.is_empty(), "{left:?}");
        // The shell's `wait` returns once its jobs are gone.
        sh.wait().unwrap();
        assert!(descendants(root).is_empty());
    }

    #[test]
    fn a_process_that_ignores_sigterm_is_killed_after_the_grace() {
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("ready");
        let mut sh = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "sh -c 'trap \"\" TERM; touch {}; sleep 1000; :' & wait",
                ready.display()
            ))
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        wait_for(|| ready.exists(), "the job to ignore SIGTERM");
        let left = end_all(sh.id() as i32, Duration::from_millis(200), || {});
        assert!(left.is_empty(), "{left:?}");
        sh.wait().unwrap();
    }

    #[test]
    fn descriptions_name_pids_and_names() {
        let list: Vec<Proc> = (1..=12)
            .map(|pid| Proc {
                pid,
                name: "sleep".into(),
            })
            .collect();
        assert_eq!(Proc::describe(&list[..2]), "pid 1 (sleep), pid 2 (sleep)");
        assert!(Proc::describe(&list).ends_with("pid 10 (sleep) and 2 more"));
    }
}
