//! A hostile back-end cannot make `sx` hold unbounded memory (docs/reliability.md, hole 1):
//! one SSE line that never ends, an endless stream of empty deltas (with the traffic log on,
//! its default), endless text deltas, an error page or a catalog that never ends, a token
//! endpoint that never stops answering. Each ends with one `error:` line and exit 1; the
//! child's peak resident memory (`VmHWM`) is measured and held under a bound that the
//! unbounded code passes by far (the figures are in docs/reliability.md).

use std::path::{Path, PathBuf};
use std::time::Duration;

use sx_testkit::auth::AuthJson;
use sx_testkit::{Chunk, MockResponse, OAUTH_TOKEN_PATH, anthropic};

use super::common::Env;
use super::wires::{self, Measured, Wire, repeated, run_measured};

const MIB: usize = 1024 * 1024;
/// Generous: only a broken build runs this long.
const DEADLINE: Duration = Duration::from_secs(300);

/// `sx -p` on `wire` with `extra` flags, measured.
fn run(env: &Env, wire: Wire, extra: &[&str]) -> Measured {
    let mut cmd = wires::command(env);
    cmd.args(wire.args(env)).args(["-p", "hi"]).args(extra);
    run_measured(cmd, DEADLINE)
}

/// The one `error:` line; the exit code is 1.
fn failed_with(m: &Measured) -> String {
    assert_eq!(
        m.out.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&m.out.stderr)
    );
    super::common::error_line(&m.out)
}

/// Every `*-response.txt` the session's traffic log wrote.
fn traffic_responses(proj: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![proj.join(".scorpiox")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.to_string_lossy().ends_with("-response.txt") {
                found.push(p);
            }
        }
    }
    found
}

#[test]
fn one_endless_sse_line_is_cut_at_16_mib_on_every_wire() {
    for wire in wires::ALL {
        let env = Env::new();
        wire.prepare(&env);
        let line = format!("{}data: ", wire.stream_start());
        env.server.enqueue(
            "POST",
            &wire.path(),
            MockResponse::sse_chunks(vec![
                Chunk::Bytes(line.into()),
                // 1 GiB of one line: sx must hang up long before.
                Chunk::Repeat("x".repeat(64 * 1024).into(), 16 * 1024),
            ]),
        );
        let m = run(&env, wire, &[]);
        let line = failed_with(&m);
        assert!(
            line.contains("the server's answer is too large (an event or line of the stream longer than 16 MiB)"),
            "{wire:?}: {line}"
        );
        eprintln!("{wire:?}: endless line: peak {:.1} MiB", m.peak_mib());
        assert!(
            m.peak_kib < 96 * 1024,
            "{wire:?}: peak {:.1} MiB",
            m.peak_mib()
        );
        assert_eq!(env.server.requests_to(&wire.path()).len(), 1, "not retried");
    }
}

#[test]
fn endless_empty_deltas_end_at_the_stream_limit_and_the_traffic_log_streams_to_disk() {
    for wire in wires::ALL {
        let env = Env::new();
        wire.prepare(&env);
        let deltas = repeated(&wire.delta(""), 64 * 1024);
        env.server.enqueue(
            "POST",
            &wire.path(),
            MockResponse::sse_chunks(vec![
                Chunk::Bytes(wire.stream_start().into()),
                // 8 GiB of nothing.
                Chunk::Repeat(deltas.into(), 128 * 1024),
            ]),
        );
        // The traffic log is on (its default); a smaller limit keeps the test quick.
        let m = run(&env, wire, &["-e", "STREAM_MAX_BYTES=100663296"]);
        let line = failed_with(&m);
        assert!(
            line.contains(
                "the server's answer is too large (more than 96 MiB streamed for one answer; STREAM_MAX_BYTES sets the limit)"
            ),
            "{wire:?}: {line}"
        );
        eprintln!(
            "{wire:?}: 96 MiB of empty deltas: peak {:.1} MiB",
            m.peak_mib()
        );
        assert!(
            m.peak_kib < 80 * 1024,
            "{wire:?}: peak {:.1} MiB",
            m.peak_mib()
        );
        // The traffic log kept its first 32 MiB and says so.
        let logs = traffic_responses(&env.proj);
        assert_eq!(logs.len(), 1, "{wire:?}: {logs:?}");
        let size = std::fs::metadata(&logs[0]).unwrap().len() as usize;
        assert!(
            (32 * MIB..33 * MIB).contains(&size),
            "{wire:?}: {size} bytes"
        );
        let text = std::fs::read(&logs[0]).unwrap();
        let tail = String::from_utf8_lossy(&text[text.len() - 300..]);
        assert!(
            tail.contains("[sx: the traffic log keeps the first 32 MiB of a response;"),
            "{wire:?}: {tail}"
        );
    }
}

