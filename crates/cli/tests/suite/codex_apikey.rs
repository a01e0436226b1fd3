//! `PROVIDER=codex` with an OpenAI API key instead of a ChatGPT login (docs/providers.md,
//! "codex with an API key"): which credential wins when several are there (as the official
//! client decides), the requests compared whole — headers and body — with the official client's
//! API-key captures (`tests/fixtures/captures/codex-apikey-*.json`, `codex-followup-*.json`),
//! and a rejected key.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use sx_testkit::auth::AuthJson;
use sx_testkit::capture::Kind::{HeaderExtra, PathMissing};
use sx_testkit::capture::{Allowed, Capture, allow, compare, input_item_kinds};
use sx_testkit::{
    CODEX_RESPONSES_PATH, MockResponse, PLATFORM_RESPONSES_PATH, Recorded, fixture, responses, sse,
};

use super::captures::{CLASSIC_TOOLS, EVERY_BODY, FOLLOW_UP_IDS, HEADERS, ITEM_IDS, LITE_TOOLS};
use super::common::{Env, error_line, stderr_of};

const KEY: &str = "sk-proj-apikey-test-0001";

/// The one header an API-key request sends that its capture lacks (the rest is as on the
/// ChatGPT backend: `captures::HEADERS`).
const VERSION_HEADER: &[Allowed] = &[allow(
    HeaderExtra,
    "version",
    "the official client's built-in OpenAI provider sends `version` with an API key too \
     (docs/protocols/codex.md B.3); the captures were made through a custom model_provider, \
     which has no such header",
)];

/// `sx -p "run echo" --yolo -m MODEL` with only an API key; the first answer `call`, then a
/// text. Returns both requests.
fn api_key_turn(model: &str, call: Vec<Value>) -> (Recorded, Recorded) {
    let env = Env::new();
    for answer in [
        MockResponse::sse(sse::encode(&call)),
        MockResponse::sse(fixture("codex/text.sse")),
    ] {
        env.server.enqueue("POST", PLATFORM_RESPONSES_PATH, answer);
    }
    let out = env
        .cmd("sx")
        .args(args(&env, &[("OPENAI_API_KEY", KEY)]))
        .args(["-p", "run echo", "--yolo", "-m", model])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let reqs = env.server.requests_to(PLATFORM_RESPONSES_PATH);
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
    }
    (reqs[0].clone(), reqs[1].clone())
}

/// `sx --provider codex` with CODEX_BASE_URL at the mock's `/v1` and these settings.
fn args(env: &Env, keys: &[(&str, &str)]) -> Vec<String> {
    let mut a = vec![
        "--provider".to_string(),
        "codex".into(),
        "-e".into(),
        format!("CODEX_BASE_URL={}/v1", env.server.url()),
        "-e".into(),
        "RETRY_BASE_DELAY_MS=5".into(),
    ];
    for (k, v) in keys {
        a.extend(["-e".to_string(), format!("{k}={v}")]);
    }
    a
}

fn check(rec: &Recorded, capture: &str, body_allowed: &[Allowed]) {
    let cap = Capture::load(capture);
    assert_eq!(
        (rec.method.as_str(), rec.path.as_str()),
        ("POST", cap.path.as_str())
    );
    compare(rec, &cap).assert_explained(
        &format!("API-key request vs {capture}"),
        &[HEADERS, VERSION_HEADER, body_allowed].concat(),
    );
}

