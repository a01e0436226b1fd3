//! How much a back-end can make sx hold (docs/reliability.md, "Unbounded memory from the
//! back-end"). Every byte a server sends is bounded on its way in:
//!
//! | what | bound | beyond it |
//! |---|---|---|
//! | one SSE line, one event's data | [`MAX_SSE_LINE`] (16 MiB) | `TooLarge`, the stream is dropped |
//! | one streamed answer | `STREAM_MAX_BYTES` (default [`DEFAULT_STREAM_MAX_BYTES`], 256 MiB) | `TooLarge` |
//! | text, thinking and tool arguments a wire gathers for one answer | [`MAX_TURN_CONTENT`] (32 MiB) | `TooLarge` |
//! | a reply that is not a stream (error bodies, catalogs) | `runtime::MAX_REPLY_BODY` (8 MiB) | cut (error bodies) or `TooLarge` |
//! | a token endpoint's reply (refresh, token service, sign-in) | [`MAX_AUTH_REPLY`] (1 MiB) | an error naming the endpoint |
//! | one response in the traffic log | `MAX_TRAFFIC_RESPONSE` in the session's traffic writer | the file says where it stopped |
//!
//! Real answers stay far below: 128 000 output tokens streamed one delta event each (the
//! chattiest wires spend about 400 bytes per event) are about 50 MB, and their text under 1 MB.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;

use crate::error::ProviderError;

/// The longest SSE line, and the most data one event may gather (several `data:` lines).
pub const MAX_SSE_LINE: usize = 16 * 1024 * 1024;

/// `STREAM_MAX_BYTES`' default: the most one streamed answer may send.
pub const DEFAULT_STREAM_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// The most text, thinking and tool-call arguments a wire gathers for one answer.
pub const MAX_TURN_CONTENT: usize = 32 * 1024 * 1024;

/// The most a token endpoint's reply may hold (a token document is a few kilobytes).
pub const MAX_AUTH_REPLY: usize = 1024 * 1024;

/// `STREAM_MAX_BYTES` (docs/configuration.md), else the default; at least 1 KiB.
pub fn stream_max_bytes(config: &sx_config::Config) -> u64 {
    config
        .u64("STREAM_MAX_BYTES")
        .unwrap_or(DEFAULT_STREAM_MAX_BYTES)
        .max(1024)
}

/// "16 MiB", "300 KiB", "12 bytes": for messages.
pub fn human_bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= MIB {
        format!("{:.1} MiB", n as f64 / MIB as f64)
    } else if n >= 1024 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

/// What one answer's wire state has gathered so far (text, thinking, tool arguments), against
/// [`MAX_TURN_CONTENT`]. A wire calls [`ContentBudget::take`] before it appends.
#[derive(Debug, Default, Clone, Copy)]
pub struct ContentBudget {
    used: usize,
}

impl ContentBudget {
    /// Count `n` more bytes; an error once the answer's content would pass the limit.
    pub fn take(&mut self, n: usize) -> Result<(), ProviderError> {
        self.used = self.used.saturating_add(n);
        if self.used > MAX_TURN_CONTENT {
            return Err(ProviderError::TooLarge {
                what: format!(
                    "more than {} of text and tool arguments in one answer",
                    human_bytes(MAX_TURN_CONTENT as u64)
                ),
            });
        }
        Ok(())
    }
}

/// Why [`read_capped`] gave up.
#[derive(Debug)]
pub enum ReadError {
    /// The body is longer than the cap.
    TooLarge { cap: usize },
    /// The connection failed or went silent for the idle time.
    Failed(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::TooLarge { cap } => {
                write!(f, "the answer is larger than {}", human_bytes(*cap as u64))
            }
            ReadError::Failed(why) => f.write_str(why),
        }
    }
}

/// A whole body of at most `cap` bytes (a JSON answer), with `idle` as the longest wait for
/// each piece: an error rather than a cut body when it is longer.
pub async fn read_capped(
    resp: reqwest::Response,
    cap: usize,
    idle: Duration,
) -> Result<Bytes, ReadError> {
    let hint = resp.content_length().unwrap_or(0);
    if hint > cap as u64 {
        return Err(ReadError::TooLarge { cap });
    }
    let mut out = Vec::with_capacity(hint as usize);
    let mut body = resp.bytes_stream();
    loop {
        match tokio::time::timeout(idle, body.next()).await {
            Err(_) => {
                return Err(ReadError::Failed(format!(
                    "no data for {}s",
                    idle.as_secs()
                )));
            }
            Ok(None) => return Ok(Bytes::from(out)),
            Ok(Some(Err(e))) => return Err(ReadError::Failed(crate::error_chain(&e))),
            Ok(Some(Ok(chunk))) => {
                if out.len() + chunk.len() > cap {
                    return Err(ReadError::TooLarge { cap });
                }
                out.extend_from_slice(&chunk);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_stops_past_the_limit() {
        let mut b = ContentBudget::default();
        b.take(MAX_TURN_CONTENT).unwrap();
        let e = b.take(1).unwrap_err();
        assert!(
            e.to_string()
                .contains("more than 32 MiB of text and tool arguments in one answer"),
            "{e}"
        );
        assert!(!e.is_retryable());
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(16 * 1024 * 1024), "16 MiB");
        assert_eq!(human_bytes(1536 * 1024), "1.5 MiB");
        assert_eq!(human_bytes(2048), "2 KiB");
        assert_eq!(human_bytes(7), "7 bytes");
    }
}
