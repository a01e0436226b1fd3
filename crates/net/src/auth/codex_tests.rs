use super::*;
use base64::Engine;

/// The mapping for a login at a path no advice names specially.
fn refresh_error(status: u16, body: &[u8]) -> AuthError {
    super::refresh_error(status, body, Path::new("/nowhere/auth.json"))
}

fn jwt(payload: Value) -> String {
    let e = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    format!(
        "{}.{}.c2ln",
        e(&json!({"alg":"none","typ":"JWT"})),
        e(&payload)
    )
}

fn doc(exp: u64) -> Value {
    let claims =
        json!({"exp": exp, "https://api.openai.com/auth": {"chatgpt_account_id": "acct-9"}});
    json!({
        "auth_mode": "chatgpt", "OPENAI_API_KEY": null,
        "tokens": {"id_token": jwt(claims.clone()), "access_token": jwt(claims), "refresh_token": "rt-1", "account_id": "acct-9"},
        "last_refresh": "2026-01-01T00:00:00.000000Z",
        "future_field": {"kept": true}
    })
}

#[test]
fn loads_and_decides_refresh() {
    let now = SystemTime::now();
    let now_s = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let a = AuthFile::from_doc(Path::new("/x/auth.json"), doc(now_s + 3600)).unwrap();
    assert_eq!(a.account_id(), Some("acct-9"));
    assert!(!a.needs_refresh(now));
    let b = AuthFile::from_doc(Path::new("/x/auth.json"), doc(now_s + 120)).unwrap();
    assert!(b.needs_refresh(now), "within the 5-minute margin");
    assert!(b.still_valid(now));
}

#[test]
fn refresh_keeps_unknown_fields_and_replaces_only_present_tokens() {
    let a = AuthFile::from_doc(Path::new("/x/auth.json"), doc(1)).unwrap();
    let new_access = jwt(json!({"exp": 4_000_000_000u64}));
    let r = RefreshResponse {
        access_token: Some(new_access.clone()),
        ..Default::default()
    };
    let b = a.apply_refresh(&r, SystemTime::now()).unwrap();
    assert_eq!(b.access_token, new_access);
    assert_eq!(b.refresh_token, "rt-1");
    assert_eq!(b.doc["future_field"]["kept"], true);
    assert_eq!(b.account_id(), Some("acct-9"));
    assert!(b.last_refresh().unwrap() > SystemTime::now() - Duration::from_secs(60));
}

#[test]
fn malformed_documents() {
    let p = Path::new("/x/auth.json");
    assert!(matches!(
        AuthFile::from_doc(p, json!([])),
        Err(AuthError::Malformed { .. })
    ));
    assert!(matches!(
        AuthFile::from_doc(p, json!({"OPENAI_API_KEY": "sk-1"})),
        Err(AuthError::ApiKeyOnly { .. })
    ));
    assert!(matches!(
        AuthFile::from_doc(
            p,
            json!({"tokens": {"access_token": "x.y.z", "refresh_token": "r"}})
        ),
        Err(AuthError::BadJwt { .. })
    ));
    let e = AuthFile::from_doc(p, json!({"tokens": {"access_token": 5}})).unwrap_err();
    assert!(e.to_string().contains("tokens.access_token"), "{e}");
}

#[test]
fn refresh_error_mapping() {
    let body = br#"{"error":{"message":"Your refresh token has already been used","type":"invalid_request_error","param":null,"code":"refresh_token_reused"}}"#;
    assert!(matches!(
        refresh_error(401, body),
        AuthError::RefreshRejected {
            reason: RefreshFailure::Reused,
            ..
        }
    ));
    assert!(matches!(
        refresh_error(401, br#"{"error":"refresh_token_expired"}"#),
        AuthError::RefreshRejected {
            reason: RefreshFailure::Expired,
            ..
        }
    ));
    assert!(matches!(
        refresh_error(401, br#"{"code":"refresh_token_invalidated"}"#),
        AuthError::RefreshRejected {
            reason: RefreshFailure::Revoked,
            ..
        }
    ));
    assert!(matches!(
        refresh_error(401, b"<html>"),
        AuthError::RefreshRejected {
            reason: RefreshFailure::Other,
            ..
        }
    ));
    let e = refresh_error(502, b"bad gateway\n");
    assert!(matches!(e, AuthError::RefreshTransient { .. }));
    assert!(e.to_string().contains("HTTP 502: bad gateway"));
    // Another status without a refresh-token code may pass.
    let e = refresh_error(
        400,
        br#"{"error":{"code":"invalid_request","message":"bad"}}"#,
    );
    assert!(matches!(e, AuthError::RefreshTransient { .. }), "{e:?}");
}

#[test]
fn a_refresh_token_code_is_permanent_at_any_status() {
    for status in [400, 403, 409, 500, 502] {
        for (code, reason) in [
            ("refresh_token_expired", RefreshFailure::Expired),
            ("refresh_token_reused", RefreshFailure::Reused),
            ("refresh_token_invalidated", RefreshFailure::Revoked),
        ] {
            let body = format!(
                r#"{{"error":{{"message":"m","type":"invalid_request_error","code":"{code}"}}}}"#
            );
            let e = refresh_error(status, body.as_bytes());
            assert!(
                matches!(&e, AuthError::RefreshRejected { reason: r, .. } if *r == reason),
                "{status} {code}: {e:?}"
            );
            assert_eq!(e.exit_code(), 3, "{status} {code}");
            assert!(!e.is_retryable(), "{status} {code}");
            assert!(e.to_string().contains("sign in again"), "{e}");
        }
    }
}

#[test]
fn refresh_reasons_are_the_official_clients_only() {
    let captured: Vec<String> =
        sx_testkit::fixture_json("captures/codex-refresh-request.json")["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["body"]["refresh_reason"].as_str().unwrap().to_string())
            .collect();
    for r in [
        RefreshReason::ProactiveExpiry,
        RefreshReason::UnauthorizedRecovery,
    ] {
        assert!(captured.contains(&r.as_str().to_string()), "{r:?}");
    }
}

#[test]
fn atomic_write_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sub/auth.json");
    write_private_atomic(&p, b"{}").unwrap();
    assert_eq!(
        fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o600
    );
    write_private_atomic(&p, b"{\"a\":1}").unwrap();
    assert_eq!(fs::read_to_string(&p).unwrap(), "{\"a\":1}");
    let leftovers: Vec<_> = fs::read_dir(p.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temp files left behind");
}

#[test]
fn lock_is_exclusive_across_handles() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("auth.json");
    let held = RefreshLock::acquire(&p).unwrap();
    let f = OpenOptions::new().write(true).open(lock_path(&p)).unwrap();
    assert!(matches!(f.try_lock(), Err(fs::TryLockError::WouldBlock)));
    drop(held);
    assert!(f.try_lock().is_ok());
}
