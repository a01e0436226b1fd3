//! `sx --provider claude_code` driving the real Claude Code CLI, pointed at the test kit's
//! Anthropic mock (`ANTHROPIC_BASE_URL`, `ANTHROPIC_API_KEY=dummy`, a temporary HOME,
//! `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`): nothing leaves the machine.
//!
//! The CLI is found through `SX_TEST_CLAUDE_BIN` (`.ci/run` installs it with npm where it can:
//! `npm install @anthropic-ai/claude-code`, then `node_modules/.bin/claude`). Without it each
//! test passes, printing why it was skipped.

use std::path::PathBuf;

use pretty_assertions::assert_eq;
use serde_json::Value;
use sx_testkit::anthropic::{self as a, MESSAGES_PATH};
use sx_testkit::{MockResponse, sse};

use super::agent::sessions;
use super::common::{Cmd, Env, error_line, json_lines, read_json, stderr_of};

fn real_claude() -> Option<PathBuf> {
    match std::env::var_os("SX_TEST_CLAUDE_BIN") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            eprintln!(
                "skipped: SX_TEST_CLAUDE_BIN is not set; to run this test, `npm install @anthropic-ai/claude-code` in a temporary folder and set SX_TEST_CLAUDE_BIN to its node_modules/.bin/claude"
            );
            None
        }
    }
}

/// `sx` driving `claude` against the mock (signed in with a dummy key unless `signed_in` is
/// false).
fn sx(env: &Env, claude: &std::path::Path, signed_in: bool) -> Cmd {
    let mut c = env.cmd("sx");
    c.args([
        "--provider".to_string(),
        "claude_code".to_string(),
        "-e".to_string(),
        format!("CLAUDE_CODE_BIN={}", claude.display()),
    ])
    .env("ANTHROPIC_BASE_URL", env.server.url())
    .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
    if signed_in {
        c.env("ANTHROPIC_API_KEY", "dummy");
    }
    c
}

fn reply(env: &Env, events: &[Value]) {
    env.server.enqueue(
        "POST",
        MESSAGES_PATH,
        MockResponse::sse(sse::encode(events)),
    );
}

/// The text blocks of the request's last user message.
fn last_user_texts(body: &Value) -> Vec<String> {
    let msgs = body["messages"].as_array().unwrap();
    let last = msgs.iter().rev().find(|m| m["role"] == "user").unwrap();
    match &last["content"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

#[test]
fn the_real_cli_answers_through_sx_and_resumes_its_session() {
    let Some(claude) = real_claude() else { return };
    let env = Env::new();
    reply(&env, &a::text_turn("Hello from the mock."));
    let out = sx(&env, &claude, true)
        .args(["-p", "say hi"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello from the mock.\n",
        "{}",
        stderr_of(&out)
    );
    let reqs = env.server.requests_to(MESSAGES_PATH);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].header("x-api-key"), Some("dummy"));
    let body = reqs[0].json();
    assert_eq!(
        body["model"], "claude-sonnet-5",
        "MODEL=sonnet on claude_code"
    );
    assert!(last_user_texts(&body).contains(&"say hi".to_string()));
    let meta = read_json(&sessions(&env)[0].join("meta.json"));
    let cli_session = meta["provider_session"].as_str().unwrap().to_string();
    assert_eq!(cli_session.len(), 36, "a UUID: {cli_session}");

    reply(&env, &a::text_turn("Second answer."));
    let out = sx(&env, &claude, true)
        .args(["--continue", "-p", "and again"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Second answer.\n",
        "{}",
        stderr_of(&out)
    );
    let reqs = env.server.requests_to(MESSAGES_PATH);
    assert_eq!(reqs.len(), 2);
    let body = reqs[1].json();
    // The CLI's own session carried the first turn.
    let first_answer = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["role"] == "assistant" && m.to_string().contains("Hello from the mock."));
    assert!(first_answer, "{body}");
    assert!(last_user_texts(&body).contains(&"and again".to_string()));
    let meta = read_json(&sessions(&env)[0].join("meta.json"));
    assert_eq!(meta["provider_session"], cli_session.as_str());
}

#[test]
fn the_real_clis_tool_use_is_shown_as_activity() {
    let Some(claude) = real_claude() else { return };
    let env = Env::new();
    std::fs::write(env.proj.join("notes.txt"), "hello\n").unwrap();
    reply(
        &env,
        &a::tool_turn("toolu_01Real", "Bash", r#"{"command":"cat notes.txt"}"#),
    );
    reply(&env, &a::text_turn("The notes say hello."));
    // As root, Claude Code skips permission prompts only in a sandbox it is told about.
    let out = sx(&env, &claude, true)
        .env("IS_SANDBOX", "1")
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
    let call = events.iter().find(|e| e["type"] == "tool_call").unwrap();
    assert_eq!(call["name"], "Bash");
    assert_eq!(call["input"]["command"], "cat notes.txt");
    let result = events.iter().find(|e| e["type"] == "tool_result").unwrap();
    assert_eq!(result["id"], "toolu_01Real");
    assert_eq!(result["output"].as_str().unwrap().trim(), "hello");
    assert_eq!(events.last().unwrap()["text"], "The notes say hello.");
    let reqs = env.server.requests_to(MESSAGES_PATH);
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1].json().to_string().contains("tool_result"));
}

#[test]
fn the_real_cli_signed_out_is_exit_3() {
    let Some(claude) = real_claude() else { return };
    let env = Env::new();
    let out = sx(&env, &claude, false)
        .args(["-p", "hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let line = error_line(&out);
    assert!(
        line.starts_with("error: Claude Code is not signed in ("),
        "{line}"
    );
    assert!(env.server.requests_to(MESSAGES_PATH).is_empty());
}

#[test]
fn the_real_cli_refusing_yolo_as_root_is_one_line() {
    let Some(claude) = real_claude() else { return };
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective user.
    if std::fs::metadata("/proc/self").unwrap().uid() != 0 {
        eprintln!("skipped: Claude Code refuses --yolo only as root");
        return;
    }
    let env = Env::new();
    let out = sx(&env, &claude, true)
        .args(["-p", "hi", "--yolo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = error_line(&out);
    assert!(
        line.contains("cannot be used with root/sudo privileges")
            && line.ends_with("use APPROVAL=ask instead of --yolo/APPROVAL=auto"),
        "{line}"
    );
}
