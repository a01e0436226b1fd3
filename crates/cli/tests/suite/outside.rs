//! Writes outside the project (docs/reliability.md, hole 3). The file tools resolve the path
//! they are given — `..`, an absolute path, a symbolic link, `~/` (the home folder, never a
//! folder named `~`) — and a one-shot run refuses a change outside the project and the
//! `--add-dir` folders even with `--yolo`, unless `SANDBOX=off`. sx's own files (the
//! `.gitignore` line, the sessions folder) are never written through a link out of the
//! project.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sx_testkit::auth::AuthJson;
use sx_testkit::{CODEX_RESPONSES_PATH, MockResponse, responses, sse};

use super::common::{Env, stderr_of};

/// The model calls `tool` with `args`, then answers "done"; returns the tool's result event.
fn call(env: &Env, tool: &str, args: &Value, extra: &[&str]) -> Value {
    super::credentials::call(env, tool, args, extra).0
}

struct Layout {
    env: Env,
    outside: PathBuf,
}

/// A project with `link` → a folder outside it, which holds `existing.txt`.
fn layout() -> Layout {
    let env = Env::new();
    env.login(AuthJson::new());
    let outside = env.proj.parent().unwrap().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("existing.txt"), "keep me\n").unwrap();
    std::os::unix::fs::symlink(&outside, env.proj.join("link")).unwrap();
    Layout { env, outside }
}

/// Each way out of the project: the tool, its arguments, the file it would change.
fn ways_out(l: &Layout) -> Vec<(&'static str, Value, PathBuf)> {
    let abs = l.outside.join("abs.txt");
    vec![
        (
            "write_file",
            json!({"path": "../outside/dotdot.txt", "content": "x\n"}),
            l.outside.join("dotdot.txt"),
        ),
        (
            "write_file",
            json!({"path": abs.display().to_string(), "content": "x\n"}),
            abs,
        ),
        (
            "write_file",
            json!({"path": "link/through-link.txt", "content": "x\n"}),
            l.outside.join("through-link.txt"),
        ),
        (
            "write_file",
            json!({"path": "~/in-home.txt", "content": "x\n"}),
            l.env.home.join("in-home.txt"),
        ),
        (
            "edit_file",
            json!({"path": "link/existing.txt", "old_string": "keep me", "new_string": "changed"}),
            l.outside.join("existing.txt"),
        ),
    ]
}

fn changed(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| t != "keep me\n")
}

#[test]
fn the_file_tools_refuse_paths_outside_the_project_even_with_yolo() {
    let l = layout();
    for (tool, args, target) in ways_out(&l) {
        for mode in [&["--yolo"][..], &["--allowed-tools", tool]] {
            let result = call(&l.env, tool, &args, mode);
            let output = result["output"].as_str().unwrap();
            assert_eq!(result["is_error"], true, "{tool} {args} {mode:?}: {output}");
            let want = format!(
                "'{tool}' was not run: {} is outside the project",
                target.display()
            );
            assert!(output.starts_with(&want), "{output}\nwanted: {want}");
            assert!(
                !changed(&target),
                "{tool} {args}: {} changed",
                target.display()
            );
        }
    }
    assert!(!l.env.proj.join("~").exists(), "no folder named ~");
    // Inside the project (and through a link that stays inside) the same run writes.
    std::fs::create_dir_all(l.env.proj.join("src")).unwrap();
    std::os::unix::fs::symlink(l.env.proj.join("src"), l.env.proj.join("src-link")).unwrap();
    for path in ["inside.txt", "src-link/inside.txt"] {
        let result = call(
            &l.env,
            "write_file",
            &json!({"path": path, "content": "x\n"}),
            &["--yolo"],
        );
        assert_eq!(result["is_error"], false, "{path}: {result}");
    }
    assert!(l.env.proj.join("src/inside.txt").is_file());
}

#[test]
fn an_added_folder_or_sandbox_off_lets_the_same_changes_through() {
    let l = layout();
    let add = l.outside.display().to_string();
    // --add-dir makes the outside folder a root: the ways into it are allowed.
    for (tool, args, target) in ways_out(&l) {
        if !target.starts_with(&l.outside) {
            continue;
        }
        let result = call(&l.env, tool, &args, &["--yolo", "--add-dir", &add]);
        assert_eq!(result["is_error"], false, "{tool} {args}: {result}");
        assert!(changed(&target), "{}", target.display());
        let _ = std::fs::remove_file(&target);
    }
    std::fs::write(l.outside.join("existing.txt"), "keep me\n").unwrap();
    // SANDBOX=off: every one of them, `~/` landing in the home folder.
    for (tool, args, target) in ways_out(&l) {
        let result = call(&l.env, tool, &args, &["--yolo", "-e", "SANDBOX=off"]);
        assert_eq!(result["is_error"], false, "{tool} {args}: {result}");
        assert!(changed(&target), "{tool} {args}: {}", target.display());
    }
    assert!(!l.env.proj.join("~").exists(), "no folder named ~");
    // Without --yolo, SANDBOX=off does not approve anything by itself.
    let result = call(
        &l.env,
        "write_file",
        &json!({"path": "../outside/unapproved.txt", "content": "x\n"}),
        &["-e", "SANDBOX=off"],
    );
    assert_eq!(result["is_error"], true, "{result}");
    assert!(!l.outside.join("unapproved.txt").exists());
}

