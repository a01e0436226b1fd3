//! The default provider, `scorpiox`: Messages to the router at `ROUTER_URL` without client
//! credentials; and, with `ROUTER_URL` left at its default and nothing listening there, the
//! embedded default that uses whatever back-end the user already has.
//!
//! Nothing in the suite listens on the default router port (127.0.0.1:8790): the router's own
//! tests bind port 0.

use sx_testkit::auth::AuthJson;
use sx_testkit::{CODEX_RESPONSES_PATH, MockResponse, anthropic, fixture, sse};

use super::common::{Env, error_line, stderr_of};

#[test]
fn a_router_at_router_url_gets_messages_and_no_credentials() {
    let env = Env::new();
    env.server.enqueue(
        "POST",
        anthropic::MESSAGES_PATH,
        MockResponse::sse(sse::encode(&anthropic::text_turn("Hello from the router."))),
    );
    let out = env
        .cmd("sx")
        .args(["-p", "hi", "-e"])
        .arg(format!("ROUTER_URL={}", env.server.url()))
        .args(["-e", "ANTHROPIC_API_KEY=must-not-leak"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello from the router.\n"
    );
    let reqs = env.server.requests_to(anthropic::MESSAGES_PATH);
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(
        r.header("x-api-key"),
        None,
        "the router holds the credentials"
    );
    assert_eq!(r.header("authorization"), None);
    assert_eq!(
        r.json()["model"],
        "claude-sonnet-5",
        "MODEL=sonnet, the router's alias"
    );
    assert!(
        !stderr_of(&out).contains("no router"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn without_a_router_the_default_uses_the_codex_login_and_says_so() {
    let env = Env::new();
    env.login(AuthJson::new());
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/text.sse")),
    );
    // No --provider: PROVIDER is its default, scorpiox.
    let out = env
        .cmd("sx")
        .args(["-p", "say hi", "-e"])
        .arg(format!("CODEX_BASE_URL={}", env.server.codex_base()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!out.stdout.is_empty());
    let err = stderr_of(&out);
    assert!(
        err.contains("no router at http://127.0.0.1:8790: using codex (the Codex login in")
            && err.contains("--provider"),
        "{err}"
    );
    let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].json()["model"],
        "gpt-5.4",
        "sonnet as codex resolves it"
    );
}

#[test]
fn without_a_codex_login_a_key_is_used_in_the_documented_order() {
    let env = Env::new();
    env.server.enqueue(
        "POST",
        anthropic::MESSAGES_PATH,
        MockResponse::sse(sse::encode(&anthropic::text_turn("anthropic answered"))),
    );
    let url = env.server.url();
    let out = env
        .cmd("sx")
        .args(["-p", "hi"])
        .args(["-e", "ANTHROPIC_API_KEY=k", "-e", "GEMINI_API_KEY=g", "-e"])
        .arg(format!("ANTHROPIC_BASE_URL={url}"))
        .arg("-e")
        .arg(format!("GEMINI_BASE_URL={url}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("anthropic answered"));
    assert!(stderr_of(&out).contains("using anthropic (ANTHROPIC_API_KEY)"));
}

#[test]
fn with_nothing_to_use_one_line_lists_the_ways_to_sign_in() {
    let env = Env::new();
    let out = env.cmd("sx").args(["-p", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let line = error_line(&out);
    for way in [
        "scorpiox-codex-login",
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY",
        "claude",
        "OPENAI_BASE_URL",
        "scorpiox-router",
    ] {
        assert!(line.contains(way), "{way}: {line}");
    }
    assert!(!env.proj.join(".scorpiox").exists(), "nothing written");
}

/// `sx` with the embedded default routing by `rules`: a Codex login and an Anthropic key,
/// both pointed at the mock.
fn routed(env: &Env, rules: &str) -> super::common::Cmd {
    let mut c = env.cmd("sx");
    c.arg("-e")
        .arg(format!("ROUTER_ROUTES={rules}"))
        .arg("-e")
        .arg(format!("CODEX_BASE_URL={}", env.server.codex_base()))
        .arg("-e")
        .arg(format!("ANTHROPIC_BASE_URL={}", env.server.url()))
        .args([
            "-e",
            "ANTHROPIC_API_KEY=sk-ant-k",
            "-e",
            "ROUTER_LONG_CONTEXT=20000",
        ]);
    c
}

#[test]
fn without_a_router_router_routes_picks_the_upstream_by_the_routers_rules() {
    // docs/providers.md, the embedded default: with ROUTER_ROUTES set it routes as the router
    // would — here past the Codex login the default would otherwise take.
    let env = Env::new();
    env.login(AuthJson::new());
    env.server.enqueue(
        "POST",
        anthropic::MESSAGES_PATH,
        MockResponse::sse(sse::encode(&anthropic::text_turn("anthropic answered"))),
    );
    let out = routed(&env, "gpt-*=codex,claude-*=anthropic:claude-opus-5")
        .args(["-p", "hi"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("anthropic answered"));
    let err = stderr_of(&out);
    assert!(
        err.contains(
            "claude-sonnet-5 goes to anthropic claude-opus-5 (ROUTER_ROUTES rule 'claude-*=anthropic:claude-opus-5')"
        ),
        "{err}"
    );
    let reqs = env.server.requests_to(anthropic::MESSAGES_PATH);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].json()["model"], "claude-opus-5");
    assert_eq!(reqs[0].header("x-api-key"), Some("sk-ant-k"));
    assert!(env.server.requests_to(CODEX_RESPONSES_PATH).is_empty());
}

#[test]
fn a_long_conversation_moves_to_the_long_context_upstream_with_its_history() {
    // `long_context` is judged per request: the short first turn goes to codex; the continued
    // conversation, now over ROUTER_LONG_CONTEXT (20 000) tokens, goes to anthropic with the
    // codex turn in its history (docs/router.md).
    let env = Env::new();
    env.login(AuthJson::new());
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/text.sse")),
    );
    env.server.enqueue(
        "POST",
        anthropic::MESSAGES_PATH,
        MockResponse::sse(sse::encode(&anthropic::text_turn("long answered"))),
    );
    let rules = "long_context=anthropic,*=codex";
    let out = routed(&env, rules).args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(env.server.requests_to(CODEX_RESPONSES_PATH).len(), 1);
    let long = "please look at this: ".to_string() + &"lorem ipsum ".repeat(7_500);
    let out = routed(&env, rules)
        .args(["--continue", "-p", &long])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("long answered"));
    assert!(
        stderr_of(&out).contains("(ROUTER_ROUTES rule 'long_context=anthropic')"),
        "{}",
        stderr_of(&out)
    );
    let reqs = env.server.requests_to(anthropic::MESSAGES_PATH);
    assert_eq!(reqs.len(), 1);
    let messages = reqs[0].json()["messages"].clone();
    assert_eq!(
        messages.as_array().unwrap().len(),
        3,
        "the codex turn came along: {messages}"
    );
    assert_eq!(env.server.requests_to(CODEX_RESPONSES_PATH).len(), 1);
}

#[test]
fn a_bad_rule_is_one_line_naming_it() {
    let env = Env::new();
    env.login(AuthJson::new());
    let out = routed(&env, "gpt-*=codex,*=claude_code")
        .args(["-p", "hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let line = error_line(&out);
    assert!(
        line.contains("ROUTER_ROUTES rule 2 ('*=claude_code')"),
        "{line}"
    );
    assert!(env.server.requests().is_empty());
    assert!(!env.proj.join(".scorpiox").exists(), "nothing written");
}