#[test]
fn a_classic_turn_is_the_captured_api_key_turn() {
    let (first, follow_up) = api_key_turn(
        "gpt-5.5",
        responses::function_call_turn("call_k1", "bash", r#"{"command":"echo capture-tool-ok"}"#),
    );
    check(
        &first,
        "codex-apikey-gpt55-request.json",
        &[EVERY_BODY, CLASSIC_TOOLS].concat(),
    );
    let cap = Capture::load("codex-followup-request.json");
    assert_eq!(
        input_item_kinds(&follow_up.json()),
        input_item_kinds(cap.body())
    );
    check(
        &follow_up,
        "codex-followup-request.json",
        &[EVERY_BODY, CLASSIC_TOOLS, FOLLOW_UP_IDS].concat(),
    );
    // What the comparison allows for shape, asserted by value.
    assert_eq!(
        first.header("content-encoding"),
        None,
        "never zstd with a key"
    );
    assert_eq!(first.header("chatgpt-account-id"), None);
    assert_eq!(
        first.header("x-codex-routing-hint"),
        None,
        "the ChatGPT backend's"
    );
    assert_eq!(first.header("version"), Some("0.169.0"));
    assert_eq!(first.json()["stream"], true);
}

#[test]
fn a_code_mode_turn_is_the_captured_api_key_turn_without_the_backends_settings_item() {
    let (first, follow_up) = api_key_turn(
        "gpt-6.1-sol",
        responses::custom_tool_call_turn(
            "call_k2",
            "bash",
            r#"{"command":"echo capture-tool-ok"}"#,
        ),
    );
    let lite_body: &[Allowed] = &[EVERY_BODY, LITE_TOOLS].concat();
    check(&first, "codex-apikey-request.json", lite_body);
    assert!(
        !input_item_kinds(&first.json()).contains(&"configuration_update".to_string()),
        "the ChatGPT backend's trailing settings item is not sent to the platform API"
    );
    check(
        &follow_up,
        "codex-followup-codemode-request.json",
        &[
            lite_body,
            &[
                allow(PathMissing, "input[custom_tool_call].id", ITEM_IDS),
                allow(PathMissing, "input[custom_tool_call].status", ITEM_IDS),
                allow(PathMissing, "input[custom_tool_call_output].id", ITEM_IDS),
            ],
        ]
        .concat(),
    );
}

/// One `sx -p hi` run with `keys`, a ChatGPT login when `login`, and a text answer queued on
/// both back-ends; returns which path was asked and with which bearer.
fn who_answers(login: bool, keys: &[(&str, &str)]) -> (String, String) {
    let env = Env::new();
    let auth = login.then(|| env.login(AuthJson::new()));
    env.server.enqueue(
        "POST",
        PLATFORM_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/text.sse")),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/text.sse")),
    );
    let mut a = vec![
        "--provider".to_string(),
        "codex".into(),
        "-e".into(),
        format!("CODEX_AUTH_URL={}", env.server.url()),
    ];
    // Where each credential's requests go by default, both on the mock: the platform API at
    // /v1 for a key, the ChatGPT backend for a login — told apart by a base per credential.
    let base = if keys.iter().any(|(k, _)| *k == "CODEX_API_KEY") || !login {
        format!("{}/v1", env.server.url())
    } else {
        env.server.codex_base()
    };
    a.extend(["-e".into(), format!("CODEX_BASE_URL={base}")]);
    for (k, v) in keys {
        a.extend(["-e".to_string(), format!("{k}={v}")]);
    }
    let out = env.cmd("sx").args(&a).args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let reqs = env.server.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let bearer = reqs[0].header("authorization").unwrap_or_default();
    let who = match auth {
        Some(a) if bearer == format!("Bearer {}", a.access_token()) => "login".to_string(),
        _ => bearer.to_string(),
    };
    (reqs[0].path.clone(), who)
}

#[test]
fn which_credential_wins_is_the_official_clients_choice() {
    // No ChatGPT login: OPENAI_API_KEY is used, on the platform API.
    assert_eq!(
        who_answers(false, &[("OPENAI_API_KEY", "sk-a")]),
        (PLATFORM_RESPONSES_PATH.into(), "Bearer sk-a".into())
    );
    // A ChatGPT login and OPENAI_API_KEY: the login (the official client never uses the
    // environment's OPENAI_API_KEY over a stored login).
    assert_eq!(
        who_answers(true, &[("OPENAI_API_KEY", "sk-a")]),
        (CODEX_RESPONSES_PATH.into(), "login".into())
    );
    // CODEX_API_KEY wins over a login, as in `codex exec`; over OPENAI_API_KEY too.
    assert_eq!(
        who_answers(
            true,
            &[("CODEX_API_KEY", "sk-b"), ("OPENAI_API_KEY", "sk-a")]
        ),
        (PLATFORM_RESPONSES_PATH.into(), "Bearer sk-b".into())
    );
    assert_eq!(
        who_answers(false, &[("CODEX_API_KEY", "sk-b")]),
        (PLATFORM_RESPONSES_PATH.into(), "Bearer sk-b".into())
    );
}

#[test]
fn an_api_key_login_of_the_official_cli_is_used() {
    // `codex login --with-api-key` writes {"auth_mode":"apikey","OPENAI_API_KEY":…}.
    let env = Env::new();
    std::fs::create_dir_all(env.auth_path().parent().unwrap()).unwrap();
    std::fs::write(
        env.auth_path(),
        json!({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-from-codex-login"}).to_string(),
    )
    .unwrap();
    env.server.enqueue(
        "POST",
        PLATFORM_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/text.sse")),
    );
    let out = env
        .cmd("sx")
        .args(args(&env, &[]))
        .args(["-p", "hi"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let r = &env.server.requests_to(PLATFORM_RESPONSES_PATH)[0];
    assert_eq!(
        r.header("authorization"),
        Some("Bearer sk-from-codex-login")
    );
}

#[test]
fn a_rejected_key_names_the_key_and_never_shows_it() {
    let env = Env::new();
    env.server.enqueue(
        "POST",
        PLATFORM_RESPONSES_PATH,
        MockResponse::json(
            401,
            json!({"error": {"message": "Incorrect API key provided: sk-proj-***0001.",
                             "type": "invalid_request_error", "param": null,
                             "code": "invalid_api_key"}}),
        ),
    );
    let out = env
        .cmd("sx")
        .args(args(&env, &[("OPENAI_API_KEY", KEY)]))
        .args(["-p", "hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let line = error_line(&out);
    assert!(
        line.contains("OPENAI_API_KEY") && line.contains("Incorrect API key"),
        "{line}"
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr_of(&out)
    );
    assert!(!all.contains(KEY), "the key was printed: {all}");
    assert_eq!(
        env.server.requests().len(),
        1,
        "a key is not refreshed: no OAuth request, no retry"
    );
}
