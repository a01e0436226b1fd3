//! Fake ChatGPT-login credentials (unsigned JWTs, `auth.json`) and OAuth token
//! endpoint bodies, mirroring `make_fake_chatgpt_auth.py` and docs/protocols/codex.md §A.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// The Codex OAuth client id (docs/protocols/codex.md §A.3).
pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
/// Issuer written into the fake tokens.
pub const ISSUER: &str = "https://auth.openai.com";
/// Default `chatgpt_account_id` of [`AuthJson`].
pub const ACCOUNT_ID: &str = "acct-sx-test-0000";
/// Default `chatgpt_user_id` of [`AuthJson`].
pub const USER_ID: &str = "user-sx-test-0000";
/// Default e-mail of [`AuthJson`].
pub const EMAIL: &str = "sx-test@example.invalid";
/// Default refresh token of [`AuthJson`].
pub const REFRESH_TOKEN: &str = "rt-sx-test-0000";
/// Access-token claim set by [`AuthJson::access_marker`], so tests can tell tokens apart.
pub const MARKER_CLAIM: &str = "sx_test_marker";
/// Claim object holding the ChatGPT account data.
pub const AUTH_CLAIM: &str = "https://api.openai.com/auth";

/// An unsigned JWT: header `{"alg":"none","typ":"JWT"}`, base64url-no-pad parts,
/// signature segment `c2ln` (as `make_fake_chatgpt_auth.py`).
pub fn fake_jwt(claims: &Value) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.c2ln",
        part(&json!({"alg": "none", "typ": "JWT"})),
        part(claims)
    )
}

/// The claims (middle part) of a JWT, without checking any signature.
///
/// # Panics
/// If `token` is not three dot-separated parts with a base64url JSON middle.
pub fn jwt_claims(token: &str) -> Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert!(parts.len() == 3, "not a JWT (need 3 parts): {token:?}");
    let raw = URL_SAFE_NO_PAD
        .decode(parts[1])
        .unwrap_or_else(|err| panic!("JWT payload is not base64url: {err}"));
    serde_json::from_slice(&raw).unwrap_or_else(|err| panic!("JWT payload is not JSON: {err}"))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A ChatGPT-mode `auth.json` (docs/protocols/codex.md §A.1) holding unsigned JWTs. Times are
/// relative to the moment the builder was created (or [`AuthJson::issued_at`]), so
/// every accessor returns the same tokens.
#[derive(Clone, Debug)]
pub struct AuthJson {
    account_id: String,
    user_id: String,
    email: String,
    plan: String,
    issued_at: i64,
    expires_in: i64,
    last_refresh_age: i64,
    refresh_token: String,
    marker: Option<String>,
}

impl Default for AuthJson {
    fn default() -> AuthJson {
        AuthJson::new()
    }
}

impl AuthJson {
    /// Account [`ACCOUNT_ID`], plan `pro`, tokens valid for 30 days, refresh token
    /// [`REFRESH_TOKEN`], `last_refresh` now.
    pub fn new() -> AuthJson {
        AuthJson {
            account_id: ACCOUNT_ID.to_owned(),
            user_id: USER_ID.to_owned(),
            email: EMAIL.to_owned(),
            plan: "pro".to_owned(),
            issued_at: unix_now(),
            expires_in: 30 * 24 * 3600,
            last_refresh_age: 0,
            refresh_token: REFRESH_TOKEN.to_owned(),
            marker: None,
        }
    }

    /// `chatgpt_account_id` in the tokens and `tokens.account_id`.
    pub fn account_id(mut self, account_id: &str) -> AuthJson {
        self.account_id = account_id.to_owned();
        self
    }

    /// `chatgpt_plan_type` (`free`, `plus`, `pro`, `team`, …).
    pub fn plan(mut self, plan: &str) -> AuthJson {
        self.plan = plan.to_owned();
        self
    }

    /// The e-mail claim.
    pub fn email(mut self, email: &str) -> AuthJson {
        self.email = email.to_owned();
        self
    }

