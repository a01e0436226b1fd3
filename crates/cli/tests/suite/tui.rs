//! Interactive `sx` through a real terminal (tmux) against the mock back-end: a conversation
//! with a tool call and its approval, Esc mid-stream, a queued message, `/model` and
//! `/profile` switches (and a failing profile that reverts), a resize while the answer streams,
//! and leaving with Ctrl-C twice. Rendered screens are snapshots (insta), with session ids
//! replaced.

use sx_testkit::auth::AuthJson;
use sx_testkit::{CODEX_RESPONSES_PATH, Chunk, MockResponse, responses, sse};

use super::common::Env;
use super::tmux::Tmux;

/// `sx` with the mock's arguments and `extra`, in a tmux window of `size`.
pub(super) fn start(env: &Env, extra: &[&str], size: (u16, u16)) -> Tmux {
    let mut args = env.sx_args();
    args.extend(extra.iter().map(|s| (*s).to_string()));
    Tmux::start(
        env._tmp.path(),
        &env.proj,
        &[
            ("HOME", env.home.display().to_string()),
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("TERM", "xterm-256color".to_string()),
        ],
        &assert_cmd::cargo::cargo_bin("sx"),
        &args,
        size,
    )
}

/// The screen without what changes from run to run (ids) or trails (blank rows).
fn normalized(screen: &str) -> String {
    let mut out = Vec::new();
    for line in screen.lines() {
        let mut l = line.trim_end().to_string();
        // The spinner's frame and the elapsed time move on their own.
        if l.contains("Esc to cancel") || l.starts_with(|c| ('⠀'..='⣿').contains(&c)) {
            l = l
                .chars()
                .map(|c| if ('⠀'..='⣿').contains(&c) { '*' } else { c })
                .collect();
            if let Some(i) = l.find(" · Esc to cancel") {
                let start = l[..i].rfind(' ').map_or(0, |s| s + 1);
                l.replace_range(start..i, "<elapsed>");
            }
        }
        // UUIDv7 session ids.
        while let Some(i) = find_uuid(&l) {
            l.replace_range(i..i + 36, "<session>");
        }
        out.push(l);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

fn find_uuid(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(35)).find(|&i| {
        let c = &b[i..i + 36];
        c.iter().enumerate().all(|(j, ch)| match j {
            8 | 13 | 18 | 23 => *ch == b'-',
            _ => ch.is_ascii_hexdigit(),
        })
    })
}

fn text(t: &str) -> MockResponse {
    MockResponse::sse(sse::encode(&responses::text_turn(t)))
}

/// The input box is ready: the row under the rule starts with the prompt, and nothing runs.
pub(super) fn idle(s: &str) -> bool {
    let lines: Vec<&str> = s.lines().collect();
    !s.contains("Esc to cancel")
        && lines
            .windows(2)
            .any(|w| w[0].starts_with("──") && w[1].starts_with('›'))
}

#[test]
fn a_conversation_with_a_tool_call_approved_then_a_second_turn() {
    let env = Env::new();
    env.login(AuthJson::new());
    let call = responses::function_call_turn(
        "call_1",
        "bash",
        r#"{"command":"echo hello > out.txt && echo wrote it"}"#,
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&call)),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        text("Done: **out.txt** holds `hello`."),
    );
    env.server
        .enqueue("POST", CODEX_RESPONSES_PATH, text("You are welcome."));
    let t = start(&env, &[], (80, 24));
    t.wait_for("the prompt", idle);
    t.type_text("write hello to out.txt");
    t.keys(&["Enter"]);
    let asked = t.wait_settled(
        "the approval prompt",
        |s| s.contains("[a] always allow bash this session"),
        normalized,
    );
    insta::assert_snapshot!("approval_prompt", normalized(&asked));
    assert!(
        !env.proj.join("out.txt").exists(),
        "nothing runs before the answer"
    );
    t.keys(&["y"]);
    t.wait_text("holds hello.");
    let s = t.wait_for("the prompt back", idle);
    assert_eq!(
        std::fs::read_to_string(env.proj.join("out.txt")).unwrap(),
        "hello\n"
    );
    t.type_text("thanks");
    t.keys(&["Enter"]);
    t.wait_text("You are welcome.");
    let s2 = t.wait_settled("the prompt back", idle, normalized);
    insta::assert_snapshot!("two_turns", normalized(&s2));
    let _ = s;
    let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!(reqs.len(), 3);
    // One turn id for the tool loop, a new one for the second prompt.
    let turn = |i: usize| reqs[i].json()["client_metadata"]["turn_id"].clone();
    assert_eq!(turn(0), turn(1));
    assert_ne!(turn(1), turn(2));
    t.keys(&["C-c"]);
    t.wait_text("Press Ctrl-C again to exit");
    t.keys(&["C-c"]);
    assert_eq!(t.wait_exit(), 0);
    let end = t.wait_text("continue it with: sx --resume");
    assert!(!end.contains("Press Ctrl-C"), "{end}");
}

