//! Running a function's command (docs/agent.md § Function calling): the timeout stops it with
//! every process it started. (Approval, a failing command and Ctrl-C are tested end to end in
//! `crates/cli/tests/suite/functions.rs`.)

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::*;

fn function(command: &str) -> Function {
    Function {
        name: "long_job".into(),
        description: "d".into(),
        parameters: json!({"type": "object"}),
        command: Some(command.into()),
        origin: Origin::Flag(PathBuf::from("fns.json")),
    }
}

/// The pid a command wrote to `path` once it was ready (waits generously).
async fn pid_in(path: &Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(s) = std::fs::read_to_string(path) {
            return s.trim().parse().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether `pid`, seen running before, still runs (a zombie counts as gone).
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .and_then(|s| s.split_whitespace().next())
            != Some("Z")
    })
}

#[test]
fn the_timeout_is_two_minutes() {
    assert_eq!(COMMAND_TIMEOUT, Duration::from_secs(120));
}

#[tokio::test]
async fn a_timed_out_command_is_killed_with_everything_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ToolContext {
        cwd: dir.path().to_path_buf(),
        project_root: dir.path().to_path_buf(),
        extra_roots: Vec::new(),
        cancel: CancellationToken::new(),
    };
    let f = function(
        "echo $$ > sh.pid.tmp && mv sh.pid.tmp sh.pid; \
         sleep 300 & echo $! > kid.pid.tmp && mv kid.pid.tmp kid.pid; wait",
    );
    let pids = std::sync::Mutex::new(None);
    // The timeout expires once both processes run, rather than after two minutes.
    let expire = async {
        let sh = pid_in(&dir.path().join("sh.pid")).await;
        let kid = pid_in(&dir.path().join("kid.pid")).await;
        assert!(running(sh) && running(kid));
        *pids.lock().unwrap() = Some((sh, kid));
    };
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        run_command_until(&f, &json!({}), &ctx, expire),
    )
    .await
    .expect("the timeout stopped the command");
    assert!(out.is_error);
    assert_eq!(
        out.text,
        "function 'long_job' timed out after 120s; it was killed together with every process it started"
    );
    let (sh, kid) = pids.lock().unwrap().expect("both processes ran");
    // `run_command` returns once the group is gone (or SIGKILLed after the grace period).
    let deadline = Instant::now() + Duration::from_secs(30);
    while (running(sh) || running(kid)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!running(sh), "the shell was killed");
    assert!(!running(kid), "the process it started was killed");
}