    /// Seconds from now until the tokens' `exp`; negative means already expired (the
    /// client must refresh proactively).
    pub fn expires_in(mut self, secs: i64) -> AuthJson {
        self.expires_in = secs;
        self
    }

    /// How long ago `last_refresh` was, in seconds.
    pub fn last_refresh_age(mut self, secs: i64) -> AuthJson {
        self.last_refresh_age = secs;
        self
    }

    /// Pin "now" (unix seconds) for fully deterministic tokens.
    pub fn issued_at(mut self, unix_secs: i64) -> AuthJson {
        self.issued_at = unix_secs;
        self
    }

    /// `tokens.refresh_token`.
    pub fn refresh_token(mut self, refresh_token: &str) -> AuthJson {
        self.refresh_token = refresh_token.to_owned();
        self
    }

    /// Put claim [`MARKER_CLAIM`]`: marker` into the access token, so a test can tell
    /// which access token a request carried.
    pub fn access_marker(mut self, marker: &str) -> AuthJson {
        self.marker = Some(marker.to_owned());
        self
    }

    /// The tokens' `exp` (unix seconds).
    pub fn expires_at(&self) -> i64 {
        self.issued_at + self.expires_in
    }

    fn common_claims(&self) -> Value {
        json!({
            "iss": ISSUER,
            "sub": "sx-test-sub",
            "iat": self.issued_at - 60,
            "exp": self.expires_at(),
            AUTH_CLAIM: {
                "chatgpt_plan_type": self.plan,
                "chatgpt_user_id": self.user_id,
                "user_id": self.user_id,
                "chatgpt_account_id": self.account_id,
            },
            "https://api.openai.com/profile": {"email": self.email},
        })
    }

    /// The id token (audience [`CLIENT_ID`], with `email`).
    pub fn id_token(&self) -> String {
        let mut claims = self.common_claims();
        claims["aud"] = json!([CLIENT_ID]);
        claims["email"] = json!(self.email);
        fake_jwt(&claims)
    }

    /// The access token (audience `https://api.openai.com/v1`, plus the marker claim
    /// if one was set).
    pub fn access_token(&self) -> String {
        let mut claims = self.common_claims();
        claims["aud"] = json!(["https://api.openai.com/v1"]);
        claims["client_id"] = json!(CLIENT_ID);
        if let Some(marker) = &self.marker {
            claims[MARKER_CLAIM] = json!(marker);
        }
        fake_jwt(&claims)
    }

    /// The `auth.json` document.
    pub fn to_json(&self) -> Value {
        json!({
            "auth_mode": "chatgpt",
            "OPENAI_API_KEY": null,
            "tokens": {
                "id_token": self.id_token(),
                "access_token": self.access_token(),
                "refresh_token": self.refresh_token,
                "account_id": self.account_id,
            },
            "last_refresh": rfc3339_utc(self.issued_at - self.last_refresh_age),
        })
    }

