//! `fake-claude`: stands in for the official Claude Code CLI in tests of the `claude_code`
//! provider (`CLAUDE_CODE_BIN=…/fake-claude`).
//!
//! It checks its arguments as the real CLI does (its words for a missing `--verbose` or an
//! unknown `--permission-mode`), reads stdin to its end (each line must be JSON, as with
//! `--input-format stream-json`), records the call, then replays a script: the CLI's
//! `stream-json` output as recorded in `tests/fixtures/claude_code/` (README there).
//!
//! Environment:
//! - `FAKE_CLAUDE_SCRIPT`: the script file; several separated by `,` are used one per call
//!   (the n-th call takes the n-th, the last one repeats).
//! - `FAKE_CLAUDE_LOG`: a file that gets one JSON line per call, written before the replay:
//!   `{"argv":[…],"stdin":[…the JSON lines…],"cwd":"…"}`. Its line count numbers the calls.
//! - `FAKE_CLAUDE_PIDS`: a file that gets the pid of the fake (and of its `#child`), one a line.
//!
//! Script lines are printed to stdout as they are (flushed one by one), except directives:
//! `#stderr TEXT` (a line on stderr), `#exit N` (exit now with N), `#child` (start a
//! `sleep 600` in the fake's process group), `#hang` (wait until killed).

use std::io::{BufRead, Read, Write};
use std::process::ExitCode;

const MODES: &[&str] = &[
    "acceptEdits",
    "auto",
    "bypassPermissions",
    "default",
    "dontAsk",
    "plan",
];

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if let Err((msg, code)) = check_args(&argv) {
        eprintln!("{msg}");
        return ExitCode::from(code);
    }
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("fake-claude: cannot read stdin: {e}");
        return ExitCode::from(1);
    }
    let mut stdin = Vec::new();
    for line in input.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(v) => stdin.push(v),
            Err(e) => {
                eprintln!("Error parsing streaming input line: {line}: {e}");
                return ExitCode::from(1);
            }
        }
    }
    let call = record(&argv, stdin);
    let Some(scripts) = std::env::var_os("FAKE_CLAUDE_SCRIPT") else {
        eprintln!("fake-claude: FAKE_CLAUDE_SCRIPT is not set");
        return ExitCode::from(101);
    };
    let scripts = scripts.to_string_lossy().into_owned();
    let list: Vec<&str> = scripts.split(',').collect();
    let path = list[call.min(list.len() - 1)];
    let script = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fake-claude: cannot read {path}: {e}");
            return ExitCode::from(101);
        }
    };
    note_pid(std::process::id());
    replay(&script)
}

/// The real CLI's checks (its words, recorded from Claude Code 2.1.197).
fn check_args(argv: &[String]) -> Result<(), (String, u8)> {
    let has = |flag: &str| argv.iter().any(|a| a == flag);
    let value = |flag: &str| {
        argv.iter()
            .position(|a| a == flag)
            .and_then(|i| argv.get(i + 1))
    };
    if let Some(mode) = value("--permission-mode")
        && !MODES.contains(&mode.as_str())
    {
        return Err((
            format!(
                "error: option '--permission-mode <mode>' argument '{mode}' is invalid. Allowed choices are {}.",
                MODES.join(", ")
            ),
            1,
        ));
    }
    if !has("-p") && !has("--print") {
        return Err(("fake-claude: only -p (print mode) is faked".into(), 101));
    }
    if value("--output-format").map(String::as_str) == Some("stream-json") && !has("--verbose") {
        return Err((
            "Error: When using --print, --output-format=stream-json requires --verbose".into(),
            1,
        ));
    }
    Ok(())
}

/// Append this call to `FAKE_CLAUDE_LOG`; returns how many calls came before it.
fn record(argv: &[String], stdin: Vec<serde_json::Value>) -> usize {
    let Some(log) = std::env::var_os("FAKE_CLAUDE_LOG") else {
        return 0;
    };
    let before = std::fs::File::open(&log)
        .map(|f| std::io::BufReader::new(f).lines().count())
        .unwrap_or(0);
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let entry = serde_json::json!({"argv": argv, "stdin": stdin, "cwd": cwd});
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .expect("FAKE_CLAUDE_LOG can be written");
    writeln!(f, "{entry}").expect("FAKE_CLAUDE_LOG can be written");
    before
}

fn note_pid(pid: u32) {
    if let Some(file) = std::env::var_os("FAKE_CLAUDE_PIDS") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
            .expect("FAKE_CLAUDE_PIDS can be written");
        writeln!(f, "{pid}").expect("FAKE_CLAUDE_PIDS can be written");
    }
}

fn replay(script: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let mut children = Vec::new();
    for line in script.lines() {
        if let Some(text) = line.strip_prefix("#stderr ") {
            eprintln!("{text}");
        } else if let Some(code) = line.strip_prefix("#exit ") {
            let _ = out.flush();
            return ExitCode::from(code.trim().parse::<u8>().unwrap_or(1));
        } else if line == "#child" {
            let child = std::process::Command::new("sleep")
                .arg("600")
                .spawn()
                .expect("sleep starts");
            note_pid(child.id());
            // Never waited for: it is the CLI's leftover the provider must kill with the group.
            children.push(child);
        } else if line == "#hang" {
            let _ = out.flush();
            loop {
                std::thread::park();
                // Reaped only if it ended (it never does before the group is killed).
                children.retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_))));
            }
        } else if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            // The reader went away: so does the CLI.
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
