//! Sessions through the binary (docs/sessions.md): where they go (the project root,
//! docs/configuration.md "Project root"), `sx --sessions`, `--name`, short ids, retention
//! (`SESSIONS_KEEP_DAYS`) and the `.gitignore` entry.

use std::path::Path;
use std::time::{Duration, SystemTime};

use pretty_assertions::assert_eq;
use serde_json::Value;
use sx_testkit::CODEX_RESPONSES_PATH;
use sx_testkit::auth::AuthJson;

use super::agent::{answer, sessions_in};
use super::common::{Env, error_line, json_lines, read_json, stderr_of};

fn id_of(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

/// The short id of a UUID: the first 8 characters of its last group.
fn short(id: &str) -> String {
    id.rsplit('-').next().unwrap()[..8].to_string()
}

/// Run `sx ARGS` answering `answer_text`; it must succeed.
fn run(env: &Env, args: &[&str], answer_text: &str) {
    answer(env, answer_text);
    let out = env.sx().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text of the first user message of the last request: which conversation was sent.
fn first_user_text(env: &Env) -> String {
    let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
    let body = reqs.last().unwrap().json();
    body["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["role"] == "user")
        .map(|i| i["content"][0]["text"].as_str().unwrap().to_string())
        .unwrap()
}

fn set_age(dir: &Path, days: u64) {
    let t = SystemTime::now() - Duration::from_secs(days * 86_400);
    std::fs::File::open(dir).unwrap().set_modified(t).unwrap();
}

// --- where sessions go ------------------------------------------------------------------

#[test]
fn sessions_of_a_plain_folder_stay_in_it_and_make_no_project() {
    let env = Env::new();
    env.login(AuthJson::new());
    // Strays above: sx's own sessions folder and a project file in the parent of HOME, and a
    // sessions folder at home.
    let above = env.home.parent().unwrap();
    std::fs::create_dir_all(above.join(".scorpiox/sessions")).unwrap();
    std::fs::write(above.join("scorpiox-env.txt"), "MODEL=haiku\n").unwrap();
    std::fs::create_dir_all(env.home.join(".scorpiox/sessions")).unwrap();
    let notes = env.home.join("notes");
    let sub = notes.join("sub");
    std::fs::create_dir_all(&sub).unwrap();

    let cwd = |d: &Path| ["--cwd".to_string(), d.display().to_string()];
    answer(&env, "noted");
    let out = env
        .sx()
        .args(cwd(&notes))
        .args(["-p", "first note"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(sessions_in(&notes).len(), 1);
    let model = &env.server.requests_to(CODEX_RESPONSES_PATH)[0].json()["model"];
    assert_eq!(model, "gpt-5.4", "the project file above HOME was not read");
    // Nothing but the sessions folder was made: no marker, no .gitignore.
    let made: Vec<String> = std::fs::read_dir(&notes)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(made.len(), 2, "{made:?}");
    let scorpiox: Vec<String> = std::fs::read_dir(notes.join(".scorpiox"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(scorpiox, ["sessions"]);
    assert!(sessions_in(above).is_empty() && sessions_in(&env.home).is_empty());

    // A folder below is a project of its own: the sessions above are not its to continue.
    let out = env
        .sx()
        .args(cwd(&sub))
        .args(["-p", "go on", "--continue"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let sub_sessions = sub.join(".scorpiox/sessions");
    assert_eq!(
        error_line(&out),
        format!(
            "error: no saved session in {}; start one with sx -p \"…\"",
            sub_sessions
                .canonicalize()
                .unwrap_or(sub_sessions)
                .display()
        )
    );
    run(
        &env,
        &["--cwd", sub.to_str().unwrap(), "-p", "sub note"],
        "ok",
    );
    assert_eq!(sessions_in(&sub).len(), 1);
    assert_eq!(sessions_in(&notes).len(), 1);
}

#[test]
fn trust_below_home_never_trusts_home_or_above() {
    let env = Env::new();
    let above = env.home.parent().unwrap().canonicalize().unwrap();
    std::fs::create_dir_all(above.join(".scorpiox/sessions")).unwrap();
    std::fs::write(above.join("scorpiox-env.txt"), "").unwrap();
    let sub = env.home.join("work/sub");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::create_dir_all(env.home.join("work/.scorpiox/sessions")).unwrap();
    let out = env
        .cmd("scorpiox-config")
        .args(["--cwd", sub.to_str().unwrap(), "--trust"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let sub = sub.canonicalize().unwrap();
    assert!(
        stdout(&out).starts_with(&format!("trusted {} ", sub.display())),
        "{}",
        stdout(&out)
    );
    let user = std::fs::read_to_string(env.home.join(".scorpiox/scorpiox-env.txt")).unwrap();
    assert_eq!(user, format!("TRUSTED_PROJECTS={}\n", sub.display()));
}

// --- listing, names, short ids ----------------------------------------------------------

#[test]
fn sessions_are_listed_named_and_resumed_by_name_or_short_id() {
    let env = Env::new();
    env.login(AuthJson::new());
    run(
        &env,
        &["-p", "fix the login bug", "--name", "auth"],
        "fixed",
    );
    run(&env, &["-p", "why is the\n  build   slow?"], "it is not");
    let dirs = sessions_in(&env.proj);
    assert_eq!(dirs.len(), 2);
    let named = dirs
        .iter()
        .find(|d| read_json(&d.join("meta.json"))["name"] == "auth")
        .expect("a session named auth");
    let other = dirs.iter().find(|d| *d != named).unwrap();
    let (auth_id, other_id) = (id_of(named), id_of(other));
    assert_eq!(
        read_json(&named.join("meta.json"))["first_prompt"],
        "fix the login bug"
    );

    // Text: a header, then the newest first.
    let out = env.sx().arg("--sessions").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout(&out);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert_eq!(rows[0], ["ID", "AGE", "NAME", "FIRST PROMPT"]);
    assert_eq!(rows[1][0], short(&other_id));
    assert_eq!(rows[1][2..], ["-", "why is the build slow?"]);
    assert_eq!(rows[2][0], short(&auth_id));
    assert_eq!(rows[2][2..], ["auth", "fix the login bug"]);
    for row in &rows[1..] {
        assert!(row[1].ends_with('s') || row[1].ends_with('m'), "{text}");
    }

    // JSON: one array; stream-json: one object per line, in the same order.
    let out = env
        .sx()
        .args(["--sessions", "--output-format", "json"])
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1]["id"], auth_id.as_str());
    assert_eq!(list[1]["short_id"], short(&auth_id).as_str());
    assert_eq!(list[1]["name"], "auth");
    assert_eq!(list[1]["first_prompt"], "fix the login bug");
    assert_eq!(list[0]["name"], Value::Null);
    for key in ["created_at", "updated_at", "provider", "model", "messages"] {
        assert!(!list[0][key].is_null(), "{key}: {}", list[0]);
    }
    let out = env
        .sx()
        .args(["--sessions", "--output-format", "stream-json"])
        .output()
        .unwrap();
    assert_eq!(json_lines(&out.stdout), *list);

    // --resume: a name, a short id, any unique beginning of one.
    run(&env, &["-p", "again", "--resume", "auth"], "ok");
    assert_eq!(first_user_text(&env), "fix the login bug");
    run(&env, &["-p", "again", "--resume", &short(&other_id)], "ok");
    assert!(first_user_text(&env).starts_with("why is the"));
    run(
        &env,
        &["-p", "again", "--resume", &short(&auth_id)[..4]],
        "ok",
    );
    assert_eq!(first_user_text(&env), "fix the login bug");
    // --name renames the session resumed; the old name no longer finds it.
    run(
        &env,
        &["-p", "more", "--continue", "--name", "login fix"],
        "ok",
    );
    assert_eq!(read_json(&named.join("meta.json"))["name"], "login fix");
    run(&env, &["-p", "more", "--resume", "login fix"], "ok");
    assert_eq!(first_user_text(&env), "fix the login bug");
    let out = env
        .sx()
        .args(["-p", "x", "--resume", "auth"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        error_line(&out).contains("no session matches 'auth'")
            && error_line(&out).ends_with("; list them with sx --sessions"),
        "{}",
        error_line(&out)
    );
    assert_eq!(sessions_in(&env.proj).len(), 2, "no session was added");

    // A bad name is refused before anything runs.
    let out = env.sx().args(["-p", "x", "--name", " "]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(error_line(&out).starts_with("error: cannot name a session \" \""));
}

#[test]
fn no_sessions_is_said_on_stderr() {
    let env = Env::new();
    let out = env.sx().arg("--sessions").output().unwrap();
    assert!(out.status.success());
    assert_eq!(stdout(&out), "");
    assert!(stderr_of(&out).starts_with("sx: no saved sessions in "));
    let out = env
        .sx()
        .args(["--sessions", "--output-format", "json"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "[]\n");
}

// --- retention --------------------------------------------------------------------------

#[test]
fn sessions_keep_days_removes_old_sessions_but_never_the_resumed_one() {
    let env = Env::new();
    env.login(AuthJson::new());
    for prompt in ["one", "two", "three"] {
        run(&env, &["-p", prompt], "ok");
    }
    let dirs = sessions_in(&env.proj);
    let (old, resumed, recent) = (&dirs[0], &dirs[1], &dirs[2]);
    set_age(old, 40);
    set_age(resumed, 40);
    set_age(recent, 29);
    // Without the key nothing is removed.
    run(&env, &["-p", "four", "--resume", &id_of(recent)], "ok");
    assert_eq!(sessions_in(&env.proj).len(), 3);
    // With it, the old session goes; the one resumed stays (and is new again).
    run(
        &env,
        &[
            "-p",
            "five",
            "-e",
            "SESSIONS_KEEP_DAYS=30",
            "--resume",
            &id_of(resumed),
        ],
        "ok",
    );
    assert_eq!(sessions_in(&env.proj), [resumed.clone(), recent.clone()]);
    // A new session in a later run: the resumed one was touched, so it stays too.
    run(&env, &["-p", "six", "-e", "SESSIONS_KEEP_DAYS=30"], "ok");
    assert_eq!(sessions_in(&env.proj).len(), 3);
    assert!(resumed.exists() && recent.exists());

    // 0 is not a number of days.
    let out = env
        .sx()
        .args(["-p", "x", "-e", "SESSIONS_KEEP_DAYS=0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        error_line(&out).starts_with("error: SESSIONS_KEEP_DAYS=0 (from command line) is not valid; allowed: a whole number from 1"),
        "{}",
        error_line(&out)
    );
}

// --- .gitignore -------------------------------------------------------------------------

#[test]
fn the_gitignore_entry_goes_only_into_a_regular_file_of_a_repository() {
    let env = Env::new();
    env.login(AuthJson::new());
    // A symlinked .gitignore: the link and its target stay as they are.
    let shared = env.home.join("shared-gitignore");
    std::fs::write(&shared, "target/\n").unwrap();
    std::os::unix::fs::symlink(&shared, env.proj.join(".gitignore")).unwrap();
    run(&env, &["-p", "hello"], "hi");
    assert_eq!(
        sessions_in(&env.proj).len(),
        1,
        "the session is still saved"
    );
    assert_eq!(std::fs::read_to_string(&shared).unwrap(), "target/\n");
    assert_eq!(
        std::fs::read_link(env.proj.join(".gitignore")).unwrap(),
        shared
    );

    // A regular file gets the entry, once.
    std::fs::remove_file(env.proj.join(".gitignore")).unwrap();
    std::fs::write(env.proj.join(".gitignore"), "target/\n").unwrap();
    run(&env, &["-p", "hello"], "hi");
    run(&env, &["-p", "hello"], "hi");
    assert_eq!(
        std::fs::read_to_string(env.proj.join(".gitignore")).unwrap(),
        "target/\n# sx sessions (transcripts and traffic logs)\n/.scorpiox/sessions/\n"
    );

    // Not a repository: no .gitignore is made.
    let plain = env.home.join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    run(
        &env,
        &["--cwd", plain.to_str().unwrap(), "-p", "hello"],
        "hi",
    );
    assert_eq!(sessions_in(&plain).len(), 1);
    assert!(!plain.join(".gitignore").exists());
}