    /// Write [`AuthJson::to_json`] pretty-printed to `path` with mode 0600, creating
    /// parent directories.
    ///
    /// # Panics
    /// On any I/O error, naming the path.
    pub fn write(&self, path: impl AsRef<Path>) {
        let path = path.as_ref();
        let mut text = serde_json::to_string_pretty(&self.to_json()).unwrap_or_default();
        text.push('\n');
        write_private(path, text.as_bytes())
            .unwrap_or_else(|err| panic!("writing {}: {err}", path.display()));
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    // An existing file keeps its old mode on open; tighten it.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(bytes)
}

/// Body of a successful `POST /oauth/token` refresh: fresh `id_token` and
/// `access_token` (expiring in `access_expires_in` seconds, access token marked with
/// `marker`), `refresh_token` only when the server rotates it, plus `token_type` and
/// `expires_in` (clamped at 0) that a client must tolerate.
pub fn oauth_refresh_ok(
    access_expires_in: i64,
    marker: &str,
    rotate_refresh_to: Option<&str>,
) -> Value {
    let auth = AuthJson::new()
        .expires_in(access_expires_in)
        .access_marker(marker);
    let mut body = json!({
        "id_token": auth.id_token(),
        "access_token": auth.access_token(),
        "token_type": "Bearer",
        "expires_in": access_expires_in.max(0),
    });
    if let Some(refresh_token) = rotate_refresh_to {
        body["refresh_token"] = json!(refresh_token);
    }
    body
}

/// A 401 body of the token endpoint:
/// `{"error":{"message":"…","type":"invalid_request_error","param":null,"code":code}}`
/// (codes `refresh_token_expired`, `refresh_token_reused`, `refresh_token_invalidated`;
/// any other code gets a generic message).
pub fn oauth_error(code: &str) -> Value {
    let message = match code {
        "refresh_token_expired" => "Your refresh token has expired. Please try signing in again.",
        "refresh_token_reused" => {
            "Your refresh token has already been used to generate a new access token. \
             Please try signing in again."
        }
        "refresh_token_invalidated" => {
            "Your refresh token has been invalidated. Please try signing in again."
        }
        _ => "Could not validate your refresh token. Please try signing in again.",
    };
    json!({"error": {"message": message, "type": "invalid_request_error", "param": null,
                     "code": code}})
}

/// `YYYY-MM-DDTHH:MM:SSZ` for unix seconds (UTC).
fn rfc3339_utc(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_jwt_matches_the_python_helper() {
        // b64({"alg":"none","typ":"JWT"}) as make_fake_chatgpt_auth.py writes it.
        let token = fake_jwt(&json!({"a": 1}));
        assert_eq!(token, "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJhIjoxfQ.c2ln");
        assert_eq!(jwt_claims(&token), json!({"a": 1}));
    }

    #[test]
    fn auth_json_has_the_codex_shape() {
        let auth = AuthJson::new()
            .issued_at(1_767_225_600)
            .account_id("acct-x")
            .plan("plus")
            .expires_in(-10)
            .refresh_token("rt-x")
            .access_marker("first");
        let doc = auth.to_json();
        assert_eq!(doc["auth_mode"], "chatgpt");
        assert_eq!(doc["OPENAI_API_KEY"], Value::Null);
        assert_eq!(doc["tokens"]["account_id"], "acct-x");
        assert_eq!(doc["tokens"]["refresh_token"], "rt-x");
        assert_eq!(doc["last_refresh"], "2026-01-01T00:00:00Z");
        let access = jwt_claims(doc["tokens"]["access_token"].as_str().unwrap());
        assert_eq!(access["exp"], 1_767_225_590);
        assert_eq!(access[MARKER_CLAIM], "first");
        assert_eq!(access[AUTH_CLAIM]["chatgpt_plan_type"], "plus");
        let id = jwt_claims(&auth.id_token());
        assert_eq!(id[AUTH_CLAIM]["chatgpt_account_id"], "acct-x");
        assert!(id.get(MARKER_CLAIM).is_none());
        assert_eq!(auth.access_token(), auth.access_token());
    }

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_777_111_872), "2026-04-25T10:11:12Z");
        assert_eq!(rfc3339_utc(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn write_creates_parents_with_mode_0600() {
        let dir = std::env::temp_dir().join(format!("sx-testkit-auth-{}", std::process::id()));
        let path = dir.join("nested/auth.json");
        AuthJson::new().write(&path);
        let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(doc["tokens"]["account_id"], ACCOUNT_ID);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn oauth_bodies() {
        let ok = oauth_refresh_ok(3600, "second", Some("rt-rotated"));
        assert_eq!(ok["refresh_token"], "rt-rotated");
        assert_eq!(
            jwt_claims(ok["access_token"].as_str().unwrap())[MARKER_CLAIM],
            "second"
        );
        assert!(
            oauth_refresh_ok(3600, "m", None)
                .get("refresh_token")
                .is_none()
        );
        let err = oauth_error("refresh_token_reused");
        assert_eq!(err["error"]["code"], "refresh_token_reused");
        assert_eq!(err["error"]["type"], "invalid_request_error");
        assert_eq!(err["error"]["param"], Value::Null);
    }
}
