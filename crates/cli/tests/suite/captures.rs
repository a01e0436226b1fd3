//! What `sx` sends, compared with the official client's captured requests
//! (`tests/fixtures/captures/`, compared as `compare_capture.py` does, see
//! `sx_testkit::capture`): header names, the values of the stable headers and every body key
//! path — on the first request of a turn, on the follow-up after a tool call, and on a token
//! refresh. Each difference that remains is listed below with its reason, and documented in
//! docs/providers.md ("What differs from the official client"); an entry that no longer
//! matches anything fails the test as well.

use pretty_assertions::assert_eq;
use serde_json::json;
use sx_testkit::auth::{AuthJson, oauth_refresh_ok};
use sx_testkit::capture::Kind::{HeaderMissing, HeaderValue, PathExtra, PathMissing};
use sx_testkit::capture::{Allowed, Capture, allow, compare, input_item_kinds};
use sx_testkit::{
    CODEX_RESPONSES_PATH, Expect, MockResponse, OAUTH_TOKEN_PATH, Recorded, fixture, fixture_json,
    responses, sse,
};

use super::common::{Env, stderr_of};

// Why each difference is accepted (docs/providers.md, "What differs from the official client").
const NAMES_ITSELF: &str = "sx names itself: `originator: sx` (CODEX_ORIGINATOR), not codex_exec";
const NO_TURN_METADATA: &str = "Codex's turn metadata (sandbox, workspaces, analytics) \
    describes Codex's own harness; sx sends the thread, turn and window ids without it";
pub(super) const ITEM_IDS: &str = "deliberate: the official client 0.169 echoes item ids (msg_/fc_/fco_) \
    and a call's status; they are optional with store:false, and echoing server item ids that \
    were never stored risks 'item not found' errors, so sx sends none (docs/protocols/codex.md \
    B.5)";
const ROUTED_MODEL: &str = "the routing hint names the run's model; the capture's run used \
    gpt-6.1-sol";
const METADATA_PASSTHROUGH: &str = "ChatGPT-backend message metadata (provenance of Codex's \
    harness messages) and the extra client_metadata flags describe Codex's own harness";
const CODEX_PROMPT: &str = "Codex splits its harness prompt into several developer messages \
    and an environment_context user message; sx sends its one system prompt";
pub(super) const OWN_TOOLS: &str = "sx offers its own function tools (bash, read_file, ...) with their own \
    parameters; the tool list is sx's, the tool shape is compared";
const NO_CODEX_TOOLS: &str =
    "Codex-only tools (apply_patch as a freeform grammar tool, tool_search, web_search)";
const SUMMARY: &str = "sx asks for reasoning summaries (THINKING=1, the default) to show thinking";
const LITE: &str = "this run's model uses the classic shape; the capture's code-mode model the \
    \"responses lite\" shape (additional_tools item, custom_tool_call, reasoning.context), \
    compared separately below";
const CLASSIC_CALLS: &str = "classic shape: the call and its result are function_call and \
    function_call_output (compared with codex-followup-request.json)";

/// The first request's headers vs `codex-chatgpt-request.json` (the ChatGPT backend).
pub(super) const HEADERS: &[Allowed] = &[
    allow(
        HeaderMissing,
        "x-codex-beta-features",
        "remote compaction, a Codex feature sx does not use",
    ),
    allow(HeaderMissing, "x-codex-turn-metadata", NO_TURN_METADATA),
    allow(HeaderValue, "originator", NAMES_ITSELF),
];

/// A classic model's first request vs the capture of the lite model's.
const CLASSIC_VS_LITE_HEADERS: &[Allowed] = &[
    allow(
        HeaderMissing,
        "x-openai-internal-codex-responses-lite",
        LITE,
    ),
    allow(HeaderValue, "x-codex-routing-hint", ROUTED_MODEL),
];

pub(super) const EVERY_BODY: &[Allowed] = &[
    allow(
        PathMissing,
        "client_metadata.x-codex-turn-metadata",
        NO_TURN_METADATA,
    ),
    allow(PathMissing, "input[message].id", ITEM_IDS),
    allow(PathExtra, "reasoning.summary", SUMMARY),
];

/// The classic body (`codex-apikey-gpt55-request.json`, `codex-followup-request.json`).
pub(super) const CLASSIC_TOOLS: &[Allowed] = &[
    allow(PathMissing, "tools[custom]*", NO_CODEX_TOOLS),
    allow(PathMissing, "tools[tool_search]*", NO_CODEX_TOOLS),
    allow(PathMissing, "tools[web_search]*", NO_CODEX_TOOLS),
    allow(
        PathMissing,
        "tools[function].parameters.properties.*",
        OWN_TOOLS,
    ),
    allow(
        PathExtra,
        "tools[function].parameters.properties.*",
        OWN_TOOLS,
    ),
];

/// The follow-up's call and result vs `codex-followup-request.json`.
pub(super) const FOLLOW_UP_IDS: &[Allowed] = &[
    allow(PathMissing, "input[function_call].id", ITEM_IDS),
    allow(PathMissing, "input[function_call].status", ITEM_IDS),
    allow(PathMissing, "input[function_call_output].id", ITEM_IDS),
];

