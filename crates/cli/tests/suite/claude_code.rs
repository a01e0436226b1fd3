//! `sx --provider claude_code` end to end, with `CLAUDE_CODE_BIN` pointing at the test kit's
//! `fake-claude`, which checks its arguments as the real CLI does, records its argv and stdin,
//! and replays the CLI's recorded `stream-json` output (tests/fixtures/claude_code/README.md).
//! The real CLI against the Anthropic mock: `claude_code_real.rs`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use sx_testkit::auth::AuthJson;
use sx_testkit::{CODEX_RESPONSES_PATH, MockResponse, fixture, fixtures_dir};

use super::agent::{assert_group_ends, live_processes_of_group, sessions};
use super::common::{Cmd, Env, assert_no_panic, error_line, json_lines, read_json, stderr_of};

/// The CLI session of the recorded text turn (tests/fixtures/claude_code/text.jsonl).
const CLI_SESSION: &str = "64c74e3f-2630-4888-9ab2-93193434711d";

/// The test kit's `fake-claude` (built by `cargo test --workspace`; built here otherwise).
pub(super) fn fake_claude() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = std::process::Command::new(env!("CARGO"))
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "sx-testkit",
                    "--bin",
                    "fake-claude",
                ])
                .status()
                .expect("cargo runs");
            assert!(
                status.success(),
                "cargo build -p sx-testkit --bin fake-claude failed"
            );
            let bin = assert_cmd::cargo::cargo_bin("fake-claude");
            assert!(bin.is_file(), "no {}", bin.display());
            bin
        })
        .clone()
}

