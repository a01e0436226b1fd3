//! The official Claude Code CLI pointed at `scorpiox-router` (`ANTHROPIC_BASE_URL`), answered by
//! a mock Codex upstream: Claude Code's own UI on a ChatGPT login.
//!
//! The CLI is not part of the repository. These tests run it from `SX_TEST_CLAUDE_BIN`, else
//! from `target/claude-code/node_modules/.bin/claude` (where `.ci/run` installs
//! `@anthropic-ai/claude-code` with npm when it can); without either they pass, printing a
//! `skipped:` line that says how to run them.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use sx_testkit::{CODEX_RESPONSES_PATH, MockResponse, responses, sse};

use super::common::Env;
use super::service::Server;

/// The CLI, if this machine has it.
fn claude() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SX_TEST_CLAUDE_BIN").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "SX_TEST_CLAUDE_BIN={} is not a file",
            p.display()
        );
        return Some(p);
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/claude-code");
    let p = dir.join("node_modules/.bin/claude");
    p.is_file().then_some(p)
}

fn skipped(test: &str) {
    println!(
        "skipped: {test}: the Claude Code CLI is not installed; set SX_TEST_CLAUDE_BIN to a \
         `claude` binary, or run `npm install --prefix target/claude-code \
         @anthropic-ai/claude-code`"
    );
}

/// The router with every model routed to the mock's Codex back-end.
fn router(env: &Env) -> Server {
    let mut c = Command::new(super::common::bin_path("scorpiox-router"));
    c.env_clear()
        .env("HOME", &env.home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(&env.proj)
        .args([
            "--listen",
            "127.0.0.1:0",
            "-e",
            "ROUTER_ROUTES=*=codex",
            "-e",
        ])
        .arg(format!("CODEX_BASE_URL={}", env.server.codex_base()))
        .arg("-e")
        .arg(format!("CODEX_AUTH_URL={}", env.server.url()));
    Server::start(c)
}

/// `claude -p PROMPT --output-format stream-json --verbose` against the router, with a home
/// of its own and no traffic besides the model calls.
fn run_claude(bin: &PathBuf, env: &Env, router: &Server, prompt: &str) -> Output {
    let home = env.home.join("claude-home");
    std::fs::create_dir_all(&home).unwrap();
    Command::new(bin)
        .env_clear()
        .env("HOME", &home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ANTHROPIC_BASE_URL", router.base())
        .env("ANTHROPIC_API_KEY", "dummy")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .current_dir(&env.proj)
        .args(["-p", prompt, "--output-format", "stream-json", "--verbose"])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The `result` line of Claude Code's stream-json output.
fn result(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "result")
        .unwrap_or_else(|| {
            panic!(
                "no result line ({}); stdout: {stdout}; stderr: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

#[test]
fn claude_code_answers_through_the_router_from_codex() {
    let Some(bin) = claude() else {
        return skipped("claude_code_answers_through_the_router_from_codex");
    };
    let env = Env::new();
    env.login(sx_testkit::auth::AuthJson::new());
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&responses::text_turn("Hi from Codex."))),
    );
    let router = router(&env);
    let out = run_claude(&bin, &env, &router, "say hi");
    let r = result(&out);
    assert_eq!(r["is_error"], false, "{r}");
    assert_eq!(r["result"], "Hi from Codex.", "{r}");
    assert_eq!(r["usage"]["input_tokens"], 42, "the upstream's usage: {r}");
    assert_eq!(r["usage"]["output_tokens"], 7, "{r}");
    let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].text().contains("say hi"));
    let (status, log) = router.stop();
    assert!(status.success(), "{log}");
    assert!(log.contains(" POST /v1/messages 200 codex "), "{log}");
}

#[test]
fn claude_code_runs_a_tool_and_codex_gets_its_reasoning_back() {
    let Some(bin) = claude() else {
        return skipped("claude_code_runs_a_tool_and_codex_gets_its_reasoning_back");
    };
    let env = Env::new();
    env.login(sx_testkit::auth::AuthJson::new());
    let notes = env.proj.join("notes.txt");
    std::fs::write(&notes, "the secret word is pelican\n").unwrap();
    let args = serde_json::json!({ "file_path": notes }).to_string();
    let mut ev = vec![responses::created(responses::RESP_ID)];
    ev.extend(responses::reasoning_events(
        responses::REASONING_ID,
        "I should read the notes.",
        responses::ENCRYPTED_CONTENT,
    ));
    ev.extend(responses::function_call_events(
        responses::FUNCTION_CALL_ID,
        "call_read",
        "Read",
        &args,
    ));
    ev.push(responses::completed(responses::RESP_ID, Default::default()));
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&responses::finalize(ev))),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&responses::text_turn("The word is pelican."))),
    );
    let router = router(&env);
    let out = run_claude(&bin, &env, &router, "what is the secret word in notes.txt?");
    let r = result(&out);
    assert_eq!(r["result"], "The word is pelican.", "{r}");
    let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!(reqs.len(), 2, "{r}");
    let second = reqs[1].json().to_string();
    assert!(
        second.contains("pelican"),
        "the Read result went back: {second}"
    );
    assert!(
        second.contains(responses::ENCRYPTED_CONTENT),
        "Codex's reasoning came back through Claude Code: {second}"
    );
    assert!(second.contains("\"call_read\""), "{second}");
    let (status, log) = router.stop();
    assert!(status.success(), "{log}");
}
