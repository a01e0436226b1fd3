//! JWT claims, decoded without verifying the signature (docs/protocols/codex.md §A.2): the client only reads
//! its own tokens' expiry and account; the server is the one that verifies them.

use base64::Engine;
use serde_json::Value;

/// The claims sx reads from a ChatGPT id/access token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    pub exp: Option<u64>,
    pub email: Option<String>,
    pub account_id: Option<String>,
    pub plan_type: Option<String>,
    pub user_id: Option<String>,
    pub fedramp: bool,
}

/// Decode a JWT's payload: three non-empty dot-separated parts, base64url (padding tolerated).
pub fn decode_claims(token: &str) -> Result<Claims, String> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("expected three dot-separated parts".into());
    };
    if h.is_empty() || p.is_empty() || s.is_empty() {
        return Err("a part is empty".into());
    }
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(p.trim_end_matches('='))
        .map_err(|e| format!("payload is not base64url: {e}"))?;
    let v: Value = serde_json::from_slice(&raw).map_err(|e| format!("payload is not JSON: {e}"))?;
    if !v.is_object() {
        return Err("payload is not a JSON object".into());
    }
    let auth = v.get("https://api.openai.com/auth");
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let exp = match v.get("exp") {
        None | Some(Value::Null) => None,
        Some(e) => Some(
            e.as_u64()
                .or_else(|| e.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
                .ok_or_else(|| "the exp claim is not a number".to_string())?,
        ),
    };
    Ok(Claims {
        exp,
        email: s(v.get("email")).or_else(|| {
            s(v.get("https://api.openai.com/profile")
                .and_then(|p| p.get("email")))
        }),
        account_id: s(auth.and_then(|a| a.get("chatgpt_account_id"))),
        plan_type: s(auth.and_then(|a| a.get("chatgpt_plan_type"))),
        user_id: s(auth.and_then(|a| a.get("chatgpt_user_id")))
            .or_else(|| s(auth.and_then(|a| a.get("user_id")))),
        fedramp: auth
            .and_then(|a| a.get("chatgpt_account_is_fedramp"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(v: &Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    #[test]
    fn reads_the_codex_claims() {
        let payload = serde_json::json!({
            "exp": 1767225600u64,
            "https://api.openai.com/auth": {"chatgpt_account_id": "acct-1", "chatgpt_plan_type": "pro", "user_id": "u1"},
            "https://api.openai.com/profile": {"email": "a@b.c"}
        });
        let t = format!(
            "{}.{}.c2ln",
            b64(&serde_json::json!({"alg":"none"})),
            b64(&payload)
        );
        let c = decode_claims(&t).unwrap();
        assert_eq!(c.exp, Some(1767225600));
        assert_eq!(c.account_id.as_deref(), Some("acct-1"));
        assert_eq!(c.plan_type.as_deref(), Some("pro"));
        assert_eq!(c.user_id.as_deref(), Some("u1"));
        assert_eq!(c.email.as_deref(), Some("a@b.c"));
    }

    #[test]
    fn malformed_tokens_are_errors_not_panics() {
        for bad in [
            "",
            "abc",
            "a.b",
            "a..c",
            "a.b.c.d",
            "a.!!!.c",
            "a.bm90anNvbg.c",
            "a.WzFd.c",
        ] {
            assert!(decode_claims(bad).is_err(), "{bad}");
        }
        let t = format!("h.{}.s", b64(&serde_json::json!({"exp": "soon"})));
        assert!(decode_claims(&t).unwrap_err().contains("exp"));
    }
}
