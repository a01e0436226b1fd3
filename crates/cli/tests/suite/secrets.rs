//! Servers that echo a secret in an error body (docs/reliability.md, hole 5): the token
//! endpoint quoting the refresh token in a 400 or 401, a back-end or proxy quoting the bearer
//! or the API key in a 400. What `sx` prints — the `error:` line, `retry` reasons, the JSON
//! error — never holds the secret; `***` stands in its place.

use serde_json::json;
use sx_testkit::auth::AuthJson;
use sx_testkit::{CODEX_RESPONSES_PATH, MockResponse, OAUTH_TOKEN_PATH};

use super::common::{Env, error_line, json_lines, stderr_of};
use super::wires::{self, Wire};

const REFRESH_TOKEN: &str = "rt-echoed-refresh-token-0123456789";

#[test]
fn a_token_endpoint_echoing_the_refresh_token_is_masked() {
    // 400 (a transient failure, exit 1) and 401 (the login is dead, exit 3).
    for (status, exit) in [(400, 1), (401, 3)] {
        let env = Env::new();
        env.login(AuthJson::new().expires_in(-60).refresh_token(REFRESH_TOKEN));
        env.server.enqueue(
            "POST",
            OAUTH_TOKEN_PATH,
            MockResponse::json(
                status,
                json!({"error": "invalid_grant",
                       "error_description": format!("refresh_token {REFRESH_TOKEN} is not valid")}),
            ),
        );
        let out = env.sx().args(["-p", "hi"]).output().unwrap();
        assert_eq!(out.status.code(), Some(exit), "{}", stderr_of(&out));
        let stderr = stderr_of(&out);
        assert!(!stderr.contains(REFRESH_TOKEN), "HTTP {status}: {stderr}");
        let line = error_line(&out);
        assert!(
            line.contains("refresh_token *** is not valid"),
            "HTTP {status}: {line}"
        );
    }
}

#[test]
fn a_backend_echoing_the_bearer_or_the_key_is_masked_on_every_wire() {
    for wire in wires::ALL {
        let env = Env::new();
        let secret = match wire {
            Wire::Codex => env.login(AuthJson::new()).access_token(),
            Wire::Anthropic => "sk-ant-test-key-0001".into(),
            Wire::Gemini => "gm-test-key-0001".into(),
            Wire::Openai => "sk-openai-echoed-key-0001".into(),
        };
        let echo = format!("invalid header: Authorization: Bearer {secret}");
        let mut args = vec!["-p", "hi"];
        let key_arg;
        if wire == Wire::Openai {
            key_arg = format!("OPENAI_API_KEY={secret}");
            args.extend(["-e", &key_arg]);
        }
        for format in ["text", "stream-json"] {
            // A 500 (retried: each retry's reason is printed), then a 400 (reported).
            for status in [500, 400] {
                env.server.enqueue(
                    "POST",
                    &wire.path(),
                    MockResponse::json(status, wire.error_body(status, &echo)),
                );
            }
            let out = wire
                .sx(&env, &args)
                .args(["--output-format", format])
                .output()
                .unwrap();
            let stderr = stderr_of(&out);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                !stderr.contains(&secret) && !stdout.contains(&secret),
                "{wire:?} {format}: the secret was printed: {stderr}{stdout}"
            );
            if format == "text" {
                assert!(stderr.contains("Bearer ***"), "{wire:?}: {stderr}");
                assert_ne!(out.status.code(), Some(0));
            } else {
                let events = json_lines(&out.stdout);
                assert!(
                    events.iter().any(|e| e["type"] == "error"
                        && e["message"].as_str().unwrap().contains("Bearer ***")),
                    "{wire:?}: {events:?}"
                );
            }
        }
    }
}

#[test]
fn a_codex_model_call_never_shows_the_bearer_even_in_a_proxy_page() {
    let env = Env::new();
    let auth = env.login(AuthJson::new());
    let token = auth.access_token();
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::status(400)
            .content_type("text/html")
            .body(format!(
                "<html><body>Bad request: Bearer {token}</body></html>"
            )),
    );
    let out = env.sx().args(["-p", "hi"]).output().unwrap();
    let line = error_line(&out);
    assert!(!line.contains(&token), "{line}");
    assert!(line.contains("Bearer ***"), "{line}");
}
