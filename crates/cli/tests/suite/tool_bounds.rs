//! A model pointing the read-only tools at what never ends (docs/reliability.md, hole 2):
//! `read_image` and `read_file` on `/dev/zero` or a FIFO, `grep` over `/`. Each call comes back
//! to the model as a tool result — an error saying what is wrong, or a bounded answer — and
//! the run goes on to its answer; nothing hangs and memory stays bounded. The tools run
//! without `--yolo` (they only read).

use std::time::Duration;

use serde_json::{Value, json};
use sx_testkit::auth::AuthJson;
use sx_testkit::{CODEX_RESPONSES_PATH, MockResponse, responses, sse};

use super::common::{Env, json_lines};
use super::wires::{self, Measured, run_measured};

/// The model calls `tool` with `args`, then answers "done". Returns the tool's result event
/// and the run, measured.
fn call(env: &Env, tool: &str, args: Value) -> (Value, Measured) {
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&responses::function_call_turn(
            "call_1",
            tool,
            &args.to_string(),
        ))),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&responses::text_turn("done"))),
    );
    let mut cmd = wires::command(env);
    cmd.args(env.sx_args())
        .args(["-p", "look", "--output-format", "stream-json"]);
    let m = run_measured(cmd, Duration::from_secs(300));
    assert!(
        m.out.status.success(),
        "{tool} {args}: {}",
        String::from_utf8_lossy(&m.out.stderr)
    );
    let events = json_lines(&m.out.stdout);
    let result = events
        .iter()
        .find(|e| e["type"] == "tool_result")
        .unwrap_or_else(|| panic!("no tool result: {events:?}"))
        .clone();
    assert_eq!(
        events.last().unwrap()["stop_reason"],
        "end_turn",
        "the run goes on after the tool"
    );
    (result, m)
}

fn fifo(env: &Env) -> String {
    let p = env.proj.join("pipe");
    nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    p.display().to_string()
}

#[test]
fn devices_and_fifos_are_refused_with_a_tool_error() {
    let env = Env::new();
    env.login(AuthJson::new());
    let pipe = fifo(&env);
    for (tool, path, words) in [
        (
            "read_image",
            "/dev/zero",
            "cannot read image /dev/zero: it is not a regular file (a device, socket or FIFO)",
        ),
        (
            "read_image",
            pipe.as_str(),
            "it is not a regular file (a device, socket or FIFO)",
        ),
        (
            "read_file",
            "/dev/zero",
            "/dev/zero is not a regular file (a device, socket or FIFO)",
        ),
        (
            "read_file",
            pipe.as_str(),
            "is not a regular file (a device, socket or FIFO)",
        ),
    ] {
        let (result, m) = call(&env, tool, json!({"path": path}));
        assert_eq!(result["is_error"], true, "{tool} {path}: {result}");
        let output = result["output"].as_str().unwrap();
        assert!(output.contains(words), "{tool} {path}: {output}");
        eprintln!("{tool} {path}: peak {:.1} MiB", m.peak_mib());
        assert!(
            m.peak_kib < 96 * 1024,
            "{tool} {path}: {:.1} MiB",
            m.peak_mib()
        );
    }
}

#[test]
fn grep_over_the_whole_file_system_comes_back_bounded() {
    let env = Env::new();
    env.login(AuthJson::new());
    // A pattern found nowhere: the walk covers all it may (and /proc/kmsg, a "regular" file
    // whose read waits for the kernel, is opened without blocking).
    let (result, m) = call(
        &env,
        "grep",
        json!({"pattern": "sx-no-such-text-[0-9]{12}-zq", "path": "/"}),
    );
    let output = result["output"].as_str().unwrap();
    assert_eq!(result["is_error"], false, "{output}");
    assert!(
        output.starts_with("No matches for `sx-no-such-text-[0-9]{12}-zq` in /"),
        "{output}"
    );
    eprintln!("grep over /: peak {:.1} MiB; {output}", m.peak_mib());
    assert!(m.peak_kib < 256 * 1024, "{:.1} MiB", m.peak_mib());
}
