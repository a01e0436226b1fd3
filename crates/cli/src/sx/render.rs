//! Rendering the agent's events for one-shot runs: plain text (answer on stdout, everything
//! else on stderr), `stream-json` (one JSON line per event) or `json` (one object at the end).
//!
//! When the reader of stdout goes away (`sx -p … | head -n 1`: a write fails with a broken
//! pipe) the renderer cancels the run and renders nothing more; `sx` then exits 0 without an
//! error line, as ripgrep does (docs/agent.md). Writes to stderr never fail the run.

use std::io::{self, Write};

use serde_json::{Value, json};
use sx_agent::{AgentEvent, StopReason};
use sxnet::model::Usage;
use tokio_util::sync::CancellationToken;

use super::args::OutputFormat;
use crate::terminal::{stderr_is_terminal, stdout_is_terminal, strip_controls};
use crate::{stderr_line, stderr_styled_line};

pub struct Renderer {
    format: OutputFormat,
    /// stderr is a terminal: dim the thinking.
    dim: bool,
    /// Text mode: what kind of output was written last (to separate thinking from text).
    last: Last,
    /// Text mode: stdout got text and it did not end with a newline.
    open_line: bool,
    /// Text mode: the usage-window warning was shown (once per run).
    warned_limits: bool,
    /// `json` mode accumulators.
    session: Value,
    usage: Usage,
    tool_calls: Vec<Value>,
    error: Option<Value>,
    /// Cancelled when the reader of stdout goes away.
    cancel: CancellationToken,
    /// A write to stdout failed with a broken pipe: render nothing more.
    reader_gone: bool,
    /// `--verbose`: usage per model turn and retries on stderr in every format.
    verbose: bool,
    /// Text mode: names of the built-in tools other than `bash` (their results show one
    /// line; commands show a tail, `activity`).
    file_tools: Vec<&'static str>,
    /// Columns for stderr lines.
    width: usize,
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Last {
    Nothing,
    Thinking,
    Text,
}

impl Renderer {
    /// `cancel` is the run's token: cancelled when stdout's reader goes away.
    pub fn new(format: OutputFormat, cancel: CancellationToken) -> Self {
        Renderer {
            format,
            dim: stderr_is_terminal(),
            last: Last::Nothing,
            open_line: false,
            warned_limits: false,
            session: Value::Null,
            usage: Usage::default(),
            tool_calls: Vec::new(),
            error: None,
            cancel,
            reader_gone: false,
            verbose: false,
            file_tools: sx_agent::tools::builtin()
                .iter()
                .map(|t| t.name())
                .filter(|n| *n != "bash")
                .collect(),
            width: super::activity::stderr_width(),
        }
    }

    /// Say more on stderr (`--verbose`).
    pub fn verbose(mut self, on: bool) -> Self {
        self.verbose = on;
        self
    }

    /// Whether stdout's reader went away (the run was cancelled for it).
    pub fn reader_gone(&self) -> bool {
        self.reader_gone
    }

    pub fn event(&mut self, ev: AgentEvent<'_>) {
        if self.reader_gone {
            return;
        }
        if self.verbose {
            self.verbose_line(&ev);
        }
        match self.format {
            OutputFormat::Text => self.text(ev),
            OutputFormat::StreamJson => {
                if let Some(v) = event_json(&ev) {
                    self.stdout(|out| {
                        serde_json::to_writer(&mut *out, &v)?;
                        out.write_all(b"\n")
                    });
                }
                if let AgentEvent::Notice(n) = ev {
                    stderr_line(format_args!("sx: {n}"));
                }
            }
            OutputFormat::Json => self.collect(ev),
        }
    }

