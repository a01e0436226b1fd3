//! What the mock saw: one record per request, in arrival order.

use std::time::Instant;

use serde_json::Value;

/// A request as received by [`crate::MockServer`].
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Upper-case method, e.g. `POST`.
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Raw query string (after `?`), if any.
    pub query: Option<String>,
    /// Header names lower-cased, in arrival order (values are UTF-8-lossy).
    pub headers: Vec<(String, String)>,
    /// Body bytes exactly as received.
    pub raw_body: Vec<u8>,
    /// Body after `content-encoding: zstd` decoding; equal to `raw_body` otherwise,
    /// and when decoding failed (see `decode_error`).
    pub body: Vec<u8>,
    /// The `content-encoding` header, if any.
    pub content_encoding: Option<String>,
    /// Why `body` could not be decoded (bad zstd, unsupported encoding, body read error).
    pub decode_error: Option<String>,
    /// When the full request (headers and body) had arrived.
    pub received_at: Instant,
}

impl Recorded {
    pub(crate) fn new(
        method: String,
        path: String,
        query: Option<String>,
        headers: Vec<(String, String)>,
        raw_body: Vec<u8>,
        read_error: Option<String>,
    ) -> Recorded {
        let content_encoding = headers
            .iter()
            .find(|(name, _)| name == "content-encoding")
            .map(|(_, value)| value.clone());
        let (body, decode_error) = match (&read_error, content_encoding.as_deref()) {
            (Some(err), _) => (raw_body.clone(), Some(err.clone())),
            (None, None) => (raw_body.clone(), None),
            (None, Some(encoding)) => decode(&raw_body, encoding),
        };
        Recorded {
            method,
            path,
            query,
            headers,
            raw_body,
            body,
            content_encoding,
            decode_error,
            received_at: Instant::now(),
        }
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name` (case-insensitive), in arrival order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The decoded body parsed as JSON.
    ///
    /// # Panics
    /// With the method, path and the start of the body when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            let head = String::from_utf8_lossy(&self.body[..self.body.len().min(200)]).into_owned();
            panic!(
                "mock: body of {} {} is not JSON ({err}); decode_error={:?}; first bytes: {head:?}",
                self.method, self.path, self.decode_error
            )
        })
    }

    /// The decoded body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request body after its `content-encoding` (none, `identity` or `zstd`), and why it could
/// not be decoded (the raw bytes are returned then).
pub fn decode(raw: &[u8], encoding: &str) -> (Vec<u8>, Option<String>) {
    let encoding = encoding.trim().to_ascii_lowercase();
    match encoding.as_str() {
        "" | "identity" => (raw.to_vec(), None),
        "zstd" => match zstd::stream::decode_all(raw) {
            Ok(decoded) => (decoded, None),
            Err(err) => (raw.to_vec(), Some(format!("zstd decode failed: {err}"))),
        },
        other => (
            raw.to_vec(),
            Some(format!("unsupported content-encoding {other:?}")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(headers: &[(&str, &str)], raw: Vec<u8>) -> Recorded {
        let headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        Recorded::new("POST".into(), "/x".into(), None, headers, raw, None)
    }

    #[test]
    fn zstd_body_is_decoded() {
        let plain = br#"{"model":"gpt-5.5"}"#.to_vec();
        let packed = zstd::stream::encode_all(&plain[..], 3).unwrap();
        let r = rec(&[("content-encoding", "zstd")], packed.clone());
        assert_eq!(r.body, plain);
        assert_eq!(r.raw_body, packed);
        assert_eq!(r.decode_error, None);
        assert_eq!(r.json()["model"], "gpt-5.5");
    }

    #[test]
    fn bad_zstd_keeps_raw_and_says_why() {
        let r = rec(&[("content-encoding", "zstd")], b"not zstd".to_vec());
        assert_eq!(r.body, b"not zstd");
        assert!(
            r.decode_error
                .as_deref()
                .unwrap()
                .starts_with("zstd decode failed")
        );
    }

    #[test]
    fn unsupported_encoding_is_flagged() {
        let r = rec(&[("content-encoding", "gzip")], b"x".to_vec());
        assert_eq!(r.body, b"x");
        assert!(r.decode_error.unwrap().contains("gzip"));
    }

    #[test]
    fn header_lookup_is_case_insensitive() {
        let r = rec(
            &[("x-a", "1"), ("accept", "text/event-stream"), ("x-a", "2")],
            vec![],
        );
        assert_eq!(r.header("Accept"), Some("text/event-stream"));
        assert_eq!(r.header("X-A"), Some("1"));
        assert_eq!(r.header_all("x-a"), vec!["1", "2"]);
        assert_eq!(r.header("missing"), None);
    }

    #[test]
    #[should_panic(expected = "is not JSON")]
    fn json_panics_clearly() {
        rec(&[], b"plain".to_vec()).json();
    }
}