#[test]
fn declining_an_approval_tells_the_model_and_runs_nothing() {
    let env = Env::new();
    env.login(AuthJson::new());
    let call = responses::function_call_turn("call_1", "bash", r#"{"command":"touch nope"}"#);
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&call)),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        text("Understood, I will not."),
    );
    let t = start(&env, &[], (80, 24));
    t.wait_for("the prompt", idle);
    t.type_text("make a file");
    t.keys(&["Enter"]);
    t.wait_text("Allow bash?");
    t.keys(&["n"]);
    t.wait_text("Understood, I will not.");
    assert!(!env.proj.join("nope").exists());
    let follow_up = &env.server.requests_to(CODEX_RESPONSES_PATH)[1];
    let out = follow_up.json()["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "function_call_output")
        .unwrap()["output"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(out.contains("the user declined 'bash'"), "{out}");
}

#[test]
fn esc_cancels_a_streaming_answer_and_the_prompt_comes_back() {
    let env = Env::new();
    env.login(AuthJson::new());
    let events = responses::text_turn("This answer never finishes because");
    let mut chunks = Chunk::events(&events[..5]);
    chunks.push(Chunk::Stall);
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse_chunks(chunks),
    );
    env.server
        .enqueue("POST", CODEX_RESPONSES_PATH, text("Second answer."));
    let t = start(&env, &[], (80, 24));
    t.wait_for("the prompt", idle);
    t.type_text("go");
    t.keys(&["Enter"]);
    t.wait_text("Esc to cancel");
    t.wait_text("This answer");
    t.keys(&["Escape"]);
    t.wait_text("⏹ cancelled");
    t.wait_for("the prompt back", idle);
    assert!(
        env.server
            .wait_for_streams_closed(std::time::Duration::from_secs(60)),
        "the stalled stream was hung up"
    );
    // The session goes on.
    t.type_text("again");
    t.keys(&["Enter"]);
    t.wait_text("Second answer.");
}

#[test]
fn a_message_sent_while_busy_is_queued_then_sent() {
    let env = Env::new();
    env.login(AuthJson::new());
    let release = env._tmp.path().join("release");
    let events = responses::text_turn("First answer.");
    let mut chunks = Chunk::events(&events[..3]);
    chunks.push(Chunk::WaitFor(release.clone()));
    chunks.extend(Chunk::events(&events[3..]));
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse_chunks(chunks),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        text("Answer to the queued one."),
    );
    let t = start(&env, &[], (80, 24));
    t.wait_for("the prompt", idle);
    t.type_text("first");
    t.keys(&["Enter"]);
    t.wait_text("Esc to cancel");
    t.type_text("second question");
    t.keys(&["Enter"]);
    t.wait_text("⏵ queued: second question");
    let first =
        env.server
            .wait_for_requests(CODEX_RESPONSES_PATH, 1, std::time::Duration::from_secs(60));
    assert_eq!(first.len(), 1);
    assert!(!first[0].text().contains("second question"), "not sent yet");
    std::fs::write(&release, "").unwrap();
    t.wait_text("Answer to the queued one.");
    let s = t.wait_for("the prompt back", idle);
    assert!(!s.contains("queued:"), "{s}");
    let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1].text().contains("second question"));
}

