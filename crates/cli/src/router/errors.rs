//! Failures → Messages error bodies (docs/protocols/providers.md §1.9):
//! `{"type":"error","error":{"type","message"}}` with the status an Anthropic client acts on
//! (it retries 429, 5xx and 529, honouring `retry-after`; it compacts on a 400 that says
//! "prompt is too long").

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sxnet::ProviderId;
use sxnet::error::ProviderError;

/// One error as the router answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// `invalid_request_error`, `authentication_error`, `permission_error`,
    /// `not_found_error`, `request_too_large`, `rate_limit_error`, `api_error`,
    /// `overloaded_error`.
    pub kind: &'static str,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found_error", message)
    }

    /// What `upstream` failing with `e` means for the client.
    pub fn upstream(upstream: ProviderId, e: &ProviderError) -> ApiError {
        let who = upstream.display_name();
        let msg = crate::one_line(&e.to_string());
        let status = |code: u16| StatusCode::from_u16(code).expect("a valid status");
        let (status, kind, message) = match e {
            ProviderError::Auth(a) if a.is_retryable() => {
                (status(500), "api_error", format!("{who}: {msg}"))
            }
            ProviderError::Auth(_) => (
                status(401),
                "authentication_error",
                format!(
                    "the router's credentials for {who} were not accepted ({msg}); ask the \
                     router's administrator to sign it in again"
                ),
            ),
            ProviderError::Config(_) => {
                // The wires say "(HTTP 404: …)" for an unknown model and 403 for one the
                // account may not use.
                if msg.contains("HTTP 404") {
                    (status(404), "not_found_error", format!("{who}: {msg}"))
                } else if msg.contains("HTTP 403") {
                    (status(403), "permission_error", format!("{who}: {msg}"))
                } else {
                    (
                        status(400),
                        "invalid_request_error",
                        format!("{who}: {msg}"),
                    )
                }
            }
            // Anthropic clients compact when they read these words.
            ProviderError::ContextWindowExceeded { message } => (
                status(400),
                "invalid_request_error",
                format!("prompt is too long: {who}: {message}"),
            ),
            ProviderError::UsageLimitReached { .. } | ProviderError::RateLimited { .. } => {
                (status(429), "rate_limit_error", format!("{who}: {msg}"))
            }
            ProviderError::UsageNotIncluded { .. } => {
                (status(403), "permission_error", format!("{who}: {msg}"))
            }
            ProviderError::QuotaExceeded { .. } => (
                status(400),
                "invalid_request_error",
                format!("{who}: {msg}"),
            ),
            ProviderError::Overloaded { .. } => {
                (status(529), "overloaded_error", format!("{who}: {msg}"))
            }
            ProviderError::InvalidRequest { message, .. } => (
                status(400),
                "invalid_request_error",
                format!("{who} rejected the request: {message}"),
            ),
            ProviderError::Server { .. }
            | ProviderError::UnexpectedStatus { .. }
            | ProviderError::Network { .. }
            | ProviderError::IdleTimeout { .. }
            | ProviderError::StreamTruncated { .. }
            | ProviderError::Incomplete { .. }
            | ProviderError::Failed { .. }
            | ProviderError::Protocol { .. }
            | ProviderError::Cli { .. }
            | ProviderError::TooLarge { .. }
            | ProviderError::Cancelled => (status(500), "api_error", format!("{who}: {msg}")),
        };
        let retry_after = match e {
            ProviderError::UsageLimitReached {
                resets_at: Some(at),
                ..
            } => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                Some(Duration::from_secs(at.saturating_sub(now).max(1)))
            }
            e => e.retry_after(),
        };
        ApiError {
            status,
            kind,
            message,
            retry_after,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        serde_json::json!({
            "type": "error",
            "error": {"type": self.kind, "message": self.message},
        })
        .to_string()
    }

    pub fn into_response(self) -> Response {
        let mut r = (
            self.status,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            self.body(),
        )
            .into_response();
        if let Some(d) = self.retry_after {
            let secs = d.as_secs_f64().ceil().max(1.0) as u64;
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        r
    }
}

/// The router's own error body for the service plumbing (limits, unknown routes).
pub fn plain(status: StatusCode, message: &str) -> Response {
    let kind = match status.as_u16() {
        404 => "not_found_error",
        405 => "invalid_request_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        500 => "api_error",
        503 | 529 => "overloaded_error",
        _ => "invalid_request_error",
    };
    ApiError::new(status, kind, message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sxnet::auth::AuthError;

    fn of(e: ProviderError) -> ApiError {
        ApiError::upstream(ProviderId::Codex, &e)
    }

    #[test]
    fn each_failure_gets_the_status_an_anthropic_client_acts_on() {
        let e = of(ProviderError::Overloaded {
            status: 503,
            message: "busy".into(),
            retry_after: Some(Duration::from_millis(1500)),
        });
        assert_eq!((e.status.as_u16(), e.kind), (529, "overloaded_error"));
        assert_eq!(e.retry_after, Some(Duration::from_millis(1500)));
        let r = e.into_response();
        assert_eq!(r.headers()["retry-after"], "2");

        let e = of(ProviderError::RateLimited {
            message: "slow".into(),
            retry_after: Some(Duration::from_secs(7)),
        });
        assert_eq!((e.status.as_u16(), e.kind), (429, "rate_limit_error"));
        let e = of(ProviderError::UsageLimitReached {
            message: "plan spent".into(),
            resets_at: Some(u64::MAX / 2),
        });
        assert_eq!(e.status.as_u16(), 429);
        assert!(e.retry_after.unwrap() > Duration::from_secs(3600));

        let e = of(ProviderError::Auth(AuthError::NotLoggedIn {
            path: "/x/auth.json".into(),
        }));
        assert_eq!((e.status.as_u16(), e.kind), (401, "authentication_error"));
        assert!(e.message.contains("administrator"), "{}", e.message);

        let e = of(ProviderError::ContextWindowExceeded {
            message: "too many tokens".into(),
        });
        assert_eq!((e.status.as_u16(), e.kind), (400, "invalid_request_error"));
        assert!(e.message.starts_with("prompt is too long"), "{}", e.message);

        let e = of(ProviderError::InvalidRequest {
            status: 400,
            message: "bad tool schema".into(),
        });
        assert_eq!(e.status.as_u16(), 400);
        assert!(e.message.contains("bad tool schema"), "{}", e.message);

        let e = of(ProviderError::Config(
            "Codex does not know this model (HTTP 404: no such model)".into(),
        ));
        assert_eq!((e.status.as_u16(), e.kind), (404, "not_found_error"));

        for e in [
            ProviderError::Server {
                status: 502,
                message: "bad gateway".into(),
                retry_after: None,
            },
            ProviderError::StreamTruncated {
                detail: "cut".into(),
            },
            ProviderError::Protocol {
                detail: "odd".into(),
            },
        ] {
            let e = of(e);
            assert_eq!((e.status.as_u16(), e.kind), (500, "api_error"));
            assert!(e.message.starts_with("Codex: "), "{}", e.message);
        }
    }

    #[test]
    fn the_body_is_the_messages_error_shape() {
        let e = ApiError::not_found("no route");
        let v: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type":"error","error":{"type":"not_found_error","message":"no route"}})
        );
    }
}
