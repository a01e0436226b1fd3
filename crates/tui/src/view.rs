//! The conversation as the user sees it: agent events become rows for the scrollback (the
//! answer as Markdown, one line per tool call with its result, diffs in colour, notices) and
//! the live rows of what is still happening (the line being streamed, running tools, thinking).

use std::time::{Duration, Instant};

use serde_json::Value;
use sx_agent::StopReason;
use sx_agent::channel::OwnedEvent;

use crate::markdown::Markdown;
use crate::text::{Color, Line, Style};

/// Longest diff shown in full; the rest is counted.
const DIFF_ROWS: usize = 40;

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

struct RunningTool {
    id: String,
    name: String,
    summary: String,
}

pub struct View {
    /// Rows waiting to be printed into the scrollback at the next frame.
    pending: Vec<Line>,
    answer: Markdown,
    thinking: Option<(String, Instant)>,
    tools: Vec<RunningTool>,
    /// Thinking is printed in full (Ctrl-T) instead of one summary line.
    pub show_thinking: bool,
}

impl Default for View {
    fn default() -> Self {
        View::new()
    }
}

impl View {
    pub fn new() -> View {
        View {
            pending: Vec::new(),
            answer: Markdown::new(),
            thinking: None,
            tools: Vec::new(),
            show_thinking: false,
        }
    }

    /// The rows to print into the scrollback now.
    pub fn take_pending(&mut self) -> Vec<Line> {
        std::mem::take(&mut self.pending)
    }

    /// Add rows to the scrollback (user input echo, command output).
    pub fn commit(&mut self, rows: impl IntoIterator<Item = Line>) {
        self.pending.extend(rows);
    }

    pub fn notice(&mut self, text: &str, width: usize) {
        self.commit(
            Line::styled(format!("  {text}"), Style::PLAIN.dim()).wrap(width, &Line::plain("  ")),
        );
    }

    pub fn error(&mut self, text: &str, width: usize) {
        self.commit(
            Line::styled(format!("✗ {text}"), Style::fg(Color::Red))
                .wrap(width, &Line::plain("  ")),
        );
    }

    /// The user's message, as it goes into the transcript.
    pub fn user(&mut self, text: &str, width: usize) {
        self.pending.push(Line::new());
        for (i, l) in text.lines().enumerate() {
            let prefix = if i == 0 { "› " } else { "  " };
            let row = Line::styled(prefix, Style::fg(Color::Gray)).with(
                crate::text::expand_tabs(l).into_owned(),
                Style::PLAIN.bold(),
            );
            self.pending.extend(row.wrap(width, &Line::plain("  ")));
        }
        self.pending.push(Line::new());
    }

    pub fn event(&mut self, ev: OwnedEvent, width: usize) {
        match ev {
            OwnedEvent::ThinkingDelta(t) => match &mut self.thinking {
                Some((s, _)) => s.push_str(&t),
                None => self.thinking = Some((t, Instant::now())),
            },
            OwnedEvent::TextDelta(t) => {
                self.end_thinking(width);
                self.answer.push(&t);
                let rows = self.answer.take_complete(width);
                self.pending.extend(rows);
            }
            OwnedEvent::ToolCallStarted { id, name } => {
                self.end_answer(width);
                if !self.tools.iter().any(|t| t.id == id) {
                    self.tools.push(RunningTool {
                        id,
                        name,
                        summary: String::new(),
                    });
                }
            }
            OwnedEvent::ToolCall { id, name, input } => {
                self.end_answer(width);
                let summary = summarize(&name, &input);
                match self.tools.iter_mut().find(|t| t.id == id) {
                    Some(t) => t.summary = summary,
                    None => self.tools.push(RunningTool { id, name, summary }),
                }
            }
            OwnedEvent::ToolResult {
                id,
                name,
                output,
                is_error,
            } => {
                let summary = match self.tools.iter().position(|t| t.id == id) {
                    Some(i) => self.tools.remove(i).summary,
                    None => String::new(),
                };
                self.pending
                    .extend(tool_line(&name, &summary, width, Some(is_error)));
                self.pending.extend(result_rows(&output, is_error, width));
            }
            OwnedEvent::FunctionCall {
                name, arguments, ..
            } => {
                self.end_answer(width);
                let args = arguments.to_string();
                self.pending.extend(tool_line(&name, &args, width, None));
                self.pending.push(Line::styled(
                    "  ⎿ returned to the caller",
                    Style::PLAIN.dim(),
                ));
            }
            OwnedEvent::Diff(d) => self.diff(&d, width),
            OwnedEvent::Retry {
                attempt,
                delay,
                reason,
            } => {
                // What streamed before the retry is void: drop the unfinished line.
                self.answer = Markdown::new();
                self.thinking = None;
                self.pending.extend(
                    Line::styled(
                        format!(
                            "↻ retrying in {:.1}s (attempt {attempt}): {reason}",
                            delay.as_secs_f64()
                        ),
                        Style::fg(Color::Yellow).dim(),
                    )
                    .wrap(width, &Line::plain("  ")),
                );
            }
            OwnedEvent::Notice(n) => {
                self.end_answer(width);
                self.notice(&n, width);
            }
            OwnedEvent::Error { message, .. } => {
                self.end_answer(width);
                self.error(&message, width);
            }
            OwnedEvent::Done { stop_reason, .. } => {
                self.end_answer(width);
                for t in std::mem::take(&mut self.tools) {
                    self.pending
                        .extend(tool_line(&t.name, &t.summary, width, Some(true)));
                }
                if stop_reason == StopReason::Cancelled {
                    self.pending
                        .push(Line::styled("⏹ cancelled", Style::fg(Color::Yellow)));
                } else if stop_reason == StopReason::MaxTurns {
                    self.notice("stopped: the turn limit was reached (MAX_TURNS)", width);
                }
            }
            OwnedEvent::Session { .. } | OwnedEvent::Usage(_) | OwnedEvent::RateLimits(_) => {}
        }
    }

