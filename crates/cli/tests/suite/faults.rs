//! Fault injection through the real binary, the same table on every HTTP wire
//! (docs/reliability.md, "Fault-injection suite"): the connection refused; dropped after one
//! byte, in the middle of an event and between events; a stall past the idle timeout; 500,
//! 502, 503 and 529; 429 with `Retry-After` and with "try again in Ns"; a stream that ends
//! early; a malformed JSON event; an HTML page with status 200 (labelled as such, and labelled
//! as a stream); a 401 that a refresh cures and one that it does not.
//!
//! Each fault is either survived — recovered within the retry budget, the answer exactly the
//! one the retry streamed — or reported in one `error:` line with its exit code. After each,
//! the transcript is intact: `--continue` runs a second turn whose request carries the first
//! prompt, and the first answer once (output voided by a retry never reaches the transcript).
//! The per-wire files (`sx_retries.rs`, `*_errors.rs`, `codex_wire.rs`) test more detail of
//! the same cases: the request body repeated byte for byte, each error's wording.

use serde_json::{Value, json};
use sx_testkit::auth::oauth_refresh_ok;
use sx_testkit::{Chunk, ClosedPort, MockResponse, OAUTH_TOKEN_PATH};

use super::common::{Env, error_line, json_lines, stderr_of};
use super::wires::Wire;

const PROMPT: &str = "first-turn-prompt-4711";
const ANSWER: &str = "the answer after the fault";
const PARTIAL: &str = "voided-partial-output ";

/// How a fault must end.
enum Outcome {
    /// The run succeeds after `retries` retry events.
    Survived { retries: usize },
    /// One `error:` line holding `words`, exit code `exit`.
    Reported { exit: i32, words: String },
}

use Outcome::{Reported, Survived};

/// One fault: it scripts the mock (and may add flags for the first run) and says how the run
/// must end.
struct Fault {
    name: &'static str,
    inject: fn(&Env, Wire) -> (Vec<String>, Outcome),
}

fn enqueue(env: &Env, wire: Wire, r: MockResponse) {
    env.server.enqueue("POST", &wire.path(), r);
}

/// A stream that starts the answer, says [`PARTIAL`], then does `then`.
fn partial_then(wire: Wire, then: Chunk) -> MockResponse {
    MockResponse::sse_chunks(vec![
        Chunk::Bytes(format!("{}{}", wire.stream_start(), wire.delta(PARTIAL)).into()),
        then,
    ])
}

/// An HTTP error, then the answer.
fn status_fault(env: &Env, wire: Wire, status: u16) -> (Vec<String>, Outcome) {
    enqueue(
        env,
        wire,
        MockResponse::json(status, wire.error_body(status, "the server failed")),
    );
    enqueue(env, wire, wire.answer(ANSWER));
    (vec![], Survived { retries: 1 })
}

