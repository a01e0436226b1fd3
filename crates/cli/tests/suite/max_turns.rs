//! `MAX_TURNS` / `--max-turns` (docs/agent.md): 0 is refused naming the key and where it was
//! set, and a run stopped by the limit ends with one `error:` line saying how to go on.

use pretty_assertions::assert_eq;
use serde_json::json;
use sx_testkit::CODEX_RESPONSES_PATH;
use sx_testkit::auth::AuthJson;

use super::agent::call;
use super::common::{Env, error_line};

#[test]
fn max_turns_zero_is_refused_naming_the_key_and_the_file() {
    let env = Env::new();
    env.login(AuthJson::new());
    let file = env.proj.canonicalize().unwrap().join("scorpiox-env.txt");
    std::fs::write(&file, "MODEL=opus\nMAX_TURNS=0\n").unwrap();
    let out = env.sx().args(["-p", "hello"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        error_line(&out),
        format!(
            "error: MAX_TURNS=0 (from {}:2) is not valid; allowed: a whole number from 1 to {}",
            file.display(),
            u64::MAX
        )
    );
    std::fs::remove_file(&file).unwrap();
    let out = env
        .sx()
        .args(["-p", "hello", "--max-turns", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        error_line(&out).starts_with("error: invalid value '0' for '--max-turns <N>'"),
        "{}",
        error_line(&out)
    );
    assert!(env.server.requests_to(CODEX_RESPONSES_PATH).is_empty());
}

#[test]
fn a_run_stopped_by_the_limit_says_how_to_go_on() {
    let env = Env::new();
    env.login(AuthJson::new());
    for i in 0..2 {
        call(&env, &format!("loop{i}"), "list_dir", json!({"path": "."}));
    }
    let out = env
        .sx()
        .args(["-p", "loop", "--max-turns", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        error_line(&out),
        "error: stopped after 2 model turns (the --max-turns limit); resume with \
         sx --continue -p \"continue\", adding --max-turns N to allow more turns"
    );
    assert_eq!(env.server.requests_to(CODEX_RESPONSES_PATH).len(), 2);
}
