//! The device-code flow (docs/protocols/codex.md §A.5): a code the user types in on any device, then polling.

use std::fmt;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::{Instant, sleep};

use super::{DEFAULT_INTERVAL, OAuthClient, OAuthError, SLOW_DOWN_STEP};
use crate::auth::codex::CLIENT_ID;
use crate::auth::mask;
use crate::error_body::ErrorBody;

/// A device code to show the user (docs/protocols/codex.md §A.5).
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub device_auth_id: String,
    pub user_code: String,
    /// How long to wait between polls, as the server asked.
    pub interval: Duration,
}

/// The device flow's result: an authorization code and the PKCE verifier the server made.
#[derive(Clone, serde::Deserialize)]
pub struct DeviceAuthorization {
    pub authorization_code: String,
    #[serde(default)]
    pub code_challenge: Option<String>,
    pub code_verifier: String,
}

impl fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("authorization_code", &mask(&self.authorization_code))
            .field("code_challenge", &self.code_challenge)
            .field("code_verifier", &mask(&self.code_verifier))
            .finish()
    }
}

/// One poll of the device-token endpoint.
#[derive(Debug)]
pub enum DevicePoll {
    /// Not approved yet; poll again after the interval.
    Pending,
    /// RFC 8628 `slow_down`: poll again, 5 s less often.
    SlowDown,
    Authorized(DeviceAuthorization),
}

impl OAuthClient {
    /// `POST {issuer}/api/accounts/deviceauth/usercode`.
    pub async fn request_device_code(&self) -> Result<DeviceCode, OAuthError> {
        let body = json!({ "client_id": CLIENT_ID }).to_string();
        let reply = self
            .post(
                "/api/accounts/deviceauth/usercode",
                "application/json",
                body,
            )
            .await?;
        if reply.status == 404 {
            return Err(OAuthError::DeviceCodeNotEnabled {
                issuer: self.issuer.clone(),
            });
        }
        if !reply.ok() {
            return Err(OAuthError::Server {
                what: "requesting a device code",
                status: reply.status,
                message: ErrorBody::parse(&reply.body).message,
            });
        }
        let v: Value = reply.json()?;
        let text = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| v.get(*n).and_then(Value::as_str))
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let missing = |what: &str| OAuthError::Protocol {
            url: reply.url.clone(),
            detail: format!("no {what}"),
        };
        // `interval` is a JSON string ("5"); a number is tolerated too.
        let interval = match v.get("interval") {
            Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
            Some(n) => n.as_u64(),
            None => None,
        }
        .map_or(DEFAULT_INTERVAL, Duration::from_secs);
        Ok(DeviceCode {
            device_auth_id: text(&["device_auth_id"]).ok_or_else(|| missing("device_auth_id"))?,
            user_code: text(&["user_code", "usercode"]).ok_or_else(|| missing("user_code"))?,
            interval,
        })
    }

    /// Poll `POST {issuer}/api/accounts/deviceauth/token` once. 403/404 and RFC 8628
    /// `authorization_pending` mean pending; `access_denied` and `expired_token` end the flow.
    pub async fn poll_device_code(&self, code: &DeviceCode) -> Result<DevicePoll, OAuthError> {
        let body = json!({
            "device_auth_id": code.device_auth_id,
            "user_code": code.user_code,
        })
        .to_string();
        let reply = self
            .post("/api/accounts/deviceauth/token", "application/json", body)
            .await?;
        if reply.ok() {
            return reply.json().map(DevicePoll::Authorized);
        }
        let err = ErrorBody::parse(&reply.body);
        match err.code.as_deref() {
            Some("authorization_pending") => Ok(DevicePoll::Pending),
            Some("slow_down") => Ok(DevicePoll::SlowDown),
            Some("access_denied" | "denied" | "authorization_declined") => {
                Err(OAuthError::Denied {
                    // The description, when the body has one besides the code.
                    detail: if err.code.as_deref() == Some(err.message.as_str()) {
                        String::new()
                    } else {
                        err.message
                    },
                })
            }
            Some("expired_token" | "expired") => Err(OAuthError::Expired),
            _ if matches!(reply.status, 403 | 404) => Ok(DevicePoll::Pending),
            _ => Err(OAuthError::Server {
                what: "waiting for the device sign-in",
                status: reply.status,
                message: err.message,
            }),
        }
    }

    /// Poll at the server's interval until the user approves, or fail after `max_wait`.
    pub async fn wait_for_device_code(
        &self,
        code: &DeviceCode,
        max_wait: Duration,
    ) -> Result<DeviceAuthorization, OAuthError> {
        let deadline = Instant::now() + max_wait;
        let mut interval = code.interval;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(OAuthError::Expired);
            }
            sleep(interval.min(deadline - now)).await;
            match self.poll_device_code(code).await? {
                DevicePoll::Authorized(a) => return Ok(a),
                DevicePoll::Pending => {}
                DevicePoll::SlowDown => interval += SLOW_DOWN_STEP,
            }
        }
    }
}