const FAULTS: &[Fault] = &[
    Fault {
        name: "connection refused",
        inject: |env, wire| {
            let closed = ClosedPort::bind();
            let (key, value) = wire.base_url(&closed.url());
            // The port stays closed as long as `closed` lives: leak it for the run.
            std::mem::forget(closed);
            let _ = env;
            (
                vec!["-e".into(), format!("{key}={value}")],
                Reported {
                    exit: 1,
                    words: "connection refused".into(),
                },
            )
        },
    },
    Fault {
        name: "dropped after 1 byte",
        inject: |env, wire| {
            let first = wire.answer_bytes(ANSWER)[..1].to_string();
            enqueue(
                env,
                wire,
                MockResponse::sse_chunks(vec![Chunk::Bytes(first.into()), Chunk::Abort]),
            );
            enqueue(env, wire, wire.answer(ANSWER));
            (vec![], Survived { retries: 1 })
        },
    },
    Fault {
        name: "dropped mid-event",
        inject: |env, wire| {
            let event = wire.delta(PARTIAL);
            let cut = format!("{}{}", wire.stream_start(), &event[..event.len() / 2]);
            enqueue(
                env,
                wire,
                MockResponse::sse_chunks(vec![Chunk::Bytes(cut.into()), Chunk::Abort]),
            );
            enqueue(env, wire, wire.answer(ANSWER));
            (vec![], Survived { retries: 1 })
        },
    },
    Fault {
        name: "dropped between events",
        inject: |env, wire| {
            enqueue(env, wire, partial_then(wire, Chunk::Abort));
            enqueue(env, wire, wire.answer(ANSWER));
            (vec![], Survived { retries: 1 })
        },
    },
    Fault {
        name: "stalled past the idle timeout",
        inject: |env, wire| {
            enqueue(env, wire, partial_then(wire, Chunk::Stall));
            enqueue(env, wire, wire.answer(ANSWER));
            (
                vec!["-e".into(), "STREAM_IDLE_TIMEOUT_MS=1000".into()],
                Survived { retries: 1 },
            )
        },
    },
    Fault {
        name: "HTTP 500",
        inject: |e, w| status_fault(e, w, 500),
    },
    Fault {
        name: "HTTP 502",
        inject: |e, w| status_fault(e, w, 502),
    },
    Fault {
        name: "HTTP 503",
        inject: |e, w| status_fault(e, w, 503),
    },
    Fault {
        name: "HTTP 529",
        inject: |e, w| status_fault(e, w, 529),
    },
    Fault {
        name: "429 with Retry-After",
        inject: |env, wire| {
            enqueue(
                env,
                wire,
                MockResponse::json(429, wire.error_body(429, "Rate limit reached."))
                    .header("retry-after", "0.05"),
            );
            enqueue(env, wire, wire.answer(ANSWER));
            (vec![], Survived { retries: 1 })
        },
    },
    Fault {
        name: "429 with \"try again in Ns\"",
        inject: |env, wire| {
            enqueue(
                env,
                wire,
                MockResponse::json(
                    429,
                    wire.error_body(429, "Rate limit reached. Please try again in 0.05s."),
                ),
            );
            enqueue(env, wire, wire.answer(ANSWER));
            (vec![], Survived { retries: 1 })
        },
    },
    Fault {
        name: "truncated stream",
        inject: |env, wire| {
            enqueue(
                env,
                wire,
                MockResponse::sse(format!("{}{}", wire.stream_start(), wire.delta(PARTIAL))),
            );
            enqueue(env, wire, wire.answer(ANSWER));
            (vec![], Survived { retries: 1 })
        },
    },
    Fault {
        name: "malformed JSON event",
        inject: |env, wire| {
            // A broken event in the middle of an otherwise whole answer.
            let whole = wire.answer_bytes(ANSWER);
            let start = wire.stream_start();
            let body = format!(
                "{start}{}{}",
                wire.frame("{\"type\": \"response.output_text.delta\", \"delta\": \"unterminated"),
                &whole[start.len()..]
            );
            enqueue(env, wire, MockResponse::sse(body));
            let outcome = match wire {
                // Codex and Chat Completions servers skip what does not parse, as their
                // official clients do; the answer stands.
                Wire::Codex | Wire::Openai => Survived { retries: 0 },
                Wire::Anthropic => Reported {
                    exit: 1,
                    words: "a stream event is not JSON".into(),
                },
                Wire::Gemini => Reported {
                    exit: 1,
                    words: "Gemini sent an event that is not a response".into(),
                },
            };
            (vec![], outcome)
        },
    },
    Fault {
        name: "HTML page with status 200",
        inject: |env, wire| {
            enqueue(
                env,
                wire,
                MockResponse::status(200).content_type("text/html").body(
                    "<!DOCTYPE html><html><head><title>Proxy sign-in</title></head><body>Log in</body></html>",
                ),
            );
            (vec![], html_reported(wire))
        },
    },
    Fault {
        name: "HTML page with status 200, labelled as a stream",
        inject: |env, wire| {
            enqueue(
                env,
                wire,
                MockResponse::sse(
                    "<html><head><title>Proxy sign-in</title></head><body>Log in</body></html>",
                ),
            );
            (vec![], html_reported(wire))
        },
    },
    Fault {
        name: "401, cured by a refresh",
        inject: |env, wire| {
            enqueue(
                env,
                wire,
                MockResponse::json(401, json!({"error": {"message": "token expired"}})),
            );
            match wire {
                Wire::Codex => {
                    env.server.enqueue(
                        "POST",
                        OAUTH_TOKEN_PATH,
                        MockResponse::json(200, oauth_refresh_ok(3600, "fresh", None)),
                    );
                    enqueue(env, wire, wire.answer(ANSWER));
                    (vec![], Survived { retries: 0 })
                }
                // A key cannot be refreshed: reported at once, naming the key.
                _ => (
                    vec![],
                    Reported {
                        exit: 3,
                        words: key_rejected(wire).into(),
                    },
                ),
            }
        },
    },
    Fault {
        name: "401 after the refresh",
        inject: |env, wire| {
            // A key is reported at the first 401; a Codex token is refreshed once and the
            // second 401 reported.
            let tries = if wire == Wire::Codex { 2 } else { 1 };
            for _ in 0..tries {
                enqueue(
                    env,
                    wire,
                    MockResponse::json(401, json!({"error": {"message": "token revoked"}})),
                );
            }
            if wire == Wire::Codex {
                env.server.enqueue(
                    "POST",
                    OAUTH_TOKEN_PATH,
                    MockResponse::json(200, oauth_refresh_ok(3600, "fresh", None)),
                );
            }
            let words = match wire {
                Wire::Codex => "rejected the Codex token",
                _ => key_rejected(wire),
            };
            (
                vec![],
                Reported {
                    exit: 3,
                    words: words.into(),
                },
            )
        },
    },
];