/// The follow-up vs `codex-followup-codemode-request.json`.
const CODE_MODE: &[Allowed] = &[
    allow(PathMissing, "input[additional_tools]*", LITE),
    allow(PathMissing, "input[custom_tool_call]*", LITE),
    allow(PathMissing, "input[custom_tool_call_output]*", LITE),
    allow(PathMissing, "reasoning.context", LITE),
    allow(PathExtra, "input[function_call]*", CLASSIC_CALLS),
    allow(PathExtra, "input[function_call_output]*", CLASSIC_CALLS),
    allow(
        PathExtra,
        "tools*",
        "classic shape: top-level tools (lite carries them in the additional_tools item)",
    ),
];

/// A turn with one tool call: the model asks for `bash` (`echo capture-tool-ok`, as in
/// the follow-up captures), sx runs it and sends the follow-up. Returns both requests.
fn tool_call_turn() -> (Recorded, Recorded) {
    let call = responses::function_call_turn(
        "call_capture_1",
        "bash",
        r#"{"command":"echo capture-tool-ok"}"#,
    );
    let (first, follow_up) = turn_on("gpt-5.4", call);
    let output = follow_up.json()["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "function_call_output")
        .expect("the follow-up carries the result")
        .clone();
    assert_eq!(output["call_id"], "call_capture_1");
    assert!(
        output["output"]
            .as_str()
            .is_some_and(|o| o.contains("capture-tool-ok")),
        "{output}"
    );
    (first, follow_up)
}

/// The same turn on the code-mode model, which answers with a freeform `custom_tool_call`
/// (its input the tool's JSON arguments as text); sx answers with `custom_tool_call_output`.
fn code_mode_turn() -> (Recorded, Recorded) {
    let call = responses::custom_tool_call_turn(
        "call_capture_2",
        "bash",
        r#"{"command":"echo capture-tool-ok"}"#,
    );
    let (first, follow_up) = turn_on("gpt-6.1-sol", call);
    let output = follow_up.json()["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "custom_tool_call_output")
        .expect("the follow-up carries the result")
        .clone();
    assert_eq!(output["call_id"], "call_capture_2");
    assert_eq!(output["output"][0]["type"], "input_text");
    assert!(
        output["output"][0]["text"]
            .as_str()
            .is_some_and(|o| o.contains("capture-tool-ok")),
        "{output}"
    );
    (first, follow_up)
}

/// `sx -p "run echo" --yolo -m MODEL`, the first answer `call`, the second a text.
fn turn_on(model: &str, call: Vec<serde_json::Value>) -> (Recorded, Recorded) {
    let env = Env::new();
    env.login(AuthJson::new());
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&call)),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/text.sse")),
    );
    let out = env
        .sx()
        .args(["-p", "run echo", "--yolo", "-m", model])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!(reqs.len(), 2);
    (reqs[0].clone(), reqs[1].clone())
}

#[test]
fn the_first_request_has_the_official_headers_and_body_shape() {
    let (first, _) = tool_call_turn();
    compare(&first, &Capture::load("codex-chatgpt-request.json"))
        .headers()
        .assert_explained(
            "headers vs codex-chatgpt-request.json",
            &[HEADERS, CLASSIC_VS_LITE_HEADERS].concat(),
        );
    compare(&first, &Capture::load("codex-apikey-gpt55-request.json"))
        .body()
        .assert_explained(
            "body vs codex-apikey-gpt55-request.json",
            &[EVERY_BODY, CLASSIC_TOOLS].concat(),
        );
}

#[test]
fn a_follow_up_has_the_official_follow_up_shape() {
    let (first, follow_up) = tool_call_turn();
    let without_length = |r: &Recorded| -> Vec<(String, String)> {
        r.headers
            .iter()
            .filter(|(n, _)| n != "content-length")
            .cloned()
            .collect()
    };
    assert_eq!(
        without_length(&follow_up),
        without_length(&first),
        "a follow-up carries the turn's headers unchanged"
    );
    let cap = Capture::load("codex-followup-request.json");
    assert_eq!(
        input_item_kinds(&follow_up.json()),
        input_item_kinds(cap.body())
    );
    compare(&follow_up, &cap).body().assert_explained(
        "follow-up body vs codex-followup-request.json",
        &[EVERY_BODY, CLASSIC_TOOLS, FOLLOW_UP_IDS].concat(),
    );
}

#[test]
fn a_follow_up_differs_from_the_code_mode_capture_only_as_listed() {
    let (_, follow_up) = tool_call_turn();
    let cap = Capture::load("codex-followup-codemode-request.json");
    // The same turn, item for item, once code mode's tools item is set aside and its custom
    // call and output are read as sx's function call and output.
    let code_mode_as_classic: Vec<String> = input_item_kinds(cap.body())
        .into_iter()
        .filter(|kind| kind != "additional_tools")
        .map(|kind| kind.replace("custom_tool_call", "function_call"))
        .collect();
    assert_eq!(input_item_kinds(&follow_up.json()), code_mode_as_classic);
    compare(&follow_up, &cap).body().assert_explained(
        "follow-up body vs codex-followup-codemode-request.json",
        &[EVERY_BODY, CODE_MODE].concat(),
    );
}

