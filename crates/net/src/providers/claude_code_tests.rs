//! The provider around a real child process: small `sh` scripts stand in for `claude` (the
//! binary's own tests use the test kit's `fake-claude`, crates/cli/tests/suite/claude_code.rs).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde_json::Value;

use super::*;
use crate::model::{Block, Message, Role, ToolSpec};

struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    /// A `claude` that runs `body` (sh) in a fresh directory, which is also its cwd.
    fn new(body: &str) -> Fake {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("claude");
        std::fs::write(&bin, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        Fake { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn provider(&self, mode: PermissionMode, limits: Limits) -> ClaudeCodeProvider {
        ClaudeCodeProvider::new(
            self.path("claude"),
            self.dir.path().to_path_buf(),
            mode,
            limits,
        )
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }
}

/// Replays a fixture's JSON lines (its `#` directives are for the test kit's fake).
fn replay(name: &str) -> String {
    let path = sx_testkit::fixtures_dir().join("claude_code").join(name);
    format!("grep -v '^#' '{}'", path.display())
}

fn tools() -> Vec<ToolSpec> {
    vec![ToolSpec {
        name: "bash".into(),
        description: String::new(),
        parameters: serde_json::json!({}),
    }]
}

fn request<'a>(
    messages: &'a [Message],
    tools: &'a [ToolSpec],
    resume: Option<&'a str>,
) -> Request<'a> {
    Request {
        model: "claude-sonnet-5",
        system: "sx's system prompt",
        messages,
        tools,
        effort: None,
        thinking: true,
        session_id: "sx-session",
        turn_id: "turn",
        max_output_tokens: None,
        provider_session: resume,
    }
}

async fn run(
    p: &ClaudeCodeProvider,
    req: &Request<'_>,
) -> (Vec<String>, Result<Completion, ProviderError>) {
    let mut seen = Vec::new();
    let r = p
        .stream(req, &mut |ev| {
            seen.push(match ev {
                StreamEvent::TextDelta(t) => format!("text {t}"),
                StreamEvent::Notice(n) => format!("notice {n}"),
                _ => "other".into(),
            })
        })
        .await;
    (seen, r)
}

#[tokio::test]
async fn one_turn_is_one_process_with_the_message_on_stdin() {
    let f = Fake::new(&format!(
        "printf '%s\\n' \"$@\" > argv; pwd > cwd; cat > stdin; {}",
        replay("text.jsonl")
    ));
    let p = f.provider(PermissionMode::Default, Limits::default());
    let msgs = [Message::user_text("say hi")];
    let tools = tools();
    let (seen, r) = run(&p, &request(&msgs, &tools, None)).await;
    let c = r.unwrap();
    assert_eq!(c.message.text(), "Hello from the mock.");
    assert_eq!(&seen[..2], ["text Hello ", "text from the mock."]);
    // The flags themselves: args.rs; here, that they reach the process.
    assert_eq!(
        f.read("argv").lines().collect::<Vec<_>>(),
        args::turn_args(&request(&msgs, &tools, None), PermissionMode::Default, None)
    );
    assert_eq!(
        Path::new(f.read("cwd").trim()).canonicalize().unwrap(),
        f.dir.path().canonicalize().unwrap()
    );
    let stdin = f.read("stdin");
    assert_eq!(stdin.lines().count(), 1);
    let v: Value = serde_json::from_str(&stdin).unwrap();
    assert_eq!(v["message"]["content"][0]["text"], "say hi");
    assert!(!stdin.contains("sx's system prompt"));
}

#[tokio::test]
async fn a_later_turn_resumes_the_cli_session_and_sends_only_the_new_message() {
    let f = Fake::new(&format!(
        "printf '%s\\n' \"$@\" > argv; cat > stdin; {}",
        replay("resume.jsonl")
    ));
    let p = f.provider(PermissionMode::BypassPermissions, Limits::default());
    let msgs = [
        Message::user_text("say hi"),
        Message {
            role: Role::Assistant,
            content: vec![Block::text("Hello from the mock.")],
            usage: None,
        },
        Message::user_text("and again"),
    ];
    let tools = tools();
    let (_, r) = run(&p, &request(&msgs, &tools, Some("64c74e3f"))).await;
    assert_eq!(
        r.unwrap().provider_session.as_deref(),
        Some("64c74e3f-2630-4888-9ab2-93193434711d")
    );
    let argv = f.read("argv");
    assert!(
        argv.ends_with("--permission-mode\nbypassPermissions\n--resume\n64c74e3f\n"),
        "{argv}"
    );
    let v: Value = serde_json::from_str(&f.read("stdin")).unwrap();
    assert_eq!(
        v["message"]["content"],
        serde_json::json!([{"type": "text", "text": "and again"}])
    );
}

