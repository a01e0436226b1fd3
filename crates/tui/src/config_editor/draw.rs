//! The editor's live region: a title, the list (scrolled to keep the selection in view), the
//! selected key's details, what the last action did, where changes go, and the keys.

use super::app::{App, Mode, Note};
use super::model::{Refusal, Row, describe_kind};
use crate::text::{Color, Line, Style};

/// Widest tier name ("command line").
const TIER_W: usize = 12;
const MASK: char = '•';

/// The live rows for a screen `width` wide with at most `max_rows` rows, and where the cursor
/// goes (only while a value is typed).
pub(crate) fn live(
    app: &mut App,
    width: usize,
    max_rows: usize,
) -> (Vec<Line>, Option<(usize, usize)>) {
    let w = width.max(20);
    let rule = || Line::styled("─".repeat(w), Style::fg(Color::Gray));
    let mut head = vec![title(app, w)];
    let mut tail = Vec::new();
    tail.extend(details(app, w));
    if let Some(n) = &app.note {
        let (mark, style, text) = match n {
            Note::Info(t) => ("", Style::PLAIN.dim(), t),
            Note::Done(t) => ("✓ ", Style::fg(Color::Green), t),
            Note::Warn(t) => ("! ", Style::fg(Color::Yellow), t),
            Note::Error(t) => ("✗ ", Style::fg(Color::Red), t),
        };
        let line = Line::styled(mark, style).with(text.as_str(), style);
        tail.extend(line.wrap(w, &Line::plain("  ")));
    }
    if let Mode::Refused(r) = &app.mode {
        tail.extend(question(app, *r, w));
    }
    tail.push(target(app, w));
    tail.push(hints(app, w));

    let (list, sel_lines, cursor) = list(app, w);
    let avail = max_rows.saturating_sub(head.len() + tail.len() + 2).max(3);
    // Scroll just enough to show the selected row (with its section title when it is first).
    let (a, b) = sel_lines;
    let a = if a > 0 && list[a - 1].1 { a - 1 } else { a };
    if a < app.top {
        app.top = a;
    }
    if b > app.top + avail {
        app.top = b.saturating_sub(avail);
    }
    app.top = app.top.min(list.len().saturating_sub(avail));
    let end = (app.top + avail).min(list.len());
    let more = |n: usize, arrow: &str| {
        if n == 0 {
            rule()
        } else {
            let label = format!("── {arrow} {n} more ");
            let fill = w.saturating_sub(crate::text::width(&label));
            Line::styled(label + &"─".repeat(fill), Style::fg(Color::Gray)).truncated(w)
        }
    };
    head.push(more(app.top, "↑"));
    let first = head.len();
    let cursor = cursor.and_then(|(r, c)| {
        (app.top..end)
            .contains(&r)
            .then(|| (first + r - app.top, c))
    });
    head.extend(list[app.top..end].iter().map(|(l, _)| l.clone()));
    head.push(more(list.len() - end, "↓"));
    head.extend(tail);
    (head, cursor)
}

fn title(app: &App, w: usize) -> Line {
    let trusted = if app.cfg.project_trusted() {
        Line::styled(" (trusted)", Style::fg(Color::Green))
    } else {
        Line::styled(" (not trusted)", Style::PLAIN.dim())
    };
    let mut l = Line::styled("scorpiox-config", Style::PLAIN.bold())
        .with(" · project ", Style::PLAIN.dim())
        .with(app.cfg.project_root().display().to_string(), Style::PLAIN);
    l.extend(trusted);
    l.truncated(w)
}

/// Every list line (section titles marked `true`), the selected row's line range, and the
/// cursor in list lines.
#[allow(clippy::type_complexity)]
fn list(app: &App, w: usize) -> (Vec<(Line, bool)>, (usize, usize), Option<(usize, usize)>) {
    let kw = app.rows.iter().map(|r| r.key.len()).max().unwrap_or(0);
    let longest = app
        .rows
        .iter()
        .map(|r| crate::text::width(&r.shown(app.cfg.home())))
        .max();
    let vw = w
        .saturating_sub(2 + kw + 2 + 2 + TIER_W)
        .min(longest.unwrap_or(0).clamp(12, 40))
        .max(8);
    let mut out: Vec<(Line, bool)> = Vec::new();
    let mut sel = (0, 0);
    let mut cursor = None;
    let mut section = None;
    for (i, row) in app.rows.iter().enumerate() {
        if section != Some(row.section) {
            section = Some(row.section);
            let style = Style::fg(Color::Magenta).bold();
            out.push((Line::styled(row.section.title(), style).truncated(w), true));
        }
        let selected = i == app.sel;
        let start = out.len();
        let mut prefix = if selected {
            Line::styled("› ", Style::fg(Color::Cyan).bold())
        } else {
            Line::plain("  ")
        };
        let key_style = if selected {
            Style::PLAIN.bold()
        } else {
            Style::PLAIN
        };
        prefix.push(format!("{:<kw$}  ", row.key), key_style);
        match (&app.mode, selected) {
            (Mode::Text(editor), true) => {
                let masked;
                let shown = if row.secret() {
                    masked = editor.masked(MASK);
                    &masked
                } else {
                    editor
                };
                let (lines, (r, c)) = shown.layout(w, &prefix, Style::PLAIN.underline());
                cursor = Some((start + r, c));
                out.extend(lines.into_iter().map(|l| (l, false)));
            }
            (Mode::Choice { values, at }, true) => {
                let mut l = prefix;
                for (j, v) in values.iter().enumerate() {
                    let v = if v.is_empty() { "(default)" } else { v };
                    if j == *at {
                        l.push(format!(" {v} "), Style::fg(Color::Cyan).reverse());
                    } else {
                        l.push(format!(" {v} "), Style::PLAIN.dim());
                    }
                }
                out.push((l.truncated(w), false));
            }
            _ => out.push((
                row_line(prefix, row, vw, app.cfg.home()).truncated(w),
                false,
            )),
        }
        if selected {
            sel = (start, out.len());
        }
    }
    (out, sel, cursor)
}

