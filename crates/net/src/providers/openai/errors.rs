//! Failures → typed `ProviderError`s: HTTP errors before the stream and `error` objects inside a
//! 200 stream (docs/protocols/providers.md §4.7, §6.4 O11), for OpenAI and the servers that
//! speak its wire (llama.cpp, vLLM, Ollama, OpenRouter), whose bodies and words differ.

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::ProviderId;
use crate::auth::AuthError;
use crate::error::{ProviderError, parse_retry_after, parse_try_again_in};
use crate::error_body::ErrorBody;

/// The key that carries the credential, for messages.
pub(super) const KEY_NAME: &str = "OPENAI_API_KEY";

/// How each server says "the conversation no longer fits" (lower case): OpenAI's code,
/// llama.cpp's `exceed_context_size_error` and its message, vLLM's and OpenAI's "maximum
/// context length", Ollama's and gateways' "prompt too long".
const CONTEXT_CODES: &[&str] = &["context_length_exceeded", "exceed_context_size_error"];
const CONTEXT_WORDS: &[&str] = &[
    "maximum context length",
    "exceeds the available context size",
    "exceeds the context size",
    "context length exceeded",
    "prompt too long",
    "prompt is too long",
];

fn is_context_overflow(code: Option<&str>, kind: Option<&str>, message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    [code, kind]
        .into_iter()
        .flatten()
        .any(|c| CONTEXT_CODES.contains(&c))
        || CONTEXT_WORDS.iter().any(|w| lower.contains(w))
}

/// A delay the server asked for: `retry-after-ms`, `retry-after` (seconds), or "try again in
/// Ns" in the message (docs/protocols/providers.md §4.7).
fn server_delay(headers: &HeaderMap, message: &str) -> Option<std::time::Duration> {
    let header = |name: &str| headers.get(name).and_then(|h| h.to_str().ok());
    header("retry-after-ms")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map(|ms| std::time::Duration::from_secs_f64(ms.min(3_600_000.0) / 1000.0))
        .or_else(|| header("retry-after").and_then(parse_retry_after))
        .or_else(|| parse_try_again_in(message))
}

/// HTTP errors before the stream starts. `has_key`: whether `OPENAI_API_KEY` was sent (a 403
/// then names it; without one, it says to set it).
pub(super) fn map_http_error(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    url: &str,
    has_key: bool,
) -> ProviderError {
    let e = ErrorBody::parse(body);
    let message = e.message.clone();
    let code = e.code.as_deref();
    let kind = e.kind.as_deref();
    match status {
        400 | 413 | 422 if is_context_overflow(code, kind, &message) => {
            ProviderError::ContextWindowExceeded { message }
        }
        400 | 422 => ProviderError::InvalidRequest { status, message },
        401 | 403 => {
            let detail = format!("HTTP {status}: {message}");
            ProviderError::Auth(if has_key {
                AuthError::KeyRejected {
                    provider: ProviderId::Openai,
                    key: KEY_NAME,
                    detail,
                }
            } else {
                AuthError::AuthRequired {
                    provider: ProviderId::Openai,
                    key: Some(KEY_NAME),
                    detail,
                }
            })
        }
        402 => ProviderError::QuotaExceeded { message },
        // A server's own "no such model" (OpenAI `model_not_found`, Ollama "model … not found,
        // try pulling it first", vLLM "The model … does not exist"): the user picks another.
        404 if !e.json.is_null()
            && (e.is("model_not_found") || message.to_ascii_lowercase().contains("model")) =>
        {
            ProviderError::Config(format!(
                "{} at {url} does not serve this model ({message}); set MODEL to one it serves (sx --list-models lists them)",
                ProviderId::Openai.display_name()
            ))
        }
        429 if e.is("insufficient_quota") => ProviderError::QuotaExceeded { message },
        429 => ProviderError::RateLimited {
            retry_after: server_delay(headers, &message),
            message,
        },
        503 | 529 => ProviderError::Overloaded {
            status,
            retry_after: server_delay(headers, &message),
            message,
        },
        500..=599 | 408 | 409 => ProviderError::Server {
            status,
            retry_after: server_delay(headers, &message),
            message,
        },
        _ => ProviderError::UnexpectedStatus {
            provider: ProviderId::Openai,
            status,
            url: url.to_string(),
            message,
        },
    }
}

