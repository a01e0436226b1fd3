//! Tests of `bash` (a sibling file: `bash.rs` keeps the code under 500 lines).

use super::*;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

fn ctx(dir: &Path) -> ToolContext {
    ToolContext {
        cwd: dir.to_path_buf(),
        project_root: dir.to_path_buf(),
        extra_roots: Vec::new(),
        cancel: CancellationToken::new(),
    }
}

async fn bash(ctx: &ToolContext, input: Value) -> ToolOutput {
    Bash.run(input, ctx).await
}

const PROC: &str = "/proc";

/// Whether a process still runs (a zombie waiting for a reaper counts as gone), from
/// `/proc/<pid>/stat`. Only a missing entry means gone: without /proc (not Linux) or when the
/// entry cannot be read, the test fails rather than finding every process gone.
fn running(pid: i32) -> bool {
    assert!(
        Path::new(PROC).join("self/stat").is_file(),
        "these tests read {PROC}/<pid>/stat (Linux only)"
    );
    match std::fs::read_to_string(format!("{PROC}/{pid}/stat")) {
        // ESRCH: the process was reaped between opening and reading.
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                || e.raw_os_error() == Some(nix::libc::ESRCH) =>
        {
            false
        }
        Err(e) => panic!("cannot read {PROC}/{pid}/stat: {e}"),
        Ok(stat) => {
            // "pid (comm) state …"; comm may hold spaces and parentheses.
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next())
                .unwrap_or_else(|| panic!("unexpected {PROC}/{pid}/stat: {stat:?}"));
            state != 'Z'
        }
    }
}

async fn gone_eventually(pid: i32) -> bool {
    for _ in 0..250 {
        if !running(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

async fn read_pid(file: &PathBuf) -> i32 {
    std::fs::read_to_string(file)
        .expect("pid file")
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn output_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(dir.path());
    let out = bash(&c, json!({"command": "echo hello; exit 3"})).await;
    assert!(
        !out.is_error,
        "non-zero exit is not a tool error: {}",
        out.text
    );
    assert!(out.text.starts_with("Exit code: 3\n"), "{}", out.text);
    assert!(out.text.ends_with("Output:\nhello"), "{}", out.text);

    let out = bash(&c, json!({"command": "true"})).await;
    assert!(
        out.text.starts_with("Exit code: 0\n") && out.text.ends_with("(no output)"),
        "{}",
        out.text
    );
}

/// How many bytes `pid` wrote to its descriptor `fd` (a pipe) that its reader has not taken
/// yet. Opening `/proc/PID/fd/N` opens the same pipe; FIONREAD counts what waits in it.
fn unread(pid: i32, fd: u32) -> u64 {
    let pipe = std::fs::File::open(format!("/proc/{pid}/fd/{fd}")).expect("the command's pipe");
    rustix::io::ioctl_fionread(&pipe).expect("FIONREAD")
}

async fn exists_eventually(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn read_eventually(pid: i32, fd: u32) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while unread(pid, fd) > 0 {
        assert!(Instant::now() < deadline, "fd {fd} of {pid} was never read");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn stderr_is_merged_in_order() {
    // Each line is written only once the tool has read the one before (its pipe is empty),
    // so the order the tool saw is the order written, however loaded the machine.
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name);
    let wait = |name: &str| format!("until [ -e {name} ]; do sleep 0.01; done");
    let command = format!(
        "echo $$ > pid.tmp; mv pid.tmp pid; echo one; touch one.out; {}; echo two >&2; touch two.out; {}; echo three",
        wait("one.go"),
        wait("two.go"),
    );
    let c = ctx(dir.path());
    let driver = async {
        exists_eventually(&at("one.out")).await;
        let pid = read_pid(&at("pid")).await;
        read_eventually(pid, 1).await;
        std::fs::write(at("one.go"), "").unwrap();
        exists_eventually(&at("two.out")).await;
        read_eventually(pid, 2).await;
        std::fs::write(at("two.go"), "").unwrap();
    };
    let (out, ()) = tokio::join!(bash(&c, json!({ "command": command })), driver);
    assert!(
        out.text.ends_with("Output:\none\ntwo\nthree"),
        "{}",
        out.text
    );
}

#[tokio::test]
async fn killed_by_signal_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = bash(&ctx(dir.path()), json!({"command": "kill -KILL $$"})).await;
    assert!(!out.is_error);
    assert!(
        out.text.starts_with("Killed by signal 9 (SIGKILL)"),
        "{}",
        out.text
    );
}

#[tokio::test]
async fn timeout_kills_the_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let c = ctx(dir.path());
    let out = bash(
        &c,
        // Time enough to write the pid and "started" on a loaded machine before the kill.
        json!({"command": "sleep 1000 & echo $! > pid.tmp; mv pid.tmp pid; echo started; wait", "timeout_ms": 5000}),
    )
    .await;
    assert!(out.is_error);
    assert!(out.text.contains("timed out after 5s"), "{}", out.text);
    assert!(
        out.text.ends_with("Output before the timeout:\nstarted"),
        "{}",
        out.text
    );
    let pid = read_pid(&pid_file).await;
    assert!(
        gone_eventually(pid).await,
        "background sleep {pid} survived the timeout"
    );
}

#[tokio::test]
async fn cancellation_kills_the_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let c = ctx(dir.path());
    let cancel = async {
        while !pid_file.exists() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        c.cancel.cancel();
    };
    let (out, ()) = tokio::join!(
        bash(
            &c,
            json!({"command": "(trap '' TERM; sleep 1000) & echo $! > pid.tmp; mv pid.tmp pid; wait"})
        ),
        cancel
    );
    assert!(out.is_error);
    assert!(
        out.text.starts_with("Command cancelled by the user"),
        "{}",
        out.text
    );
    let pid = read_pid(&pid_file).await;
    assert!(
        gone_eventually(pid).await,
        "background job {pid} survived the cancellation"
    );
}

#[tokio::test]
async fn dropping_the_future_kills_the_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let c = ctx(dir.path());
    tokio::select! {
        out = bash(&c, json!({"command": "sleep 1000 & echo $! > pid.tmp; mv pid.tmp pid; wait"})) => panic!("finished: {}", out.text),
        () = async { while !pid_file.exists() { tokio::time::sleep(Duration::from_millis(20)).await } } => {}
    }
    let pid = read_pid(&pid_file).await;
    assert!(
        gone_eventually(pid).await,
        "background job {pid} survived the dropped future"
    );
}

