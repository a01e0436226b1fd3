//! Function commands as `docs/agent.md` describes them (§ Approval, § Function calling): a
//! project's commands need approval like any command while `--functions FILE` is the user's
//! own, a failing command returns its stdout and stderr as an error, and Ctrl-C kills the
//! command with every process it started. (The 120 s timeout is tested beside the code, in
//! `crates/agent/src/functions_tests.rs`.)

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde_json::json;
use sx_testkit::CODEX_RESPONSES_PATH;
use sx_testkit::auth::AuthJson;

use super::agent::{answer, call, output_of, sessions};
use super::common::{Env, json_lines, read_json, stderr_of};

const PATH: &str = CODEX_RESPONSES_PATH;

/// One function with a command, as a functions file.
fn function_file(path: &Path, name: &str, command: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let f = json!([{
        "name": name,
        "description": "a test function",
        "parameters": {"type": "object", "properties": {}},
        "command": command,
    }]);
    std::fs::write(path, f.to_string()).unwrap();
}

#[test]
fn a_projects_function_commands_need_approval_but_the_users_do_not() {
    let run = |approval: &[&str]| {
        let env = Env::new();
        env.login(AuthJson::new());
        // The repository's function and the user's own, with the same kind of command.
        function_file(
            &env.proj.join(".scorpiox/functions/repo.json"),
            "repo_deploy",
            "touch ran-$SX_FUNCTION; echo deployed",
        );
        let own = env.home.join("fns.json");
        function_file(&own, "my_deploy", "touch ran-$SX_FUNCTION; echo deployed");
        call(&env, "c1", "repo_deploy", json!({}));
        call(&env, "c2", "my_deploy", json!({}));
        answer(&env, "done");
        let out = env
            .sx()
            .args(["-p", "deploy", "--functions"])
            .arg(&own)
            .args(approval)
            .output()
            .unwrap();
        assert!(out.status.success(), "{approval:?}: {}", stderr_of(&out));
        let reqs = env.server.requests_to(PATH);
        assert_eq!(reqs.len(), 3, "{approval:?}");
        let (repo, mine) = (output_of(&reqs[1], "c1"), output_of(&reqs[2], "c2"));
        let repo_ran = env.proj.join("ran-repo_deploy").exists();
        assert_eq!(
            repo_ran,
            repo.trim() == "deployed",
            "{approval:?}: the result says what happened: {repo}"
        );
        assert_eq!(mine.trim(), "deployed", "{approval:?}: the user's own runs");
        assert!(env.proj.join("ran-my_deploy").exists(), "{approval:?}");
        (repo_ran, repo)
    };

    // One-shot without --yolo: nobody can approve, so the repository's command is refused.
    let (ran, why) = run(&[]);
    assert!(!ran, "{why}");
    assert!(
        why.contains("'repo_deploy' was not run") && why.contains("--yolo"),
        "{why}"
    );
    // APPROVAL=read-only refuses it too.
    let (ran, why) = run(&["-e", "APPROVAL=read-only"]);
    assert!(!ran && why.contains("read-only"), "{why}");
    // --yolo (or APPROVAL=auto) runs it.
    assert!(run(&["--yolo"]).0);
    assert!(run(&["-e", "APPROVAL=auto"]).0);
}

#[test]
fn a_failing_function_returns_its_stdout_and_stderr_as_an_error() {
    let env = Env::new();
    env.login(AuthJson::new());
    let fns = env.home.join("fns.json");
    function_file(
        &fns,
        "flaky",
        "echo 'partial output'; echo 'it broke' >&2; exit 3",
    );
    call(&env, "f1", "flaky", json!({}));
    answer(&env, "reported");
    let out = env
        .sx()
        .args(["-p", "try it", "--functions"])
        .arg(&fns)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let reqs = env.server.requests_to(PATH);
    assert_eq!(reqs.len(), 2);
    let result = output_of(&reqs[1], "f1");
    assert!(
        result.contains("function 'flaky' failed (exit status: 3)"),
        "{result}"
    );
    assert!(
        result.contains("stdout:\npartial output\n") && result.contains("stderr:\nit broke"),
        "{result}"
    );

    // The transcript marks it as an error result.
    let conv = read_json(&sessions(&env)[0].join("conversation.json"));
    let block = conv["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["content"].as_array().unwrap().iter())
        .find(|b| b["type"] == "tool_result" && b["call_id"] == "f1")
        .cloned()
        .expect("a tool_result for f1");
    assert_eq!(block["is_error"], true, "{block}");
}

/// Whether `pid` still runs (a zombie waiting to be reaped counts as gone). Only for pids
/// seen running before: an absent `/proc/PID` then means the process is gone.
fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            stat.rsplit(')')
                .next()
                .and_then(|s| s.split_whitespace().next())
                != Some("Z")
        }
    }
}

/// Wait (generously) for a file the command writes once it is ready.
fn wait_for_file(path: &Path) -> i32 {
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
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ctrl_c_kills_a_function_command_and_everything_it_started() {
    let env = Env::new();
    env.login(AuthJson::new());
    let fns = env.home.join("fns.json");
    // The shell and a child of its own; the files appear once both run.
    function_file(
        &fns,
        "long_job",
        "echo $$ > sh.pid.tmp && mv sh.pid.tmp sh.pid; \
         sleep 300 & echo $! > kid.pid.tmp && mv kid.pid.tmp kid.pid; wait",
    );
    call(&env, "j1", "long_job", json!({}));
    let mut child = env
        .sx_std()
        .args([
            "-p",
            "run the job",
            "--output-format",
            "stream-json",
            "--functions",
        ])
        .arg(&fns)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sh = wait_for_file(&env.proj.join("sh.pid"));
    let kid = wait_for_file(&env.proj.join("kid.pid"));
    assert!(running(sh) && running(kid), "both run before Ctrl-C");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let events = json_lines(lines.join("\n").as_bytes());
    assert_eq!(events.last().unwrap()["stop_reason"], "cancelled");
    // Nothing the command started is left (sleep 300 would outlive this test).
    assert!(gone(sh), "the function's shell was killed");
    assert!(gone(kid), "the process it started was killed");
}

/// Wait (generously) until `pid` no longer runs.
fn gone(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while running(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}