#[test]
fn model_and_profile_switches_and_a_failing_profile_reverts() {
    let env = Env::new();
    env.login(AuthJson::new());
    let profiles = env.home.join(".scorpiox/scorpiox-env");
    std::fs::create_dir_all(&profiles).unwrap();
    std::fs::write(profiles.join("fast.txt"), "MODEL=haiku\n").unwrap();
    std::fs::write(
        profiles.join("broken.txt"),
        "CODEX_TOKEN_SOURCE=remote\nCODEX_REMOTE_URL=\n",
    )
    .unwrap();
    env.server
        .enqueue("POST", CODEX_RESPONSES_PATH, text("first-answer"));
    env.server
        .enqueue("POST", CODEX_RESPONSES_PATH, text("second-answer"));
    let t = start(&env, &[], (100, 24));
    t.wait_for("the prompt", idle);
    t.wait_text("gpt-5.4");
    t.type_text("/model opus");
    t.keys(&["Enter"]);
    t.wait_text("model: gpt-5.5");
    t.type_text("hi");
    t.keys(&["Enter"]);
    t.wait_text("first-answer");
    t.wait_for("the prompt back", idle);
    assert_eq!(
        env.server.requests_to(CODEX_RESPONSES_PATH)[0].json()["model"],
        "gpt-5.5"
    );
    t.type_text("/profile fast");
    t.keys(&["Enter"]);
    t.wait_text("/profile fast: now codex · gpt-5.4-mini");
    let user_file = env.home.join(".scorpiox/scorpiox-env.txt");
    assert!(
        std::fs::read_to_string(&user_file)
            .unwrap()
            .contains("ACTIVE_PROFILE=fast")
    );
    t.type_text("/profile broken");
    t.keys(&["Enter"]);
    let s = t.wait_text("failed, nothing changed");
    assert!(s.contains("CODEX_REMOTE_URL"), "{s}");
    assert!(
        std::fs::read_to_string(&user_file)
            .unwrap()
            .contains("ACTIVE_PROFILE=fast"),
        "the remembered profile is restored"
    );
    t.type_text("again");
    t.keys(&["Enter"]);
    t.wait_text("second-answer");
    assert_eq!(
        env.server.requests_to(CODEX_RESPONSES_PATH)[1].json()["model"],
        "gpt-5.4-mini"
    );
}

#[test]
fn a_resize_while_streaming_keeps_the_screen_whole() {
    let env = Env::new();
    env.login(AuthJson::new());
    let release = env._tmp.path().join("release");
    let answer = "A first line of the answer that is long enough to wrap when the terminal narrows.\nA second line.";
    let events = responses::text_turn(answer);
    let mut chunks = Chunk::events(&events[..4]);
    chunks.push(Chunk::WaitFor(release.clone()));
    chunks.extend(Chunk::events(&events[4..]));
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse_chunks(chunks),
    );
    let t = start(&env, &[], (90, 20));
    t.wait_for("the prompt", idle);
    t.type_text("tell me");
    t.keys(&["Enter"]);
    t.wait_text("Esc to cancel");
    t.resize(50, 20);
    t.wait_for("the narrow layout", |s| {
        s.lines()
            .any(|l| l.starts_with(&"─".repeat(50)) && !l.starts_with(&"─".repeat(51)))
    });
    std::fs::write(&release, "").unwrap();
    t.wait_text("A second line.");
    let s = t.wait_settled("the prompt back", idle, normalized);
    insta::assert_snapshot!("after_resize", normalized(&s));
    // Nothing of the live region was left behind: one rule, one status line.
    assert_eq!(s.matches("codex · gpt-5.4").count(), 1, "{s}");
    assert_eq!(s.lines().filter(|l| l.starts_with("──")).count(), 1, "{s}");
}

