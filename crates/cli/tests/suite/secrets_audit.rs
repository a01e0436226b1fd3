//! The secrets audit (docs/reliability.md, holes 4 and 5): known secrets are planted — a Codex
//! login (access, refresh and id tokens) that gets refreshed (the new tokens too), API keys in
//! the user's configuration, the SSH password, an API key in the environment overridden with
//! `-e` — and a model asks for them every way it can (`cat` and `env` through `bash`, `read_file`
//! of the credential file, `grep`), a back-end echoes them in an error, and the user runs with
//! `--verbose`, in every output format, resumes the session and dumps the configuration.
//! Then everything sx wrote is searched: stdout and stderr of every run, every file under the
//! project and the home folder (the planted files apart), and every request body the model
//! received. Secrets found: 0.

use serde_json::{Value, json};
use sx_testkit::auth::{AuthJson, oauth_refresh_ok};
use sx_testkit::{CODEX_RESPONSES_PATH, MockResponse, OAUTH_TOKEN_PATH, responses, sse};

use super::common::{Env, stderr_of};
use super::credentials::walk;

const OPENAI_KEY: &str = "sk-audit-openai-key-in-user-config-0001";
const ANTHROPIC_ENV: &str = "sk-ant-audit-environment-value-0002";
const ANTHROPIC_OVERRIDE: &str = "sk-ant-audit-override-value-0003";
const SSH_PASS: &str = "audit-ssh-password-0004";
const TOKEN_HTTP_KEY: &str = "audit-token-service-key-0005";
const ROTATED_REFRESH: &str = "rt-audit-rotated-refresh-token-0006";

/// A secret and its parts that must not show on their own (a JWT's payload).
fn with_parts(s: &str) -> Vec<String> {
    let mut out = vec![s.to_string()];
    if s.starts_with("eyJ") {
        out.push(s.split('.').nth(1).unwrap().to_string());
    }
    out
}

fn turn(tool: &str, args: Value) -> MockResponse {
    MockResponse::sse(sse::encode(&responses::function_call_turn(
        "call_1",
        tool,
        &args.to_string(),
    )))
}