#[test]
fn a_symlinked_gitignore_or_scorpiox_folder_is_not_written_through() {
    let env = Env::new();
    env.login(AuthJson::new());
    let run = |env: &Env| {
        env.server.enqueue(
            "POST",
            CODEX_RESPONSES_PATH,
            MockResponse::sse(sse::encode(&responses::text_turn("hello"))),
        );
        let out = env.sx().args(["-p", "hi"]).output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "hello");
        stderr_of(&out)
    };
    // The user's own file, which a repository's .gitignore links to: a plain run appended the
    // sessions line to it before.
    let victim = env.home.join(".config-victim");
    std::fs::write(&victim, "user=1\n").unwrap();
    std::os::unix::fs::symlink(&victim, env.proj.join(".gitignore")).unwrap();
    run(&env);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "user=1\n");
    assert!(
        env.proj.join(".scorpiox/sessions").is_dir(),
        "the session itself is saved"
    );
    // A .scorpiox folder that leads out of the project (this one holds the saved session).
    let elsewhere = env.home.join("elsewhere");
    std::fs::rename(env.proj.join(".scorpiox"), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, env.proj.join(".scorpiox")).unwrap();
    let listing = || {
        let mut all = super::credentials::walk(&elsewhere);
        all.sort();
        all.into_iter()
            .map(|f| (std::fs::read(&f).unwrap(), f))
            .collect::<Vec<_>>()
    };
    let before = listing();
    let stderr = run(&env);
    let why = format!(
        "{} is a symbolic link to {}, outside the project; sx keeps sessions inside the project, so replace the link with a folder",
        env.proj.join(".scorpiox").display(),
        elsewhere.canonicalize().unwrap().display()
    );
    assert!(
        stderr.contains(&format!("warning: this session will not be saved: {why}")),
        "{stderr}"
    );
    // Resuming the session found through the link is refused in the same words.
    let out = env
        .sx()
        .args(["--continue", "-p", "again"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert_eq!(super::common::error_line(&out), format!("error: {why}"));
    assert!(
        before == listing(),
        "nothing written through the .scorpiox link"
    );
}

#[test]
fn the_interactive_ui_asks_each_time_even_in_auto_mode() {
    let l = layout();
    let env = &l.env;
    for _ in 0..2 {
        env.server.enqueue(
            "POST",
            CODEX_RESPONSES_PATH,
            MockResponse::sse(sse::encode(&responses::function_call_turn(
                "call_1",
                "write_file",
                &json!({"path": "link/asked.txt", "content": "x\n"}).to_string(),
            ))),
        );
    }
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&responses::text_turn("All done."))),
    );
    let t = super::tui::start(env, &["--yolo"], (100, 30));
    t.wait_for("the prompt", super::tui::idle);
    t.type_text("write it");
    t.keys(&["Enter"]);
    let screen = t.wait_text("Allow write_file outside the project?");
    let target = l.outside.canonicalize().unwrap().join("asked.txt");
    assert!(
        screen.contains(&format!(
            "{} is outside the project and the --add-dir folders",
            target.display()
        )) && !screen.contains("always allow"),
        "{screen}"
    );
    // "a" (always) is not an answer here; "y" allows this once.
    t.keys(&["a", "y"]);
    t.wait_for("the second question", |s| {
        s.matches("Allow write_file outside the project?").count() == 1
            && s.contains("write_file allowed\n")
    });
    assert!(target.is_file());
    std::fs::remove_file(&target).unwrap();
    t.wait_text("Allow write_file outside the project?");
    t.keys(&["n"]);
    t.wait_text("All done.");
    assert!(!target.exists(), "declined the second time");
    let requests = env.server.requests_to(CODEX_RESPONSES_PATH);
    let last = requests.last().unwrap().text();
    assert!(
        last.contains("the user declined 'write_file' on") && last.contains("outside the project"),
        "{last}"
    );
}