#[tokio::test]
async fn long_output_keeps_head_and_tail() {
    let dir = tempfile::tempdir().unwrap();
    let out = bash(&ctx(dir.path()), json!({"command": "seq 1 20000"})).await;
    let text = &out.text;
    assert!(!out.is_error);
    assert!(text.contains("Output:\n1\n2\n3\n"), "head lost");
    assert!(text.ends_with("\n19999\n20000"), "tail lost");
    assert!(
        text.contains("characters elided") && text.contains("cap of 30000 characters"),
        "no elision line"
    );
    assert!(text.contains("(108894 characters, 20000 lines)"), "totals");
    assert!(!text.contains("\n10000\n"), "middle should be elided");
    assert!(text.len() < 31_000, "len {}", text.len());
    let line = text.lines().find(|l| l.contains("elided")).unwrap();
    let elided: usize = line
        .trim_start_matches("[... ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let shown = text.split_once("Output:\n").unwrap().1.len() - line.len() - 1;
    assert_eq!(
        elided + shown,
        108_894 - 1,
        "elided count adds up (the final newline is trimmed)"
    );
}

#[test]
fn capture_elides_multibyte_text_cleanly() {
    let mut cap = Capture::new(100);
    for _ in 0..1000 {
        cap.push("é€😀\n".as_bytes());
    }
    let text = cap.finish();
    assert!(text.contains("characters elided"), "{text}");
    assert!(!text.contains('\u{FFFD}'), "split a character: {text}");
    assert!(
        text.starts_with("é€😀\n") && text.ends_with("é€😀"),
        "{text}"
    );

    let mut small = Capture::new(100);
    small.push(b"a\nb\n");
    assert_eq!(small.finish(), "a\nb");
}

#[tokio::test]
async fn workdir_is_used_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let c = ctx(dir.path());
    let out = bash(&c, json!({"command": "pwd", "workdir": "sub"})).await;
    assert!(out.text.ends_with("/sub"), "{}", out.text);
    let out = bash(&c, json!({"command": "pwd", "workdir": "nope"})).await;
    assert!(
        out.is_error && out.text.contains("does not exist"),
        "{}",
        out.text
    );
}

#[tokio::test]
async fn bad_arguments_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let c = ctx(dir.path());
    assert!(
        bash(&c, json!({}))
            .await
            .text
            .contains("missing required argument 'command'")
    );
    assert!(bash(&c, json!({"command": "  "})).await.is_error);
    let out = bash(&c, json!({"command": "true", "timeout_ms": -5})).await;
    assert!(
        out.is_error && out.text.contains("timeout_ms"),
        "{}",
        out.text
    );
}