#[test]
fn no_planted_secret_is_found_in_anything_sx_writes() {
    let env = Env::new();
    // A login that is refreshed on the first run; the token endpoint rotates the refresh token.
    let login = env.login(AuthJson::new().expires_in(-60));
    let refreshed = oauth_refresh_ok(3600, "audit", Some(ROTATED_REFRESH));
    let mut secrets: Vec<String> = Vec::new();
    for t in [
        login.access_token(),
        login.id_token(),
        login.to_json()["tokens"]["refresh_token"]
            .as_str()
            .unwrap()
            .to_string(),
        refreshed["access_token"].as_str().unwrap().to_string(),
        refreshed["id_token"].as_str().unwrap().to_string(),
    ] {
        secrets.extend(with_parts(&t));
    }
    secrets.extend(
        [
            OPENAI_KEY,
            ANTHROPIC_ENV,
            ANTHROPIC_OVERRIDE,
            SSH_PASS,
            TOKEN_HTTP_KEY,
            ROTATED_REFRESH,
        ]
        .map(String::from),
    );
    let user_config = env.home.join(".scorpiox/scorpiox-env.txt");
    std::fs::create_dir_all(user_config.parent().unwrap()).unwrap();
    std::fs::write(
        &user_config,
        format!(
            "OPENAI_API_KEY={OPENAI_KEY}\nCODEX_SSH_PASS={SSH_PASS}\nTOKEN_HTTP_API_KEY={TOKEN_HTTP_KEY}\n"
        ),
    )
    .unwrap();
    let planted = [env.auth_path(), user_config.clone()];
    env.server.enqueue(
        "POST",
        OAUTH_TOKEN_PATH,
        MockResponse::json(200, refreshed.clone()),
    );

    let mut written = String::new();
    let mut run = |extra: &[&str], label: &str| {
        let out = env
            .sx()
            .env("ANTHROPIC_API_KEY", ANTHROPIC_ENV)
            .args(["-e", &format!("ANTHROPIC_API_KEY={ANTHROPIC_OVERRIDE}")])
            .args(extra)
            .output()
            .unwrap();
        written.push_str(&format!(
            "== {label} (exit {:?})\n{}\n{}\n",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            stderr_of(&out)
        ));
        out
    };
    // The model asks for the secrets every way it can, in each output format, with --verbose.
    let bash = json!({"command": "cat ~/.codex/auth.json ~/.scorpiox/scorpiox-env.txt; env"});
    for format in ["text", "stream-json", "json"] {
        for (tool, args) in [
            ("bash", bash.clone()),
            ("read_file", json!({"path": "~/.codex/auth.json"})),
            ("grep", json!({"pattern": "token|KEY|PASS", "path": "~"})),
        ] {
            env.server
                .enqueue("POST", CODEX_RESPONSES_PATH, turn(tool, args));
        }
        env.server.enqueue(
            "POST",
            CODEX_RESPONSES_PATH,
            MockResponse::sse(sse::encode(&responses::text_turn("done"))),
        );
        let out = run(
            &[
                "-p",
                "show me the secrets",
                "--yolo",
                "--verbose",
                "--output-format",
                format,
            ],
            format,
        );
        assert!(out.status.success(), "{format}: {}", stderr_of(&out));
    }
    assert_eq!(
        env.server.remaining("POST", OAUTH_TOKEN_PATH),
        0,
        "the login was refreshed"
    );
    // The back-end echoes the bearer and the keys in an error (retried once, then reported).
    let echo = format!(
        "bad request: Authorization: Bearer {} key {OPENAI_KEY} {ANTHROPIC_OVERRIDE}",
        refreshed["access_token"].as_str().unwrap()
    );
    for status in [500, 400] {
        env.server.enqueue(
            "POST",
            CODEX_RESPONSES_PATH,
            MockResponse::json(status, json!({"error": {"message": echo}})),
        );
    }
    let out = run(&["--continue", "-p", "again", "--verbose"], "error");
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("Bearer ***"),
        "{}",
        stderr_of(&out)
    );
    // Resumed once more, and the configuration shown.
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(sse::encode(&responses::text_turn("resumed"))),
    );
    let out = run(&["--continue", "-p", "and now?", "--verbose"], "resumed");
    assert!(out.status.success(), "{}", stderr_of(&out));
    for args in [&["--verbose"][..], &["--dump"], &["--json"]] {
        let out = env
            .cmd("sx")
            .env("ANTHROPIC_API_KEY", ANTHROPIC_ENV)
            .arg("config")
            .args(args)
            .output()
            .unwrap();
        written.push_str(&format!(
            "== config {args:?}\n{}\n{}\n",
            String::from_utf8_lossy(&out.stdout),
            stderr_of(&out)
        ));
    }

    // What reached the model.
    let requests = env.server.requests_to(CODEX_RESPONSES_PATH);
    assert!(requests.len() >= 14, "{} requests", requests.len());
    let bodies: Vec<String> = requests.iter().map(|r| r.text()).collect();
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("\\\"refresh_token\\\": \\\"***\\\"")),
        "the cat reached the model, masked"
    );
    // Every file sx wrote (the planted ones apart: they hold the secrets by design).
    let mut files = walk(&env.proj);
    files.extend(walk(&env.home).into_iter().filter(|f| !planted.contains(f)));
    assert!(
        files.iter().any(|f| f.ends_with("conversation.json"))
            && files
                .iter()
                .any(|f| f.to_string_lossy().contains("/traffic/")),
        "the transcript and the traffic log are searched: {files:?}"
    );
    let mut found = Vec::new();
    let mut search = |what: &str, text: &str| {
        for s in &secrets {
            if text.contains(s.as_str()) {
                found.push(format!("{what}: {s}"));
            }
        }
    };
    search("output", &written);
    for (i, b) in bodies.iter().enumerate() {
        search(&format!("request {i}"), b);
    }
    for f in &files {
        search(
            &f.display().to_string(),
            &String::from_utf8_lossy(&std::fs::read(f).unwrap()),
        );
    }
    eprintln!(
        "secrets audit: {} secrets planted, {} runs' output, {} requests and {} files searched; {} found",
        secrets.len(),
        written.matches("\n== ").count() + 1,
        bodies.len(),
        files.len(),
        found.len()
    );
    assert!(found.is_empty(), "secrets found:\n{}", found.join("\n"));
}
