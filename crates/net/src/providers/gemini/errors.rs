//! Failures → typed `ProviderError`s: HTTP answers before the stream and `error` objects inside
//! it (docs/protocols/providers.md §3.10; the `google.rpc` status names, `ErrorInfo.reason`,
//! `RetryInfo.retryDelay`, `QuotaFailure`).

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::ProviderId;
use crate::auth::AuthError;
use crate::error::{ProviderError, parse_retry_after, parse_try_again_in};
use crate::error_body::ErrorBody;

/// The configuration key of the API key, for messages.
pub(super) const KEY_NAME: &str = "GEMINI_API_KEY";

/// The code of the error that says a `cachedContents` entry the request named is gone
/// (expired, deleted): the provider recreates the entry and sends the call again, once.
pub(super) const CACHE_MISSING: &str = "cached_content_not_found";

/// What a Google error body says beyond its message.
struct Details {
    body: ErrorBody,
    /// `ErrorInfo.reason` (`API_KEY_INVALID`, …).
    reason: Option<String>,
    /// `RetryInfo.retryDelay`.
    retry_delay: Option<Duration>,
    /// A `QuotaFailure` names a per-day quota: waiting minutes does not help.
    daily_quota: bool,
}

fn details(body: &[u8]) -> Details {
    // The streaming endpoint may wrap its error in a list: `[{"error": …}]`.
    let unwrapped;
    let body = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(mut list)) if !list.is_empty() => {
            unwrapped = serde_json::to_vec(&list.swap_remove(0)).unwrap_or_default();
            &unwrapped[..]
        }
        _ => body,
    };
    let body = ErrorBody::parse(body);
    let mut d = Details {
        reason: None,
        retry_delay: None,
        daily_quota: false,
        body,
    };
    let list = d.body.json["error"]["details"].as_array().cloned();
    for detail in list.unwrap_or_default() {
        let ty = detail["@type"].as_str().unwrap_or_default();
        if ty.ends_with("google.rpc.ErrorInfo") {
            d.reason = detail["reason"].as_str().map(str::to_owned);
        } else if ty.ends_with("google.rpc.RetryInfo") {
            d.retry_delay = detail["retryDelay"].as_str().and_then(parse_delay);
        } else if ty.ends_with("google.rpc.QuotaFailure") {
            d.daily_quota |= detail["violations"].as_array().is_some_and(|v| {
                v.iter().any(|q| {
                    q["quotaId"]
                        .as_str()
                        .is_some_and(|id| id.contains("PerDay"))
                })
            });
        }
    }
    d
}

