//! Codex usage windows from response headers (docs/protocols/codex.md §D.4): `x-codex-primary-*`,
//! `x-codex-secondary-*`, and `x-codex-active-limit` naming the family that applies (another
//! family `x-<id>-…` is read the same way when it is the active one).

use reqwest::header::HeaderMap;

use crate::event::{RateLimits, RateWindow};

/// The windows the headers report, or `None` when they report none.
pub fn parse(headers: &HeaderMap) -> Option<RateLimits> {
    let active = header(headers, "x-codex-active-limit").map(str::to_owned);
    // The active family's headers when it has them, else the default `codex` family.
    let family = active
        .as_deref()
        .map(|id| id.replace('_', "-"))
        .filter(|f| header(headers, &format!("x-{f}-primary-used-percent")).is_some())
        .unwrap_or_else(|| "codex".to_string());
    let window = |which: &str| -> Option<RateWindow> {
        let get = |suffix: &str| header(headers, &format!("x-{family}-{which}-{suffix}"));
        let used_percent: f64 = get("used-percent")?.parse().ok()?;
        if !used_percent.is_finite() {
            return None;
        }
        Some(RateWindow {
            used_percent: used_percent.clamp(0.0, 100.0),
            window_minutes: get("window-minutes").and_then(|v| v.parse().ok()),
            resets_at: get("reset-at").and_then(|v| v.parse().ok()),
        })
    };
    let limits = RateLimits {
        primary: window("primary"),
        secondary: window("secondary"),
        active_limit: active,
    };
    (limits.primary.is_some() || limits.secondary.is_some()).then_some(limits)
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn both_windows_and_the_active_family() {
        let h = headers(&[
            ("x-codex-primary-used-percent", "12.5"),
            ("x-codex-primary-window-minutes", "300"),
            ("x-codex-primary-reset-at", "1767225600"),
            ("x-codex-secondary-used-percent", "91"),
            ("x-codex-secondary-window-minutes", "10080"),
        ]);
        let r = parse(&h).unwrap();
        assert_eq!(
            r.primary,
            Some(RateWindow {
                used_percent: 12.5,
                window_minutes: Some(300),
                resets_at: Some(1767225600)
            })
        );
        assert_eq!(r.secondary.unwrap().window_minutes, Some(10080));
        assert_eq!(r.secondary.unwrap().resets_at, None);
        assert_eq!(r.highest().unwrap().used_percent, 91.0);
        assert_eq!(r.active_limit, None);

        let other = headers(&[
            ("x-codex-active-limit", "codex_other"),
            ("x-codex-primary-used-percent", "10"),
            ("x-codex-other-primary-used-percent", "100"),
            ("x-codex-other-primary-reset-at", "1767229200"),
        ]);
        let r = parse(&other).unwrap();
        assert_eq!(r.active_limit.as_deref(), Some("codex_other"));
        assert_eq!(r.primary.unwrap().used_percent, 100.0);
        assert_eq!(r.primary.unwrap().resets_at, Some(1767229200));
    }

    #[test]
    fn nothing_or_junk_reports_nothing() {
        assert_eq!(parse(&HeaderMap::new()), None);
        assert_eq!(
            parse(&headers(&[("x-codex-primary-used-percent", "lots")])),
            None
        );
    }
}
