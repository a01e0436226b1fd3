//! Failures → typed `ProviderError`s (docs/protocols/providers.md §1.9): an HTTP error before the
//! stream, and an `error` event inside a 200 stream, both `{"type":"error","error":{"type",
//! "message"}}`. The error's `type` decides; the status backs it up for bodies that are not
//! the API's (a proxy's HTML page).

use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::ProviderId;
use crate::error::{ProviderError, parse_retry_after, parse_try_again_in};
use crate::error_body::ErrorBody;

/// An HTTP error (the runtime handles 401 itself: one recovery, then the key is reported).
pub(super) fn map_http_error(
    provider: ProviderId,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    url: &str,
) -> ProviderError {
    let e = ErrorBody::parse(body);
    let kind = e.kind.as_deref().unwrap_or("");
    // A gateway in front of the API may say it in words ("try again in 20s").
    let retry_after = retry_after(headers).or_else(|| parse_try_again_in(&e.message));
    match (status, kind) {
        (_, "invalid_request_error") | (400 | 422, _) => invalid_request(status, e),
        (402, _) | (_, "billing_error") => ProviderError::QuotaExceeded { message: e.message },
        (403, _) | (_, "permission_error") => ProviderError::Config(format!(
            "{} refused the request (HTTP {status}: {}); the key may lack access to this model or feature — check its workspace permissions, or pick another model",
            provider.display_name(),
            e.message
        )),
        (404, "not_found_error") => ProviderError::Config(format!(
            "{} does not know this model or endpoint (HTTP 404: {}); check MODEL (sx --list-models lists the models) and {}",
            provider.display_name(),
            e.message,
            provider.base_url_key()
        )),
        (413, _) | (_, "request_too_large") => ProviderError::ContextWindowExceeded {
            message: format!("request too large: {}", e.message),
        },
        (429, _) | (_, "rate_limit_error") => rate_limited(e, retry_after),
        (529, _) | (_, "overloaded_error") => ProviderError::Overloaded {
            status,
            message: e.message,
            retry_after,
        },
        (408 | 409 | 500..=599, _) | (_, "api_error" | "timeout_error") => ProviderError::Server {
            status,
            message: e.message,
            retry_after,
        },
        _ => ProviderError::UnexpectedStatus {
            provider,
            status,
            url: url.to_string(),
            message: e.message,
        },
    }
}

/// An `error` event inside a 200 stream: the same error types, no status. What the HTTP
/// mapping would retry is retried; anything else ends the call with its message.
pub(super) fn map_stream_error(data: &str) -> ProviderError {
    let e = ErrorBody::parse(data.as_bytes());
    let kind = e.kind.clone().unwrap_or_else(|| "error".to_string());
    match kind.as_str() {
        "invalid_request_error" => invalid_request(400, e),
        "billing_error" => ProviderError::QuotaExceeded { message: e.message },
        "request_too_large" => ProviderError::ContextWindowExceeded {
            message: format!("request too large: {}", e.message),
        },
        "rate_limit_error" => rate_limited(e, None),
        "overloaded_error" => ProviderError::Overloaded {
            status: 529,
            message: e.message,
            retry_after: None,
        },
        "api_error" | "timeout_error" => ProviderError::Server {
            status: 500,
            message: e.message,
            retry_after: None,
        },
        _ => ProviderError::Failed {
            code: kind,
            message: e.message,
            retry_after: None,
            retryable: false,
        },
    }
}

/// 400 `invalid_request_error`: a prompt that no longer fits is the agent's to fix (it
/// compacts); a spent credit balance is a billing matter; the rest is a bad request.
fn invalid_request(status: u16, e: ErrorBody) -> ProviderError {
    let lower = e.message.to_ascii_lowercase();
    if lower.contains("prompt is too long")
        || lower.contains("exceed context limit")
        || lower.contains("context window")
    {
        ProviderError::ContextWindowExceeded { message: e.message }
    } else if lower.contains("credit balance") {
        ProviderError::QuotaExceeded { message: e.message }
    } else {
        ProviderError::InvalidRequest {
            status,
            message: e.message,
        }
    }
}

/// 429: retried after `retry-after`, except the spend cap, which does not clear by waiting
/// (docs/protocols/providers.md §1.9, A11).
fn rate_limited(e: ErrorBody, retry_after: Option<Duration>) -> ProviderError {
    if e.json["error"]["details"]["error_code"] == "enforced_spend_limit_reached" {
        return ProviderError::QuotaExceeded { message: e.message };
    }
    ProviderError::RateLimited {
        message: e.message,
        retry_after,
    }
}

