//! Failures → typed `ProviderError`s: HTTP errors before the stream (docs/protocols/codex.md §D.1),
//! `response.failed` codes (§D.2), the stream's `error` event, and the usage-limit advice per
//! ChatGPT plan.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;

use crate::ProviderId;
use crate::error::{ProviderError, human_duration, parse_retry_after, parse_try_again_in};
use crate::error_body::ErrorBody;

/// `response.failed` codes (docs/protocols/codex.md §D.2): unknown codes are retryable.
pub(super) fn map_failed(code: String, message: String) -> ProviderError {
    map_code(code, message, true)
}

/// The stream's `error` event (`{"type":"error","code","message","param"}`, or the wrapped
/// `{"type":"error","status":…,"error":{"code","message"}}`): retried only when what it says
/// is retryable — a retryable code, a 5xx status, or `"retryable": true`.
pub(super) fn map_error_event(ev: &serde_json::Value) -> ProviderError {
    let inner = &ev["error"];
    let text = |k: &str| {
        ev[k]
            .as_str()
            .or_else(|| inner[k].as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let code = text("code").unwrap_or_else(|| "error".to_string());
    let message = text("message").unwrap_or_else(|| "the server reported an error".to_string());
    let status = ev["status"].as_u64().unwrap_or(0);
    let says_retryable = ev["retryable"].as_bool().unwrap_or(false)
        || (500..600).contains(&status)
        || matches!(code.as_str(), "server_error" | "internal_error");
    map_code(code, message, says_retryable)
}

fn map_code(code: String, message: String, unknown_retryable: bool) -> ProviderError {
    match code.as_str() {
        "context_length_exceeded" => ProviderError::ContextWindowExceeded { message },
        "insufficient_quota" => ProviderError::QuotaExceeded { message },
        "usage_not_included" => ProviderError::UsageNotIncluded { message },
        "invalid_prompt" | "cyber_policy" => ProviderError::InvalidRequest {
            status: 400,
            message,
        },
        "server_is_overloaded" | "slow_down" => ProviderError::Overloaded {
            status: 503,
            message,
            retry_after: None,
        },
        "rate_limit_exceeded" => {
            let retry_after = parse_try_again_in(&message);
            ProviderError::Failed {
                code,
                message,
                retry_after,
                retryable: true,
            }
        }
        _ => ProviderError::Failed {
            code,
            message,
            retry_after: None,
            retryable: unknown_retryable,
        },
    }
}

/// HTTP errors before the stream starts (docs/protocols/codex.md §D.1).
pub(super) fn map_http_error(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    url: &str,
) -> ProviderError {
    let e = ErrorBody::parse(body);
    let err = &e.json["error"];
    let message = e.message.clone();
    let header_delay = headers
        .get("retry-after")
        .and_then(|h| h.to_str().ok())
        .and_then(parse_retry_after);
    match status {
        400 if e.is("context_length_exceeded") => ProviderError::ContextWindowExceeded { message },
        400 | 422 => ProviderError::InvalidRequest { status, message },
        429 if e.is("usage_limit_reached") => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let resets_at = err["resets_at"]
                .as_u64()
                .or_else(|| err["resets_in_seconds"].as_u64().map(|s| now + s))
                .or_else(|| {
                    // The body may leave it out; the active window's header says it too.
                    super::rate_limits::parse(headers)
                        .and_then(|r| r.highest().and_then(|w| w.resets_at))
                });
            ProviderError::UsageLimitReached {
                message: usage_limit_message(err["plan_type"].as_str(), resets_at),
                resets_at,
            }
        }
        429 if e.is("usage_not_included") => ProviderError::UsageNotIncluded { message },
        429 if e.is("insufficient_quota") => ProviderError::QuotaExceeded { message },
        429 => {
            let retry_after = header_delay.or_else(|| parse_try_again_in(&message));
            ProviderError::RateLimited {
                message,
                retry_after,
            }
        }
        500..=599 if e.is("server_is_overloaded") || e.is("slow_down") || status == 529 => {
            ProviderError::Overloaded {
                status,
                message,
                retry_after: header_delay,
            }
        }
        500..=599 | 408 | 409 => ProviderError::Server {
            status,
            message,
            retry_after: header_delay,
        },
        _ => ProviderError::UnexpectedStatus {
            provider: ProviderId::Codex,
            status,
            url: url.to_string(),
            message,
        },
    }
}

/// "usage limit reached on the plus plan until … (in 2h 5m); upgrade …" (docs/protocols/codex.md §D.1).
pub(super) fn usage_limit_message(plan: Option<&str>, resets_at: Option<u64>) -> String {
    let when = match resets_at {
        Some(ts) => {
            let t = UNIX_EPOCH + Duration::from_secs(ts);
            let rel = match t.duration_since(SystemTime::now()) {
                Ok(d) => format!(" (in {})", human_duration(d)),
                Err(_) => String::new(),
            };
            format!(" until {}{rel}", humantime::format_rfc3339_seconds(t))
        }
        None => String::new(),
    };
    let advice = match plan {
        Some("plus") => "wait for the reset, upgrade to Pro or buy credits",
        Some("free") | Some("go") => "wait for the reset or upgrade to Plus",
        Some("team") | Some("business") | Some("enterprise") | Some("edu") => {
            "wait for the reset or ask your workspace admin for more usage"
        }
        Some("pro") => "wait for the reset or buy credits",
        _ => "wait for the reset",
    };
    let plan = plan
        .map(|p| format!(" on the {p} plan"))
        .unwrap_or_default();
    format!("Codex usage limit reached{plan}{when}; {advice}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn http_errors_before_the_stream() {
        let h = HeaderMap::new();
        let url = "http://x/responses";
        let e = map_http_error(429, &h, br#"{"error":{"type":"usage_limit_reached","message":"limit","plan_type":"plus","resets_at":1767225600}}"#, url);
        assert!(matches!(
            &e,
            ProviderError::UsageLimitReached {
                resets_at: Some(1767225600),
                ..
            }
        ));
        let m = e.to_string();
        assert!(
            m.starts_with("Codex usage limit reached on the plus plan until 2026-01-01T00:00:00Z"),
            "{m}"
        );
        assert!(m.contains("upgrade to Pro"), "{m}");
        assert!(!e.is_retryable());
        let mut h2 = HeaderMap::new();
        h2.insert("retry-after", "3".parse().unwrap());
        let e = map_http_error(
            429,
            &h2,
            br#"{"error":{"message":"slow down","type":"rate_limit_error"}}"#,
            url,
        );
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        let e = map_http_error(
            503,
            &h,
            br#"{"error":{"code":"server_is_overloaded","message":"busy"}}"#,
            url,
        );
        assert!(matches!(e, ProviderError::Overloaded { .. }));
        let e = map_http_error(500, &h, b"<html>oops</html>", url);
        assert!(e.is_retryable());
        assert!(e.to_string().contains("HTTP 500: <html>oops</html>"));
        let e = map_http_error(
            400,
            &h,
            br#"{"error":{"message":"Unsupported parameter: foo"}}"#,
            url,
        );
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("Unsupported parameter: foo"));
        let e = map_http_error(404, &h, b"", url);
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("empty body"));
    }

    #[test]
    fn the_usage_limit_reset_comes_from_the_headers_when_the_body_lacks_it() {
        let mut h = HeaderMap::new();
        h.insert("x-codex-primary-used-percent", "100".parse().unwrap());
        h.insert("x-codex-primary-reset-at", "1767229200".parse().unwrap());
        let e = map_http_error(
            429,
            &h,
            br#"{"error":{"type":"usage_limit_reached","message":"limit","plan_type":"pro"}}"#,
            "http://x/responses",
        );
        assert!(matches!(
            e,
            ProviderError::UsageLimitReached {
                resets_at: Some(1767229200),
                ..
            }
        ));
        assert!(e.to_string().contains("until 2026-01-01T01:00:00Z"), "{e}");
    }
}