/// An `error` object inside a 200 stream: `{"message","type","code","param"}` (OpenAI, vLLM —
/// whose `code` is the HTTP status as a number), OpenRouter's `{"code": <status>, "message"}`.
/// Retried when it says it may pass: a rate limit, a server error or overload, a 5xx code.
pub(super) fn map_stream_error(err: &Value) -> ProviderError {
    let text = |k: &str| err[k].as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    let status = err["code"].as_u64();
    let code = text("code");
    let kind = text("type");
    let message = text("message")
        .or_else(|| err.as_str().map(str::to_owned))
        .unwrap_or_else(|| "the server reported an error".to_string());
    if is_context_overflow(code.as_deref(), kind.as_deref(), &message) {
        return ProviderError::ContextWindowExceeded { message };
    }
    let name = code
        .clone()
        .or_else(|| kind.clone())
        .or_else(|| status.map(|s| s.to_string()))
        .unwrap_or_else(|| "error".to_string());
    let is = |n: &str| code.as_deref() == Some(n) || kind.as_deref() == Some(n);
    if is("insufficient_quota") || status == Some(402) {
        return ProviderError::QuotaExceeded { message };
    }
    let rate_limited = is("rate_limit_exceeded") || is("rate_limit_error") || status == Some(429);
    let retryable = rate_limited
        || is("server_error")
        || is("internal_error")
        || is("overloaded_error")
        || is("server_is_overloaded")
        || status.is_some_and(|s| (500..600).contains(&s));
    ProviderError::Failed {
        code: name,
        retry_after: rate_limited.then(|| parse_try_again_in(&message)).flatten(),
        message,
        retryable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;
    use sx_testkit::fixture;

    const URL: &str = "http://127.0.0.1:8080/v1/chat/completions";

    fn http(status: u16, body: &[u8]) -> ProviderError {
        map_http_error(status, &HeaderMap::new(), body, URL, false)
    }

    #[test]
    fn every_servers_context_overflow_is_a_context_window_error() {
        for f in [
            "openai/http_400_context_openai.json",
            "openai/http_400_context_llamacpp.json",
            "openai/http_400_context_vllm.json",
            "openai/http_400_context_ollama.json",
        ] {
            let e = http(400, &fixture(f));
            assert!(e.is_context_window_exceeded(), "{f}: {e:?}");
            assert!(!e.is_retryable());
        }
        let e = http(400, &fixture("openai/http_400_invalid.json"));
        assert!(matches!(e, ProviderError::InvalidRequest { .. }), "{e:?}");
        assert!(
            e.to_string().contains("Unrecognized request argument"),
            "{e}"
        );
    }

    #[test]
    fn auth_failures_name_the_key() {
        let body = fixture("openai/http_401.json");
        let with = map_http_error(403, &HeaderMap::new(), &body, URL, true);
        assert_eq!(with.exit_code(), 3);
        let m = with.to_string();
        assert!(
            m.contains("rejected OPENAI_API_KEY") && m.contains("HTTP 403"),
            "{m}"
        );
        let without = http(403, &body);
        assert_eq!(without.exit_code(), 3);
        assert!(
            without.to_string().contains("set OPENAI_API_KEY"),
            "{without}"
        );
    }

    #[test]
    fn a_missing_model_is_a_configuration_error_and_a_missing_route_names_the_base_url() {
        for f in [
            "openai/http_404_model_openai.json",
            "openai/http_404_model_ollama.json",
        ] {
            let e = http(404, &fixture(f));
            assert_eq!(e.exit_code(), 2, "{f}: {e}");
            assert!(e.to_string().contains("set MODEL"), "{e}");
        }
        let e = http(404, &fixture("openai/html_404.html"));
        assert_eq!(e.exit_code(), 1);
        let m = e.to_string();
        assert!(m.contains("OPENAI_BASE_URL") && m.contains("<html>"), "{m}");
    }

    #[test]
    fn rate_limits_quota_and_server_errors() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        let e = map_http_error(429, &h, &fixture("openai/http_429.json"), URL, true);
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        let mut h = HeaderMap::new();
        h.insert("retry-after-ms", "250".parse().unwrap());
        h.insert("retry-after", "7".parse().unwrap());
        let e = map_http_error(429, &h, &fixture("openai/http_429.json"), URL, true);
        assert_eq!(e.retry_after(), Some(Duration::from_millis(250)));
        // Without headers, the message's own "try again in".
        let e = http(429, &fixture("openai/http_429.json"));
        assert_eq!(e.retry_after(), Some(Duration::from_secs_f64(1.5)));
        let e = http(429, &fixture("openai/http_429_quota.json"));
        assert!(matches!(e, ProviderError::QuotaExceeded { .. }), "{e:?}");
        assert!(!e.is_retryable());
        let e = http(500, &fixture("openai/http_500.json"));
        assert!(
            matches!(e, ProviderError::Server { status: 500, .. }),
            "{e:?}"
        );
        assert!(e.is_retryable());
        let e = http(503, b"");
        assert!(matches!(e, ProviderError::Overloaded { .. }), "{e:?}");
        let e = http(502, &fixture("openai/html_502.html"));
        assert!(e.is_retryable());
        let m = e.to_string();
        assert!(!m.contains('\n') && m.contains("502 Bad Gateway"), "{m}");
    }

    #[test]
    fn stream_errors() {
        let e = map_stream_error(
            &json!({"message":"The server had an error while processing your request. Sorry about that!","type":"server_error"}),
        );
        assert!(e.is_retryable(), "{e:?}");
        let e = map_stream_error(
            &json!({"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens","type":"BadRequestError","code":400}),
        );
        assert!(e.is_context_window_exceeded(), "{e:?}");
        let e = map_stream_error(&json!({"code":502,"message":"Provider returned error"}));
        assert!(e.is_retryable(), "{e:?}");
        assert!(
            e.to_string().contains("502: Provider returned error"),
            "{e}"
        );
        let e =
            map_stream_error(&json!({"message":"bad tool schema","type":"invalid_request_error"}));
        assert!(!e.is_retryable());
        assert!(
            e.to_string()
                .contains("invalid_request_error: bad tool schema"),
            "{e}"
        );
        let e = map_stream_error(
            &json!({"message":"Rate limit reached. Please try again in 2s.","code":"rate_limit_exceeded"}),
        );
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        let e = map_stream_error(&json!("overloaded"));
        assert!(e.to_string().contains("overloaded"), "{e}");
    }
}