/// Fixture files for the fake's calls, in order (the last one repeats).
fn scripts(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| {
            fixtures_dir()
                .join("claude_code")
                .join(n)
                .display()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn log_path(env: &Env) -> PathBuf {
    env.home.join("fake-claude.log")
}

fn pids_path(env: &Env) -> PathBuf {
    env.home.join("fake-claude.pids")
}

/// `sx --provider claude_code` driving the fake, which plays `names` one per call.
fn sx(env: &Env, names: &[&str]) -> Cmd {
    let mut c = env.cmd("sx");
    c.args([
        "--provider".to_string(),
        "claude_code".to_string(),
        "-e".to_string(),
        format!("CLAUDE_CODE_BIN={}", fake_claude().display()),
    ])
    .env("FAKE_CLAUDE_SCRIPT", scripts(names))
    .env("FAKE_CLAUDE_LOG", log_path(env))
    .env("FAKE_CLAUDE_PIDS", pids_path(env));
    c
}

/// Every call of the fake so far: `{"argv", "stdin", "cwd"}`.
fn calls(env: &Env) -> Vec<Value> {
    let text = std::fs::read_to_string(log_path(env)).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn argv(call: &Value) -> Vec<String> {
    call["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// The value after `flag` in a call's argv.
fn flag(call: &Value, name: &str) -> Option<String> {
    let a = argv(call);
    a.iter().position(|x| x == name).map(|i| a[i + 1].clone())
}

fn meta(env: &Env) -> Value {
    read_json(&sessions(env).last().unwrap().join("meta.json"))
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_text_answer_streams_and_the_cli_gets_the_documented_flags_and_only_the_prompt() {
    let env = Env::new();
    let out = sx(&env, &["text.jsonl"])
        .args(["-p", "say hi"])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(stdout(&out), "Hello from the mock.\n", "{err}");
    assert!(out.status.success());
    assert!(
        err.contains("sx: Claude Code: this turn cost $0.0003 at API prices (1 model call)"),
        "{err}"
    );
    let calls = calls(&env);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        argv(&calls[0]),
        [
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--include-partial-messages",
            "--input-format",
            "stream-json",
            "--model",
            "claude-sonnet-5",
            "--permission-mode",
            "default",
        ]
    );
    assert_eq!(
        Path::new(calls[0]["cwd"].as_str().unwrap())
            .canonicalize()
            .unwrap(),
        env.proj.canonicalize().unwrap()
    );
    assert_eq!(
        calls[0]["stdin"],
        json!([{"type": "user", "parent_tool_use_id": null,
                "message": {"role": "user", "content": [{"type": "text", "text": "say hi"}]}}]),
        "the prompt only: sx's system prompt is not sent"
    );
    assert_eq!(meta(&env)["provider_session"], CLI_SESSION);
}

#[test]
fn thinking_is_shown_in_stream_json_and_on_stderr_in_text_mode() {
    let env = Env::new();
    let out = sx(&env, &["thinking.jsonl"])
        .args(["-p", "hi", "--output-format", "stream-json"])
        .output()
        .unwrap();
    let events = json_lines(&out.stdout);
    let thinking: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "thinking_delta")
        .collect();
    assert_eq!(thinking.len(), 2, "{events:?}");
    assert_eq!(thinking[0]["text"], "The user");
    assert_eq!(events.last().unwrap()["text"], "Hello from the mock.");
    let out = sx(&env, &["thinking.jsonl"])
        .args(["-p", "hi"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "Hello from the mock.\n");
    assert!(stderr_of(&out).contains("The user wants a greeting."));
}

#[test]
fn the_clis_tool_activity_is_shown_and_not_run_again() {
    let env = Env::new();
    let out = sx(&env, &["tools.jsonl"])
        .args([
            "-p",
            "what do my notes say?",
            "--yolo",
            "--output-format",
            "stream-json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let events = json_lines(&out.stdout);
    let of = |ty: &str| -> Vec<&Value> { events.iter().filter(|e| e["type"] == ty).collect() };
    assert_eq!(
        *of("tool_call")[0],
        json!({"type": "tool_call", "id": "toolu_01MockBash0001", "name": "Bash",
               "input": {"command": "cat notes.txt", "description": "Show notes"}})
    );
    assert_eq!(
        *of("tool_result")[0],
        json!({"type": "tool_result", "id": "toolu_01MockBash0001", "name": "Bash",
               "output": "hello", "is_error": false})
    );
    assert_eq!(of("done")[0]["text"], "The file says hello.");
    assert_eq!(
        flag(&calls(&env)[0], "--permission-mode").as_deref(),
        Some("bypassPermissions")
    );
    // sx ran nothing: the transcript holds the prompt and the answer.
    let conv = read_json(&sessions(&env)[0].join("conversation.json"));
    let msgs = conv["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(
        msgs[1]["content"],
        json!([{"type": "text", "text": "The file says hello."}])
    );

    let out = sx(&env, &["tools.jsonl"])
        .args(["-p", "again", "--yolo"])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(
        err.contains("● Bash command=cat notes.txt description=Show notes"),
        "{err}"
    );
    assert!(err.contains("  ⎿ hello"), "{err}");
    assert_eq!(stdout(&out), "Let me look.The file says hello.\n");
}

#[test]
fn usage_counts_the_whole_turn_with_its_cache_tokens() {
    let env = Env::new();
    let out = sx(&env, &["tools.jsonl"])
        .args(["-p", "notes?", "--output-format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 154, "output_tokens": 39, "cache_read_tokens": 60,
               "cache_write_tokens": 10, "reasoning_tokens": 0})
    );
    assert_eq!(meta(&env)["usage"]["input_tokens"], 154);
}

#[test]
fn a_continued_session_resumes_the_clis_own_session() {
    let env = Env::new();
    let list = ["text.jsonl", "resume.jsonl"];
    let out = sx(&env, &list).args(["-p", "say hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = sx(&env, &list)
        .args(["--continue", "-p", "and again"])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out),
        "Hello from the mock.\n",
        "{}",
        stderr_of(&out)
    );
    let calls = calls(&env);
    assert_eq!(flag(&calls[0], "--resume"), None);
    assert_eq!(flag(&calls[1], "--resume").as_deref(), Some(CLI_SESSION));
    assert_eq!(
        calls[1]["stdin"][0]["message"]["content"],
        json!([{"type": "text", "text": "and again"}]),
        "the CLI has the history: only the new prompt"
    );
    assert_eq!(sessions(&env).len(), 1);
}

#[test]
fn a_session_begun_on_another_provider_reaches_claude_code_as_a_summary() {
    let env = Env::new();
    env.login(AuthJson::new());
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/text.sse")),
    );
    let out = env.sx().args(["-p", "say hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = sx(&env, &["text.jsonl"])
        .args(["--continue", "-p", "and now?"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let call = &calls(&env)[0];
    assert_eq!(flag(call, "--resume"), None);
    let content = call["stdin"][0]["message"]["content"].as_array().unwrap();
    let summary = content[0]["text"].as_str().unwrap();
    assert!(
        summary.starts_with("[Earlier in this conversation"),
        "{summary}"
    );
    assert!(
        summary.contains("User: say hi\n\nAssistant: Hello from the mock."),
        "{summary}"
    );
    assert_eq!(content[1]["text"], "and now?");
    assert_eq!(meta(&env)["provider_session"], CLI_SESSION);
}

#[test]
fn a_conversation_the_cli_forgot_starts_again_from_a_summary() {
    let env = Env::new();
    let list = ["text.jsonl", "resume_missing.jsonl", "text.jsonl"];
    sx(&env, &list).args(["-p", "say hi"]).output().unwrap();
    let out = sx(&env, &list)
        .args(["--continue", "-p", "more"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "Hello from the mock.\n");
    assert!(
        stderr_of(&out).contains(&format!(
            "sx: Claude Code no longer has its conversation {CLI_SESSION}; starting a new one"
        )),
        "{}",
        stderr_of(&out)
    );
    let calls = calls(&env);
    assert_eq!(calls.len(), 3);
    assert_eq!(flag(&calls[2], "--resume"), None);
    let summary = calls[2]["stdin"][0]["message"]["content"][0]["text"]
        .as_str()
        .unwrap();
    assert!(summary.contains("User: say hi"), "{summary}");
}

#[test]
fn a_prompt_too_long_for_the_cli_compacts_into_a_new_cli_session() {
    let env = Env::new();
    let list = ["text.jsonl", "prompt_too_long.jsonl", "text.jsonl"];
    sx(&env, &list).args(["-p", "say hi"]).output().unwrap();
    let out = sx(&env, &list)
        .args(["--continue", "-p", "more"])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out),
        "Hello from the mock.\n",
        "{}",
        stderr_of(&out)
    );
    assert!(stderr_of(&out).contains("context compacted"));
    let calls = calls(&env);
    assert_eq!(flag(&calls[1], "--resume").as_deref(), Some(CLI_SESSION));
    assert_eq!(flag(&calls[2], "--resume"), None, "a new CLI session");
    let note = calls[2]["stdin"][0]["message"]["content"][0]["text"]
        .as_str()
        .unwrap();
    assert!(note.starts_with("[Context compacted]"), "{note}");
    assert_eq!(meta(&env)["provider_session"], CLI_SESSION);
}

#[test]
fn sxs_approval_mode_is_the_clis_permission_mode() {
    for (args, mode) in [
        (vec![], "default"),
        (vec!["-e", "APPROVAL=ask"], "default"),
        (vec!["--yolo"], "bypassPermissions"),
        (vec!["-e", "APPROVAL=auto"], "bypassPermissions"),
        (vec!["-e", "APPROVAL=read-only"], "plan"),
    ] {
        let env = Env::new();
        let out = sx(&env, &["text.jsonl"])
            .args(&args)
            .args(["-p", "hi"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
        assert_eq!(
            flag(&calls(&env)[0], "--permission-mode").as_deref(),
            Some(mode),
            "{args:?}"
        );
    }
}

#[test]
fn refused_calls_say_how_to_allow_them() {
    let env = Env::new();
    let out = sx(&env, &["denied.jsonl"])
        .args(["-p", "delete my notes"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = stderr_of(&out);
    assert!(
        err.contains("sx: Claude Code refused 1 tool call that needed permission (Bash): sx cannot answer its permission prompts; allow them with --yolo or APPROVAL=auto"),
        "{err}"
    );
    assert!(
        err.contains("  ✗ rm in '/tmp/ccwd/notes.txt' was blocked."),
        "{err}"
    );
}

#[test]
fn tools_off_is_no_tools_for_the_cli_either() {
    let env = Env::new();
    sx(&env, &["text.jsonl"])
        .args(["-e", "TOOLS=0", "-p", "hi"])
        .output()
        .unwrap();
    assert_eq!(flag(&calls(&env)[0], "--tools").as_deref(), Some(""));
}

#[test]
fn user_functions_are_not_offered_and_it_says_so() {
    let env = Env::new();
    let fns = env.home.join("fns.json");
    std::fs::write(
        &fns,
        json!([{"name": "deploy", "description": "d", "parameters": {"type": "object"}, "command": "true"}])
            .to_string(),
    )
    .unwrap();
    let out = sx(&env, &["text.jsonl"])
        .args(["-p", "hi", "--functions"])
        .arg(&fns)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        stderr_of(&out).contains(
            "warning: user functions are not offered through claude_code (it runs its own tools); 1 function is ignored"
        ),
        "{}",
        stderr_of(&out)
    );
    assert!(!calls(&env)[0].to_string().contains("deploy"));
}

#[test]
fn an_image_reaches_the_cli_as_a_base64_block() {
    let env = Env::new();
    let png = env.proj.join("shot.png");
    image::RgbImage::from_pixel(8, 4, image::Rgb([255, 0, 0]))
        .save(&png)
        .unwrap();
    let out = sx(&env, &["text.jsonl"])
        .args(["-p", "what is this?", "-i", "shot.png"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let content = calls(&env)[0]["stdin"][0]["message"]["content"].clone();
    assert_eq!(content[0], json!({"type": "text", "text": "what is this?"}));
    assert_eq!(
        content[1],
        json!({"type": "text", "text": "[Image: shot.png]"})
    );
    assert_eq!(content[2]["type"], "image");
    assert_eq!(content[2]["source"]["type"], "base64");
    assert_eq!(content[2]["source"]["media_type"], "image/png");
    let data = content[2]["source"]["data"].as_str().unwrap();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap();
    assert_eq!(image::load_from_memory(&bytes).unwrap().width(), 8);
}

#[test]
fn a_missing_binary_is_one_line_naming_the_key_and_the_install() {
    let env = Env::new();
    let out = env
        .cmd("sx")
        .args([
            "--provider",
            "claude_code",
            "-e",
            "CLAUDE_CODE_BIN=/nonexistent/claude",
            "-p",
            "hi",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        error_line(&out),
        "error: Claude Code's CLI was not found: CLAUDE_CODE_BIN=/nonexistent/claude does not exist; install Claude Code (npm install -g @anthropic-ai/claude-code) and sign in by running `claude` once, or set CLAUDE_CODE_BIN to the claude binary's path"
    );
    assert!(sessions(&env).is_empty(), "nothing written");
    // The default, looked up on a PATH without it.
    let out = env
        .cmd("sx")
        .env("PATH", env.home.display().to_string())
        .args(["--provider", "claude_code", "-p", "hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(error_line(&out).contains("CLAUDE_CODE_BIN=claude is not on PATH"));
}

/// `sx -p hi ARGS` with the fake playing `name`: it fails with `code`; its one error line and
/// its stdout.
fn failure(name: &str, args: &[&str], code: i32) -> (String, String) {
    let env = Env::new();
    let out = sx(&env, &[name])
        .args(["-p", "hi"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(code), "{name}: {}", stderr_of(&out));
    (error_line(&out), stdout(&out))
}

#[test]
fn a_signed_out_cli_is_exit_3_saying_to_sign_in() {
    for name in ["not_logged_in.jsonl", "invalid_api_key.jsonl"] {
        let (line, out) = failure(name, &[], 3);
        assert_eq!(out, "", "{name}: its words are not the answer");
        assert!(
            line.starts_with("error: Claude Code is not signed in ("),
            "{line}"
        );
        assert!(line.ends_with("run `claude` and sign in with /login (or fix the API key in its environment), then try again"), "{line}");
    }
}

#[test]
fn a_cli_that_exits_early_is_one_line_with_its_stderr() {
    let (line, _) = failure("root_bypass.jsonl", &["--yolo"], 1);
    assert!(
        line.starts_with(&format!(
            "error: Claude Code ({}) exited with status 1 before it finished the turn: --dangerously-skip-permissions cannot be used with root/sudo privileges",
            fake_claude().display()
        )),
        "{line}"
    );
    let (line, out) = failure("early_exit.jsonl", &[], 1);
    assert_eq!(out, "Hello \n", "what streamed before the crash");
    assert!(
        line.contains("TypeError: undefined is not an object"),
        "{line}"
    );
    assert!(
        line.ends_with("-p hi` in this directory to see what is wrong"),
        "{line}"
    );
}

#[test]
fn a_line_that_is_not_json_is_one_line_and_no_panic() {
    let (line, _) = failure("malformed.jsonl", &[], 1);
    assert!(line.starts_with("error: malformed response from the server (a line of Claude Code's stream-json output is not a JSON object"), "{line}");
    assert!(
        line.contains("Debug: plugin sync skipped (offline)"),
        "{line}"
    );
}

#[test]
fn api_failures_behind_the_cli_keep_their_meaning() {
    let (line, _) = failure("overloaded.jsonl", &[], 1);
    assert!(
        line.starts_with(
            "error: the model is at capacity (HTTP 529: Claude Code: API Error: 529 Overloaded."
        ),
        "{line}"
    );
    let (line, _) = failure("rate_limited.jsonl", &[], 1);
    assert!(
        line.starts_with(
            "error: rate limited by the server (Claude Code: API Error: Request rejected (429)"
        ),
        "{line}"
    );
}

#[test]
fn ctrl_c_kills_the_cli_and_what_it_started() {
    let env = Env::new();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("sx"));
    child
        .env_clear()
        .env("HOME", &env.home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("FAKE_CLAUDE_SCRIPT", scripts(&["hang.jsonl"]))
        .env("FAKE_CLAUDE_LOG", log_path(&env))
        .env("FAKE_CLAUDE_PIDS", pids_path(&env))
        .current_dir(&env.proj)
        .arg("--provider")
        .arg("claude_code")
        .arg("-e")
        .arg(format!("CLAUDE_CODE_BIN={}", fake_claude().display()))
        .args(["-p", "hi", "--output-format", "stream-json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = child.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let line = lines
            .next()
            .expect("sx ended before the answer streamed")
            .unwrap();
        if line.contains("\"text_delta\"") {
            break;
        }
    }
    // The fake wrote its pid and its child's before it printed the delta.
    let deadline = Instant::now() + Duration::from_secs(60);
    let pids: Vec<i32> = loop {
        let text = std::fs::read_to_string(pids_path(&env)).unwrap_or_default();
        let pids: Vec<i32> = text.lines().map(|l| l.parse().unwrap()).collect();
        if pids.len() == 2 {
            break pids;
        }
        assert!(
            Instant::now() < deadline,
            "the fake never started its child"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    // The fake leads its process group (the provider starts it in one of its own).
    let pgid = pids[0];
    assert_eq!(
        live_processes_of_group(pgid).len(),
        2,
        "the CLI and its child run"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_no_panic(&stderr);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert_group_ends(pgid, "the CLI");
}

#[test]
fn sx_never_reads_the_claude_login() {
    // A signed-in HOME: the token in it never reaches what sx prints or writes.
    let env = Env::new();
    let dir = env.home.join(".claude");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(".credentials.json"),
        r#"{"claudeAiOauth":{"accessToken":"sk-ant-oat01-secret"}}"#,
    )
    .unwrap();
    let out = sx(&env, &["text.jsonl"])
        .args(["-p", "hi", "--output-format", "stream-json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let all = format!("{}{}", stdout(&out), stderr_of(&out));
    assert!(!all.contains("sk-ant-oat01"));
    for f in walk(&env.proj.join(".scorpiox")) {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        assert!(!text.contains("sk-ant-oat01"), "{}", f.display());
    }
    // And no code names where Claude Code keeps it (docs/protocols/providers.md §2.1).
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for f in walk(&crates) {
        if f.extension().is_some_and(|e| e == "rs")
            && f.components().any(|c| c.as_os_str() == "src")
        {
            let text = std::fs::read_to_string(&f).unwrap();
            // The embedded default (docs/providers.md) looks only at whether the file exists:
            // every line of its naming the file must be an existence check, nothing else.
            let text = if f.ends_with("providers/scorpiox.rs") {
                text.lines()
                    .filter(|l| {
                        !(l.contains(".credentials.json\").exists()")
                            || l.trim_start().starts_with("//"))
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            } else {
                text
            };
            for needle in [
                "credentials.json",
                "claudeAiOauth",
                "Claude Code-credentials",
            ] {
                assert!(!text.contains(needle), "{} names {needle}", f.display());
            }
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn the_default_provider_uses_a_signed_in_claude_code_when_nothing_else_is_there() {
    // docs/providers.md, the embedded default, step 4: no Codex login and no keys, but
    // `claude` is installed and signed in — sx answers through it and says so.
    let env = Env::new();
    let dir = env.home.join(".claude");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".credentials.json"), "{}").unwrap();
    let out = env
        .cmd("sx")
        .args(["-p", "hi", "-e"])
        .arg(format!("CLAUDE_CODE_BIN={}", fake_claude().display()))
        .env("FAKE_CLAUDE_SCRIPT", scripts(&["text.jsonl"]))
        .env("FAKE_CLAUDE_LOG", log_path(&env))
        .env("FAKE_CLAUDE_PIDS", pids_path(&env))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("using claude_code (a signed-in Claude Code CLI)"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(calls(&env).len(), 1, "the CLI answered");
    assert!(!stdout(&out).is_empty());
}
