//! What `sx` sends on the gemini wire, compared with the official client's captured requests
//! (`tests/fixtures/captures/gemini-request.json` — its second request, the real turn; sx makes
//! no router call — and `gemini-followup-request.json`), as `sx_testkit::capture` compares
//! them: header names, stable header values, every body key path. Each difference that remains
//! is listed with its reason and documented in docs/providers.md ("gemini", "What differs from
//! the official client"); an entry that matches nothing fails the test too.

use pretty_assertions::assert_eq;
use serde_json::json;
use sx_testkit::Recorded;
use sx_testkit::capture::Kind::{HeaderMissing, HeaderValue, PathExtra, PathMissing};
use sx_testkit::capture::{Allowed, Capture, allow, compare};
use sx_testkit::gemini::{MODEL, USAGE, call, chunk, finish, stream_path, text_turn};

use super::common::{Env, stderr_of};
use super::gemini::{enqueue, gemini};

const NODE_FETCH: &str = "set by the official client's HTTP stack (Node's fetch), not by the \
    Gemini protocol; sx's HTTP client sends its own defaults";
const NO_COMPRESSION: &str = "sx reads the stream uncompressed (no gzip/deflate decoder in its \
    HTTP client), so it does not offer them";
const PRIVILEGED_USER: &str = "an installation id Gemini CLI sends for its own accounting; sx \
    has no such id to send";
const API_CLIENT: &str = "x-goog-api-client names the client library; sx names itself \
    (sx/<version>), not Google's Node SDK";
const SAMPLING: &str = "sx leaves temperature, topP and topK at the model's defaults (Gemini \
    CLI sends its own preset)";
const OWN_TOOLS: &str = "sx offers its own tools (bash, read_file, ...) with their own \
    parameters; the declaration shape (name, description, parametersJsonSchema) is compared";

const HEADERS: &[Allowed] = &[
    allow(HeaderMissing, "accept-language", NODE_FETCH),
    allow(HeaderMissing, "sec-fetch-mode", NODE_FETCH),
    allow(HeaderMissing, "accept-encoding", NO_COMPRESSION),
    allow(
        HeaderMissing,
        "x-gemini-api-privileged-user-id",
        PRIVILEGED_USER,
    ),
    allow(HeaderValue, "x-goog-api-client", API_CLIENT),
];

const BODY: &[Allowed] = &[
    allow(PathMissing, "generationConfig.temperature", SAMPLING),
    allow(PathMissing, "generationConfig.topP", SAMPLING),
    allow(PathMissing, "generationConfig.topK", SAMPLING),
    allow(
        PathMissing,
        "tools[].functionDeclarations[].parametersJsonSchema.properties.*",
        OWN_TOOLS,
    ),
    allow(
        PathExtra,
        "tools[].functionDeclarations[].parametersJsonSchema.properties.*",
        OWN_TOOLS,
    ),
    allow(
        PathExtra,
        "tools[].functionDeclarations[].parametersJsonSchema.additionalProperties",
        "sx's tool schemas close their objects (additionalProperties: false), a keyword \
         Gemini documents for parametersJsonSchema; Gemini CLI's tools leave it out",
    ),
];

/// The follow-up's call: sx's tool with its own arguments.
const CALL_ARGS: &[Allowed] = &[
    allow(
        PathMissing,
        "contents[].parts[].functionCall.args.*",
        "the call is to sx's bash tool, with its arguments (the capture's to list_directory)",
    ),
    allow(
        PathExtra,
        "contents[].parts[].functionCall.args.*",
        "the call is to sx's bash tool, with its arguments (the capture's to list_directory)",
    ),
];

/// `sx -p "list files" --yolo`: the model calls `bash` as the capture server called
/// `list_directory` (an id, no signature), sx runs it and sends the follow-up.
fn tool_call_turn() -> (Recorded, Recorded) {
    let env = Env::new();
    enqueue(
        &env,
        &[
            chunk(vec![call(
                Some("bash_1795602500174_0"),
                "bash",
                json!({"command": "echo capture-tool-ok"}),
            )]),
            finish(vec![], "STOP", USAGE),
        ],
    );
    enqueue(&env, &text_turn("Listed."));
    let out = gemini(&env)
        .args(["-p", "list files", "--yolo"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let reqs = env.server.requests_to(&stream_path(MODEL));
    assert_eq!(reqs.len(), 2);
    (reqs[0].clone(), reqs[1].clone())
}

fn check_request_line(r: &Recorded, cap: &Capture) {
    assert_eq!(r.method, cap.method);
    assert_eq!(r.path, cap.path);
    assert_eq!(r.query.as_deref(), Some("alt=sse"));
}

#[test]
fn the_first_request_has_the_official_headers_and_body_shape() {
    let (first, _) = tool_call_turn();
    let cap = Capture::load_seq("gemini-request.json", 2);
    check_request_line(&first, &cap);
    compare(&first, &cap)
        .headers()
        .assert_explained("headers vs gemini-request.json seq 2", HEADERS);
    compare(&first, &cap)
        .body()
        .assert_explained("body vs gemini-request.json seq 2", BODY);
    assert_eq!(
        first.json()["generationConfig"]["thinkingConfig"],
        cap.body()["generationConfig"]["thinkingConfig"]
    );
    assert_eq!(first.json()["systemInstruction"]["role"], "user");
}

#[test]
fn the_follow_up_has_the_official_follow_up_shape() {
    let (first, follow_up) = tool_call_turn();
    let cap = Capture::load("gemini-followup-request.json");
    check_request_line(&follow_up, &cap);
    let without_length = |r: &Recorded| -> Vec<(String, String)> {
        r.headers
            .iter()
            .filter(|(n, _)| n != "content-length")
            .cloned()
            .collect()
    };
    assert_eq!(without_length(&follow_up), without_length(&first));
    compare(&follow_up, &cap)
        .headers()
        .assert_explained("follow-up headers vs gemini-followup-request.json", HEADERS);
    compare(&follow_up, &cap).body().assert_explained(
        "follow-up body vs gemini-followup-request.json",
        &[BODY, CALL_ARGS].concat(),
    );
    // Turn by turn as the official client: user, the model's call, the function's response.
    let body = follow_up.json();
    let roles: Vec<&str> = body["contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "model", "user"]);
    let part = &body["contents"][1]["parts"][0];
    assert_eq!(part["functionCall"]["id"], "bash_1795602500174_0");
    // A call that came without a signature goes back with the placeholder, as the capture.
    assert_eq!(
        part["thoughtSignature"],
        cap.body()["contents"][1]["parts"][0]["thoughtSignature"]
    );
    let resp = &body["contents"][2]["parts"][0]["functionResponse"];
    assert_eq!(resp["id"], "bash_1795602500174_0");
    assert!(
        resp["response"]["output"]
            .as_str()
            .unwrap()
            .contains("capture-tool-ok")
    );
}
