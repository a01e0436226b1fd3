//! What text mode shows on stderr for a tool's result (docs/spec.md §1.1): for a command (the
//! `bash` tool, a user function's command) its status and the last lines of its output; for
//! the other tools their result's first line. Every line is made safe for a terminal (escape
//! sequences and other control bytes removed, a carriage return keeps what it would leave
//! visible) and cut to the terminal's width, or to 200 columns when stderr is not a terminal.

use std::borrow::Cow;

use sx_tui::text::Line;

/// Output lines shown at most for a command.
pub const TAIL_LINES: usize = 5;
/// Columns a line may take when stderr is not a terminal.
pub const PLAIN_WIDTH: usize = 200;

/// The columns available on stderr.
pub fn stderr_width() -> usize {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        crossterm::terminal::size().map_or(PLAIN_WIDTH, |(w, _)| usize::from(w).max(20))
    } else {
        PLAIN_WIDTH
    }
}

/// The lines for a tool result, indented, without a trailing newline each.
pub fn result_lines(output: &str, is_error: bool, command: bool, width: usize) -> Vec<String> {
    let mark = if is_error { "✗" } else { "⎿" };
    let cut = |s: &str, indent: usize| fit(s, width.saturating_sub(indent)).into_owned();
    let (status, body) = if command {
        split_command(output)
    } else {
        (None, output)
    };
    // A tool's result, or an error that is a message for the model (a refusal, bad
    // arguments): its first line says what happened.
    if !command || (is_error && status.is_none()) {
        let first = output.lines().map(clean).find(|l| !l.trim().is_empty());
        return vec![format!(
            "  {mark} {}",
            cut(first.as_deref().unwrap_or("(no output)"), 4)
        )];
    }
    let lines: Vec<String> = body
        .lines()
        .map(clean)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let mut out = Vec::with_capacity(TAIL_LINES + 2);
    let summary = match (status.as_deref(), lines.len()) {
        (Some(s), 0) => format!("{s} · no output"),
        (Some(s), 1) => format!("{s} · 1 line"),
        (Some(s), n) => format!("{s} · {n} lines"),
        (None, 0) => "no output".to_string(),
        (None, n) if n > TAIL_LINES => format!("{n} lines"),
        (None, _) => String::new(),
    };
    let tail_from = lines.len().saturating_sub(TAIL_LINES);
    let mut tail = lines[tail_from..].iter();
    if summary.is_empty() {
        // A short output without a status: its first line takes the mark.
        if let Some(first) = tail.next() {
            out.push(format!("  {mark} {}", cut(first, 4)));
        }
    } else {
        out.push(format!("  {mark} {}", cut(&summary, 4)));
    }
    if tail_from > 0 {
        out.push(format!("    … {tail_from} earlier lines"));
    }
    out.extend(tail.map(|l| format!("    {}", cut(l, 4))));
    out
}

/// A command's result as status and output: the `bash` tool's `Exit code: N` / `Wall time` /
/// `Output:` form, its timeout and cancel messages (`…\nOutput before …:\n…`), a failed
/// function's `function 'f' failed (…)` line; anything else is all output.
fn split_command(output: &str) -> (Option<String>, &str) {
    if let Some(rest) = output
        .strip_prefix("Exit code: ")
        .or_else(|| output.strip_prefix("Killed by signal "))
    {
        let (head, body) = rest
            .split_once("\nOutput:\n")
            .or_else(|| rest.split_once("\nOutput:"))
            .unwrap_or((rest, ""));
        let mut head_lines = head.lines();
        let what = head_lines.next().unwrap_or("").trim();
        let status = if output.starts_with("Exit code: ") {
            format!("exit {what}")
        } else {
            format!("killed by signal {what}")
        };
        let wall = head_lines
            .find_map(|l| l.strip_prefix("Wall time: "))
            .and_then(|w| w.strip_suffix(" seconds"))
            .map(|w| format!(" · {w}s"))
            .unwrap_or_default();
        return (Some(format!("{status}{wall}")), body);
    }
    for marker in [
        "\nOutput before the timeout:\n",
        "\nOutput before cancellation:\n",
        "\nstdout:\n",
    ] {
        if let Some((head, body)) = output.split_once(marker) {
            let first = head.lines().next().unwrap_or(head);
            return (Some(first.trim().to_string()), body);
        }
    }
    (None, output)
}

/// A line as a terminal may show it: what a carriage return leaves visible, escape sequences
/// dropped, tabs as spaces, other control characters removed.
pub fn clean(line: &str) -> String {
    let visible = line.trim_end_matches('\r');
    let visible = visible.rsplit('\r').next().unwrap_or(visible);
    let mut out = String::with_capacity(visible.len());
    let mut chars = visible.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // C1 CSI, OSC
            '\u{9b}' => skip_until_final(&mut chars),
            '\u{9d}' => skip_string(&mut chars),
            '\t' => out.push_str("    "),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        Some('[') => skip_until_final(chars),
        // OSC, DCS, SOS, PM, APC: a string up to BEL or ST.
        Some(']' | 'P' | 'X' | '^' | '_') => skip_string(chars),
        // Intermediate bytes then a final one (ESC ( B, ESC # 8 …).
        Some(c) if (' '..='/').contains(&c) => {
            while chars.next_if(|c| (' '..='/').contains(c)).is_some() {}
            chars.next();
        }
        _ => {}
    }
}

fn skip_until_final(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('@'..='~').contains(&c) {
            break;
        }
    }
}

fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        if c == '\u{7}' || c == '\u{9c}' {
            break;
        }
        if c == '\u{1b}' && chars.peek() == Some(&'\\') {
            chars.next();
            break;
        }
    }
}

/// `s` cut to `max` columns (wide characters counted as the terminal does), `…` when cut.
fn fit(s: &str, max: usize) -> Cow<'_, str> {
    let line = Line::plain(s);
    if line.width() <= max {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(line.truncated(max.max(1)).text())
    }
}

#[cfg(test)]
#[path = "activity_tests.rs"]
mod tests;