#[test]
fn the_first_run_sets_up_a_provider_and_goes_on_to_the_conversation() {
    // No login, no key, no router: the guided set-up instead of an error.
    let env = Env::new();
    env.server.enqueue(
        "POST",
        sx_testkit::anthropic::MESSAGES_PATH,
        MockResponse::sse(sse::encode(&sx_testkit::anthropic::text_turn(
            "Set up and answering.",
        ))),
    );
    let url = env.server.url();
    let t = Tmux::start(
        env._tmp.path(),
        &env.proj,
        &[
            ("HOME", env.home.display().to_string()),
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("TERM", "xterm-256color".to_string()),
        ],
        &assert_cmd::cargo::cargo_bin("sx"),
        &["-e".to_string(), format!("ANTHROPIC_BASE_URL={url}")],
        (100, 24),
    );
    let menu = t.wait_settled(
        "the whole menu",
        |s| s.contains("No model provider is set up yet") && s.contains("give its URL"),
        normalized,
    );
    insta::assert_snapshot!("first_run_menu", normalized(&menu));
    t.keys(&["2"]);
    t.wait_text("ANTHROPIC_API_KEY:");
    t.type_text("sk-ant-secret-123");
    let typed = t.wait_text("•••••");
    assert!(
        !typed.contains("secret-123"),
        "the key is never shown: {typed}"
    );
    t.keys(&["Enter"]);
    t.wait_text("Saved as profile 'anthropic'");
    t.wait_for("the prompt", idle);
    let profile = env.home.join(".scorpiox/scorpiox-env/anthropic.txt");
    let text = std::fs::read_to_string(&profile).unwrap();
    assert!(
        text.contains("PROVIDER=anthropic") && text.contains("ANTHROPIC_API_KEY=sk-ant-secret-123")
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&profile).unwrap().permissions().mode() & 0o077;
    assert_eq!(mode, 0, "a file holding a key is private");
    let user = std::fs::read_to_string(env.home.join(".scorpiox/scorpiox-env.txt")).unwrap();
    assert!(user.contains("ACTIVE_PROFILE=anthropic"), "{user}");
    t.type_text("hello");
    t.keys(&["Enter"]);
    t.wait_text("Set up and answering.");
    let reqs = env.server.requests_to(sx_testkit::anthropic::MESSAGES_PATH);
    assert_eq!(reqs[0].header("x-api-key"), Some("sk-ant-secret-123"));
}

#[test]
fn a_conversation_is_resumed_with_continue_and_with_resume() {
    let env = Env::new();
    env.login(AuthJson::new());
    env.server
        .enqueue("POST", CODEX_RESPONSES_PATH, text("The answer is 42."));
    env.server
        .enqueue("POST", CODEX_RESPONSES_PATH, text("Still 42."));
    env.server
        .enqueue("POST", CODEX_RESPONSES_PATH, text("A fresh start."));
    let t = start(&env, &[], (90, 24));
    t.wait_for("the prompt", idle);
    t.type_text("what is the answer?");
    t.keys(&["Enter"]);
    t.wait_text("The answer is 42.");
    t.wait_for("the prompt back", idle);
    t.keys(&["C-d"]);
    assert_eq!(t.wait_exit(), 0);
    drop(t);

    let t = start(&env, &["--continue"], (90, 24));
    t.wait_text("resumed session");
    t.wait_for("the prompt", idle);
    t.type_text("and again?");
    t.keys(&["Enter"]);
    t.wait_text("Still 42.");
    t.wait_for("the prompt back", idle);
    let second = &env.server.requests_to(CODEX_RESPONSES_PATH)[1];
    assert!(
        second.text().contains("what is the answer?")
            && second.text().contains("The answer is 42."),
        "the history went with the resumed conversation"
    );
    // /clear starts a new conversation: the next request carries none of it.
    t.type_text("/clear");
    t.keys(&["Enter"]);
    t.wait_text("new session");
    t.type_text("hello");
    t.keys(&["Enter"]);
    t.wait_text("A fresh start.");
    let third = &env.server.requests_to(CODEX_RESPONSES_PATH)[2];
    assert!(!third.text().contains("what is the answer?"));
}
