//! The four HTTP wires as a table, for tests that run the same case on each (the fault suite,
//! the hostile streams), and a child's peak memory. Each wire's mock speaks its own protocol;
//! the test only says "a whole answer", "the start of a stream", "one delta".

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sx_testkit::{CODEX_RESPONSES_PATH, MockResponse, anthropic, gemini, openai, responses, sse};

use super::common::Env;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    Codex,
    Anthropic,
    Gemini,
    Openai,
}

pub const ALL: [Wire; 4] = [Wire::Codex, Wire::Anthropic, Wire::Gemini, Wire::Openai];

impl Wire {
    /// The model call's path at the mock.
    pub fn path(self) -> String {
        match self {
            Wire::Codex => CODEX_RESPONSES_PATH.to_string(),
            Wire::Anthropic => anthropic::MESSAGES_PATH.to_string(),
            Wire::Gemini => gemini::stream_path(gemini::MODEL),
            Wire::Openai => openai::CHAT_PATH.to_string(),
        }
    }

    /// Flags that point `sx` at the mock with this wire (and fast retries). Codex also needs a
    /// login ([`Wire::prepare`]).
    pub fn args(self, env: &Env) -> Vec<String> {
        let url = env.server.url();
        let e = |k: &str, v: &str| vec!["-e".to_string(), format!("{k}={v}")];
        let mut a: Vec<String> = Vec::new();
        match self {
            Wire::Codex => a.extend(env.sx_args()),
            Wire::Anthropic => {
                a.extend(["--provider".into(), "anthropic".into()]);
                a.extend(e("ANTHROPIC_BASE_URL", &url));
                a.extend(e("ANTHROPIC_API_KEY", "sk-ant-test-key-0001"));
            }
            Wire::Gemini => {
                a.extend(["--provider".into(), "gemini".into()]);
                a.extend(["-m".into(), gemini::MODEL.into()]);
                a.extend(e("GEMINI_BASE_URL", &url));
                a.extend(e("GEMINI_API_KEY", "gm-test-key-0001"));
                a.extend(e("GEMINI_CACHE", "0"));
            }
            Wire::Openai => {
                a.extend(["--provider".into(), "openai".into()]);
                a.extend(["-m".into(), "local-model".into()]);
                a.extend(e("OPENAI_BASE_URL", &url));
            }
        }
        a.extend(e("RETRY_BASE_DELAY_MS", "5"));
        a
    }

    /// What the wire needs before a run: a Codex login.
    pub fn prepare(self, env: &Env) {
        if self == Wire::Codex {
            env.login(sx_testkit::auth::AuthJson::new());
        }
    }

    /// `sx` on this wire, with `extra` arguments.
    pub fn sx(self, env: &Env, extra: &[&str]) -> super::common::Cmd {
        let mut c = env.cmd("sx");
        c.args(self.args(env)).args(extra);
        c
    }

    /// A whole answer saying `text`, as bytes of the stream.
    pub fn answer_bytes(self, text: &str) -> String {
        match self {
            Wire::Codex => sse::encode(&responses::text_turn(text)),
            Wire::Anthropic => sse::encode(&anthropic::text_turn(text)),
            Wire::Gemini => gemini::encode(&gemini::text_turn(text)),
            Wire::Openai => openai::text_turn(text),
        }
    }

    /// A whole answer saying `text`.
    pub fn answer(self, text: &str) -> MockResponse {
        MockResponse::sse(self.answer_bytes(text))
    }

    /// The events that open a streamed text answer, before its first delta.
    pub fn stream_start(self) -> String {
        match self {
            Wire::Codex => sse::encode(&[
                responses::created(responses::RESP_ID),
                responses::message_added(responses::MSG_ID),
                responses::content_part_added(responses::MSG_ID),
            ]),
            Wire::Anthropic => sse::encode(&[
                anthropic::message_start(anthropic::TURN_USAGE),
                anthropic::text_start(0),
            ]),
            Wire::Gemini => String::new(),
            Wire::Openai => openai::encode_chunks(&[openai::role()]),
        }
    }