/// `retry-after-ms` (milliseconds), else `retry-after` (seconds), as the official SDK reads them.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    get("retry-after-ms")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map(|ms| Duration::from_secs_f64(ms.min(3_600_000.0) / 1000.0))
        .or_else(|| get("retry-after").and_then(parse_retry_after))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://api.anthropic.com/v1/messages";

    fn http(status: u16, body: &str) -> ProviderError {
        map_http_error(
            ProviderId::Anthropic,
            status,
            &HeaderMap::new(),
            body.as_bytes(),
            URL,
        )
    }

    fn body(kind: &str, message: &str) -> String {
        serde_json::json!({"type":"error","error":{"type":kind,"message":message},"request_id":"req_011C"})
            .to_string()
    }

    #[test]
    fn each_documented_status() {
        let e = http(
            400,
            &body(
                "invalid_request_error",
                "prompt is too long: 210000 tokens > 200000 maximum",
            ),
        );
        assert!(e.is_context_window_exceeded(), "{e}");
        let e = http(
            400,
            &body("invalid_request_error", "messages.1: unexpected role"),
        );
        assert!(
            matches!(e, ProviderError::InvalidRequest { status: 400, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("messages.1: unexpected role"), "{e}");
        assert!(!e.is_retryable());
        let e = http(
            400,
            &body(
                "invalid_request_error",
                "Your credit balance is too low to access the Anthropic API.",
            ),
        );
        assert!(matches!(e, ProviderError::QuotaExceeded { .. }), "{e}");

        let e = http(
            403,
            &body(
                "permission_error",
                "Your API key does not have permission to use the specified resource.",
            ),
        );
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("does not have permission"), "{e}");

        let e = http(404, &body("not_found_error", "model: claude-nope"));
        let m = e.to_string();
        assert!(
            m.contains("model: claude-nope") && m.contains("MODEL") && m.contains("--list-models"),
            "{m}"
        );
        assert_eq!(e.exit_code(), 2);
        // A 404 that is not the API's (a wrong base URL) names the base URL key.
        let e = http(404, "<html><body>Not Found</body></html>");
        assert!(e.to_string().contains("ANTHROPIC_BASE_URL"), "{e}");
        assert!(e.to_string().contains("Not Found"), "{e}");

        let e = http(
            413,
            &body(
                "request_too_large",
                "Request exceeds the maximum allowed number of bytes.",
            ),
        );
        assert!(e.is_context_window_exceeded(), "{e}");

        let e = http(500, &body("api_error", "Internal server error"));
        assert!(matches!(e, ProviderError::Server { status: 500, .. }) && e.is_retryable());
        let e = http(529, &body("overloaded_error", "Overloaded"));
        assert!(matches!(e, ProviderError::Overloaded { status: 529, .. }) && e.is_retryable());
        let e = http(
            502,
            "<html><head><title>502 Bad Gateway</title></head></html>",
        );
        assert!(e.is_retryable());
        assert!(e.to_string().contains("502 Bad Gateway"), "{e}");
        let e = http(402, &body("billing_error", "pay up"));
        assert!(matches!(e, ProviderError::QuotaExceeded { .. }) && !e.is_retryable());
    }

    #[test]
    fn rate_limits_honour_retry_after_except_the_spend_cap() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        let e = map_http_error(
            ProviderId::Anthropic,
            429,
            &h,
            body("rate_limit_error", "slow down").as_bytes(),
            URL,
        );
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", "250".parse().unwrap());
        let e = map_http_error(
            ProviderId::Anthropic,
            429,
            &h,
            body("rate_limit_error", "slow down").as_bytes(),
            URL,
        );
        assert_eq!(e.retry_after(), Some(Duration::from_millis(250)));
        let cap = r#"{"type":"error","error":{"type":"rate_limit_error","message":"spend limit","details":{"error_code":"enforced_spend_limit_reached"}}}"#;
        let e = http(429, cap);
        assert!(
            matches!(e, ProviderError::QuotaExceeded { .. }) && !e.is_retryable(),
            "{e}"
        );
        let e = map_http_error(
            ProviderId::Anthropic,
            529,
            &h,
            body("overloaded_error", "Overloaded").as_bytes(),
            URL,
        );
        assert_eq!(e.retry_after(), Some(Duration::from_millis(250)));
    }

    #[test]
    fn stream_errors() {
        let e = map_stream_error(&body("overloaded_error", "Overloaded"));
        assert!(matches!(e, ProviderError::Overloaded { .. }) && e.is_retryable());
        assert!(e.to_string().contains("Overloaded"));
        let e = map_stream_error(&body("api_error", "boom"));
        assert!(e.is_retryable());
        let e = map_stream_error(&body("invalid_request_error", "prompt is too long"));
        assert!(e.is_context_window_exceeded());
        let e = map_stream_error(&body("something_new", "odd"));
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("something_new: odd"), "{e}");
        let e = map_stream_error("not json");
        assert!(e.to_string().contains("not json"), "{e}");
    }
}
