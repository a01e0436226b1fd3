//! Piped standard input (docs/agent.md "Piped input"): the prompt when none is given, else
//! context sent with the prompt (`cat log | sx -p "explain"`), at most 1 MiB, and never read
//! from a terminal.

use pretty_assertions::assert_eq;
use sx_testkit::auth::AuthJson;
use sx_testkit::{CODEX_RESPONSES_PATH, MockResponse, Recorded, responses, sse};

use super::common::{Env, error_line, stderr_of};
use super::tui::start;

const CAP: usize = 1 << 20;
const CUT_LINE: &str = "[standard input was cut here: only its first 1 MiB was read]";

fn answer(env: &Env, text: &str) {
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&responses::text_turn(text))),
    );
}

/// The text of the last user message of a Responses request.
fn user_text(req: &Recorded) -> String {
    let body = req.json();
    let item = body["input"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|i| i["role"] == "user")
        .unwrap_or_else(|| panic!("no user message in {body}"))
        .clone();
    item["content"][0]["text"].as_str().unwrap().to_string()
}

#[test]
fn piped_input_goes_with_the_prompt_as_context() {
    let env = Env::new();
    env.login(AuthJson::new());
    let log = "12:00 start\n12:01 E42: disk full\n";
    // `-p PROMPT` and a bare prompt alike
    for args in [&["-p", "explain"][..], &["explain"][..]] {
        answer(&env, "The disk is full.");
        let out = env.sx().args(args).write_stdin(log).output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "The disk is full.\n");
        let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
        assert_eq!(
            user_text(reqs.last().unwrap()),
            format!("explain\n\n<stdin>\n{log}</stdin>")
        );
    }
    // Empty input adds nothing; without a prompt, the input is the prompt.
    answer(&env, "ok");
    let out = env
        .sx()
        .args(["-p", "explain"])
        .write_stdin("")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    answer(&env, "ok");
    let out = env
        .sx()
        .arg("-p")
        .write_stdin("what is 2+2?\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!(user_text(&reqs[2]), "explain");
    assert_eq!(user_text(&reqs[3]), "what is 2+2?\n");
}

#[test]
fn piped_input_past_one_mib_is_cut_with_a_note() {
    let env = Env::new();
    env.login(AuthJson::new());
    answer(&env, "A long log.");
    let mut log = "0123456789abcde\n".repeat(CAP / 16);
    assert_eq!(log.len(), CAP);
    log.push_str("TAIL-THAT-IS-NOT-SENT\n");
    let out = env
        .sx()
        .args(["-p", "explain"])
        .write_stdin(log.clone())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    let notes: Vec<&str> = err.lines().filter(|l| l.contains("1 MiB")).collect();
    assert_eq!(
        notes,
        [
            "sx: standard input is longer than 1 MiB; only its first 1 MiB is used \
          (to send another part, pipe just that part, e.g. tail -c 1000000 FILE | sx -p …)"
        ],
        "{err}"
    );
    let sent = user_text(&env.server.requests_to(CODEX_RESPONSES_PATH)[0]);
    assert_eq!(
        sent,
        format!("explain\n\n<stdin>\n{}{CUT_LINE}\n</stdin>", &log[..CAP])
    );
}

#[test]
fn piped_input_that_is_not_utf8_is_refused() {
    let env = Env::new();
    env.login(AuthJson::new());
    let out = env
        .sx()
        .args(["-p", "explain"])
        .write_stdin(&b"ok\xFF\xFE"[..])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        error_line(&out),
        "error: standard input is not UTF-8 text (invalid byte at offset 2); pipe UTF-8 text \
         (convert with iconv -t UTF-8), or pass the prompt as an argument"
    );
    assert!(env.server.requests_to(CODEX_RESPONSES_PATH).is_empty());
}

/// On a terminal `sx -p PROMPT` reads nothing: were it to read, it would wait for Ctrl-D and
/// never exit by itself.
#[test]
fn piped_input_is_not_read_from_a_terminal() {
    let env = Env::new();
    env.login(AuthJson::new());
    answer(&env, "Hello there.");
    let t = start(&env, &["-p", "hello"], (80, 24));
    assert_eq!(t.wait_exit(), 0, "{}", t.screen());
    t.wait_text("Hello there.");
    let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!(user_text(&reqs[0]), "hello");
}
