//! Provider errors: each variant carries what callers decide on — whether to retry, after how
//! long, and which exit code (docs/spec.md §1) it means for the user.

use std::time::Duration;

use crate::ProviderId;
use crate::auth::AuthError;

/// Exit codes of docs/spec.md §1 that library errors map to.
pub const EXIT_RUNTIME: u8 = 1;
pub const EXIT_CONFIG: u8 = 2;
pub const EXIT_AUTH: u8 = 3;

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error(transparent)]
    Auth(#[from] AuthError),

    /// The provider cannot be built from the configuration.
    #[error("{0}")]
    Config(String),

    #[error(
        "the conversation no longer fits in the model's context window ({message}); start a new session or compact this one"
    )]
    ContextWindowExceeded { message: String },

    /// The account's usage window is spent; `message` is the provider's own advice (plan,
    /// reset time, what to do).
    #[error("{message}")]
    UsageLimitReached {
        message: String,
        resets_at: Option<u64>,
    },

    #[error(
        "your plan does not include Codex usage ({message}); upgrade the ChatGPT plan or use another provider"
    )]
    UsageNotIncluded { message: String },

    #[error("quota exceeded ({message}); check the account's billing and limits")]
    QuotaExceeded { message: String },

    #[error("rate limited by the server ({message}); wait a moment and try again")]
    RateLimited {
        message: String,
        retry_after: Option<Duration>,
    },

    #[error(
        "the model is at capacity (HTTP {status}: {message}); try again later or pick another model"
    )]
    Overloaded {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },

    #[error("server error (HTTP {status}: {message}); try again later")]
    Server {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },

    #[error(
        "the request was rejected (HTTP {status}: {message}); this is likely a bug in sx or an unsupported model/option"
    )]
    InvalidRequest { status: u16, message: String },

    #[error(
        "unexpected HTTP {status} from {} at {url}: {message}; check {} and try again",
        provider.display_name(),
        provider.base_url_key()
    )]
    UnexpectedStatus {
        provider: ProviderId,
        status: u16,
        url: String,
        message: String,
    },

    #[error(
        "cannot reach {} at {url}: {message}; check your network or {}",
        provider.display_name(),
        provider.base_url_key()
    )]
    Network {
        provider: ProviderId,
        url: String,
        message: String,
    },

    #[error("no data from the server for {}s; the connection stalled, try again", .after.as_secs())]
    IdleTimeout { after: Duration },

    #[error("the response stream ended before it was complete ({detail}); try again")]
    StreamTruncated { detail: String },

    #[error("the model stopped early ({reason}); try again or ask for a shorter answer")]
    Incomplete { reason: String },

    /// The back-end reported a failure inside the stream (`response.failed`, an `error`
    /// event); `retryable` is what its code says.
    #[error("the model call failed ({code}: {message})")]
    Failed {
        code: String,
        message: String,
        retry_after: Option<Duration>,
        retryable: bool,
    },

    #[error(
        "malformed response from the server ({detail}); try again, and report it if it persists"
    )]
    Protocol { detail: String },

    /// A program the provider drives (the `claude` CLI) failed; `message` says what happened
    /// and what to do.
    #[error("{message}")]
    Cli { message: String },

    /// The server sent more than sx holds (docs/reliability.md): one SSE line or event, a
    /// whole answer, or the text of one turn over its limit. Not retried: a server that sends
    /// it once will likely send it again.
    #[error(
        "the server's answer is too large ({what}); sx stopped reading it, try again and report it if it persists"
    )]
    TooLarge { what: String },

    #[error("cancelled")]
    Cancelled,
}