    fn end_thinking(&mut self, width: usize) {
        let Some((text, since)) = self.thinking.take() else {
            return;
        };
        let secs = since.elapsed().as_secs().max(1);
        if self.show_thinking {
            let dim = Style::PLAIN.dim().italic();
            for l in text.trim().lines() {
                self.pending
                    .extend(Line::styled(format!("∴ {l}"), dim).wrap(width, &Line::plain("  ")));
            }
        } else {
            self.pending.push(Line::styled(
                format!("∴ thought for {secs}s (Ctrl-T shows thinking)"),
                Style::PLAIN.dim().italic(),
            ));
        }
    }

    fn end_answer(&mut self, width: usize) {
        self.end_thinking(width);
        let rows = self.answer.finish(width);
        self.pending.extend(rows);
    }

    fn diff(&mut self, d: &str, width: usize) {
        let lines: Vec<&str> = d.lines().collect();
        for l in lines.iter().take(DIFF_ROWS) {
            let style = if l.starts_with("+++") || l.starts_with("---") {
                Style::PLAIN.bold()
            } else if l.starts_with('+') {
                Style::fg(Color::Green)
            } else if l.starts_with('-') {
                Style::fg(Color::Red)
            } else if l.starts_with("@@") {
                Style::fg(Color::Cyan)
            } else {
                Style::PLAIN.dim()
            };
            let row = Line::plain("    ").with(crate::text::expand_tabs(l).into_owned(), style);
            self.pending.push(row.truncated(width));
        }
        if lines.len() > DIFF_ROWS {
            self.pending.push(Line::styled(
                format!("    … {} more lines", lines.len() - DIFF_ROWS),
                Style::PLAIN.dim(),
            ));
        }
    }

    /// The live rows: the unfinished answer line or the thinking so far, then running tools.
    pub fn live(&self, width: usize, frame: usize) -> Vec<Line> {
        let mut rows = Vec::new();
        if let Some((t, _)) = &self.thinking {
            let dim = Style::PLAIN.dim().italic();
            let all: Vec<Line> = t
                .lines()
                .filter(|l| !l.trim().is_empty())
                .flat_map(|l| Line::styled(format!("∴ {l}"), dim).wrap(width, &Line::plain("  ")))
                .collect();
            let keep = if self.show_thinking { 12 } else { 3 };
            rows.extend(all[all.len().saturating_sub(keep)..].iter().cloned());
        }
        rows.extend(self.answer.preview(width));
        for t in &self.tools {
            let spin = SPINNER[frame % SPINNER.len()];
            let mut l = Line::styled(format!("{spin} "), Style::fg(Color::Cyan));
            l.push(t.name.clone(), Style::PLAIN.bold());
            if !t.summary.is_empty() {
                l.push(format!("({})", t.summary), Style::PLAIN.dim());
            }
            rows.push(l.truncated(width));
        }
        rows
    }

    /// Whether a tool is running (for the spinner's label).
    pub fn tool_running(&self) -> bool {
        !self.tools.is_empty()
    }

    pub fn thinking(&self) -> bool {
        self.thinking.is_some()
    }
}

/// `● bash(ls -la)` with a mark for how it went.
fn tool_line(name: &str, summary: &str, width: usize, error: Option<bool>) -> Vec<Line> {
    let (mark, color) = match error {
        Some(true) => ("● ", Color::Red),
        Some(false) => ("● ", Color::Green),
        None => ("● ", Color::Magenta),
    };
    let mut l = Line::styled(mark, Style::fg(color));
    l.push(name, Style::PLAIN.bold());
    if !summary.is_empty() {
        l.push(format!("({summary})"), Style::PLAIN);
    }
    vec![l.truncated(width)]
}

