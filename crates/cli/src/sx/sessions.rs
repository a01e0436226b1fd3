//! `sx --sessions`: the project's saved sessions, newest first (docs/sessions.md): a table in
//! text, one JSON array with `--output-format json`, one JSON object per line with
//! `stream-json`.

use std::io::Write;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use sx_agent::session::Session;
use sx_agent::session::list::{Saved, display_ids, saved};
use sx_config::Config;

use super::args::OutputFormat;
use crate::Failure;

/// Most characters of a name and of the first prompt in the text table.
const NAME_WIDTH: usize = 24;
const PROMPT_WIDTH: usize = 72;

pub fn list(config: &Config, format: OutputFormat) -> Result<u8, Failure> {
    let all = saved(config.project_root());
    if all.is_empty() && format == OutputFormat::Text {
        crate::stderr_line(format_args!(
            "sx: no saved sessions in {}; start one with sx -p \"…\" or sx",
            Session::sessions_dir(config.project_root()).display()
        ));
        return Ok(0);
    }
    let ids: Vec<&str> = all.iter().map(|s| s.meta.id.as_str()).collect();
    let short = display_ids(&ids);
    let now = SystemTime::now();
    let out = match format {
        OutputFormat::Text => table(&all, &short, now),
        OutputFormat::Json => {
            let items: Vec<Value> = all.iter().zip(&short).map(|(s, i)| object(s, i)).collect();
            format!("{}\n", Value::Array(items))
        }
        OutputFormat::StreamJson => all
            .iter()
            .zip(&short)
            .map(|(s, i)| format!("{}\n", object(s, i)))
            .collect(),
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // `sx --sessions | head -n 3`: not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::runtime(format!(
            "cannot write the session list: {e}; check where stdout goes"
        ))),
        _ => Ok(0),
    }
}

fn object(s: &Saved, short_id: &str) -> Value {
    json!({
        "id": s.meta.id,
        "short_id": short_id,
        "name": s.meta.name,
        "first_prompt": s.first_prompt(),
        "created_at": s.meta.created_at,
        "updated_at": s.meta.updated_at,
        "provider": s.meta.provider,
        "model": s.meta.model,
        "messages": s.meta.messages,
        "continues": s.meta.continues,
    })
}

fn table(all: &[Saved], short: &[String], now: SystemTime) -> String {
    let rows: Vec<[String; 4]> = all
        .iter()
        .zip(short)
        .map(|(s, id)| {
            let age = s
                .updated()
                .map(|t| age(now.duration_since(t).unwrap_or_default()))
                .unwrap_or_else(|| "?".into());
            let name = s
                .meta
                .name
                .as_deref()
                .map_or("-".into(), |n| cut(n, NAME_WIDTH));
            let prompt = s
                .first_prompt()
                .map_or("-".into(), |p| cut(&p, PROMPT_WIDTH));
            [id.clone(), age, name, prompt]
        })
        .collect();
    let header = ["ID", "AGE", "NAME", "FIRST PROMPT"].map(String::from);
    let width = |col: usize| {
        std::iter::once(&header)
            .chain(&rows)
            .map(|r| r[col].chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2)];
    let mut out = String::new();
    for r in std::iter::once(&header).chain(&rows) {
        for (col, w) in widths.iter().enumerate() {
            out.push_str(&r[col]);
            out.extend(std::iter::repeat_n(' ', w - r[col].chars().count() + 2));
        }
        out.push_str(&r[3]);
        out.push('\n');
    }
    out
}

/// Time since the last use, in its largest whole unit: `45s`, `12m`, `3h`, `5d`.
fn age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h", s / 3_600),
        _ => format!("{}d", s / 86_400),
    }
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_in_their_largest_unit() {
        let a = |s| age(Duration::from_secs(s));
        assert_eq!(
            [
                a(0),
                a(59),
                a(60),
                a(3_599),
                a(3_600),
                a(86_399),
                a(86_400),
                a(40 * 86_400)
            ],
            ["0s", "59s", "1m", "59m", "1h", "23h", "1d", "40d"]
        );
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abcd", 4), "abcd");
    }
}