#[test]
fn endless_text_deltas_stop_at_the_turn_content_limit() {
    // The wires that gather deltas into the answer (Codex takes the finished items instead,
    // and its endless deltas end at the stream limit above).
    for wire in [Wire::Anthropic, Wire::Gemini, Wire::Openai] {
        let env = Env::new();
        wire.prepare(&env);
        let delta = wire.delta(&"y".repeat(16 * 1024));
        env.server.enqueue(
            "POST",
            &wire.path(),
            MockResponse::sse_chunks(vec![
                Chunk::Bytes(wire.stream_start().into()),
                // 1 GiB of text.
                Chunk::Repeat(delta.into(), 64 * 1024),
            ]),
        );
        let m = run(&env, wire, &["--output-format", "json"]);
        let line = failed_with(&m);
        assert!(
            line.contains(
                "the server's answer is too large (more than 32 MiB of text and tool arguments in one answer)"
            ),
            "{wire:?}: {line}"
        );
        eprintln!("{wire:?}: endless text: peak {:.1} MiB", m.peak_mib());
        assert!(
            m.peak_kib < 128 * 1024,
            "{wire:?}: peak {:.1} MiB",
            m.peak_mib()
        );
    }
}

#[test]
fn an_error_page_that_never_ends_is_read_bounded() {
    let env = Env::new();
    let wire = Wire::Codex;
    wire.prepare(&env);
    env.server.enqueue(
        "POST",
        &wire.path(),
        MockResponse::status(502)
            .content_type("text/html")
            .chunked_body(vec![
                Chunk::Bytes("<html><body>Bad gateway".into()),
                Chunk::Repeat("<p>more</p>".repeat(4096).into(), 1 << 20),
            ]),
    );
    let m = run(&env, wire, &["-e", "REQUEST_MAX_RETRIES=0"]);
    let line = failed_with(&m);
    assert!(
        line.contains("HTTP 502") && line.contains("Bad gateway"),
        "{line}"
    );
    eprintln!("endless error page: peak {:.1} MiB", m.peak_mib());
    assert!(m.peak_kib < 96 * 1024, "peak {:.1} MiB", m.peak_mib());
}

#[test]
fn a_catalog_that_never_ends_is_refused_and_the_built_in_list_shown() {
    let env = Env::new();
    env.server.enqueue(
        "GET",
        anthropic::MODELS_PATH,
        MockResponse::status(200)
            .content_type("application/json")
            .chunked_body(vec![
                Chunk::Bytes("{\"data\":[".into()),
                Chunk::Repeat("{\"id\":\"claude-x\"},".repeat(4096).into(), 1 << 20),
            ]),
    );
    let mut cmd = wires::command(&env);
    cmd.args(Wire::Anthropic.args(&env)).arg("--list-models");
    let m = run_measured(cmd, DEADLINE);
    assert!(m.out.status.success());
    let err = String::from_utf8_lossy(&m.out.stderr);
    assert!(
        err.contains("sx: showing the built-in model list (the server's answer is too large (the answer to GET ")
            && err.contains("is larger than 8 MiB)"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&m.out.stdout).contains("claude-"));
    eprintln!("endless catalog: peak {:.1} MiB", m.peak_mib());
    assert!(m.peak_kib < 96 * 1024, "peak {:.1} MiB", m.peak_mib());
}

#[test]
fn a_token_endpoint_that_never_stops_answering_is_refused() {
    let env = Env::new();
    env.login(AuthJson::new().expires_in(-60));
    env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::status(200)
            .content_type("application/json")
            .chunked_body(vec![
                Chunk::Bytes("{\"access_token\":\"".into()),
                Chunk::Repeat("a".repeat(64 * 1024).into(), 1 << 14),
            ]),
    );
    let m = run(&env, Wire::Codex, &[]);
    let line = failed_with(&m);
    assert!(
        line.contains("reading the refresh response: the answer is larger than 1 MiB"),
        "{line}"
    );
    eprintln!("endless token reply: peak {:.1} MiB", m.peak_mib());
    assert!(m.peak_kib < 96 * 1024, "peak {:.1} MiB", m.peak_mib());
}
