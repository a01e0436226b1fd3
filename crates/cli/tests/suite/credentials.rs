//! Credentials never reach the model (docs/reliability.md, hole 4): the file tools refuse the
//! credential files sx uses — by any path, link or hard link — and every known secret in a
//! tool's output (a `cat` through `bash`, a copy elsewhere) is masked before the model, the
//! transcript or the screen sees it.

use serde_json::{Value, json};
use sx_testkit::auth::AuthJson;
use sx_testkit::{CODEX_RESPONSES_PATH, MockResponse, responses, sse};

use super::common::{Env, json_lines, stderr_of};

/// The model calls `tool` with `args`, then answers "done". Returns the tool's result event
/// and the body of the request that carried it to the model. (outside.rs uses it too.)
pub(super) fn call(env: &Env, tool: &str, args: &Value, extra: &[&str]) -> (Value, String) {
    let before = env.server.requests_to(CODEX_RESPONSES_PATH).len();
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&responses::function_call_turn(
            "call_1",
            tool,
            &args.to_string(),
        ))),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&responses::text_turn("done"))),
    );
    let out = env
        .sx()
        .args(["-p", "look", "--output-format", "stream-json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{tool} {args}: {}", stderr_of(&out));
    let result = json_lines(&out.stdout)
        .into_iter()
        .find(|e| e["type"] == "tool_result")
        .unwrap_or_else(|| panic!("{tool} {args}: no tool result"));
    let requests = env.server.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!(requests.len(), before + 2);
    (result, requests[before + 1].text())
}

/// The secret parts of a login: each whole token, and the payload of each JWT.
fn secrets_of(auth: &AuthJson) -> Vec<String> {
    let mut out = vec![
        auth.to_json()["tokens"]["refresh_token"]
            .as_str()
            .unwrap()
            .to_string(),
    ];
    for jwt in [auth.access_token(), auth.id_token()] {
        out.push(jwt.split('.').nth(1).unwrap().to_string());
        out.push(jwt);
    }
    out
}

fn assert_none_in(what: &str, text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "{what} holds {s}:\n{text}");
    }
}

#[test]
fn the_credential_files_sx_uses_are_refused_to_the_file_tools() {
    let env = Env::new();
    let auth = env.login(AuthJson::new());
    let mut secrets = secrets_of(&auth);
    // A second login kept by `scorpiox-codex-login --name`.
    let alice = AuthJson::new().refresh_token("rt-alice-second-login-0123456789");
    alice.write(env.home.join(".codex/accounts/alice.json"));
    secrets.extend(secrets_of(&alice));
    // A link and a hard link to auth.json inside the project, under innocent names.
    std::os::unix::fs::symlink(env.auth_path(), env.proj.join("notes.txt")).unwrap();
    std::fs::hard_link(env.auth_path(), env.proj.join("data.json")).unwrap();
    let auth_abs = env.auth_path().display().to_string();
    for (tool, path) in [
        ("read_file", "~/.codex/auth.json"),
        ("read_file", auth_abs.as_str()),
        ("read_file", "notes.txt"),
        ("read_file", "data.json"),
        ("read_file", "~/.codex/accounts/alice.json"),
        ("read_image", "~/.codex/auth.json"),
    ] {
        let (result, request) = call(&env, tool, &json!({"path": path}), &[]);
        let output = result["output"].as_str().unwrap();
        assert_eq!(result["is_error"], true, "{tool} {path}: {output}");
        assert!(
            output.contains("is a credential file sx uses"),
            "{tool} {path}: {output}"
        );
        assert_none_in(&format!("{tool} {path}: the request"), &request, &secrets);
    }
    // grep does not open them either: no match, nothing to mask.
    let (result, request) = call(
        &env,
        "grep",
        &json!({"pattern": "refresh_token", "path": env.home.join(".codex").display().to_string()}),
        &[],
    );
    let output = result["output"].as_str().unwrap();
    assert!(output.starts_with("No matches"), "{output}");
    assert_none_in("grep: the request", &request, &secrets);
    // The same files written by a tool: refused too (they are not the model's to change).
    let (result, _) = call(
        &env,
        "write_file",
        &json!({"path": "notes.txt", "content": "{}"}),
        &["--yolo"],
    );
    assert_eq!(result["is_error"], true, "{result}");
    assert_eq!(
        std::fs::read(env.auth_path()).unwrap(),
        std::fs::read(env.proj.join("data.json")).unwrap()
    );
    assert_ne!(std::fs::read_to_string(env.auth_path()).unwrap(), "{}");
}

#[test]
fn a_secret_in_a_tools_output_is_masked_before_the_model_and_the_transcript() {
    let env = Env::new();
    let auth = env.login(AuthJson::new());
    let mut secrets = secrets_of(&auth);
    // A copy sx knows nothing about, and an API key set in the environment and overridden
    // with -e: both values are secrets (the commands sx runs see the environment's).
    let copy = env.home.join("backup-of-auth.json");
    std::fs::copy(env.auth_path(), &copy).unwrap();
    let (env_key, override_key) = (
        "sk-ant-environment-value-0123456789",
        "sk-ant-override-value-0123456789",
    );
    secrets.extend([env_key.to_string(), override_key.to_string()]);
    let command = format!(
        "cat ~/.codex/auth.json {}; echo key=$ANTHROPIC_API_KEY",
        copy.display()
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&responses::function_call_turn(
            "call_1",
            "bash",
            &json!({"command": command}).to_string(),
        ))),
    );
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&responses::text_turn("done"))),
    );
    let out = env
        .sx()
        .env("ANTHROPIC_API_KEY", env_key)
        .args(["-e", &format!("ANTHROPIC_API_KEY={override_key}")])
        .args(["-p", "look", "--yolo", "--output-format", "stream-json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let result = json_lines(&out.stdout)
        .into_iter()
        .find(|e| e["type"] == "tool_result")
        .unwrap();
    let output = result["output"].as_str().unwrap();
    assert!(
        output.contains("\"refresh_token\": \"***\"") && output.contains("key=***"),
        "{output}"
    );
    let request = env.server.requests_to(CODEX_RESPONSES_PATH)[1].text();
    assert!(request.contains("key=***"), "{request}");
    assert_none_in("the request", &request, &secrets);
    assert_none_in("stdout", &stdout, &secrets);
    assert_none_in("stderr", &stderr_of(&out), &secrets);
    for f in walk(&env.proj.join(".scorpiox")) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert_none_in(&f.display().to_string(), &text, &secrets);
    }
}

/// Every regular file under `dir`.
pub fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let t = e.file_type().unwrap();
        if t.is_dir() {
            out.extend(walk(&e.path()));
        } else if t.is_file() {
            out.push(e.path());
        }
    }
    out
}