impl ProviderError {
    /// Whether sending the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ProviderError::Auth(e) => e.is_retryable(),
            ProviderError::RateLimited { .. }
            | ProviderError::Overloaded { .. }
            | ProviderError::Server { .. }
            | ProviderError::Network { .. }
            | ProviderError::IdleTimeout { .. }
            | ProviderError::StreamTruncated { .. }
            | ProviderError::Incomplete { .. } => true,
            ProviderError::Failed { retryable, .. } => *retryable,
            ProviderError::Config(_)
            | ProviderError::ContextWindowExceeded { .. }
            | ProviderError::UsageLimitReached { .. }
            | ProviderError::UsageNotIncluded { .. }
            | ProviderError::QuotaExceeded { .. }
            | ProviderError::InvalidRequest { .. }
            | ProviderError::UnexpectedStatus { .. }
            | ProviderError::Protocol { .. }
            | ProviderError::Cli { .. }
            | ProviderError::TooLarge { .. }
            | ProviderError::Cancelled => false,
        }
    }

    /// A delay the server asked for (Retry-After, "try again in 1.5s").
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::RateLimited { retry_after, .. }
            | ProviderError::Overloaded { retry_after, .. }
            | ProviderError::Server { retry_after, .. }
            | ProviderError::Failed { retry_after, .. } => *retry_after,
            ProviderError::Auth(_)
            | ProviderError::Config(_)
            | ProviderError::ContextWindowExceeded { .. }
            | ProviderError::UsageLimitReached { .. }
            | ProviderError::UsageNotIncluded { .. }
            | ProviderError::QuotaExceeded { .. }
            | ProviderError::InvalidRequest { .. }
            | ProviderError::UnexpectedStatus { .. }
            | ProviderError::Network { .. }
            | ProviderError::IdleTimeout { .. }
            | ProviderError::StreamTruncated { .. }
            | ProviderError::Incomplete { .. }
            | ProviderError::Protocol { .. }
            | ProviderError::Cli { .. }
            | ProviderError::TooLarge { .. }
            | ProviderError::Cancelled => None,
        }
    }

    /// Whether the failure happened before the server answered (request-level) rather than
    /// while reading the stream; the two have separate retry budgets.
    pub fn is_stream_error(&self) -> bool {
        match self {
            ProviderError::IdleTimeout { .. }
            | ProviderError::StreamTruncated { .. }
            | ProviderError::Incomplete { .. }
            | ProviderError::Failed { .. } => true,
            ProviderError::Auth(_)
            | ProviderError::Config(_)
            | ProviderError::ContextWindowExceeded { .. }
            | ProviderError::UsageLimitReached { .. }
            | ProviderError::UsageNotIncluded { .. }
            | ProviderError::QuotaExceeded { .. }
            | ProviderError::RateLimited { .. }
            | ProviderError::Overloaded { .. }
            | ProviderError::Server { .. }
            | ProviderError::InvalidRequest { .. }
            | ProviderError::UnexpectedStatus { .. }
            | ProviderError::Network { .. }
            | ProviderError::Protocol { .. }
            | ProviderError::Cli { .. }
            | ProviderError::TooLarge { .. }
            | ProviderError::Cancelled => false,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            ProviderError::Auth(e) => e.exit_code(),
            ProviderError::Config(_) => EXIT_CONFIG,
            ProviderError::ContextWindowExceeded { .. }
            | ProviderError::UsageLimitReached { .. }
            | ProviderError::UsageNotIncluded { .. }
            | ProviderError::QuotaExceeded { .. }
            | ProviderError::RateLimited { .. }
            | ProviderError::Overloaded { .. }
            | ProviderError::Server { .. }
            | ProviderError::InvalidRequest { .. }
            | ProviderError::UnexpectedStatus { .. }
            | ProviderError::Network { .. }
            | ProviderError::IdleTimeout { .. }
            | ProviderError::StreamTruncated { .. }
            | ProviderError::Incomplete { .. }
            | ProviderError::Failed { .. }
            | ProviderError::Protocol { .. }
            | ProviderError::Cli { .. }
            | ProviderError::TooLarge { .. }
            | ProviderError::Cancelled => EXIT_RUNTIME,
        }
    }

    pub fn is_context_window_exceeded(&self) -> bool {
        matches!(self, ProviderError::ContextWindowExceeded { .. })
    }
}

/// "1h 5m", "42s": coarse, for messages.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h {}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m {}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// Parse a delay out of messages like "Please try again in 11.054s", "in 28ms",
/// "try again in 35 seconds" (docs/protocols/codex.md §D.2). Case-insensitive; no regex needed.
pub fn parse_try_again_in(message: &str) -> Option<Duration> {
    let lower = message.to_ascii_lowercase();
    let idx = lower.find("try again in")?;
    let rest = lower[idx + "try again in".len()..].trim_start();
    let num_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let value: f64 = rest[..num_len].parse().ok()?;
    let unit = rest[num_len..].trim_start();
    let secs = if unit.starts_with("ms") || unit.starts_with("millisecond") {
        value / 1000.0
    } else if unit.starts_with('s') {
        value
    } else if unit.starts_with('m') {
        value * 60.0
    } else {
        return None;
    };
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(secs.min(3600.0)))
}

/// Parse an HTTP `Retry-After` header given in seconds (the HTTP-date form is not used by the
/// providers we talk to and is ignored).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v: f64 = value.trim().parse().ok()?;
    if v.is_finite() && v >= 0.0 {
        Some(Duration::from_secs_f64(v.min(3600.0)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_again_in_forms() {
        let d = |s: &str| parse_try_again_in(s);
        assert_eq!(
            d("Rate limit reached. Please try again in 11.054s. Visit"),
            Some(Duration::from_secs_f64(11.054))
        );
        assert_eq!(d("try again in 28ms"), Some(Duration::from_millis(28)));
        assert_eq!(d("Try Again In 35 seconds"), Some(Duration::from_secs(35)));
        assert_eq!(d("try again in 2 minutes"), Some(Duration::from_secs(120)));
        assert_eq!(d("try again later"), None);
        assert_eq!(d("nothing"), None);
    }

    #[test]
    fn retry_after_header() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0.5 "), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn retryability() {
        assert!(ProviderError::StreamTruncated { detail: "x".into() }.is_retryable());
        assert!(
            !ProviderError::ContextWindowExceeded {
                message: "x".into()
            }
            .is_retryable()
        );
        assert!(
            !ProviderError::InvalidRequest {
                status: 400,
                message: "x".into()
            }
            .is_retryable()
        );
    }
}
