//! Failures → typed `ProviderError`s: HTTP errors before the stream (codex.md §D.1),
//! `response.failed` codes (§D.2), and the model catalog's answer.

use serde_json::Value;

use crate::auth::codex::body_snippet;
use crate::error::{ProviderError, parse_retry_after, parse_try_again_in};
use crate::providers::ModelInfo;

/// `response.failed` codes (codex.md §D.2).
pub(super) fn map_failed(code: String, message: String) -> ProviderError {
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
            }
        }
        _ => ProviderError::Failed {
            code,
            message,
            retry_after: None,
        },
    }
}

pub(super) fn error_message(body: &[u8]) -> String {
    let v: Option<Value> = serde_json::from_slice(body).ok();
    v.as_ref()
        .and_then(|v| {
            v["error"]["message"]
                .as_str()
                .or_else(|| v["detail"].as_str())
                .or_else(|| v["error"].as_str())
        })
        .map(str::to_owned)
        .unwrap_or_else(|| body_snippet(body))
}

/// HTTP errors before the stream starts (codex.md §D.1).
pub(super) fn map_http_error(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    url: &str,
) -> ProviderError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let err = &v["error"];
    let ty = err["type"].as_str().unwrap_or("");
    let code = err["code"].as_str().unwrap_or("");
    let message = error_message(body);
    let header_delay = headers
        .get("retry-after")
        .and_then(|h| h.to_str().ok())
        .and_then(parse_retry_after);
    match status {
        400 if code == "context_length_exceeded" => {
            ProviderError::ContextWindowExceeded { message }
        }
        400 | 422 => ProviderError::InvalidRequest { status, message },
        429 if ty == "usage_limit_reached" || code == "usage_limit_reached" => {
            ProviderError::UsageLimitReached {
                plan: err["plan_type"].as_str().map(str::to_owned),
                resets_at: err["resets_at"].as_u64().or_else(|| {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .ok()?
                        .as_secs();
                    err["resets_in_seconds"].as_u64().map(|s| now + s)
                }),
            }
        }
        429 if ty == "usage_not_included" || code == "usage_not_included" => {
            ProviderError::UsageNotIncluded { message }
        }
        429 if code == "insufficient_quota" || ty == "insufficient_quota" => {
            ProviderError::QuotaExceeded { message }
        }
        429 => {
            let retry_after = header_delay.or_else(|| parse_try_again_in(&message));
            ProviderError::RateLimited {
                message,
                retry_after,
            }
        }
        500..=599 if code == "server_is_overloaded" || code == "slow_down" || status == 529 => {
            ProviderError::Overloaded {
                status,
                message,
                retry_after: header_delay,
            }
        }
        500..=599 => ProviderError::Server {
            status,
            message,
            retry_after: header_delay,
        },
        408 | 409 => ProviderError::Server {
            status,
            message,
            retry_after: header_delay,
        },
        _ => ProviderError::UnexpectedStatus {
            status,
            url: url.to_string(),
            message,
        },
    }
}

/// The catalog's `{"models":[{slug, display_name, visibility, priority, …}]}`: listed models
/// (visibility `list`, or absent), by priority.
pub(super) fn parse_catalog(body: &[u8]) -> Result<Vec<ModelInfo>, ProviderError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| ProviderError::Protocol {
        detail: format!("model catalog is not JSON: {e}"),
    })?;
    let Some(models) = v["models"].as_array() else {
        return Err(ProviderError::Protocol {
            detail: "model catalog has no \"models\" list".into(),
        });
    };
    let mut listed: Vec<(i64, ModelInfo)> = models
        .iter()
        .filter(|m| matches!(m["visibility"].as_str(), None | Some("list")))
        .filter_map(|m| {
            let id = m["slug"].as_str()?.to_string();
            let display_name = m["display_name"].as_str().map(str::to_owned);
            Some((
                m["priority"].as_i64().unwrap_or(i64::MAX),
                ModelInfo { id, display_name },
            ))
        })
        .collect();
    listed.sort_by_key(|(p, _)| *p);
    Ok(listed.into_iter().map(|(_, m)| m).collect())
}
