//! What `sx --provider anthropic` sends, compared with Claude Code's captured requests
//! (tests/fixtures/captures/claude-*.json) the way `compare_capture.py` does
//! (`sx_testkit::capture`): header names, the values of the stable headers, every body key
//! path. Each remaining difference is listed with its reason and documented in
//! docs/providers.md ("anthropic", "What differs from the official client"); an entry that no
//! longer matches anything fails the test too.

use sx_testkit::Recorded;
use sx_testkit::capture::Kind::{HeaderMissing, PathExtra, PathMissing};
use sx_testkit::capture::{Allowed, Capture, allow, compare};

use super::anthropic::{requests, stream_fixture, sx};
use super::common::{Env, stderr_of};

/// A turn with one tool call as in the follow-up capture (Bash running `echo`): returns the
/// first request and the follow-up carrying the result.
fn tool_turn(extra: &[&str]) -> (Recorded, Recorded) {
    let env = Env::new();
    stream_fixture(&env, "thinking_tool.sse");
    stream_fixture(&env, "text.sse");
    let out = sx(&env)
        .args(["-p", "run echo", "--yolo", "-m", "opus"])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let reqs = requests(&env);
    assert_eq!(reqs.len(), 2);
    (reqs[0].clone(), reqs[1].clone())
}

// Why each difference is accepted (docs/providers.md, "anthropic").
const CLAUDE_CODE: &str = "Claude Code's own identity (x-app: cli, its session id); sx names \
    itself in its user agent only";
const STAINLESS: &str = "the official TypeScript SDK's telemetry headers (its language, runtime, \
    package version, retry count, timeout); sx is not that SDK";
const BROWSER: &str = "the TypeScript SDK's flag for use inside a browser; sx is not one";
const BETAS: &str = "Claude Code's beta features (claude-code, context-1m, interleaved thinking, \
    thinking token count, context management, cache scopes, mid-conversation system messages, \
    effort); sx uses none of them: adaptive thinking and output_config.effort need no beta";
const ENCODING: &str = "sx's HTTP client decodes no compressed answers, so it offers none; \
    the event stream is the same bytes";

const HEADERS: &[Allowed] = &[
    allow(HeaderMissing, "accept-encoding", ENCODING),
    allow(HeaderMissing, "anthropic-beta", BETAS),
    allow(
        HeaderMissing,
        "anthropic-dangerous-direct-browser-access",
        BROWSER,
    ),
    allow(HeaderMissing, "x-app", CLAUDE_CODE),
    allow(HeaderMissing, "x-claude-code-session-id", CLAUDE_CODE),
    allow(HeaderMissing, "x-stainless-*", STAINLESS),
];
const OWN_TOOLS: &str = "sx offers its own tools (bash, read_file, ...) with their own \
    parameters; the tool list is sx's, the tool shape (name, description, input_schema) is \
    compared";

const CONTEXT_EDITS: &str = "Claude Code's server-side context editing (clear_thinking, a \
    beta); sx keeps the transcript whole and compacts it itself (docs/agent.md)";
const NO_USER_ID: &str = "Claude Code's metadata.user_id is a JSON string of its device id, \
    account and session; it is optional and sx sends no identifier of the user or machine";
const TOOLS_BREAKPOINT: &str = "sx marks the last tool as a cache breakpoint: the tools come \
    first in the cached prefix (tools, system, messages) and are its largest stable part, so \
    they stay cached even when the system prompt changes (docs/protocols/providers.md 1.8); \
    three breakpoints of the four allowed";

const BODY: &[Allowed] = &[
    allow(PathMissing, "context_management*", CONTEXT_EDITS),
    allow(PathMissing, "metadata*", NO_USER_ID),
    allow(PathExtra, "tools[].cache_control*", TOOLS_BREAKPOINT),
    allow(PathMissing, "tools[].input_schema.*", OWN_TOOLS),
    allow(PathExtra, "tools[].input_schema.*", OWN_TOOLS),
];

/// The follow-up: the model turn differs from the capture server's.
const FOLLOW_UP: &[Allowed] = &[
    allow(
        PathMissing,
        "messages[].content[tool_use].input.description",
        "the call's arguments are the model's for sx's bash tool (command only); Claude Code's \
         Bash takes a description too",
    ),
    allow(
        PathExtra,
        "messages[].content[thinking]*",
        "the capture server's tool turn had no thinking; sx's test turn thinks first, and the \
         signed thinking block goes back before the call, as the API requires \
         (docs/protocols/providers.md 1.5)",
    ),
];

#[test]
fn the_first_request_has_the_official_headers_and_body_shape() {
    let (first, _) = tool_turn(&[]);
    let cap = Capture::load("claude-apikey-request.json");
    assert_eq!(
        (first.method.as_str(), first.path.as_str()),
        ("POST", cap.path.as_str())
    );
    compare(&first, &cap)
        .headers()
        .assert_explained("headers vs claude-apikey-request.json", HEADERS);
    compare(&first, &cap)
        .body()
        .assert_explained("body vs claude-apikey-request.json", BODY);
}

#[test]
fn the_follow_up_has_the_official_follow_up_shape() {
    let (_, follow_up) = tool_turn(&[]);
    let cap = Capture::load("claude-followup-request.json");
    compare(&follow_up, &cap)
        .headers()
        .assert_explained("headers vs claude-followup-request.json", HEADERS);
    compare(&follow_up, &cap).body().assert_explained(
        "body vs claude-followup-request.json",
        &[BODY, FOLLOW_UP].concat(),
    );
}

#[test]
fn a_gateway_token_request_has_the_official_auth_token_headers() {
    let (first, _) = tool_turn(&["-e", "ANTHROPIC_AUTH_TOKEN=gw-token"]);
    let cap = Capture::load("claude-authtoken-request.json");
    compare(&first, &cap)
        .headers()
        .assert_explained("headers vs claude-authtoken-request.json", HEADERS);
    // Authorization: Bearer and no x-api-key, or the names above would differ.
    assert_eq!(first.header("authorization"), Some("Bearer gw-token"));
}