/// Runs `sx -p` logged in with `auth` (its first model request answered 401 when
/// `unauthorized`) and checks the one refresh it sends against the capture's request `seq`:
/// the body value for value (the refresh token is ours), every header and stable value.
fn check_refresh(auth: AuthJson, unauthorized: bool, seq: u64) {
    let env = Env::new();
    env.login(auth.refresh_token("rt-mine"));
    let cap = Capture::load_seq("codex-refresh-request.json", seq);
    let mut body = cap.body().clone();
    body["refresh_token"] = json!("rt-mine");
    env.server
        .expect("POST", OAUTH_TOKEN_PATH, Expect::new().body_json(body));
    if unauthorized {
        env.server.enqueue(
            "POST",
            CODEX_RESPONSES_PATH,
            MockResponse::json(401, fixture_json("codex/http_401.json")),
        );
    }
    env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(200, oauth_refresh_ok(3600, "fresh", None)),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/text.sse")),
    );
    let out = env.sx().args(["-p", "hi"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    env.server.verify();
    let oauth = env.server.requests_to(OAUTH_TOKEN_PATH);
    assert_eq!(oauth.len(), 1);
    compare(&oauth[0], &cap).assert_explained(
        &format!("refresh vs codex-refresh-request.json seq {seq}"),
        &[allow(HeaderValue, "originator", NAMES_ITSELF)],
    );
}

#[test]
fn a_proactive_refresh_is_the_captured_refresh() {
    check_refresh(AuthJson::new().expires_in(-60), false, 1);
}

#[test]
fn an_unauthorized_recovery_refresh_is_the_captured_refresh() {
    check_refresh(AuthJson::new(), true, 16);
}

/// The lite shape's tool item: sx's tools, as plain function tools.
pub(super) const LITE_TOOLS: &[Allowed] = &[
    allow(PathMissing, "input[additional_tools].id", ITEM_IDS),
    allow(
        PathMissing,
        "input[additional_tools].tools[namespace]*",
        "Codex's namespaced harness tools (functions.exec, clock, collaboration); sx offers its \
         own tools as plain function tools in the additional_tools item, so its calls come back \
         without a namespace to echo",
    ),
    allow(
        PathExtra,
        "input[additional_tools].tools[function]*",
        OWN_TOOLS,
    ),
];

#[test]
fn the_code_mode_model_gets_the_lite_shape_of_the_official_request() {
    let (first, _) = code_mode_turn();
    let cap = Capture::load("codex-chatgpt-request.json");
    compare(&first, &cap)
        .headers()
        .assert_explained("lite headers vs codex-chatgpt-request.json", HEADERS);
    compare(&first, &cap).body().assert_explained(
        "lite body vs codex-chatgpt-request.json",
        &[
            EVERY_BODY,
            LITE_TOOLS,
            &[
                allow(
                    PathMissing,
                    "client_metadata.guardian_credits_requested",
                    METADATA_PASSTHROUGH,
                ),
                allow(
                    PathMissing,
                    "client_metadata.mcp_attribution",
                    METADATA_PASSTHROUGH,
                ),
                allow(
                    PathMissing,
                    "input[message].internal_chat_message_metadata_passthrough*",
                    METADATA_PASSTHROUGH,
                ),
            ],
        ]
        .concat(),
    );
    assert_eq!(
        input_item_kinds(&first.json()),
        [
            "additional_tools",
            "message:developer",
            "message:user",
            "configuration_update"
        ]
        .map(String::from),
        "sx's one system prompt stands where Codex sends its harness messages ({CODEX_PROMPT})"
    );
}

#[test]
fn a_code_mode_follow_up_has_the_official_code_mode_shape() {
    let (first, follow_up) = code_mode_turn();
    let without_length = |r: &Recorded| -> Vec<(String, String)> {
        r.headers
            .iter()
            .filter(|(n, _)| n != "content-length")
            .cloned()
            .collect()
    };
    assert_eq!(without_length(&follow_up), without_length(&first));
    let cap = Capture::load("codex-followup-codemode-request.json");
    compare(&follow_up, &cap).body().assert_explained(
        "lite follow-up vs codex-followup-codemode-request.json",
        &[
            EVERY_BODY,
            LITE_TOOLS,
            &[
                allow(PathMissing, "input[custom_tool_call].id", ITEM_IDS),
                allow(PathMissing, "input[custom_tool_call].status", ITEM_IDS),
                allow(PathMissing, "input[custom_tool_call_output].id", ITEM_IDS),
                allow(
                    PathExtra,
                    "input[configuration_update]*",
                    "the ChatGPT backend's trailing settings item; this capture used an API key",
                ),
            ],
        ]
        .concat(),
    );
}