fn row_line(mut l: Line, row: &Row, vw: usize, home: Option<&std::path::Path>) -> Line {
    let shown = row.shown(home);
    let style = match &row.value {
        Some((v, _)) if !v.is_empty() => Style::PLAIN,
        _ => Style::PLAIN.dim(),
    };
    let value = Line::styled(shown, style).truncated(vw);
    let pad = vw.saturating_sub(value.width());
    l.extend(value);
    l.push(" ".repeat(pad + 2), Style::PLAIN);
    if let Some((_, source)) = &row.value {
        l.push(source.tier.to_string(), Style::PLAIN.dim());
    }
    if row.ignored.is_some() {
        l.push(" !", Style::fg(Color::Yellow).bold());
    }
    l
}

fn details(app: &App, w: usize) -> Vec<Line> {
    let Some(row) = app.selected() else {
        return vec![Line::styled(
            "no keys to show (a: every key)",
            Style::PLAIN.dim(),
        )];
    };
    let help = row
        .spec
        .map_or("not a key sx knows (kept and passed through)", |s| s.help);
    let mut out = vec![
        Line::styled(row.key.as_str(), Style::PLAIN.bold())
            .with(" — ", Style::PLAIN.dim())
            .with(help, Style::PLAIN.dim())
            .truncated(w),
    ];
    let mut l = match &row.value {
        Some((_, source)) => {
            let at = source
                .path
                .as_deref()
                .map(|p| match source.line {
                    Some(n) => format!(" {}:{n}", app.near(p)),
                    None => format!(" {}", app.near(p)),
                })
                .unwrap_or_default();
            Line::styled("from ", Style::PLAIN.dim())
                .with(format!("{}{at}", source.tier), Style::PLAIN)
        }
        None => Line::styled("set nowhere", Style::PLAIN.dim()),
    };
    if let Some(spec) = row.spec {
        let default = match (spec.name, spec.default) {
            ("CODEX_CREDENTIALS_FILE", _) => Some("$CODEX_HOME/auth.json, else ~/.codex/auth.json"),
            (_, Some("")) => Some("(empty)"),
            (_, d) => d,
        };
        if let Some(d) = default {
            l.push(format!(" · default {d}"), Style::PLAIN.dim());
        }
        l.push(
            format!(" · {}", describe_kind(spec.kind)),
            Style::PLAIN.dim(),
        );
    }
    if row.secret() {
        l.push(" · secret", Style::PLAIN.dim());
    }
    out.push(l.truncated(w));
    if let Some(why) = &row.ignored {
        out.push(Line::styled(format!("! {why}"), Style::fg(Color::Yellow)).truncated(w));
    }
    out
}

fn question(app: &App, r: Refusal, w: usize) -> Vec<Line> {
    let key = app.selected().map_or("", |r| r.key.as_str());
    let user = app
        .cfg
        .home()
        .map(|h| app.short(&sx_config::user_file(h)))
        .unwrap_or_default();
    let ask = Style::fg(Color::Yellow);
    let (why, options) = match r {
        Refusal::Untrusted => (
            format!(
                "{key} decides where credentials go, which programs run or what runs unasked, so \
                 an untrusted project may not set it (sx would ignore the line)."
            ),
            format!(
                "[u] save it in your user file {user}   [t] trust this project (as \
                 scorpiox-config --trust) and save it here   [Esc] cancel"
            ),
        ),
        Refusal::NeverInProject => (
            format!("a project may never set {key}: a project cannot trust itself."),
            format!("[u] save it in your user file {user}   [Esc] cancel"),
        ),
        Refusal::NoHome => (
            "there is no user file: HOME is not set.".to_string(),
            "[Esc] back".to_string(),
        ),
    };
    let mut out = Line::styled(format!("? {why}"), ask).wrap(w, &Line::plain("  "));
    out.extend(Line::styled(options, Style::PLAIN.bold()).wrap(w, &Line::plain("  ")));
    out
}

fn target(app: &App, w: usize) -> Line {
    let file = app
        .target
        .file(&app.cfg)
        .map(|p| app.short(&p))
        .unwrap_or_default();
    Line::styled("save to ", Style::PLAIN.dim())
        .with(app.target.name(), Style::fg(Color::Cyan).bold())
        .with(format!(" {file}"), Style::PLAIN)
        .with(
            format!("  (Tab: {})", app.target.other().name()),
            Style::PLAIN.dim(),
        )
        .truncated(w)
}

fn hints(app: &App, w: usize) -> Line {
    let text = match &app.mode {
        Mode::Browse if app.all => {
            "↑↓ move · Enter edit · d remove from this file · Tab tier · a this provider's keys · q quit"
        }
        Mode::Browse => {
            "↑↓ move · Enter edit · d remove from this file · Tab tier · a every key · q quit"
        }
        Mode::Text(_) => "Enter save · Esc cancel",
        Mode::Choice { .. } => "←→ choose · Enter save · Esc cancel",
        Mode::Refused(_) => "",
    };
    Line::styled(text, Style::PLAIN.dim()).truncated(w)
}