/// How a wire with a key (or none) reports a 401.
fn key_rejected(wire: Wire) -> &'static str {
    match wire {
        Wire::Openai => "the OpenAI-compatible server requires authentication (HTTP 401",
        _ => "rejected",
    }
}

fn html_reported(wire: Wire) -> Outcome {
    let (key, _) = wire.base_url("");
    Reported {
        exit: 1,
        words: format!(
            "the server sent an HTML page instead of an event stream: \"Proxy sign-in\"; check {key}"
        ),
    }
}

/// The answer's text in a `stream-json` run: the deltas after the last retry (a retry voids
/// what came before it).
fn final_text(events: &[Value]) -> String {
    let after = events
        .iter()
        .rposition(|e| e["type"] == "retry")
        .map_or(0, |i| i + 1);
    events[after..]
        .iter()
        .filter(|e| e["type"] == "text_delta")
        .map(|e| e["text"].as_str().unwrap_or(""))
        .collect()
}

/// Run every fault on `wire`; each in its own project, then a second turn with `--continue`.
fn run_all(wire: Wire) {
    let mut survived = 0;
    for fault in FAULTS {
        let env = Env::new();
        wire.prepare(&env);
        let (extra, outcome) = (fault.inject)(&env, wire);
        let what = format!("{wire:?}, {}", fault.name);
        let mut args: Vec<String> = vec![
            "-p".into(),
            PROMPT.into(),
            "--output-format".into(),
            "stream-json".into(),
        ];
        args.extend(extra);
        let out = wire.sx(&env, &[]).args(&args).output().unwrap();
        let stderr = stderr_of(&out);
        let events = json_lines(&out.stdout);
        let answered = match &outcome {
            Survived { retries } => {
                assert!(out.status.success(), "{what}: {stderr}");
                let seen = events.iter().filter(|e| e["type"] == "retry").count();
                assert_eq!(seen, *retries, "{what}: retry events: {events:?}");
                assert_eq!(final_text(&events), ANSWER, "{what}: {events:?}");
                if fault.name.starts_with("429") {
                    let retry = events.iter().find(|e| e["type"] == "retry").unwrap();
                    assert_eq!(retry["delay_ms"], 50, "{what}: the server's delay");
                }
                survived += 1;
                true
            }
            Reported { exit, words } => {
                assert_eq!(out.status.code(), Some(*exit), "{what}: {stderr}");
                let line = error_line(&out);
                assert!(line.contains(words.as_str()), "{what}: {line}");
                false
            }
        };

        // The transcript is intact: a second turn resumes it.
        let before = env.server.requests_to(&wire.path()).len();
        env.server
            .enqueue("POST", &wire.path(), wire.answer("second answer"));
        let out = wire
            .sx(&env, &["--continue", "-p", "second-turn-prompt"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{what}, --continue: {}",
            stderr_of(&out)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "second answer",
            "{what}"
        );
        let reqs = env.server.requests_to(&wire.path());
        assert_eq!(reqs.len(), before + 1, "{what}");
        let body = reqs.last().unwrap().text();
        assert!(body.contains(PROMPT), "{what}: the first prompt is resumed");
        assert!(body.contains("second-turn-prompt"), "{what}");
        assert!(!body.contains(PARTIAL), "{what}: voided output was kept");
        let answers = body.matches(ANSWER).count();
        assert_eq!(
            answers,
            usize::from(answered),
            "{what}: the first answer, once when there was one"
        );
    }
    eprintln!(
        "{wire:?}: {survived} of {} faults survived, the rest reported in one line; every transcript resumed",
        FAULTS.len()
    );
}

#[test]
fn every_fault_on_codex() {
    run_all(Wire::Codex);
}

#[test]
fn every_fault_on_anthropic() {
    run_all(Wire::Anthropic);
}

#[test]
fn every_fault_on_gemini() {
    run_all(Wire::Gemini);
}

#[test]
fn every_fault_on_openai() {
    run_all(Wire::Openai);
}
