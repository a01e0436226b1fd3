//! The flags people bring from Claude Code and `codex exec` (docs/spec.md §1.1):
//! `--append-system-prompt`, `--add-dir`, `--allowed-tools`, `--disallowed-tools`, `--verbose`;
//! and text mode's tail of each command's output.

use pretty_assertions::assert_eq;
use serde_json::json;
use sx_testkit::CODEX_RESPONSES_PATH;
use sx_testkit::auth::AuthJson;

use super::agent::{answer, call, output_of, sessions};
use super::common::{Env, error_line, stderr_of};

const PATH: &str = CODEX_RESPONSES_PATH;

/// The system prompt of the `i`th model request (Codex sends it as the first developer
/// message).
fn instructions(env: &Env, i: usize) -> String {
    let body = env.server.requests_to(PATH)[i].json();
    body["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["role"] == "developer" && item["type"] == "message")
        .and_then(|item| item["content"][0]["text"].as_str())
        .unwrap_or_else(|| panic!("no developer message in {body}"))
        .to_string()
}

fn offered_tools(env: &Env, i: usize) -> Vec<String> {
    env.server.requests_to(PATH)[i].json()["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn append_system_prompt_ends_a_new_sessions_prompt_and_a_resumed_one_keeps_its_own() {
    let env = Env::new();
    env.login(AuthJson::new());
    answer(&env, "Bonjour.");
    let out = env
        .sx()
        .args(["-p", "hi", "--append-system-prompt", "Answer in French."])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        instructions(&env, 0).ends_with("\n\nAnswer in French."),
        "{}",
        instructions(&env, 0)
    );

    let resume_with = |text: &str| {
        answer(&env, "Encore.");
        let out = env
            .sx()
            .args(["--continue", "-p", "again", "--append-system-prompt", text])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        stderr_of(&out)
    };
    // Resumed with the same text: the same prompt, nothing said.
    let err = resume_with("Answer in French.");
    assert_eq!(instructions(&env, 1), instructions(&env, 0));
    assert!(!err.contains("warning"), "{err}");
    // Another text: the session's prompt stays, and the user is told.
    let err = resume_with("Answer in German.");
    assert_eq!(instructions(&env, 2), instructions(&env, 0));
    assert!(
        err.contains(
            "warning: --append-system-prompt is ignored: a resumed session keeps the system prompt it started with"
        ),
        "{err}"
    );
}

#[test]
fn add_dir_names_the_folders_to_the_model_and_refuses_what_is_not_one() {
    let env = Env::new();
    env.login(AuthJson::new());
    let lib = env.proj.parent().unwrap().join("lib-beside");
    std::fs::create_dir_all(&lib).unwrap();
    answer(&env, "ok");
    let out = env
        .sx()
        .args(["-p", "hi", "--add-dir", "../lib-beside"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let canon = lib.canonicalize().unwrap();
    assert!(
        instructions(&env, 0).contains(&format!("(--add-dir):\n- {}", canon.display())),
        "{}",
        instructions(&env, 0)
    );

    for (dir, why) in [
        ("missing", "no such directory; pass an existing directory"),
        ("file.txt", "it is not a directory; pass a directory"),
    ] {
        std::fs::write(env.proj.join("file.txt"), "x").unwrap();
        let out = env
            .sx()
            .args(["-p", "hi", "--add-dir", dir])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            error_line(&out),
            format!("error: cannot use --add-dir {dir}: {why}")
        );
    }
    assert_eq!(sessions(&env).len(), 1, "a refused start leaves no session");
}

#[test]
fn disallowed_tools_are_not_offered_and_unknown_names_are_refused() {
    let env = Env::new();
    env.login(AuthJson::new());
    answer(&env, "ok");
    // Claude Code's names work too (Write = write_file).
    let out = env
        .sx()
        .args([
            "-p",
            "hi",
            "--disallowed-tools",
            "bash, Write",
            "--disallowedTools",
            "grep",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let tools = offered_tools(&env, 0);
    assert_eq!(
        tools,
        [
            "read_file",
            "edit_file",
            "edit_lines",
            "glob",
            "list_dir",
            "read_image"
        ]
    );

    let out = env
        .sx()
        .args(["-p", "hi", "--allowed-tools", "WebFetch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let l = error_line(&out);
    assert!(
        l.starts_with("error: --allowed-tools: there is no tool 'WebFetch'; the tools of this session are: bash, read_file"),
        "{l}"
    );
    let out = env
        .sx()
        .args(["-p", "hi", "--allowed-tools", "Bash(git log:*)"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(error_line(&out).contains("sx does not support"));
    assert_eq!(env.server.requests_to(PATH).len(), 1);
}

#[test]
fn allowed_tools_run_without_asking_and_the_others_are_still_refused() {
    let env = Env::new();
    env.login(AuthJson::new());
    std::fs::write(env.proj.join("a.txt"), "old\n").unwrap();
    call(
        &env,
        "e1",
        "edit_file",
        json!({"path": "a.txt", "old_string": "old", "new_string": "new"}),
    );
    call(&env, "b1", "bash", json!({"command": "touch ran"}));
    answer(&env, "Edited; the command needs your approval.");
    let out = env
        .sx()
        .args(["-p", "edit it", "--allowed-tools", "Edit"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        std::fs::read_to_string(env.proj.join("a.txt")).unwrap(),
        "new\n"
    );
    assert!(!env.proj.join("ran").exists());
    let reqs = env.server.requests_to(PATH);
    assert!(
        !output_of(&reqs[1], "e1").contains("not run"),
        "the edit ran"
    );
    assert!(output_of(&reqs[2], "b1").contains("'bash' was not run"));
    let err = stderr_of(&out);
    assert!(
        err.contains("sx: not run without approval: bash;"),
        "only bash was refused: {err}"
    );
}

#[test]
fn verbose_says_where_the_config_came_from_and_each_request_without_secrets() {
    let env = Env::new();
    let auth = env.login(AuthJson::new().refresh_token("rt-planted-secret"));
    answer(&env, "Hello.");
    let out = env
        .sx()
        .args([
            "-p",
            "hi",
            "--verbose",
            "-e",
            "OPENAI_API_KEY=sk-planted-secret-123",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    let has = |s: &str| assert!(err.contains(s), "missing {s:?} in:\n{err}");
    has("sx: config: PROVIDER=codex (command line)");
    has("sx: config: OPENAI_API_KEY=*** (command line)");
    has(&format!(
        "sx: → POST {}/responses (",
        env.server.codex_base()
    ));
    has("sx: ← HTTP 200 after ");
    has("sx: usage: ");
    has("sx: done: end_turn");
    let session = sessions(&env).pop().unwrap();
    has(&format!(
        "sx: session {} (codex · ",
        session.file_name().unwrap().to_string_lossy()
    ));
    for secret in [
        "sk-planted-secret-123",
        &auth.access_token(),
        "rt-planted-secret",
    ] {
        assert!(!err.contains(secret), "a secret on stderr:\n{err}");
    }
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello.\n",
        "stdout is the answer only"
    );

    // Without --verbose: none of it.
    answer(&env, "Hello.");
    let out = env.sx().args(["-p", "hi"]).output().unwrap();
    assert!(!stderr_of(&out).contains("sx: "), "{}", stderr_of(&out));
}

#[test]
fn text_mode_shows_the_tail_of_a_commands_output() {
    let env = Env::new();
    env.login(AuthJson::new());
    let long = "y".repeat(500);
    call(
        &env,
        "b1",
        "bash",
        json!({"command": format!(
            "for i in $(seq 1 12); do echo line $i; done; echo {long}; printf '\\033[31mred\\033[0m\\033]52;c;aGk=\\007\\n'; exit 3"
        )}),
    );
    answer(&env, "It failed.");
    let out = env.sx().args(["-p", "run it", "--yolo"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        !err.contains('\u{1b}'),
        "escape sequences reached stderr: {err:?}"
    );
    let lines: Vec<&str> = err.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("● bash"))
        .unwrap_or_else(|| panic!("{err}"));
    let shown = &lines[at + 1..];
    assert!(
        shown[0].starts_with("  ⎿ exit 3 · ") && shown[0].ends_with("s · 14 lines"),
        "{shown:?}"
    );
    assert_eq!(shown[1], "    … 9 earlier lines");
    assert_eq!(&shown[2..5], ["    line 10", "    line 11", "    line 12"]);
    // Cut to 200 columns in all (stderr is not a terminal here).
    assert_eq!(shown[5], format!("    {}…", "y".repeat(195)));
    assert_eq!(shown[6], "    red");
    assert!(
        !shown.get(7).is_some_and(|l| l.starts_with("    ")),
        "{shown:?}"
    );
}

/// The interactive UI takes the same flags: an allowed tool runs without the approval
/// question, a disallowed one is not offered, the appended text ends the system prompt.
#[test]
fn interactive_sx_takes_the_same_flags() {
    let env = Env::new();
    env.login(AuthJson::new());
    call(&env, "b1", "bash", json!({"command": "echo hi > out.txt"}));
    answer(&env, "Wrote out.txt without asking.");
    let t = super::tui::start(
        &env,
        &[
            "--allowed-tools",
            "bash",
            "--disallowed-tools",
            "grep",
            "--append-system-prompt",
            "Be brief.",
        ],
        (100, 24),
    );
    t.wait_text("›");
    t.type_text("write out.txt");
    t.keys(&["Enter"]);
    let screen = t.wait_text("Wrote out.txt without asking.");
    assert!(!screen.contains("Allow bash?"), "{screen}");
    assert_eq!(
        std::fs::read_to_string(env.proj.join("out.txt")).unwrap(),
        "hi\n"
    );
    assert!(!offered_tools(&env, 0).contains(&"grep".to_string()));
    assert!(instructions(&env, 0).ends_with("\n\nBe brief."));
    t.keys(&["C-c"]);
    t.wait_text("Press Ctrl-C again to exit");
    t.keys(&["C-c"]);
    assert_eq!(t.wait_exit(), 0);
}
