//! The agent end to end: scripted model turns from the mock backend drive the real `sx`
//! binary through tools, approvals, functions, images, cancellation, sessions and compaction.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use sx_testkit::auth::AuthJson;
use sx_testkit::{CODEX_RESPONSES_PATH, Chunk, MockResponse, Recorded, fixture, responses, sse};

use super::common::{Env, assert_no_panic, error_line, json_lines, read_json, stderr_of};

pub(super) fn call(env: &Env, call_id: &str, name: &str, args: Value) {
    let events = responses::function_call_turn(call_id, name, &args.to_string());
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&events)),
    );
}

/// Several calls in one model turn.
fn calls(env: &Env, list: &[(&str, &str, Value)]) {
    let mut events = vec![responses::created(responses::RESP_ID)];
    for (i, (id, name, args)) in list.iter().enumerate() {
        events.extend(responses::function_call_events(
            &format!("fc_{i}"),
            id,
            name,
            &args.to_string(),
        ));
    }
    events.push(responses::completed(
        responses::RESP_ID,
        responses::Usage {
            input: 100,
            cached: 0,
            output: 10,
            reasoning: 0,
        },
    ));
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&responses::finalize(events))),
    );
}

pub(super) fn answer(env: &Env, text: &str) {
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&responses::text_turn(text))),
    );
}