/// `"12s"`, `"1.5s"` (a protobuf `Duration` in JSON).
fn parse_delay(s: &str) -> Option<Duration> {
    let secs: f64 = s.strip_suffix('s')?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

/// The model a request URL names (`…/models/{model}:streamGenerateContent`).
fn model_of(url: &str) -> &str {
    url.split("/models/")
        .nth(1)
        .and_then(|rest| rest.split([':', '?']).next())
        .unwrap_or("?")
}

/// An HTTP error answer (not the 401 the runtime handles) as a typed error.
pub(super) fn map_http_error(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    url: &str,
) -> ProviderError {
    let d = details(body);
    let message = d.body.message.clone();
    let lower = message.to_ascii_lowercase();
    let retry_after = d
        .retry_delay
        .or_else(|| {
            headers
                .get("retry-after")
                .and_then(|h| h.to_str().ok())
                .and_then(parse_retry_after)
        })
        // A proxy in front of the API may say it in words ("try again in 20s").
        .or_else(|| parse_try_again_in(&message));
    let key_rejected = || {
        ProviderError::Auth(AuthError::KeyRejected {
            provider: ProviderId::Gemini,
            key: KEY_NAME,
            detail: format!("HTTP {status}: {message}"),
        })
    };
    match status {
        400 | 403 | 404
            if lower.contains("cachedcontent")
                || lower.contains("cached content")
                || lower.contains("cached_content") =>
        {
            ProviderError::Failed {
                code: CACHE_MISSING.into(),
                message,
                retry_after: None,
                retryable: false,
            }
        }
        400 if d.reason.as_deref() == Some("API_KEY_INVALID")
            || lower.contains("api key not valid")
            || lower.contains("api key expired") =>
        {
            key_rejected()
        }
        400 if lower.contains("input token count")
            || lower.contains("maximum number of tokens")
            || lower.contains("exceeds the context") =>
        {
            ProviderError::ContextWindowExceeded { message }
        }
        400 | 422 => ProviderError::InvalidRequest { status, message },
        403 => key_rejected(),
        404 => ProviderError::InvalidRequest {
            status,
            message: format!(
                "Gemini has no model '{}' ({message}); see sx --list-models",
                model_of(url)
            ),
        },
        429 if d.daily_quota => ProviderError::QuotaExceeded {
            message: format!("Gemini's daily quota is spent: {message}"),
        },
        429 => ProviderError::RateLimited {
            message,
            retry_after,
        },
        503 => ProviderError::Overloaded {
            status,
            message,
            retry_after,
        },
        500..=599 | 408 | 409 => ProviderError::Server {
            status,
            message,
            retry_after,
        },
        _ => ProviderError::UnexpectedStatus {
            provider: ProviderId::Gemini,
            status,
            url: url.to_string(),
            message,
        },
    }
}

/// An `error` object inside a 200 stream (`{"error":{"code","message","status"}}`), mapped as
/// the same answer over HTTP would be.
pub(super) fn map_stream_error(data: &str, url: &str) -> ProviderError {
    let v: Value = serde_json::from_str(data).unwrap_or(Value::Null);
    let err = &v["error"];
    let status = err["code"]
        .as_u64()
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (400..600).contains(c))
        .unwrap_or_else(|| match err["status"].as_str().unwrap_or_default() {
            "INVALID_ARGUMENT" | "FAILED_PRECONDITION" => 400,
            "PERMISSION_DENIED" => 403,
            "NOT_FOUND" => 404,
            "RESOURCE_EXHAUSTED" => 429,
            "UNAVAILABLE" => 503,
            "DEADLINE_EXCEEDED" => 504,
            _ => 500,
        });
    map_http_error(status, &HeaderMap::new(), data.as_bytes(), url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const URL: &str = "http://x/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse";

    fn map(status: u16, body: Value) -> ProviderError {
        map_http_error(status, &HeaderMap::new(), body.to_string().as_bytes(), URL)
    }

    fn google(code: u16, status: &str, message: &str, details: Value) -> Value {
        json!({"error": {"code": code, "message": message, "status": status, "details": details}})
    }

    #[test]
    fn a_rejected_key_is_an_auth_failure_naming_the_key() {
        let e = map(
            400,
            google(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]),
            ),
        );
        assert_eq!(e.exit_code(), 3, "{e}");
        let m = e.to_string();
        assert!(
            m.contains("GEMINI_API_KEY") && m.contains("API key not valid"),
            "{m}"
        );
        let e = map(
            403,
            google(
                403,
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers",
                json!([]),
            ),
        );
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("GEMINI_API_KEY"));
    }

    #[test]
    fn statuses_map_to_what_the_agent_acts_on() {
        let e = map(
            400,
            google(
                400,
                "INVALID_ARGUMENT",
                "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
                json!([]),
            ),
        );
        assert!(e.is_context_window_exceeded(), "{e}");
        let e = map(
            400,
            google(
                400,
                "INVALID_ARGUMENT",
                "Invalid value at 'tools[0]'",
                json!([]),
            ),
        );
        assert!(matches!(
            e,
            ProviderError::InvalidRequest { status: 400, .. }
        ));
        assert!(!e.is_retryable());
        let e = map(
            404,
            google(
                404,
                "NOT_FOUND",
                "models/gemini-9 is not found for API version v1beta",
                json!([]),
            ),
        );
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("no model 'gemini-3.8-flash'"), "{e}");
        let e = map(
            500,
            google(
                500,
                "INTERNAL",
                "An internal error has occurred.",
                json!([]),
            ),
        );
        assert!(matches!(e, ProviderError::Server { status: 500, .. }) && e.is_retryable());
        let e = map(
            503,
            google(
                503,
                "UNAVAILABLE",
                "The model is overloaded. Please try again later.",
                json!([]),
            ),
        );
        assert!(matches!(e, ProviderError::Overloaded { .. }) && e.is_retryable());
        let e = map_http_error(
            502,
            &HeaderMap::new(),
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            URL,
        );
        assert!(e.is_retryable());
        assert!(e.to_string().contains("502 Bad Gateway"), "{e}");
        let e = map(418, json!({}));
        assert!(e.to_string().contains("GEMINI_BASE_URL"), "{e}");
    }

    #[test]
    fn rate_limits_honour_retry_info_and_daily_quotas_are_not_retried() {
        let e = map(
            429,
            google(
                429,
                "RESOURCE_EXHAUSTED",
                "Resource has been exhausted",
                json!([
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}
                ]),
            ),
        );
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_millis(1500)));
        let mut h = HeaderMap::new();
        h.insert("retry-after", "3".parse().unwrap());
        let e = map_http_error(429, &h, b"{}", URL);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        let e = map(
            429,
            google(
                429,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota",
                json!([
                    {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
                        {"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                         "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}
                ]),
            ),
        );
        assert!(
            matches!(e, ProviderError::QuotaExceeded { .. }) && !e.is_retryable(),
            "{e}"
        );
    }

    #[test]
    fn a_missing_cache_entry_is_recognised_whatever_the_status() {
        for (status, name) in [
            (403, "PERMISSION_DENIED"),
            (404, "NOT_FOUND"),
            (400, "INVALID_ARGUMENT"),
        ] {
            let e = map(
                status,
                google(
                    status,
                    name,
                    "CachedContent not found (or permission denied)",
                    json!([]),
                ),
            );
            assert!(
                matches!(&e, ProviderError::Failed { code, .. } if code == CACHE_MISSING),
                "{status}: {e}"
            );
        }
    }

    #[test]
    fn errors_inside_the_stream_and_wrapped_in_a_list() {
        let e = map_stream_error(
            r#"{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}"#,
            URL,
        );
        assert!(matches!(e, ProviderError::Overloaded { .. }), "{e}");
        let e = map_stream_error(r#"{"error":{"message":"boom","status":"INTERNAL"}}"#, URL);
        assert!(
            matches!(e, ProviderError::Server { status: 500, .. }),
            "{e}"
        );
        let e = map_http_error(
            429,
            &HeaderMap::new(),
            br#"[{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED"}}]"#,
            URL,
        );
        assert!(e.to_string().contains("slow down"), "{e}");
    }
}