/// A result in a line or two: its first line, and how much more there is. A command's
/// result shows its output, with the exit code when it failed.
fn result_rows(output: &str, is_error: bool, width: usize) -> Vec<Line> {
    let (output, is_error, exit) = match command_output(output) {
        Some((code, body)) => (body, is_error || code != "0", Some(code)),
        None => (output, is_error, None),
    };
    let mut lines: Vec<String> = output
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(code) = exit.filter(|c| *c != "0") {
        let first = lines.first().cloned().unwrap_or_default();
        match lines.first_mut() {
            Some(l) => *l = format!("exit {code}: {first}"),
            None => lines.push(format!("exit {code}")),
        }
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let style = if is_error {
        Style::fg(Color::Red)
    } else {
        Style::PLAIN.dim()
    };
    let first = lines.first().copied().unwrap_or("(no output)");
    let mut rows = vec![
        Line::styled("  ⎿ ", Style::PLAIN.dim())
            .with(crate::text::expand_tabs(first).into_owned(), style)
            .truncated(width),
    ];
    if lines.len() > 1 {
        rows.push(Line::styled(
            format!("    … {} more lines", lines.len() - 1),
            Style::PLAIN.dim(),
        ));
    }
    rows
}

/// `Exit code: N`, `Wall time: …`, `Output:` then the output (the bash tool's format).
fn command_output(output: &str) -> Option<(&str, &str)> {
    let rest = output.strip_prefix("Exit code: ")?;
    let (code, rest) = rest.split_once('\n')?;
    let (_, body) = rest
        .split_once("Output:\n")
        .or_else(|| rest.split_once("Output:"))?;
    Some((code.trim(), body))
}

/// The interesting argument of a call, on one line.
pub fn summarize(name: &str, input: &Value) -> String {
    let key = match name {
        "bash" => "command",
        "read_file" | "write_file" | "edit_file" | "edit_lines" | "list_dir" | "read_image" => {
            "path"
        }
        "glob" | "grep" => "pattern",
        _ => "",
    };
    let one = |s: &str| s.replace('\n', " ⏎ ");
    if let Some(v) = input.get(key).and_then(Value::as_str) {
        return one(v);
    }
    match input {
        Value::Object(m) if m.is_empty() => String::new(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}: {}", one(s)),
                v => format!("{k}: {v}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

/// "12s", "1m 05s".
pub fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m {:02}s", s / 60, s % 60)
    }
}

pub fn spinner(frame: usize) -> &'static str {
    SPINNER[frame % SPINNER.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn texts(v: &[Line]) -> Vec<String> {
        v.iter().map(Line::text).collect()
    }

    #[test]
    fn a_turn_with_thinking_text_and_a_tool() {
        let mut v = View::new();
        v.event(OwnedEvent::ThinkingDelta("plan it".into()), 40);
        assert_eq!(texts(&v.live(40, 0)), ["∴ plan it"]);
        v.event(OwnedEvent::TextDelta("Let me look.\nPart".into()), 40);
        let rows = texts(&v.take_pending());
        assert!(rows[0].starts_with("∴ thought for"), "{rows:?}");
        assert_eq!(rows[1], "Let me look.");
        assert_eq!(texts(&v.live(40, 0)), ["Part"]);
        v.event(
            OwnedEvent::ToolCallStarted {
                id: "c1".into(),
                name: "bash".into(),
            },
            40,
        );
        assert_eq!(texts(&v.take_pending()), ["Part"]);
        v.event(
            OwnedEvent::ToolCall {
                id: "c1".into(),
                name: "bash".into(),
                input: json!({"command": "ls -la"}),
            },
            40,
        );
        assert_eq!(texts(&v.live(40, 0)), ["⠋ bash(ls -la)"]);
        v.event(
            OwnedEvent::ToolResult {
                id: "c1".into(),
                name: "bash".into(),
                output: "a\nb\nc\n".into(),
                is_error: false,
            },
            40,
        );
        assert_eq!(
            texts(&v.take_pending()),
            ["● bash(ls -la)", "  ⎿ a", "    … 2 more lines"]
        );
        assert!(v.live(40, 0).is_empty());
    }

    #[test]
    fn a_retry_voids_the_unfinished_line_and_a_cancel_is_marked() {
        let mut v = View::new();
        v.event(OwnedEvent::TextDelta("half an ans".into()), 40);
        v.event(
            OwnedEvent::Retry {
                attempt: 1,
                delay: Duration::from_millis(200),
                reason: "server error".into(),
            },
            40,
        );
        assert!(v.live(40, 0).is_empty());
        assert_eq!(
            texts(&v.take_pending()),
            ["↻ retrying in 0.2s (attempt 1): server", "  error"]
        );
        v.event(
            OwnedEvent::Done {
                stop_reason: StopReason::Cancelled,
                text: String::new(),
            },
            40,
        );
        assert_eq!(texts(&v.take_pending()), ["⏹ cancelled"]);
    }

    #[test]
    fn diffs_are_coloured_and_bounded() {
        let mut v = View::new();
        let mut d = String::from("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n");
        for i in 0..50 {
            d.push_str(&format!("+line {i}\n"));
        }
        v.event(OwnedEvent::Diff(d), 80);
        let rows = v.take_pending();
        assert_eq!(rows.len(), DIFF_ROWS + 1);
        assert_eq!(rows[3].spans[1].style.fg, Some(Color::Red));
        assert_eq!(rows[4].spans[1].style.fg, Some(Color::Green));
        assert_eq!(rows.last().unwrap().text(), "    … 15 more lines");
    }
}
