//! The one parser of HTTP error bodies, whatever the back-end (docs/providers.md, "Errors"):
//!
//! - OpenAI / Codex: `{"error":{"message","type","code","param"}}`
//! - Anthropic: `{"type":"error","error":{"type","message"}}`
//! - Gemini: `{"error":{"code":400,"message","status":"INVALID_ARGUMENT"}}`
//! - OAuth (RFC 6749): `{"error":"invalid_grant","error_description":"…"}`
//! - FastAPI-style: `{"detail":"…"}`; or any text (HTML from a proxy, plain words)
//!
//! Wires decide what a status means; this only says what the body says. A body that echoes a
//! known secret (a refresh token in an OAuth 400, the bearer in a proxy's 400) has it masked
//! here, before any message is built from it (docs/reliability.md).

use serde_json::Value;

/// Bodies are read at most this far for messages (a proxy's HTML page can be large).
pub const MAX_ERROR_BODY: usize = 64 * 1024;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorBody {
    /// A human-readable message: the body's own, else a one-line excerpt of the body.
    pub message: String,
    /// The machine-readable code (`error.code`, an OAuth `error`, or top-level `code`) when it
    /// is a string.
    pub code: Option<String>,
    /// The error's kind (`error.type`, or Gemini's `error.status`).
    pub kind: Option<String>,
    /// The body as JSON (`Null` when it is not JSON), for wire-specific fields.
    pub json: Value,
}

impl ErrorBody {
    pub fn parse(body: &[u8]) -> ErrorBody {
        let body = &body[..body.len().min(MAX_ERROR_BODY)];
        let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let err = &json["error"];
        let s = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        let code = s(&err["code"])
            .or_else(|| s(err))
            .or_else(|| s(&json["code"]));
        let kind = s(&err["type"]).or_else(|| s(&err["status"]));
        let message = s(&json["error_description"])
            .or_else(|| s(&err["message"]))
            .or_else(|| s(&json["detail"]))
            .or_else(|| s(&json["message"]))
            .or_else(|| code.clone())
            .map(|m| sx_config::secrets::mask(&m).into_owned())
            .unwrap_or_else(|| snippet(body));
        ErrorBody {
            message,
            code,
            kind,
            json,
        }
    }

    /// Whether the code or the kind is `name`.
    pub fn is(&self, name: &str) -> bool {
        self.code.as_deref() == Some(name) || self.kind.as_deref() == Some(name)
    }
}

/// Whether a response says it is an HTML page.
pub fn is_html(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"))
}

/// Whether the first bytes of a body are markup (`<!DOCTYPE html>`, `<html>`, `<?xml`): no
/// event stream starts with `<`.
pub fn looks_like_html(first: &[u8]) -> bool {
    first.trim_ascii_start().first() == Some(&b'<')
}

/// The error for a 2xx answer that is an HTML page instead of an event stream (a proxy's
/// sign-in page, a captive portal, a wrong base URL): it names the page by its title.
pub fn html_instead_of_stream(provider: crate::ProviderId, body: &[u8]) -> crate::ProviderError {
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX_ERROR_BODY)]);
    let lower = text.to_ascii_lowercase();
    let title = lower
        .find("<title")
        .and_then(|start| {
            let open_end = start + lower[start..].find('>')? + 1;
            let close = open_end + lower[open_end..].find("</title")?;
            Some(snippet(text[open_end..close].as_bytes()))
        })
        .filter(|t| t != "empty body")
        .unwrap_or_else(|| snippet(body));
    crate::ProviderError::Protocol {
        detail: format!(
            "the server sent an HTML page instead of an event stream: \"{title}\"; check {} and any proxy in between",
            provider.base_url_key()
        ),
    }
}

/// A short, single-line excerpt of a body for error messages.
pub fn snippet(body: &[u8]) -> String {
    let body = &body[..body.len().min(MAX_ERROR_BODY)];
    let s = String::from_utf8_lossy(body);
    // Masked before it is cut: half a token is still too much of it.
    let s = sx_config::secrets::mask(&s);
    let mut out = String::new();
    let mut count = 0;
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
            count += 1;
        }
        for c in word.chars() {
            if count == 200 {
                out.push('…');
                return out;
            }
            out.push(c);
            count += 1;
        }
    }
    if out.is_empty() {
        return "empty body".into();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> ErrorBody {
        ErrorBody::parse(&serde_json::to_vec(&v).unwrap())
    }

    #[test]
    fn every_backend_shape() {
        let openai = parse(
            json!({"error":{"message":"bad model","type":"invalid_request_error","code":"model_not_found"}}),
        );
        assert_eq!(openai.message, "bad model");
        assert_eq!(openai.code.as_deref(), Some("model_not_found"));
        assert_eq!(openai.kind.as_deref(), Some("invalid_request_error"));

        let anthropic = parse(
            json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}),
        );
        assert_eq!(anthropic.message, "Overloaded");
        assert!(anthropic.is("overloaded_error"));
        assert_eq!(anthropic.code, None);

        let gemini = parse(
            json!({"error":{"code":429,"message":"Resource exhausted","status":"RESOURCE_EXHAUSTED"}}),
        );
        assert_eq!(gemini.message, "Resource exhausted");
        assert_eq!(
            gemini.code, None,
            "a numeric code is the status, not a name"
        );
        assert!(gemini.is("RESOURCE_EXHAUSTED"));

        let oauth = parse(json!({"error":"invalid_grant","error_description":"Code expired"}));
        assert_eq!(oauth.message, "Code expired");
        assert!(oauth.is("invalid_grant"));

        let bare = parse(json!({"error":"authorization_pending"}));
        assert_eq!(bare.message, "authorization_pending");

        assert_eq!(
            parse(json!({"detail":"Unauthorized"})).message,
            "Unauthorized"
        );
    }

    #[test]
    fn known_secrets_in_a_body_are_masked() {
        sx_config::secrets::register("rt_error_body_test_token_123456");
        let e =
            parse(json!({"error":{"message":"bad refresh_token rt_error_body_test_token_123456"}}));
        assert_eq!(e.message, "bad refresh_token ***");
        let e = ErrorBody::parse(b"<p>Bearer rt_error_body_test_token_123456 refused</p>");
        assert_eq!(e.message, "<p>Bearer *** refused</p>");
    }

    #[test]
    fn an_html_page_is_named_by_its_title() {
        let page = b"\n  <!DOCTYPE html><html><head><TITLE>Sign in \xe2\x80\x93 Corp\n Proxy</title></head><body>x</body></html>";
        assert!(looks_like_html(page));
        assert!(!looks_like_html(b"event: x\ndata: <b>\n\n"));
        let e = html_instead_of_stream(crate::ProviderId::Codex, page).to_string();
        assert!(
            e.contains("the server sent an HTML page instead of an event stream: \"Sign in – Corp Proxy\"; check CODEX_BASE_URL"),
            "{e}"
        );
        let e = html_instead_of_stream(crate::ProviderId::Codex, b"<p>no title</p>").to_string();
        assert!(e.contains("\"<p>no title</p>\""), "{e}");
    }

    #[test]
    fn text_bodies_become_one_bounded_line() {
        let e = ErrorBody::parse(b"<html>\n  <body>Bad   gateway</body>\n</html>");
        assert_eq!(e.message, "<html> <body>Bad gateway</body> </html>");
        assert_eq!(e.json, Value::Null);
        assert_eq!(ErrorBody::parse(b"").message, "empty body");
        let long = "x".repeat(1000);
        let m = snippet(long.as_bytes());
        assert_eq!(m.chars().count(), 201);
        assert!(m.ends_with('…'));
    }
}
