//! The status line: provider · model · tokens in/out/cached · context % · usage windows.

use sxnet::model::Usage;
use sxnet::{RateLimits, RateWindow};

use crate::driver::State;
use crate::text::{Color, Line, Style};

/// 1234 → "1.2k", 1234567 → "1.2M".
pub fn tokens(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{:.1}M", n as f64 / 1e6)
    } else if n >= 1_000 {
        format!("{:.1}k", n as f64 / 1e3)
    } else {
        n.to_string()
    }
}

/// 300 → "5h", 10080 → "7d", 45 → "45m".
fn window_name(minutes: Option<u64>, fallback: &str) -> String {
    match minutes {
        Some(m) if m >= 1440 && m % 1440 == 0 => format!("{}d", m / 1440),
        Some(m) if m >= 60 && m % 60 == 0 => format!("{}h", m / 60),
        Some(m) => format!("{m}m"),
        None => fallback.to_string(),
    }
}

/// "5h window: 42% used, resets at 2026-01-01T00:00:00Z".
pub fn window_text(fallback: &str, w: &RateWindow) -> String {
    let reset = w
        .resets_at
        .map(|t| {
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(t);
            format!(", resets at {}", humantime::format_rfc3339_seconds(t))
        })
        .unwrap_or_default();
    format!(
        "{} window: {:.0}% used{reset}",
        window_name(w.window_minutes, fallback),
        w.used_percent
    )
}

pub fn line(state: &State, usage: &Usage, limits: Option<&RateLimits>, width: usize) -> Line {
    let dim = Style::PLAIN.dim();
    let mut l = Line::styled(format!(" {}", state.provider), Style::fg(Color::Cyan).dim());
    l.push(" · ", dim);
    l.push(state.model.clone(), dim);
    if let Some(e) = state.effort {
        l.push(format!(" ({})", e.as_str()), dim);
    }
    l.push(
        format!(
            " · ↑{} ↓{}",
            tokens(usage.input_tokens),
            tokens(usage.output_tokens)
        ),
        dim,
    );
    if usage.cache_read_tokens > 0 {
        l.push(
            format!(" ({} cached)", tokens(usage.cache_read_tokens)),
            dim,
        );
    }
    if let Some(win) = state.context_window.filter(|w| *w > 0) {
        let pct = state.last_tokens * 100 / win;
        let style = if pct >= 80 {
            Style::fg(Color::Yellow)
        } else {
            dim
        };
        l.push(" · ", dim);
        l.push(format!("ctx {pct}%"), style);
    }
    if let Some(limits) = limits {
        for (fallback, w) in [
            ("primary", &limits.primary),
            ("secondary", &limits.secondary),
        ] {
            if let Some(w) = w {
                let style = if w.used_percent >= 90.0 {
                    Style::fg(Color::Red)
                } else if w.used_percent >= 70.0 {
                    Style::fg(Color::Yellow)
                } else {
                    dim
                };
                l.push(" · ", dim);
                l.push(
                    format!(
                        "{} {:.0}%",
                        window_name(w.window_minutes, fallback),
                        w.used_percent
                    ),
                    style,
                );
            }
        }
    }
    l.truncated(width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_says_what_is_known() {
        let state = State {
            provider: "codex".into(),
            model: "gpt-5.5".into(),
            context_window: Some(272_000),
            last_tokens: 27_200,
            ..State::default()
        };
        let usage = Usage {
            input_tokens: 12_345,
            output_tokens: 678,
            cache_read_tokens: 9_000,
            ..Usage::default()
        };
        let limits = RateLimits {
            primary: Some(RateWindow {
                used_percent: 42.0,
                window_minutes: Some(300),
                resets_at: None,
            }),
            secondary: Some(RateWindow {
                used_percent: 91.0,
                window_minutes: Some(10080),
                resets_at: None,
            }),
            active_limit: None,
        };
        assert_eq!(
            line(&state, &usage, Some(&limits), 200).text(),
            " codex · gpt-5.5 · ↑12.3k ↓678 (9.0k cached) · ctx 10% · 5h 42% · 7d 91%"
        );
        assert_eq!(line(&state, &usage, None, 20).text().chars().count(), 20);
    }
}
