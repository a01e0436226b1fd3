//! `sx -p … | head -n 1`: when the reader of stdout goes away, sx stops at once — no tool runs,
//! no further model call — and exits 0 without an error line (docs/agent.md, "A reader that
//! goes away").

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sx_testkit::auth::AuthJson;
use sx_testkit::{CODEX_RESPONSES_PATH, Chunk, MockResponse, responses};

use super::common::Env;

const FIRST: &str = "first line\n";
const REST: &str = "second line\nthird line";

/// Generous: sx needs well under a second; this only catches a run that does not stop.
const DEADLINE: Duration = Duration::from_secs(30);

/// One model turn: the text `FIRST` + `REST` (with `gate` between the two deltas, when given),
/// then, when `marker` is given, a `bash` call creating it. With `stall` the stream never
/// completes after the text.
fn turn(marker: Option<&Path>, gate: Option<&Path>, stall: bool) -> MockResponse {
    let id = responses::MSG_ID;
    let text = format!("{FIRST}{REST}");
    let mut events = vec![
        responses::created(responses::RESP_ID),
        responses::in_progress(responses::RESP_ID),
        responses::message_added(id),
        responses::content_part_added(id),
        responses::output_text_delta(id, FIRST),
        responses::output_text_delta(id, REST),
    ];
    if !stall {
        events.extend([
            responses::output_text_done(id, &text),
            responses::content_part_done(id, &text),
            responses::message_done(id, &text, None),
        ]);
        if let Some(m) = marker {
            let args = json!({"command": format!("touch {}", m.display())}).to_string();
            events.extend(responses::function_call_events(
                "fc_1", "call_1", "bash", &args,
            ));
        }
        events.push(responses::completed(
            responses::RESP_ID,
            responses::Usage {
                input: 10,
                cached: 0,
                output: 5,
                reasoning: 0,
            },
        ));
    }
    let mut chunks = Chunk::events(&responses::finalize(events));
    if let Some(g) = gate {
        // After the first delta (created, in_progress, added, part added, FIRST).
        chunks.insert(5, Chunk::WaitFor(g.to_path_buf()));
    }
    if stall {
        chunks.push(Chunk::Stall);
    }
    MockResponse::sse_chunks(chunks)
}

/// A logged-in project whose model first writes the text and asks for a `bash` call creating
/// the returned marker (gated on the returned file when `gated`), then answers `answer`.
fn marker_then_answer(answer: &str, gated: bool) -> (Env, PathBuf, PathBuf) {
    let env = Env::new();
    env.login(AuthJson::new());
    let marker = env.proj.join("marker");
    let gate = env.proj.join("reader-closed");
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        turn(Some(&marker), gated.then_some(gate.as_path()), false),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(responses::sse::encode(&responses::text_turn(answer))),
    );
    (env, marker, gate)
}

/// The write end of a pipe whose read end is already closed: every write fails (EPIPE).
fn closed_pipe() -> std::io::PipeWriter {
    let (read_end, write_end) = std::io::pipe().unwrap();
    drop(read_end);
    write_end
}

/// Wait for the child to exit; kill it and fail when it has not after [`DEADLINE`].
fn wait(child: &mut Child) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sx did not stop within {DEADLINE:?} after its reader went away");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr(child: &mut Child) -> String {
    let mut s = String::new();
    child.stderr.take().unwrap().read_to_string(&mut s).unwrap();
    s
}

fn assert_quiet_success(status: ExitStatus, stderr: &str) {
    assert!(
        !stderr.contains("error:") && !stderr.contains("panicked"),
        "stderr: {stderr}"
    );
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
}

/// Like `sx -p … | head -n 1`: read one line, close the pipe, then the model goes on.
#[test]
fn head_n_1_stops_the_run_before_the_tool_runs() {
    let (env, marker, gate) = marker_then_answer("never", true);
    let mut child = env
        .sx_std()
        .args(["-p", "make the marker", "--yolo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, FIRST);
    drop(reader);
    std::fs::write(&gate, "").unwrap();

    let status = wait(&mut child);
    assert_quiet_success(status, &stderr(&mut child));
    assert!(!marker.exists(), "the bash call ran after the reader left");
    assert_eq!(
        env.server.requests_to(CODEX_RESPONSES_PATH).len(),
        1,
        "no follow-up request"
    );
}

/// The reader is gone before sx writes anything, in each streaming format.
#[test]
fn a_closed_stdout_ends_the_run_quietly_in_every_streaming_format() {
    for format in ["text", "stream-json"] {
        let (env, marker, _) = marker_then_answer("never", false);
        let mut child = env
            .sx_std()
            .args(["-p", "make the marker", "--yolo", "--output-format", format])
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let status = wait(&mut child);
        assert_quiet_success(status, &stderr(&mut child));
        assert!(!marker.exists(), "{format}: the bash call ran");
        assert!(
            env.server.requests_to(CODEX_RESPONSES_PATH).len() <= 1,
            "{format}: no follow-up request"
        );
    }
}

/// A long answer still streaming: sx hangs up on the model instead of waiting for the end.
#[test]
fn a_streaming_answer_is_abandoned_when_the_reader_goes_away() {
    let env = Env::new();
    env.login(AuthJson::new());
    let gate = env.proj.join("reader-closed");
    env.server
        .enqueue("POST", CODEX_RESPONSES_PATH, turn(None, Some(&gate), true));
    let mut child = env
        .sx_std()
        .args(["-p", "tell me everything", "--output-format", "stream-json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    // Read until the first text delta, then go away.
    loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "sx ended early");
        let v: Value = serde_json::from_str(&line).unwrap();
        if v["type"] == "text_delta" {
            break;
        }
    }
    drop(reader);
    std::fs::write(&gate, "").unwrap();

    let status = wait(&mut child);
    assert_quiet_success(status, &stderr(&mut child));
    assert!(
        env.server.wait_for_streams_closed(DEADLINE),
        "sx hung up on the stream"
    );
}

/// A closed stderr is not a reason to stop (nor to panic): the answer still reaches stdout.
#[test]
fn a_closed_stderr_is_ignored() {
    let (env, marker, _) = marker_then_answer("done", false);
    let out = env
        .sx_std()
        .args(["-p", "make the marker", "--yolo"])
        .stderr(closed_pipe())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(marker.exists(), "the tool ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(FIRST) && stdout.ends_with("done\n"),
        "{stdout}"
    );
}