    /// One text delta event carrying `text` (empty: an event that adds nothing).
    pub fn delta(self, text: &str) -> String {
        match self {
            Wire::Codex => sse::encode(&[responses::output_text_delta(responses::MSG_ID, text)]),
            Wire::Anthropic => sse::encode(&[anthropic::text_delta(0, text)]),
            Wire::Gemini => gemini::encode(&[gemini::chunk(vec![gemini::text(text)])]),
            Wire::Openai => openai::encode_chunks(&[openai::chunk(json!({"content": text}), None)]),
        }
    }

    /// The wire's way of framing one event's data (for hand-made, malformed events).
    pub fn frame(self, data: &str) -> String {
        match self {
            Wire::Codex => format!("event: response.output_text.delta\ndata: {data}\n\n"),
            Wire::Anthropic => format!("event: content_block_delta\ndata: {data}\n\n"),
            Wire::Gemini => format!("data: {data}\r\n\r\n"),
            Wire::Openai => format!("data: {data}\n\n"),
        }
    }

    /// An error body of this wire's server.
    pub fn error_body(self, status: u16, message: &str) -> Value {
        let limited = status == 429;
        match self {
            Wire::Codex | Wire::Openai => {
                let kind = if limited {
                    "rate_limit_exceeded"
                } else {
                    "server_error"
                };
                json!({"error": {"message": message, "type": kind, "code": null}})
            }
            Wire::Anthropic => {
                let kind = match status {
                    429 => "rate_limit_error",
                    529 => "overloaded_error",
                    _ => "api_error",
                };
                json!({"type": "error", "error": {"type": kind, "message": message}})
            }
            Wire::Gemini => {
                let kind = match status {
                    429 => "RESOURCE_EXHAUSTED",
                    503 => "UNAVAILABLE",
                    _ => "INTERNAL",
                };
                gemini::error_body(status, kind, message, json!([]))
            }
        }
    }

    /// The configuration key of the wire's base URL, and its value for a server at `url`.
    pub fn base_url(self, url: &str) -> (&'static str, String) {
        match self {
            Wire::Codex => ("CODEX_BASE_URL", format!("{url}/backend-api/codex")),
            Wire::Anthropic => ("ANTHROPIC_BASE_URL", url.to_string()),
            Wire::Gemini => ("GEMINI_BASE_URL", url.to_string()),
            Wire::Openai => ("OPENAI_BASE_URL", url.to_string()),
        }
    }
}

/// `sx` as a plain `Command` with a clean environment (HOME ours, cwd the project), for
/// [`run_measured`]; add the wire's flags with [`Wire::args`].
pub fn command(env: &Env) -> Command {
    let mut c = Command::new(super::common::bin_path("sx"));
    c.env_clear()
        .env("HOME", &env.home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(&env.proj);
    c
}

/// `bytes` repeated to about `size` bytes, as one chunk (so a mock can send many events per
/// write).
pub fn repeated(bytes: &str, size: usize) -> String {
    bytes.repeat((size / bytes.len()).max(1))
}

/// A finished child process and the highest resident memory it was seen using.
pub struct Measured {
    pub out: Output,
    /// `VmHWM` (the kernel's high-water mark of resident memory) in KiB, polled while it ran.
    pub peak_kib: u64,
}

impl Measured {
    pub fn peak_mib(&self) -> f64 {
        self.peak_kib as f64 / 1024.0
    }
}

/// Run `cmd` to its end, polling its `/proc/<pid>/status` for `VmHWM`. The high-water mark
/// only grows, so the last reading before the process exits holds its peak (up to what it
/// allocated in its last few milliseconds). Fails the test after `deadline`.
pub fn run_measured(mut cmd: Command, deadline: Duration) -> Measured {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let status_file = format!("/proc/{}/status", child.id());
    let started = Instant::now();
    let mut peak_kib = 0;
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(&status_file)
            && let Some(kib) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            panic!("the child ran past {deadline:?} (peak so far {peak_kib} KiB)");
        }
        // Sampling, not synchronisation: the reading only needs to come often.
        std::thread::sleep(Duration::from_millis(2));
    };
    let out = Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    };
    super::common::assert_no_panic(&String::from_utf8_lossy(&out.stderr));
    Measured { out, peak_kib }
}
