//! Rendering the agent's events for one-shot runs: plain text (answer on stdout, everything
//! else on stderr), `stream-json` (one JSON line per event) or `json` (one object at the end).

use std::io::{IsTerminal, Write};

use serde_json::{Value, json};
use sx_agent::{AgentEvent, StopReason};
use sxnet::model::Usage;

use super::args::OutputFormat;

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
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Last {
    Nothing,
    Thinking,
    Text,
}

impl Renderer {
    pub fn new(format: OutputFormat) -> Self {
        Renderer {
            format,
            dim: std::io::stderr().is_terminal(),
            last: Last::Nothing,
            open_line: false,
            warned_limits: false,
            session: Value::Null,
            usage: Usage::default(),
            tool_calls: Vec::new(),
            error: None,
        }
    }

    pub fn event(&mut self, ev: AgentEvent<'_>) {
        match self.format {
            OutputFormat::Text => self.text(ev),
            OutputFormat::StreamJson => {
                if let Some(v) = event_json(&ev) {
                    let mut out = std::io::stdout().lock();
                    let _ = serde_json::to_writer(&mut out, &v);
                    let _ = out.write_all(b"\n");
                    let _ = out.flush();
                }
                if let AgentEvent::Notice(n) = ev {
                    eprintln!("sx: {n}");
                }
            }
            OutputFormat::Json => self.collect(ev),
        }
    }

    fn text(&mut self, ev: AgentEvent<'_>) {
        match ev {
            AgentEvent::TextDelta(t) => {
                if self.last == Last::Thinking {
                    self.end_thinking();
                }
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(t.as_bytes());
                let _ = out.flush();
                self.open_line = !t.ends_with('\n');
                self.last = Last::Text;
            }
            AgentEvent::ThinkingDelta(t) => {
                let mut err = std::io::stderr().lock();
                if self.dim {
                    let _ = write!(err, "\x1b[2m{t}\x1b[0m");
                } else {
                    let _ = err.write_all(t.as_bytes());
                }
                let _ = err.flush();
                self.last = Last::Thinking;
            }
            AgentEvent::ToolCall { name, input, .. } => {
                self.end_thinking();
                eprintln!("{}", self.dimmed(&format!("● {name} {}", summarize(input))));
            }
            AgentEvent::Diff(d) => {
                self.end_thinking();
                let mut err = std::io::stderr().lock();
                for line in d.lines() {
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
                output, is_error, ..
            } => {
                let first = output.lines().next().unwrap_or("");
                let mark = if is_error { "✗" } else { "⎿" };
                eprintln!(
                    "{}",
                    self.dimmed(&format!("  {mark} {}", truncate(first, 120)))
                );
            }
            AgentEvent::Retry {
                attempt,
                delay,
                reason,
            } => {
                self.end_thinking();
                if self.last == Last::Text && self.open_line {
                    println!();
                    self.open_line = false;
                }
                eprintln!(
                    "sx: retrying in {:.1}s (attempt {attempt}): {reason}",
                    delay.as_secs_f64()
                );
            }
            AgentEvent::Notice(n) => {
                self.end_thinking();
                eprintln!("sx: {n}");
            }
            AgentEvent::RateLimits(l) => {
                if let Some(w) = l.highest().filter(|w| w.used_percent >= LIMIT_WARNING)
                    && !self.warned_limits
                {
                    self.warned_limits = true;
                    self.end_thinking();
                    eprintln!("sx: warning: {}", limit_warning(w));
                }
            }
            AgentEvent::ToolCallStarted { .. } => {}
            AgentEvent::Done { .. } => {
                self.end_thinking();
                if self.open_line {
                    println!();
                    self.open_line = false;
                }
            }
            // The error itself is printed once, as the process's `error:` line.
            AgentEvent::Session { .. }
            | AgentEvent::FunctionCall { .. }
            | AgentEvent::Usage(_)
            | AgentEvent::Error { .. } => {}
        }
    }

    fn end_thinking(&mut self) {
        if self.last == Last::Thinking {
            eprintln!();
            self.last = Last::Nothing;
        }
    }

    fn dimmed(&self, s: &str) -> String {
        if self.dim {
            format!("\x1b[2m{s}\x1b[0m")
        } else {
            s.to_string()
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
                let mut out = std::io::stdout().lock();
                let _ = serde_json::to_writer(&mut out, &v);
                let _ = out.write_all(b"\n");
                let _ = out.flush();
            }
            AgentEvent::Notice(n) => eprintln!("sx: {n}"),
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

/// The `stream-json` object for an event (SPEC §1.1); `None` for events it does not carry.
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
            json!({"type": "retry", "attempt": attempt, "delay_ms": delay.as_millis() as u64, "reason": reason})
        }
        AgentEvent::Error { message, retryable } => {
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

/// Exit code for how the run stopped (SPEC §1; 130 for a user cancel, as shells do).
pub fn stop_exit_code(stop: StopReason) -> u8 {
    match stop {
        StopReason::EndTurn | StopReason::FunctionCall => 0,
        StopReason::MaxTurns | StopReason::Error => 1,
        StopReason::Cancelled => 130,
    }
}
