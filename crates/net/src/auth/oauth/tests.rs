use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::json;
use sx_testkit::auth::{AuthJson, CLIENT_ID};
use sx_testkit::{MockResponse, MockServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

const USERCODE: &str = "/api/accounts/deviceauth/usercode";
const DEVICE_TOKEN: &str = "/api/accounts/deviceauth/token";

fn client(issuer: &str) -> OAuthClient {
    let identity = ClientIdentity::new("sx");
    OAuthClient::new(issuer, crate::http::client(&identity).unwrap(), &identity)
}

#[test]
fn pkce_matches_rfc7636_and_is_random() {
    // RFC 7636 appendix B.
    let p = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
    assert_eq!(p.challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    let a = Pkce::generate().unwrap();
    let b = Pkce::generate().unwrap();
    assert_eq!(a.verifier.len(), 86);
    assert_eq!(a.challenge, s256(&a.verifier));
    assert_ne!(a.verifier, b.verifier);
    let s = new_state().unwrap();
    assert_eq!(s.len(), 43);
    assert!(
        s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    );
    assert!(!format!("{a:?}").contains(&a.verifier));
}

#[test]
fn authorize_url_has_the_official_parameters_in_order() {
    let p = Pkce::from_verifier("v".into());
    let url = client("https://auth.example/").authorize_url(
        "http://localhost:1455/auth/callback",
        &p,
        "st-1",
    );
    let expected = format!(
        "https://auth.example/oauth/authorize?response_type=code&client_id={CLIENT_ID}\
         &redirect_uri=http%3A%2F%2Flocalhost%3A1455%2Fauth%2Fcallback\
         &scope=openid%20profile%20email%20offline_access%20api.connectors.read%20api.connectors.invoke\
         &code_challenge={}&code_challenge_method=S256&id_token_add_organizations=true\
         &codex_cli_simplified_flow=true&state=st-1&originator=sx",
        p.challenge
    );
    assert_eq!(url, expected);
}

#[test]
fn encoding_round_trips() {
    assert_eq!(
        percent_encode("a b/c:d~e_f.g-h+"),
        "a%20b%2Fc%3Ad~e_f.g-h%2B"
    );
    assert_eq!(
        parse_query("a=1+2&b=%2F%zz&c&=x&&d=%C3%A9"),
        vec![
            ("a".into(), "1 2".into()),
            ("b".into(), "/%zz".into()),
            ("c".into(), String::new()),
            (String::new(), "x".into()),
            ("d".into(), "é".into()),
        ]
    );
    let v = "x y&z=%é";
    assert_eq!(
        parse_query(&format!("k={}", percent_encode(v))),
        vec![("k".into(), v.into())]
    );
}

#[test]
fn callback_checks_state_first_then_errors_then_code() {
    assert_eq!(parse_callback("code=c1&state=s", "s").unwrap(), "c1");
    assert!(matches!(
        parse_callback("code=c1&state=t", "s"),
        Err(OAuthError::StateMismatch)
    ));
    assert!(matches!(
        parse_callback("code=c1", "s"),
        Err(OAuthError::StateMismatch)
    ));
    let e = parse_callback(
        "state=s&error=access_denied&error_description=missing_codex_entitlement",
        "s",
    )
    .unwrap_err();
    assert!(matches!(e, OAuthError::MissingEntitlement { .. }));
    assert!(e.to_string().contains("Codex is not enabled"), "{e}");
    assert_eq!(e.exit_code(), 3);
    let e = parse_callback("state=s&error=server_error&error_description=boom", "s").unwrap_err();
    assert_eq!(
        e.to_string(),
        "the sign-in failed (server_error: boom); run scorpiox-codex-login again"
    );
    assert!(matches!(
        parse_callback("state=s&code=", "s"),
        Err(OAuthError::MissingCode)
    ));
}

#[test]
fn pasted_input() {
    let url = "http://localhost:1455/auth/callback?code=c%2B1&state=s#frag";
    assert_eq!(parse_pasted(url, "s").unwrap().as_deref(), Some("c+1"));
    assert_eq!(
        parse_pasted("  code=c2&state=s \n", "s")
            .unwrap()
            .as_deref(),
        Some("c2")
    );
    assert_eq!(
        parse_pasted("bare-code\n", "s").unwrap().as_deref(),
        Some("bare-code")
    );
    assert_eq!(parse_pasted("  \n", "s").unwrap(), None);
    assert!(matches!(
        parse_pasted("http://localhost:1455/auth/callback?code=c&state=x", "s"),
        Err(OAuthError::StateMismatch)
    ));
}

#[test]
fn exit_codes_and_messages() {
    assert_eq!(OAuthError::Expired.exit_code(), 3);
    assert_eq!(
        OAuthError::Expired.to_string(),
        "the code expired; run scorpiox-codex-login again"
    );
    let e = OAuthError::DeviceCodeNotEnabled {
        issuer: "https://i".into(),
    };
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.to_string()
            .starts_with("device code login is not enabled for this issuer")
    );
    assert!(
        e.to_string()
            .ends_with("; run scorpiox-codex-login --browser")
    );
    let e = OAuthError::Server {
        what: "x",
        status: 502,
        message: "bad".into(),
    };
    assert_eq!(e.exit_code(), 1);
    assert!(e.is_retryable());
    assert!(!OAuthError::StateMismatch.is_retryable());
}

// --- the issuer's endpoints, against the loopback mock -------------------------------------

#[tokio::test]
async fn device_code_request_and_polling() {
    let server = MockServer::start();
    server.enqueue(
        "POST",
        USERCODE,
        MockResponse::json(
            200,
            json!({"device_auth_id": "dev-1", "usercode": "ABCD-1234", "interval": "0"}),
        ),
    );
    for resp in [
        MockResponse::status(403),
        MockResponse::status(404),
        MockResponse::json(400, json!({"error": "authorization_pending"})),
        MockResponse::json(
            200,
            json!({"authorization_code": "ac-1", "code_challenge": "ch", "code_verifier": "ver-1"}),
        ),
    ] {
        server.enqueue("POST", DEVICE_TOKEN, resp);
    }
    let c = client(&server.url());
    let code = c.request_device_code().await.unwrap();
    assert_eq!(code.user_code, "ABCD-1234");
    assert_eq!(code.interval, Duration::ZERO);
    let auth = c
        .wait_for_device_code(&code, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(auth.authorization_code, "ac-1");
    assert_eq!(auth.code_verifier, "ver-1");
    let reqs = server.requests_to(USERCODE);
    assert_eq!(reqs[0].header("content-type"), Some("application/json"));
    assert_eq!(reqs[0].json(), json!({"client_id": CLIENT_ID}));
    let polls = server.requests_to(DEVICE_TOKEN);
    assert_eq!(polls.len(), 4);
    assert_eq!(
        polls[3].json(),
        json!({"device_auth_id": "dev-1", "user_code": "ABCD-1234"})
    );
}

#[tokio::test]
async fn device_code_outcomes() {
    let server = MockServer::start();
    let c = client(&server.url());
    let code = DeviceCode {
        device_auth_id: "d".into(),
        user_code: "U".into(),
        interval: Duration::ZERO,
    };
    let poll = |resp: MockResponse| {
        server.enqueue("POST", DEVICE_TOKEN, resp);
        c.poll_device_code(&code)
    };
    assert!(matches!(
        poll(MockResponse::json(400, json!({"error": "slow_down"}))).await,
        Ok(DevicePoll::SlowDown)
    ));
    assert!(matches!(
        poll(MockResponse::json(400, json!({"error": "access_denied"}))).await,
        Err(OAuthError::Denied { .. })
    ));
    assert!(matches!(
        poll(MockResponse::json(
            403,
            json!({"error": {"code": "expired_token"}})
        ))
        .await,
        Err(OAuthError::Expired)
    ));
    let e = poll(MockResponse::json(
        500,
        json!({"error": {"message": "down"}}),
    ))
    .await
    .unwrap_err();
    assert_eq!(e.exit_code(), 1);
    assert!(e.to_string().contains("HTTP 500: down"), "{e}");
    let e = poll(MockResponse::status(200).body("nope"))
        .await
        .unwrap_err();
    assert!(matches!(e, OAuthError::Protocol { .. }), "{e}");

    // No interval: the default; a missing code is a protocol error; 404: not enabled.
    server.enqueue(
        "POST",
        USERCODE,
        MockResponse::json(200, json!({"device_auth_id": "d", "user_code": "U"})),
    );
    assert_eq!(
        c.request_device_code().await.unwrap().interval,
        Duration::from_secs(5)
    );
    server.enqueue(
        "POST",
        USERCODE,
        MockResponse::json(200, json!({"device_auth_id": "d"})),
    );
    assert!(matches!(
        c.request_device_code().await,
        Err(OAuthError::Protocol { .. })
    ));
    server.enqueue("POST", USERCODE, MockResponse::status(404));
    assert!(matches!(
        c.request_device_code().await,
        Err(OAuthError::DeviceCodeNotEnabled { .. })
    ));
}

#[tokio::test]
async fn device_code_gives_up_at_the_deadline() {
    let server = MockServer::start();
    server.enqueue("POST", DEVICE_TOKEN, MockResponse::status(403).repeat());
    let code = DeviceCode {
        device_auth_id: "d".into(),
        user_code: "U".into(),
        interval: Duration::from_millis(1),
    };
    let e = client(&server.url())
        .wait_for_device_code(&code, Duration::from_millis(30))
        .await
        .unwrap_err();
    assert!(matches!(e, OAuthError::Expired), "{e}");
}

#[tokio::test]
async fn code_exchange_and_api_key_mint() {
    let server = MockServer::start();
    let auth = AuthJson::new();
    let ok = json!({"id_token": auth.id_token(), "access_token": auth.access_token(), "refresh_token": "rt-9"});
    server.enqueue("POST", "/oauth/token", MockResponse::json(200, ok));
    server.enqueue(
        "POST",
        "/oauth/token",
        MockResponse::json(200, json!({"access_token": "sk-minted"})),
    );
    let c = client(&server.url());
    let t = c
        .exchange_code("c 1", "http://localhost:1455/auth/callback", "ver")
        .await
        .unwrap();
    assert_eq!(t.refresh_token, "rt-9");
    assert_eq!(
        c.mint_api_key(&t.id_token).await.as_deref(),
        Some("sk-minted")
    );
    let reqs = server.requests_to("/oauth/token");
    assert_eq!(
        reqs[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        reqs[0].text(),
        format!(
            "grant_type=authorization_code&code=c%201\
             &redirect_uri=http%3A%2F%2Flocalhost%3A1455%2Fauth%2Fcallback\
             &client_id={CLIENT_ID}&code_verifier=ver"
        )
    );
    assert_eq!(
        reqs[1].text(),
        format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange\
             &client_id={CLIENT_ID}&requested_token=openai-api-key&subject_token={}\
             &subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token",
            t.id_token
        )
    );

    // Failures: a refused code is "sign in again", a server error is not; the mint is optional.
    server.enqueue(
        "POST",
        "/oauth/token",
        MockResponse::json(
            400,
            json!({"error": "invalid_grant", "error_description": "Code expired"}),
        ),
    );
    let e = c.exchange_code("c", "r", "v").await.unwrap_err();
    assert!(matches!(
        e,
        OAuthError::ExchangeRejected { status: 400, .. }
    ));
    assert!(e.to_string().contains("HTTP 400: Code expired"), "{e}");
    assert_eq!(e.exit_code(), 3);
    server.enqueue(
        "POST",
        "/oauth/token",
        MockResponse::status(503).body("busy"),
    );
    let e = c.exchange_code("c", "r", "v").await.unwrap_err();
    assert_eq!(e.exit_code(), 1, "{e}");
    server.enqueue(
        "POST",
        "/oauth/token",
        MockResponse::json(200, json!({"access_token": "a"})),
    );
    assert!(matches!(
        c.exchange_code("c", "r", "v").await,
        Err(OAuthError::Protocol { .. })
    ));
    server.enqueue("POST", "/oauth/token", MockResponse::status(401));
    assert_eq!(c.mint_api_key("id").await, None);
}

#[tokio::test]
async fn unreachable_issuer_is_a_network_error() {
    // Bound, not listening: refused, and no other process can take the port meanwhile.
    let closed = sx_testkit::ClosedPort::bind();
    let e = client(&closed.url())
        .request_device_code()
        .await
        .unwrap_err();
    assert!(matches!(e, OAuthError::Network { .. }), "{e}");
    assert_eq!(e.exit_code(), 1);
}

// --- the callback server -------------------------------------------------------------------

async fn get(port: u16, raw: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(raw.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn req(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n")
}

#[tokio::test]
async fn callback_server_routes() {
    let mut server = CallbackServer::bind(0).await.unwrap();
    let port = server.port();
    assert_eq!(
        server.redirect_uri(),
        format!("http://localhost:{port}/auth/callback")
    );
    let browser = tokio::spawn(async move {
        // An idle speculative connection must not block the real requests.
        let _idle = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let (s404, _) = get(port, &req("/favicon.ico")).await;
        let (s405, _) = get(port, "POST /auth/callback HTTP/1.1\r\n\r\n").await;
        let (s431, _) = get(port, &format!("GET /{} HTTP/1.1\r\n", "a".repeat(9000))).await;
        let (s200, page) = get(port, &req("/success")).await;
        let (s302, head) = get(port, &req("/auth/callback?code=the-code&state=st")).await;
        let (done, _) = get(port, &req("/success")).await;
        (s404, s405, s431, s200, page, s302, head, done)
    });
    let pending = server.wait_for_code("st").await.unwrap();
    assert_eq!(pending.code, "the-code");
    pending.succeed().await;
    server.serve_success(Duration::from_secs(60)).await;
    let (s404, s405, s431, s200, page, s302, head, done) = browser.await.unwrap();
    assert_eq!(
        (s404, s405, s431, s200, s302, done),
        (404, 405, 431, 200, 302, 200)
    );
    assert!(page.contains("Signed in to Codex"), "{page}");
    assert!(
        head.contains(&format!("Location: http://localhost:{port}/success\r\n")),
        "{head}"
    );
}

#[tokio::test]
async fn callback_server_refuses_a_wrong_state_and_cancels() {
    let mut server = CallbackServer::bind(0).await.unwrap();
    let port = server.port();
    let browser =
        tokio::spawn(async move { get(port, &req("/auth/callback?code=c&state=evil")).await });
    let e = server.wait_for_code("st").await.unwrap_err();
    assert!(matches!(e, OAuthError::StateMismatch));
    let (status, page) = browser.await.unwrap();
    assert_eq!(status, 400);
    assert!(page.contains("State mismatch"), "{page}");

    let browser = tokio::spawn(async move { get(port, &req("/cancel")).await });
    let e = server.wait_for_code("st").await.unwrap_err();
    assert!(matches!(e, OAuthError::Cancelled { .. }), "{e}");
    assert_eq!(browser.await.unwrap().0, 200);

    let browser = tokio::spawn(async move {
        get(
            port,
            &req("/auth/callback?state=st&error=access_denied&error_description=missing_codex_entitlement"),
        )
        .await
    });
    let e = server.wait_for_code("st").await.unwrap_err();
    assert!(matches!(e, OAuthError::MissingEntitlement { .. }), "{e}");
    let (status, page) = browser.await.unwrap();
    assert_eq!(status, 400);
    assert!(page.contains("Codex is not enabled"), "{page}");
}

#[tokio::test]
async fn a_busy_port_is_asked_to_cancel_first() {
    // The port is free between the old server leaving and the new one binding it: take one
    // the kernel never assigns, so no other test's listener or connection can land there.
    let port = sx_testkit::fixed_port_candidates()
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .expect("a free port below the ephemeral range");
    let mut old = CallbackServer::bind(port).await.unwrap();
    let old_login = tokio::spawn(async move { old.wait_for_code("st").await.map(|p| p.code) });
    let new = CallbackServer::bind(port).await.unwrap();
    assert_eq!(new.port(), port);
    assert!(matches!(
        old_login.await.unwrap(),
        Err(OAuthError::Cancelled { .. })
    ));
}
