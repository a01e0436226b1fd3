//! The JWT claims reader (crates/net/src/auth/jwt.rs) and the `auth.json` reader
//! (crates/net/src/auth/codex.rs, and a token server's answer in auth/remote.rs): any bytes as
//! a token, as a document, and with the payload given as a JWT. Invariant: a JSON object
//! given as a JWT's payload always decodes (its claims never make the reader fail, except an
//! `exp` that is not a number).
#![no_main]

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use sxnet::auth::{AuthFile, decode_claims, parse_token_document};

fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..=c.len() {
            out.push(char::from(A[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = decode_claims(&text);
    let _ = parse_token_document(data, "fuzz");

    // The bytes as a JWT's payload.
    let jwt = format!("eyJhbGciOiJub25lIn0.{}.c2ln", base64url(data));
    let claims = decode_claims(&jwt);
    if let Ok(serde_json::Value::Object(doc)) = serde_json::from_slice(data) {
        let exp_ok = doc
            .get("exp")
            .is_none_or(|e| e.is_null() || e.as_u64().is_some());
        if exp_ok && !data.is_empty() {
            assert!(
                claims.is_ok(),
                "a JSON object payload was refused: {claims:?}"
            );
        }
    }

    // The bytes as auth.json.
    if let Ok(doc) = serde_json::from_slice(data)
        && let Ok(file) = AuthFile::from_doc(Path::new("auth.json"), doc)
    {
        let now = UNIX_EPOCH + Duration::from_secs(1_780_000_000);
        let _ = file.needs_refresh(now);
        let _ = file.still_valid(now);
        let _ = file.last_refresh();
        let _ = file.token("fuzz");
    }
});