    /// Write to stdout and flush. A broken pipe (the reader went away) cancels the run and
    /// silences the renderer; other failures are ignored, as before.
    fn stdout(&mut self, write: impl FnOnce(&mut io::StdoutLock<'static>) -> io::Result<()>) {
        let mut out = io::stdout().lock();
        let written = write(&mut out).and_then(|()| out.flush());
        if let Err(e) = written
            && e.kind() == io::ErrorKind::BrokenPipe
        {
            self.reader_gone = true;
            self.cancel.cancel();
        }
    }

    fn text(&mut self, ev: AgentEvent<'_>) {
        match ev {
            AgentEvent::TextDelta(t) => {
                if self.last == Last::Thinking {
                    self.end_thinking();
                }
                // On a terminal a model's control bytes are removed (docs/reliability.md).
                let shown = if stdout_is_terminal() {
                    strip_controls(t)
                } else {
                    t.into()
                };
                self.stdout(|out| out.write_all(shown.as_bytes()));
                sx_config::phases::mark("text written");
                self.open_line = !t.ends_with('\n');
                self.last = Last::Text;
            }
            AgentEvent::ThinkingDelta(t) => {
                let mut err = std::io::stderr().lock();
                if self.dim {
                    let _ = write!(err, "\x1b[2m{}\x1b[0m", strip_controls(t));
                } else {
                    let _ = err.write_all(t.as_bytes());
                }
                let _ = err.flush();
                self.last = Last::Thinking;
            }
            AgentEvent::ToolCall { name, input, .. } => {
                self.end_thinking();
                self.dimmed_line(&format!("● {name} {}", summarize(input)));
            }
            AgentEvent::Diff(d) => {
                self.end_thinking();
                let mut err = std::io::stderr().lock();
                for line in d.lines() {
                    let line = if self.dim {
                        strip_controls(line)
                    } else {
                        line.into()
                    };
                    let _ = match (self.dim, line.as_bytes().first()) {
                        (true, Some(b'+')) if !line.starts_with("+++") => {
                            writeln!(err, "\x1b[32m{line}\x1b[0m")
                        }
                        (true, Some(b'-')) if !line.starts_with("---") => {
                            writeln!(err, "\x1b[31m{line}\x1b[0m")
                        }
                        _ => writeln!(err, "{line}"),
                    };
                }
            }
            AgentEvent::ToolResult {
                name,
                output,
                is_error,
                ..
            } => {
                let command = !self.file_tools.contains(&name);
                for line in super::activity::result_lines(output, is_error, command, self.width) {
                    self.dimmed_line(&line);
                }
            }
            AgentEvent::FunctionCall {
                name, arguments, ..
            } => {
                self.end_thinking();
                self.dimmed_line(&format!("● {name} {}", summarize(arguments)));
                self.dimmed_line("  ⎿ returned to the caller");
            }
            AgentEvent::Retry {
                attempt,
                delay,
                reason,
            } => {
                self.end_thinking();
                if self.last == Last::Text && self.open_line {
                    self.stdout(|out| out.write_all(b"\n"));
                    self.open_line = false;
                }
                stderr_line(format_args!(
                    "sx: retrying in {:.1}s (attempt {attempt}): {reason}",
                    delay.as_secs_f64()
                ));
            }
            AgentEvent::Notice(n) => {
                self.end_thinking();
                stderr_line(format_args!("sx: {n}"));
            }
            AgentEvent::RateLimits(l) => {
                if let Some(w) = l.highest().filter(|w| w.used_percent >= LIMIT_WARNING)
                    && !self.warned_limits
                {
                    self.warned_limits = true;
                    self.end_thinking();
                    stderr_line(format_args!("sx: warning: {}", limit_warning(w)));
                }
            }
            AgentEvent::ToolCallStarted { .. } => {}
            AgentEvent::Done { .. } => {
                self.end_thinking();
                if self.open_line {
                    self.stdout(|out| out.write_all(b"\n"));
                    self.open_line = false;
                }
            }
            // The error itself is printed once, as the process's `error:` line.
            AgentEvent::Session { .. } | AgentEvent::Usage(_) | AgentEvent::Error { .. } => {}
        }
    }

    /// `--verbose`: what every format gets on stderr besides its own output.
    fn verbose_line(&mut self, ev: &AgentEvent<'_>) {
        match *ev {
            AgentEvent::Usage(u) => {
                self.end_thinking();
                stderr_line(format_args!(
                    "sx: usage: {} in ({} cached, {} written to the cache), {} out ({} reasoning)",
                    u.input_tokens,
                    u.cache_read_tokens,
                    u.cache_write_tokens,
                    u.output_tokens,
                    u.reasoning_tokens
                ));
            }
            // Text mode prints retries anyway.
            AgentEvent::Retry {
                attempt,
                delay,
                reason,
            } if self.format != OutputFormat::Text => stderr_line(format_args!(
                "sx: retrying in {:.1}s (attempt {attempt}): {reason}",
                delay.as_secs_f64()
            )),
            AgentEvent::Done { stop_reason, .. } => {
                self.end_thinking();
                stderr_line(format_args!("sx: done: {}", stop_reason.as_str()));
            }
            _ => {}
        }
    }

    fn end_thinking(&mut self) {
        if self.last == Last::Thinking {
            stderr_line(format_args!(""));
            self.last = Last::Nothing;
        }
    }

    /// One line of the activity log on stderr, dimmed on a terminal (where its text, which
    /// quotes the model and tools, loses its control characters first).
    fn dimmed_line(&self, s: &str) {
        let s = crate::terminal::stderr_text(s);
        if self.dim {
            stderr_styled_line(&format!("\x1b[2m{s}\x1b[0m"));
        } else {
            stderr_styled_line(&s);
        }
    }

    fn collect(&mut self, ev: AgentEvent<'_>) {
        match ev {
            AgentEvent::Session { .. } => self.session = event_json(&ev).unwrap_or(Value::Null),
            AgentEvent::Usage(u) => self.usage.add(u),
            AgentEvent::ToolCall { id, name, input } => {
                self.tool_calls
                    .push(json!({"id": id, "name": name, "input": input}));
            }
            AgentEvent::Error { message, retryable } => {
                let message = sx_config::secrets::mask(message);
                self.error = Some(json!({"message": message, "retryable": retryable}));
            }
            AgentEvent::Done { stop_reason, text } => {
                let mut session = self.session.clone();
                if let Some(o) = session.as_object_mut() {
                    o.remove("type");
                }
                let mut v = json!({
                    "session": session,
                    "text": text,
                    "usage": usage_json(&self.usage),
                    "stop_reason": stop_reason.as_str(),
                    "tool_calls": self.tool_calls,
                });
                if let Some(e) = self.error.take() {
                    v["error"] = e;
                }
                self.stdout(|out| {
                    serde_json::to_writer(&mut *out, &v)?;
                    out.write_all(b"\n")
                });
            }
            AgentEvent::Notice(n) => stderr_line(format_args!("sx: {n}")),
            _ => {}
        }
    }
}

fn usage_json(u: &Usage) -> Value {
    json!({
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cache_read_tokens": u.cache_read_tokens,
        "cache_write_tokens": u.cache_write_tokens,
        "reasoning_tokens": u.reasoning_tokens,
    })
}

/// The `stream-json` object for an event (docs/spec.md §1.1); `None` for events it does not carry.
pub fn event_json(ev: &AgentEvent<'_>) -> Option<Value> {
    Some(match *ev {
        AgentEvent::Session {
            id,
            provider,
            model,
            cwd,
        } => {
            json!({"type": "session", "id": id, "provider": provider, "model": model, "cwd": cwd.display().to_string()})
        }
        AgentEvent::ThinkingDelta(t) => json!({"type": "thinking_delta", "text": t}),
        AgentEvent::TextDelta(t) => json!({"type": "text_delta", "text": t}),
        AgentEvent::ToolCall { id, name, input } => {
            json!({"type": "tool_call", "id": id, "name": name, "input": input})
        }
        AgentEvent::ToolResult {
            id,
            name,
            output,
            is_error,
        } => {
            json!({"type": "tool_result", "id": id, "name": name, "output": output, "is_error": is_error})
        }
        AgentEvent::FunctionCall {
            id,
            name,
            arguments,
        } => {
            json!({"type": "function_call", "id": id, "name": name, "arguments": arguments})
        }
        AgentEvent::Usage(u) => {
            let mut v = usage_json(u);
            v["type"] = "usage".into();
            v
        }
        AgentEvent::Retry {
            attempt,
            delay,
            reason,
        } => {
            let reason = sx_config::secrets::mask(reason);
            json!({"type": "retry", "attempt": attempt, "delay_ms": delay.as_millis() as u64, "reason": reason})
        }
        AgentEvent::Error { message, retryable } => {
            let message = sx_config::secrets::mask(message);
            json!({"type": "error", "message": message, "retryable": retryable})
        }
        AgentEvent::Done { stop_reason, text } => {
            json!({"type": "done", "stop_reason": stop_reason.as_str(), "text": text})
        }
        AgentEvent::RateLimits(l) => {
            let mut v = serde_json::to_value(l).unwrap_or(Value::Null);
            v["type"] = "rate_limits".into();
            v
        }
        AgentEvent::Notice(_) | AgentEvent::Diff(_) | AgentEvent::ToolCallStarted { .. } => {
            return None;
        }
    })
}

/// Text mode warns once a usage window is this full (percent).
const LIMIT_WARNING: f64 = 90.0;

/// "93% of the 5h usage window is used; it resets at 2026-01-01T00:00:00Z"
fn limit_warning(w: &sxnet::RateWindow) -> String {
    let window = match w.window_minutes {
        Some(m) if m >= 1440 && m % 1440 == 0 => format!(" {}-day", m / 1440),
        Some(m) if m >= 60 && m % 60 == 0 => format!(" {}h", m / 60),
        Some(m) => format!(" {m}-minute"),
        None => String::new(),
    };
    let reset = w
        .resets_at
        .map(|t| {
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(t);
            format!("; it resets at {}", humantime::format_rfc3339_seconds(t))
        })
        .unwrap_or_default();
    format!(
        "{:.0}% of the{window} usage window is used{reset}",
        w.used_percent
    )
}

/// A one-line view of a tool's input for the activity log.
fn summarize(input: &Value) -> String {
    let s = match input {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}={}", s.replace('\n', "⏎")),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    };
    truncate(&s, 160)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

/// Exit code for how the run stopped (docs/spec.md §1; 130 for a user cancel, as shells do).
pub fn stop_exit_code(stop: StopReason) -> u8 {
    match stop {
        StopReason::EndTurn | StopReason::FunctionCall => 0,
        StopReason::MaxTurns | StopReason::Error => 1,
        StopReason::Cancelled => 130,
    }
}