#[tokio::test]
async fn a_forgotten_cli_session_is_started_again_with_a_summary() {
    // With --resume: the recorded "No conversation found"; without: a text turn.
    let f = Fake::new(&format!(
        "cat >> stdin; case \"$*\" in *--resume*) echo 'No conversation found with session ID: gone' >&2; {}; exit 1;; *) {};; esac",
        replay("resume_missing.jsonl"),
        replay("text.jsonl")
    ));
    let p = f.provider(PermissionMode::Default, Limits::default());
    let msgs = [
        Message::user_text("first question"),
        Message {
            role: Role::Assistant,
            content: vec![Block::text("first answer")],
            usage: None,
        },
        Message::user_text("second question"),
    ];
    let tools = tools();
    let (seen, r) = run(&p, &request(&msgs, &tools, Some("gone"))).await;
    assert_eq!(
        seen[0],
        "notice Claude Code no longer has its conversation gone; starting a new one with a summary of this session"
    );
    assert_eq!(r.unwrap().message.text(), "Hello from the mock.");
    let stdin = f.read("stdin");
    let lines: Vec<Value> = stdin
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "two processes");
    assert_eq!(lines[0]["message"]["content"].as_array().unwrap().len(), 1);
    let summary = lines[1]["message"]["content"][0]["text"].as_str().unwrap();
    assert!(
        summary.contains("User: first question\n\nAssistant: first answer"),
        "{summary}"
    );
}

/// Whether `pid` still runs (a zombie does not).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Wait (under a generous deadline) until none of `pids` runs.
fn all_gone(pids: &[i32]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while pids.iter().any(|p| alive(*p)) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

fn pids(f: &Fake) -> Vec<i32> {
    f.read("pids").lines().map(|l| l.parse().unwrap()).collect()
}

#[tokio::test]
async fn dropping_the_turn_kills_the_cli_and_what_it_started() {
    let f = Fake::new(&format!(
        "sleep 600 & echo $! > pids; echo $$ >> pids; {} | head -n 5; sleep 600",
        replay("text.jsonl")
    ));
    let p = f.provider(PermissionMode::Default, Limits::default());
    let msgs = [Message::user_text("hi")];
    let tools = tools();
    let req = request(&msgs, &tools, None);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let mut tx = Some(tx);
    let mut sink = |ev: StreamEvent<'_>| {
        if matches!(ev, StreamEvent::TextDelta(_))
            && let Some(tx) = tx.take()
        {
            let _ = tx.send(());
        }
    };
    tokio::select! {
        r = p.stream(&req, &mut sink) => panic!("the turn ended: {r:?}"),
        _ = rx => {}
    }
    let pids = pids(&f);
    assert_eq!(pids.len(), 2);
    assert!(all_gone(&pids), "still running: {pids:?}");
}

#[tokio::test]
async fn a_line_over_its_bound_stops_the_cli() {
    let f = Fake::new(
        "sleep 600 & echo $! > pids; echo $$ >> pids; while :; do printf xxxxxxxxxxxxxxxx; done",
    );
    let limits = Limits {
        line: 1 << 20,
        total: 1 << 30,
    };
    let p = f.provider(PermissionMode::Default, limits);
    let msgs = [Message::user_text("hi")];
    let tools = tools();
    let (_, r) = run(&p, &request(&msgs, &tools, None)).await;
    let e = r.unwrap_err();
    assert!(e.to_string().contains("longer than 1 MiB"), "{e}");
    assert!(all_gone(&pids(&f)), "still running");
}

#[tokio::test]
async fn a_cli_that_exits_without_reading_its_input_is_reported_with_its_stderr() {
    let f = Fake::new("echo 'Error: Claude Code cannot start here' >&2; exit 7");
    let p = f.provider(PermissionMode::Default, Limits::default());
    // A large image: the write meets a closed pipe.
    let msgs = [Message {
        role: Role::User,
        content: vec![
            Block::text("look"),
            Block::Image(crate::model::Image {
                media_type: "image/png".into(),
                data: "A".repeat(4 << 20),
                name: None,
            }),
        ],
        usage: None,
    }];
    let tools = tools();
    let (_, r) = run(&p, &request(&msgs, &tools, None)).await;
    let e = r.unwrap_err();
    assert_eq!(e.exit_code(), 1);
    let msg = e.to_string();
    assert!(
        msg.contains(
            "exited with status 7 before it finished the turn: Error: Claude Code cannot start here"
        ),
        "{msg}"
    );
}

#[tokio::test]
async fn a_binary_gone_since_open_is_a_configuration_error() {
    let f = Fake::new("exit 0");
    std::fs::remove_file(f.path("claude")).unwrap();
    let p = f.provider(PermissionMode::Default, Limits::default());
    let msgs = [Message::user_text("hi")];
    let tools = tools();
    let (_, r) = run(&p, &request(&msgs, &tools, None)).await;
    let e = r.unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.to_string()
            .contains("npm install -g @anthropic-ai/claude-code"),
        "{e}"
    );
}

#[test]
fn it_runs_its_own_tools_and_keeps_its_own_history() {
    let f = Fake::new("exit 0");
    let c = f
        .provider(PermissionMode::Default, Limits::default())
        .capabilities();
    assert!(c.runs_own_tools && c.keeps_own_history && c.vision);
}
