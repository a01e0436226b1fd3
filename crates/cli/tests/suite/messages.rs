//! Messages that say what to do (issue 12, docs/troubleshooting.md): a network failure named
//! once, a missing image, calls refused for want of approval, a stop on a function without a
//! command and handing its result back, the trust warning about `TRUSTED_PROJECTS` and
//! `scorpiox-config --set`'s refusals.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use sx_testkit::auth::AuthJson;
use sx_testkit::{CODEX_RESPONSES_PATH, ClosedPort};

use super::agent::{answer, call, output_of, sessions};
use super::common::{Env, error_line, read_json, stderr_of};

const PATH: &str = CODEX_RESPONSES_PATH;

#[test]
fn a_network_failure_names_the_url_once_and_says_what_failed() {
    let env = Env::new();
    env.login(AuthJson::new());
    let closed = ClosedPort::bind();
    let base = format!("{}/backend-api/codex", closed.url());
    let out = env
        .sx()
        .args(["-p", "hi", "-e", "REQUEST_MAX_RETRIES=0", "-e"])
        .arg(format!("CODEX_BASE_URL={base}"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        error_line(&out),
        format!(
            "error: cannot reach Codex at {base}/responses: connection refused; check your network or CODEX_BASE_URL"
        )
    );
}

#[test]
fn a_missing_image_says_no_such_file_and_a_wrong_one_what_to_pass() {
    let env = Env::new();
    env.login(AuthJson::new());
    let out = env
        .sx()
        .args(["-p", "what is this?", "-i", "nope.png"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        error_line(&out),
        "error: cannot attach nope.png: no such file; check the path given to -i/--image"
    );
    std::fs::write(env.proj.join("notes.txt"), "not an image").unwrap();
    let out = env
        .sx()
        .args(["-p", "what is this?", "-i", "notes.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let line = error_line(&out);
    assert!(
        line.contains("notes.txt") && line.ends_with("; pass a PNG, JPEG, WebP or GIF file"),
        "{line}"
    );
    assert!(env.server.requests_to(PATH).is_empty(), "nothing was sent");
}

/// The non-empty lines of a run's stderr.
fn stderr_lines(out: &std::process::Output) -> Vec<String> {
    stderr_of(out)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn calls_refused_for_want_of_approval_end_the_run_with_one_line_naming_yolo() {
    let env = Env::new();
    env.login(AuthJson::new());
    call(&env, "c1", "bash", json!({"command": "touch made-it"}));
    call(
        &env,
        "c2",
        "write_file",
        json!({"path": "a.txt", "content": "x"}),
    );
    answer(&env, "I could not change anything.");
    let out = env.sx().args(["-p", "make it"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!env.proj.join("made-it").exists());
    let lines = stderr_lines(&out);
    // Beside each call: the whole first line of the refusal, not a cut-off one.
    let refusal = lines
        .iter()
        .find(|l| l.contains("✗ 'bash' was not run"))
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(refusal.ends_with("has nobody to give it."), "{refusal}");
    // And one closing line, last.
    assert_eq!(
        lines.last().unwrap(),
        "sx: not run without approval: bash, write_file; a one-shot run may only read unless you allow more: rerun with --yolo (or -e APPROVAL=auto), or allow these tools with --allowed-tools bash,write_file"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("sx: not run"))
            .count(),
        1
    );

    // Allowed: no such line.
    call(&env, "c3", "bash", json!({"command": "touch made-it"}));
    answer(&env, "Done.");
    let out = env.sx().args(["-p", "make it", "--yolo"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(env.proj.join("made-it").exists());
    assert!(!stderr_of(&out).contains("not run without approval"));
}

/// A functions file with `ask_human`, which has no command.
fn ask_human(env: &Env) -> std::path::PathBuf {
    let fns = env.home.join("fns.json");
    std::fs::write(
        &fns,
        json!([{
            "name": "ask_human",
            "description": "Ask the person running the program",
            "parameters": {"type": "object", "properties": {"question": {"type": "string"}}},
        }])
        .to_string(),
    )
    .unwrap();
    fns
}

/// A run that stops on `ask_human` (call `f1`) in `format`; returns the functions file.
fn stop_on_ask_human(env: &Env, format: &str) -> (std::path::PathBuf, std::process::Output) {
    env.login(AuthJson::new());
    let fns = ask_human(env);
    call(env, "f1", "ask_human", json!({"question": "ship it?"}));
    let out = env
        .sx()
        .args([
            "-p",
            "ship the release",
            "--output-format",
            format,
            "--functions",
        ])
        .arg(&fns)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    (fns, out)
}

/// The `tool_result` blocks of a saved transcript, by call id.
fn saved_result(env: &Env, session: &std::path::Path, call_id: &str) -> Value {
    let _ = env;
    let conv = read_json(&session.join("conversation.json"));
    conv["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["content"].as_array().unwrap().iter())
        .find(|b| b["type"] == "tool_result" && b["call_id"] == call_id)
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn a_stop_on_a_function_without_a_command_is_said_and_its_result_handed_back() {
    let env = Env::new();
    let (fns, out) = stop_on_ask_human(&env, "text");
    let session = sessions(&env).pop().unwrap();
    let id = session.file_name().unwrap().to_string_lossy().into_owned();
    let lines = stderr_lines(&out);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("● ask_human question=ship it?")),
        "{lines:?}"
    );
    assert_eq!(
        lines.last().unwrap(),
        &format!(
            "sx: stopped: the model called ask_human (call f1), a function without a command; hand the result back with: sx --resume {id} --function-result 'f1=RESULT'"
        )
    );

    // Handed back: the result goes to the model in the call's place, no prompt needed.
    answer(&env, "Shipped.");
    let out = env
        .sx()
        .args(["--resume", &id, "--functions"])
        .arg(&fns)
        .args(["--function-result", "f1=yes, ship it"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Shipped.\n");
    let reqs = env.server.requests_to(PATH);
    assert_eq!(reqs.len(), 2);
    assert_eq!(output_of(&reqs[1], "f1"), "yes, ship it");
    let input = reqs[1].json()["input"].clone();
    assert!(!input.to_string().contains("interrupted"), "{input}");
    let saved = saved_result(&env, &session, "f1");
    assert_eq!(saved["output"], "yes, ship it", "{saved}");
    assert_eq!(saved["is_error"], false, "{saved}");
}

#[test]
fn a_function_result_as_json_with_a_prompt_and_the_refusals() {
    let env = Env::new();
    let (fns, out) = stop_on_ask_human(&env, "stream-json");
    // The closing line is for text mode; stream-json has its `function_call` event.
    assert!(!stderr_of(&out).contains("sx: stopped"));
    let id = sessions(&env)[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let fail = |args: &[&str]| {
        let out = env.sx().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        error_line(&out)
    };
    let fns_arg = fns.to_str().unwrap();
    let l = fail(&["--function-result", "f1=x"]);
    assert!(l.contains("add --resume ID (or --continue)"), "{l}");
    let l = fail(&[
        "--resume",
        &id,
        "--functions",
        fns_arg,
        "--function-result",
        "f9=x",
    ]);
    assert!(
        l.contains("not waiting for a result of call \"f9\"") && l.contains("f1 (ask_human)"),
        "{l}"
    );
    let l = fail(&["--resume", &id, "--function-result", "f1=x"]);
    assert!(l.contains("pass the same --functions FILE"), "{l}");
    let l = fail(&["--resume", &id, "--function-result", "f1"]);
    assert!(l.contains("expected CALL_ID=OUTPUT"), "{l}");
    assert_eq!(
        env.server.requests_to(PATH).len(),
        1,
        "no refusal sent anything"
    );

    // The JSON shape, an error result, with a prompt after it.
    answer(&env, "Understood.");
    let out = env
        .sx()
        .args(["--continue", "--functions", fns_arg])
        .args([
            "--function-result",
            r#"{"id":"f1","output":"nobody answered","is_error":true}"#,
        ])
        .args(["-p", "carry on without them"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let reqs = env.server.requests_to(PATH);
    assert_eq!(output_of(&reqs[1], "f1"), "nobody answered");
    let last = reqs[1].json()["input"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert!(last.to_string().contains("carry on without them"), "{last}");
    let saved = saved_result(&env, &sessions(&env)[0], "f1");
    assert_eq!(saved["is_error"], true, "{saved}");
    // Answered: the session no longer waits.
    let l = fail(&[
        "--continue",
        "--functions",
        fns_arg,
        "--function-result",
        "f1=again",
    ]);
    assert!(l.contains("not waiting for a function result"), "{l}");
}

#[test]
fn trusted_projects_in_a_project_file_says_to_delete_the_line() {
    let env = Env::new();
    std::fs::write(
        env.proj.join("scorpiox-env.txt"),
        "TRUSTED_PROJECTS=/\nMODEL=opus\n",
    )
    .unwrap();
    let warning = |env: &Env| {
        let out = env
            .cmd("scorpiox-config")
            .args(["--get", "MODEL"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let s = stderr_of(&out);
        s.lines()
            .find(|l| l.contains("TRUSTED_PROJECTS"))
            .unwrap_or_else(|| panic!("no warning: {s}"))
            .to_string()
    };
    let untrusted = warning(&env);
    assert!(
        untrusted.contains("delete the line") && untrusted.contains("--trust"),
        "{untrusted}"
    );
    let out = env.cmd("scorpiox-config").arg("--trust").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let trusted = warning(&env);
    assert!(
        trusted.contains("delete the line") && trusted.contains("already trusted"),
        "{trusted}"
    );
    assert!(!trusted.contains("--trust"), "{trusted}");
}

#[test]
fn set_names_the_value_it_refuses() {
    let env = Env::new();
    let out = env
        .cmd("scorpiox-config")
        .args(["--set", "APPROVAL", "yolo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        error_line(&out),
        "error: cannot set APPROVAL to \"yolo\": it is not a valid value; allowed: ask, auto, read-only (nothing was written)"
    );
    assert!(!env.home.join(".scorpiox/scorpiox-env.txt").exists());
}

/// docs/troubleshooting.md is built from the messages the code prints: every heading's fixed
/// parts (between `<…>` placeholders, `…`, and KEY_NAMES) are text of the sources.
#[test]
fn every_message_in_troubleshooting_md_is_one_the_code_prints() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/troubleshooting.md")).unwrap();
    let mut sources = String::new();
    let mut stack = vec![root.join("crates")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && !p.ends_with("tests") && !p.ends_with("target") {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs")
                && !p.to_string_lossy().ends_with("_tests.rs")
            {
                sources.push_str(&std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    // A string literal continued on the next line (`\` + newline + indentation) reads as one.
    let mut joined = String::with_capacity(sources.len());
    let mut rest = sources.as_str();
    while let Some(i) = rest.find("\\\n") {
        joined.push_str(&rest[..i]);
        rest = rest[i + 2..].trim_start();
    }
    joined.push_str(rest);

    let headings: Vec<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .map(|h| h.trim_matches('`').trim())
        .collect();
    assert!(headings.len() >= 30, "{headings:?}");
    let mut missing = Vec::new();
    for h in &headings {
        let mut text = h.to_string();
        // Placeholders: <…>, …, and configuration key names.
        while let (Some(a), Some(b)) = (text.find('<'), text.find('>')) {
            if b < a {
                break;
            }
            text.replace_range(a..=b, "\u{0}");
        }
        let text = text.replace('…', "\u{0}");
        let words: Vec<String> = text
            .split(' ')
            .map(|w| {
                let core = w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_');
                if core.contains('_')
                    && core
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                {
                    w.replace(core, "\u{0}")
                } else {
                    w.to_string()
                }
            })
            .collect();
        let text = words.join(" ");
        for piece in text
            .split('\u{0}')
            .flat_map(|p| p.split("; "))
            .flat_map(|p| p.split(": "))
            .map(|p| p.trim_matches(|c: char| c.is_whitespace() || "\"'`(),.".contains(c)))
            .map(|p| {
                p.strip_prefix("error")
                    .or_else(|| p.strip_prefix("warning"))
                    .unwrap_or(p)
            })
            .filter(|p| p.len() >= 12)
        {
            if !joined.contains(piece) {
                missing.push(format!("{piece:?} (from {h:?})"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not in the sources:\n{}",
        missing.join("\n")
    );
}