/// The `function_call_output` for `call_id` in a recorded request.
pub(super) fn output_of(req: &Recorded, call_id: &str) -> String {
    let body = req.json();
    let item = body["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "function_call_output" && i["call_id"] == call_id)
        .unwrap_or_else(|| panic!("no output for {call_id} in {body}"))
        .clone();
    match &item["output"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        std::fs::copy(e.path(), &dest).unwrap();
    }
}

pub(super) fn sessions(env: &Env) -> Vec<std::path::PathBuf> {
    sessions_in(&env.proj)
}

/// The session folders under `dir`'s `.scorpiox/sessions/`, sorted.
pub(super) fn sessions_in(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join(".scorpiox/sessions"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_five_step_fix_the_failing_test_task() {
    let env = Env::new();
    env.login(AuthJson::new());
    copy_dir(&sx_testkit::fixtures_dir().join("repos/calc"), &env.proj);
    call(&env, "call_1", "bash", json!({"command": "./test.sh"}));
    call(&env, "call_2", "read_file", json!({"path": "calc.sh"}));
    call(
        &env,
        "call_3",
        "edit_file",
        json!({"path": "calc.sh", "old_string": "echo $((a - b))", "new_string": "echo $((a + b))"}),
    );
    call(&env, "call_4", "bash", json!({"command": "./test.sh"}));
    answer(
        &env,
        "Fixed: calc.sh subtracted instead of adding; ./test.sh passes now.",
    );

    let out = env
        .sx()
        .args([
            "-p",
            "the test fails, fix it",
            "--yolo",
            "--output-format",
            "stream-json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let reqs = env.server.requests_to(PATH);
    assert_eq!(reqs.len(), 5);
    assert!(output_of(&reqs[1], "call_1").contains("FAIL: expected 5, got -1"));
    assert!(output_of(&reqs[1], "call_1").contains("Exit code: 1"));
    assert!(output_of(&reqs[2], "call_2").contains("echo $((a - b))"));
    assert!(output_of(&reqs[3], "call_3").contains("calc.sh"));
    assert!(output_of(&reqs[4], "call_4").contains("PASS: 2 + 3 = 5"));
    assert_eq!(
        std::fs::read_to_string(env.proj.join("calc.sh")).unwrap(),
        "#!/bin/sh\n# calc.sh A B: print the sum of A and B.\na=$1\nb=$2\necho $((a + b))\n"
    );
    let t = std::process::Command::new("sh")
        .arg("./test.sh")
        .current_dir(&env.proj)
        .output()
        .unwrap();
    assert!(t.status.success());

    // The system prompt (with AGENTS.md) and the tool list are byte-identical in every request.
    let first = reqs[0].json();
    assert!(
        first["input"][0]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Run ./test.sh to test.")
    );
    for r in &reqs[1..] {
        let b = r.json();
        assert_eq!(b["input"][0], first["input"][0]);
        assert_eq!(b["tools"], first["tools"]);
        assert_eq!(b["prompt_cache_key"], first["prompt_cache_key"]);
    }
    let names: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "bash",
            "read_file",
            "write_file",
            "edit_file",
            "edit_lines",
            "glob",
            "grep",
            "list_dir",
            "read_image"
        ]
    );

    let events = json_lines(&out.stdout);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .filter(|t| *t == "tool_call" || *t == "tool_result")
        .collect();
    assert_eq!(kinds, ["tool_call", "tool_result"].repeat(4));
    assert_eq!(
        events.last().unwrap()["text"],
        "Fixed: calc.sh subtracted instead of adding; ./test.sh passes now."
    );
}

pub const PATH: &str = CODEX_RESPONSES_PATH;

#[test]
fn tools_off_means_no_tools_offered() {
    let env = Env::new();
    env.login(AuthJson::new());
    answer(&env, "ok");
    let out = env
        .sx()
        .args(["-p", "hi", "-e", "TOOLS=0"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(env.server.requests_to(PATH)[0].json()["tools"], json!([]));
}

#[test]
fn one_shot_without_yolo_may_only_read() {
    for (extra, words) in [
        (&[][..], "--yolo"),
        (&["-e", "APPROVAL=read-only"][..], "read-only"),
    ] {
        let env = Env::new();
        env.login(AuthJson::new());
        std::fs::write(env.proj.join("notes.txt"), "hello\n").unwrap();
        calls(
            &env,
            &[
                ("c_read", "read_file", json!({"path": "notes.txt"})),
                (
                    "c_write",
                    "write_file",
                    json!({"path": "new.txt", "content": "x"}),
                ),
                ("c_bash", "bash", json!({"command": "touch made-by-bash"})),
            ],
        );
        answer(&env, "I could not write.");
        let out = env
            .sx()
            .args(["-p", "write a file"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let req = &env.server.requests_to(PATH)[1];
        assert!(output_of(req, "c_read").contains("hello"));
        assert!(
            output_of(req, "c_write").contains(words),
            "{}",
            output_of(req, "c_write")
        );
        assert!(output_of(req, "c_bash").contains("was not run"));
        assert!(!env.proj.join("new.txt").exists());
        assert!(!env.proj.join("made-by-bash").exists());
    }
}

#[test]
fn parallel_read_only_calls_all_get_results_in_order() {
    let env = Env::new();
    env.login(AuthJson::new());
    std::fs::write(env.proj.join("a.txt"), "alpha needle\n").unwrap();
    std::fs::write(env.proj.join("b.txt"), "beta\n").unwrap();
    calls(
        &env,
        &[
            ("p1", "read_file", json!({"path": "a.txt"})),
            ("p2", "grep", json!({"pattern": "needle"})),
            ("p3", "list_dir", json!({"path": "."})),
            ("p4", "no_such_tool", json!({})),
            ("p5", "read_file", json!("not an object")),
        ],
    );
    answer(&env, "done");
    let out = env.sx().args(["-p", "look"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let req = &env.server.requests_to(PATH)[1];
    let input = req.json()["input"].as_array().unwrap().clone();
    let order: Vec<&str> = input
        .iter()
        .filter(|i| i["type"] == "function_call_output")
        .map(|i| i["call_id"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["p1", "p2", "p3", "p4", "p5"]);
    assert!(output_of(req, "p1").contains("alpha needle"));
    assert!(output_of(req, "p2").contains("a.txt:1:alpha needle"));
    assert!(output_of(req, "p3").contains("b.txt"));
    assert!(
        output_of(req, "p4")
            .contains("there is no tool 'no_such_tool'; available tools: bash, read_file")
    );
    assert!(output_of(req, "p5").contains("must be a JSON object"));
}

#[test]
fn functions_with_and_without_a_command() {
    let env = Env::new();
    env.login(AuthJson::new());
    let fns = env.proj.join("fns.json");
    std::fs::write(
        &fns,
        json!([
            {"name": "lookup_order", "description": "Look up an order", "parameters": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
             "command": "cat > args.json; echo \"order $SX_FUNCTION: shipped\""},
            {"name": "notify_human", "description": "Hand over to a human", "parameters": {"type": "object", "properties": {"reason": {"type": "string"}}}}
        ])
        .to_string(),
    )
    .unwrap();
    call(&env, "f1", "lookup_order", json!({"id": 42}));
    call(&env, "f2", "notify_human", json!({"reason": "refund"}));
    let out = env
        .sx()
        .args([
            "-p",
            "where is order 42?",
            "--functions",
            fns.to_str().unwrap(),
            "--output-format",
            "stream-json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let reqs = env.server.requests_to(PATH);
    assert_eq!(reqs.len(), 2, "the command-less function ends the run");
    let tools: Vec<String> = reqs[0].json()["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        tools.ends_with(&["lookup_order".to_string(), "notify_human".to_string()]),
        "{tools:?}"
    );
    assert_eq!(
        output_of(&reqs[1], "f1").trim(),
        "order lookup_order: shipped"
    );
    assert_eq!(
        read_json(&env.proj.join("args.json")),
        json!({"id": 42}),
        "arguments as JSON on stdin"
    );
    let events = json_lines(&out.stdout);
    let fc = events
        .iter()
        .find(|e| e["type"] == "function_call")
        .expect("function_call event");
    assert_eq!(fc["name"], "notify_human");
    assert_eq!(fc["arguments"], json!({"reason": "refund"}));
    assert_eq!(events.last().unwrap()["stop_reason"], "function_call");

    // Bad function files are configuration errors that name the file.
    std::fs::write(&fns, r#"[{"name": "x", "description": "d", "parameters": {"type": "object"}, "comand": "oops"}]"#).unwrap();
    let out = env
        .sx()
        .args(["-p", "hi", "--functions", fns.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let l = error_line(&out);
    assert!(
        l.contains("fns.json") && l.contains("unknown field 'comand'"),
        "{l}"
    );
}

#[test]
fn an_attached_image_is_sent_as_input_image() {
    let env = Env::new();
    env.login(AuthJson::new());
    let png = env.proj.join("shot.png");
    image::RgbImage::from_pixel(8, 4, image::Rgb([255, 0, 0]))
        .save(&png)
        .unwrap();
    answer(&env, "A red rectangle.");
    let out = env
        .sx()
        .args(["-p", "what is this?", "-i", png.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let body = env.server.requests_to(PATH)[0].json();
    let content = body["input"][1]["content"].as_array().unwrap().clone();
    assert_eq!(
        content[0],
        json!({"type": "input_text", "text": "what is this?"})
    );
    let img = content
        .iter()
        .find(|c| c["type"] == "input_image")
        .expect("an input_image part");
    assert!(
        img["image_url"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,iVBORw0KGgo")
    );
    assert_eq!(img["detail"], "high");

    for bad in [env.proj.join("missing.png"), env.proj.join("AGENTS.txt")] {
        std::fs::write(env.proj.join("AGENTS.txt"), "not an image").unwrap();
        let out = env
            .sx()
            .args(["-p", "x", "-i", bad.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(error_line(&out).contains("cannot attach"));
    }
}

#[test]
fn max_turns_stops_the_loop() {
    let env = Env::new();
    env.login(AuthJson::new());
    for i in 0..3 {
        call(&env, &format!("loop{i}"), "list_dir", json!({"path": "."}));
    }
    let out = env
        .sx()
        .args(["-p", "loop", "--max-turns", "2", "--output-format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_lines(&out.stdout)[0]["stop_reason"], "max_turns");
    assert_eq!(env.server.requests_to(PATH).len(), 2);
}

// --- sessions -------------------------------------------------------------------------------

#[test]
fn sessions_are_saved_private_gitignored_and_resumable() {
    let env = Env::new();
    env.login(AuthJson::new());
    answer(&env, "first answer");
    let out = env.sx().args(["-p", "first question"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let dirs = sessions(&env);
    assert_eq!(dirs.len(), 1);
    let dir = &dirs[0];
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(dir), 0o700);
    assert_eq!(mode(&env.proj.join(".scorpiox/sessions")), 0o700);
    let gi = std::fs::read_to_string(env.proj.join(".gitignore")).unwrap();
    assert!(gi.contains("/.scorpiox/sessions/"), "{gi}");
    let meta = read_json(&dir.join("meta.json"));
    assert_eq!(meta["provider"], "codex");
    assert_eq!(meta["model"], "gpt-5.4");
    assert!(meta["cwd"].as_str().unwrap().ends_with("/proj"));
    let conv = read_json(&dir.join("conversation.json"));
    assert_eq!(conv["messages"].as_array().unwrap().len(), 2);
    let traffic: Vec<String> = std::fs::read_dir(dir.join("traffic"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        traffic.contains(&"0001-request.json".to_string())
            && traffic.contains(&"0001-response.txt".to_string()),
        "{traffic:?}"
    );
    let resp = std::fs::read_to_string(dir.join("traffic/0001-response.txt")).unwrap();
    assert!(
        resp.starts_with("HTTP 200\n") && resp.contains("event: response.completed"),
        "SSE kept as received"
    );

    // --continue resumes the latest, --resume takes an id prefix.
    answer(&env, "second answer");
    let out = env
        .sx()
        .args(["-p", "second question", "--continue"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    answer(&env, "third answer");
    let id = dir.file_name().unwrap().to_string_lossy().into_owned();
    let out = env
        .sx()
        .args(["-p", "third question", "--resume", &id[..13]])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(sessions(&env).len(), 1);
    let reqs = env.server.requests_to(PATH);
    let texts = |r: &Recorded| -> Vec<String> {
        r.json()["input"].as_array().unwrap()[1..]
            .iter()
            .map(|i| i["content"][0]["text"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(
        texts(&reqs[2]),
        [
            "first question",
            "first answer",
            "second question",
            "second answer",
            "third question"
        ]
    );
    assert_eq!(
        reqs[2].json()["input"][0],
        reqs[0].json()["input"][0],
        "the saved system prompt is reused"
    );
    assert_eq!(reqs[2].header("session-id"), Some(id.as_str()));

    let out = env
        .sx()
        .args(["-p", "x", "--resume", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(error_line(&out).contains("no session matches 'nope'"));
}

#[test]
fn a_planted_secret_never_reaches_traffic_or_the_transcript() {
    let env = Env::new();
    let auth = env.login(AuthJson::new());
    let planted = "sk-planted-5e3c4d2b1a09f8e7";
    std::fs::write(
        env.proj.join("scorpiox-env.txt"),
        format!("OPENAI_API_KEY={planted}\n"),
    )
    .unwrap();
    std::fs::write(env.proj.join(".env"), format!("OPENAI_API_KEY={planted}\n")).unwrap();
    call(&env, "s1", "read_file", json!({"path": ".env"}));
    call(
        &env,
        "s2",
        "bash",
        json!({"command": "cat ~/.codex/auth.json"}),
    );
    answer(&env, "done");
    let out = env
        .sx()
        .args(["-p", "read the env", "--yolo"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    // The model got the file with the known secret masked (docs/reliability.md, hole 4)…
    let read = output_of(&env.server.requests_to(PATH)[1], "s1");
    assert!(
        read.contains("OPENAI_API_KEY=***") && !read.contains(planted),
        "{read}"
    );
    // …and nothing on disk holds it, nor the login's tokens.
    let dir = &sessions(&env)[0];
    let mut files = vec![dir.join("conversation.json"), dir.join("meta.json")];
    files.extend(
        std::fs::read_dir(dir.join("traffic"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    assert!(files.len() >= 8);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            !text.contains(planted),
            "{} holds the planted secret",
            f.display()
        );
        assert!(
            !text.contains(&auth.access_token()),
            "{} holds the access token",
            f.display()
        );
        assert!(
            !text.contains(sx_testkit::auth::REFRESH_TOKEN),
            "{} holds the refresh token",
            f.display()
        );
    }
    let req = std::fs::read_to_string(dir.join("traffic/0001-request.json")).unwrap();
    assert!(req.contains("\"authorization\": \"***\""), "{req}");
}

/// The processes of process group `pgid` that still run (zombies count as gone), from /proc:
/// without a readable /proc (not Linux) the test fails rather than finding nothing.
pub(super) fn live_processes_of_group(pgid: i32) -> Vec<i32> {
    let entries = std::fs::read_dir("/proc").expect("this test reads /proc (Linux only)");
    assert!(
        Path::new("/proc/self/stat").is_file(),
        "no /proc/self/stat: this test needs Linux's /proc"
    );
    let mut live = Vec::new();
    for entry in entries {
        let entry = entry.unwrap();
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        // A process that ended since the directory was listed has no stat any more.
        let stat = match std::fs::read_to_string(entry.path().join("stat")) {
            Ok(stat) => stat,
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    || e.raw_os_error() == Some(nix::libc::ESRCH) =>
            {
                continue;
            }
            Err(e) => panic!("cannot read /proc/{pid}/stat: {e}"),
        };
        // "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses.
        let mut fields = stat
            .rsplit_once(')')
            .expect("/proc stat")
            .1
            .split_whitespace();
        let state = fields.next().expect("state");
        let pgrp: i32 = fields.nth(1).expect("pgrp").parse().expect("pgrp");
        if pgrp == pgid && state != "Z" {
            live.push(pid);
        }
    }
    live
}

#[test]
fn cancelling_mid_tool_kills_the_command_and_keeps_the_pairing() {
    let env = Env::new();
    env.login(AuthJson::new());
    // The command records its own pid (its process group: sx starts each in a new group),
    // written whole (rename) so that it is never read half-written. `sleep` is not the last
    // command, so the shell forks it: a child that killing the shell alone would leave behind.
    let pid_file = env.proj.join("command.pid");
    call(
        &env,
        "slow",
        "bash",
        json!({"command": format!(
            "echo $$ > {p}.tmp && mv {p}.tmp {p}; sleep 300; exit 0",
            p = pid_file.display()
        )}),
    );
    let mut child = env.sx_std();
    child
        .args(["-p", "run it", "--yolo", "--output-format", "stream-json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = child.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines
            .next()
            .expect("sx ended before running the tool")
            .unwrap();
        if line.contains("\"tool_call\"") {
            break;
        }
    }
    // Wait until the command itself runs, then press Ctrl-C.
    let deadline = Instant::now() + Duration::from_secs(60);
    let pgid: i32 = loop {
        if let Ok(text) = std::fs::read_to_string(&pid_file) {
            break text.trim().parse().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the command never wrote {}", pid_file.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(
        !live_processes_of_group(pgid).is_empty(),
        "the command runs before the Ctrl-C"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
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
    let done: Value = serde_json::from_str(rest.last().unwrap()).unwrap();
    assert_eq!(done["stop_reason"], "cancelled");
    let conv = read_json(&sessions(&env)[0].join("conversation.json"));
    let msgs = conv["messages"].as_array().unwrap();
    let last = msgs.last().unwrap();
    assert_eq!(last["content"][0]["type"], "tool_result");
    assert_eq!(last["content"][0]["call_id"], "slow");
    // The shell and its `sleep` are gone.
    assert_group_ends(pgid, "the command");
}

/// Fail unless every process of group `pgid` ends (SIGKILL is delivered asynchronously: allow
/// a moment, under a generous deadline); what is left is killed then. `what` names the group.
pub(super) fn assert_group_ends(pgid: i32, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let live = live_processes_of_group(pgid);
        if live.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
            panic!("{what} was not killed: processes {live:?} of its group still run");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn kill_9_mid_turn_then_continue_keeps_the_transcript() {
    let env = Env::new();
    env.login(AuthJson::new());
    call(&env, "k1", "bash", json!({"command": "sleep 30"}));
    let mut child = env.sx_std();
    child
        .args([
            "-p",
            "start a long job",
            "--yolo",
            "--output-format",
            "stream-json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = child.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while !lines
        .next()
        .expect("sx ended early")
        .unwrap()
        .contains("\"tool_call\"")
    {}
    child.kill().unwrap(); // SIGKILL: no cleanup at all
    child.wait().unwrap();
    let conv = read_json(&sessions(&env)[0].join("conversation.json"));
    assert_eq!(
        conv["messages"].as_array().unwrap().len(),
        2,
        "user prompt and the assistant's call survived"
    );

    answer(&env, "resumed fine");
    let out = env
        .sx()
        .args(["-p", "what happened?", "--continue"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let req = env.server.requests_to(PATH).pop().unwrap();
    assert!(
        output_of(&req, "k1").contains("interrupted"),
        "the dangling call was paired"
    );
    let input = req.json()["input"].as_array().unwrap().clone();
    assert_eq!(
        input.last().unwrap()["content"][0]["text"],
        "what happened?"
    );
}

#[test]
fn context_overflow_compacts_into_a_continuation_session() {
    let env = Env::new();
    env.login(AuthJson::new());
    env.server.enqueue(
        "POST",
        PATH,
        MockResponse::sse(fixture("codex/failed_context_window.sse")),
    );
    answer(&env, "continuing");
    let out = env
        .sx()
        .args(["-p", "a big task", "--output-format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("context compacted"));
    let dirs = sessions(&env);
    assert_eq!(dirs.len(), 2, "a new session continues the old one");
    let reqs = env.server.requests_to(PATH);
    let note = reqs[1].json()["input"][1]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        note.starts_with("[Context compacted]")
            && note.contains("a big task")
            && note.contains("conversation.json"),
        "{note}"
    );
    assert_ne!(reqs[0].header("session-id"), reqs[1].header("session-id"));
    let metas: Vec<Value> = dirs
        .iter()
        .map(|d| read_json(&d.join("meta.json")))
        .collect();
    let (old, new) = if metas[0]["continues"].is_null() {
        (&metas[0], &metas[1])
    } else {
        (&metas[1], &metas[0])
    };
    assert_eq!(new["continues"], old["id"]);

    // Over the configured threshold, the next request starts compacted too.
    let env = Env::new();
    env.login(AuthJson::new());
    call(&env, "t1", "list_dir", json!({"path": "."}));
    answer(&env, "ok");
    let out = env
        .sx()
        .args(["-p", "go", "-e", "AUTO_COMPACT_TOKENS=10"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let reqs = env.server.requests_to(PATH);
    let second = reqs[1].json();
    assert!(
        second["input"][1]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("[result of call t1]")
    );
}

#[test]
fn stalled_tool_output_does_not_block_a_stalled_stream_test_helper() {
    // Guard: a stall on the *model* side during a tool loop is still an idle timeout.
    let env = Env::new();
    env.login(AuthJson::new());
    call(&env, "x1", "list_dir", json!({"path": "."}));
    let events = responses::text_turn("late");
    let mut chunks = Chunk::events(&events[..1]);
    chunks.push(Chunk::Stall);
    env.server
        .enqueue("POST", PATH, MockResponse::sse_chunks(chunks));
    answer(&env, "late");
    let out = env
        .sx()
        .args(["-p", "go", "-e", "STREAM_IDLE_TIMEOUT_MS=3000"])
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "late\n");
    // One retry, and for the stall: not a stream the mock dropped later (a broken idle
    // timeout would wait for the mock's stall limit, then retry a truncated stream).
    let retries: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("sx: retrying"))
        .collect();
    assert_eq!(retries.len(), 1, "{stderr}");
    assert!(
        retries[0].contains("(attempt 1): no data from the server")
            && retries[0].contains("the connection stalled"),
        "not an idle timeout: {}",
        retries[0]
    );
    // The tool turn, the stalled stream, and its retry: the same request again.
    let reqs = env.server.requests_to(PATH);
    assert_eq!(reqs.len(), 3);
    assert_eq!(
        reqs[2].json(),
        reqs[1].json(),
        "the retry resends the request"
    );
}

#[test]
fn an_unwritable_project_still_gets_its_answer() {
    let env = Env::new();
    env.login(AuthJson::new());
    // A file where the sessions folder would go: creating it fails for root too.
    std::fs::write(env.proj.join(".scorpiox"), "not a directory").unwrap();
    answer(&env, "still answered");
    let out = env.sx().args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "still answered\n");
    let err = stderr_of(&out);
    assert!(
        err.contains("warning: this session will not be saved"),
        "{err}"
    );
    let session = env.server.requests_to(PATH)[0]
        .header("session-id")
        .unwrap()
        .to_string();
    assert!(uuid::Uuid::parse_str(&session).is_ok());
}
