//! What a run must not leave behind or let through (docs/reliability.md, hole 6): a killed
//! writer's temporary copy of the tokens, a symlinked `auth.json` replaced by a regular file
//! while the link's target keeps a used-up refresh token, and terminal control bytes (ESC,
//! OSC 52) from a model's text or an error body reaching the terminal raw.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use serde_json::json;
use sx_testkit::auth::{AuthJson, oauth_refresh_ok};
use sx_testkit::{CODEX_RESPONSES_PATH, MockResponse, OAUTH_TOKEN_PATH, responses, sse};

use super::common::{Env, assert_no_panic, error_line, json_lines, read_json, stderr_of};

/// The pid of a process that has ended.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    child.wait().unwrap();
    child.id()
}

fn answer(env: &Env, text: &str) {
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&responses::text_turn(text))),
    );
}

#[test]
fn temp_files_a_killed_writer_left_are_removed_by_the_next_run() {
    let env = Env::new();
    let auth = env.login(AuthJson::new());
    let dir = env.auth_path().parent().unwrap().to_path_buf();
    let dead = dead_pid();
    let stale = [
        dir.join(format!(".auth.json.sx-{dead}-0.tmp")),
        // The name earlier versions used.
        dir.join(format!(".auth.json.tmp.{dead}")),
    ];
    for p in &stale {
        std::fs::write(p, auth.to_json().to_string()).unwrap();
    }
    answer(&env, "ok");
    // A fresh token: the run only reads auth.json, and that is enough.
    let out = env.sx().args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    for p in &stale {
        assert!(!p.exists(), "{} is still there", p.display());
    }
    assert!(env.auth_path().exists());
}

#[test]
fn a_symlinked_auth_json_is_written_through_to_its_target() {
    let env = Env::new();
    let target = env.home.join("dotfiles/codex-auth.json");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    AuthJson::new()
        .expires_in(-60)
        .refresh_token("rt-old-0000")
        .write(&target);
    std::fs::create_dir_all(env.auth_path().parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&target, env.auth_path()).unwrap();
    env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(200, oauth_refresh_ok(3600, "fresh", Some("rt-new-1111"))),
    );
    answer(&env, "ok");
    let out = env.sx().args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let meta = std::fs::symlink_metadata(env.auth_path()).unwrap();
    assert!(meta.file_type().is_symlink(), "the link was replaced");
    assert_eq!(
        read_json(&target)["tokens"]["refresh_token"],
        "rt-new-1111",
        "the target holds the new refresh token"
    );
    assert_eq!(
        std::fs::metadata(&target).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let names: Vec<String> = std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["codex-auth.json"], "no temp file left beside it");
}

/// A model answer and an error body carrying escape sequences: colours, a screen clear, and
/// OSC 52 (which asks the terminal to put text on the clipboard).
const HOSTILE: &str = "safe \u{1b}[31mred\u{1b}[0m \u{1b}]52;c;ZXZpbA==\u{7} \u{1b}[2J end";

/// `sx` with stdout and stderr on one pseudo-terminal; everything the terminal received.
fn on_a_terminal(env: &Env, args: &[&str]) -> (Option<i32>, Vec<u8>) {
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave = std::fs::File::from(pty.slave);
    let mut cmd = std::process::Command::new(super::common::bin_path("sx"));
    cmd.env_clear()
        .env("HOME", &env.home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERM", "xterm")
        .current_dir(&env.proj)
        .args(env.sx_args())
        .args(args)
        .stdin(Stdio::null())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave.try_clone().unwrap());
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    drop(slave);
    let mut master = std::fs::File::from(pty.master);
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        // Ends with EIO once the child (the last holder of the terminal) exits.
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        all
    });
    let status = child.wait().unwrap();
    let all = reader.join().unwrap();
    assert_no_panic(&String::from_utf8_lossy(&all));
    (status.code(), all)
}

fn assert_no_controls(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        !bytes.contains(&0x1b) && !bytes.contains(&0x07),
        "{what}: control bytes reached the terminal: {text:?}"
    );
}

#[test]
fn control_bytes_from_the_model_and_error_bodies_are_stripped_on_a_terminal() {
    let env = Env::new();
    env.login(AuthJson::new());
    // The answer, on stdout.
    answer(&env, HOSTILE);
    let (code, screen) = on_a_terminal(&env, &["-p", "hi"]);
    assert_eq!(code, Some(0), "{}", String::from_utf8_lossy(&screen));
    assert_no_controls("the answer", &screen);
    let text = String::from_utf8_lossy(&screen);
    assert!(
        text.contains("safe [31mred[0m ]52;c;ZXZpbA== [2J end"),
        "{text:?}"
    );
    // An error body, in the one error line on stderr.
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::json(400, json!({"error": {"message": HOSTILE}})),
    );
    let (code, screen) = on_a_terminal(&env, &["-p", "hi"]);
    assert_eq!(code, Some(1));
    assert_no_controls("the error line", &screen);
    let text = String::from_utf8_lossy(&screen);
    assert!(
        text.contains(
            "error: the request was rejected (HTTP 400: safe [31mred[0m ]52;c;ZXZpbA== [2J end)"
        ),
        "{text:?}"
    );
}

#[test]
fn into_a_pipe_the_text_stays_exact() {
    let env = Env::new();
    env.login(AuthJson::new());
    answer(&env, HOSTILE);
    answer(&env, HOSTILE);
    let out = env.sx().args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), HOSTILE);
    let out = env
        .sx()
        .args(["-p", "hi", "--output-format", "stream-json"])
        .output()
        .unwrap();
    let text: String = json_lines(&out.stdout)
        .iter()
        .filter(|e| e["type"] == "text_delta")
        .map(|e| e["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(text, HOSTILE, "stream-json is byte-exact");
    // An error body into a pipe keeps its bytes too (a log file reader may want them).
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::json(400, json!({"error": {"message": HOSTILE}})),
    );
    let out = env.sx().args(["-p", "hi"]).output().unwrap();
    assert!(error_line(&out).contains(HOSTILE));
}
