//! Durability (docs/reliability.md): `kill -9` at random points of a tool loop — while a
//! request is sent or streamed, while a command runs, while the session is written — leaves a
//! transcript that `--continue` resumes with every tool call paired with its result, and no
//! temporary file (nor any copy of a token) behind.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use sx_testkit::CODEX_RESPONSES_PATH;
use sx_testkit::auth::AuthJson;

use super::agent::{answer, call};
use super::common::{Env, assert_no_panic, stderr_of};

const KILLS: usize = 20;
/// Model requests in the loop: four turns with a tool call, then the answer.
const TURNS: u64 = 5;

/// A small deterministic generator (xorshift), seeded from the clock or `SX_DURABILITY_SEED`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Every `function_call` of a request paired with a `function_call_output`, and the reverse.
fn assert_paired(body: &Value, what: &str) -> usize {
    let items = body["input"].as_array().unwrap();
    let ids = |kind: &str| -> Vec<String> {
        items
            .iter()
            .filter(|i| i["type"] == kind)
            .map(|i| i["call_id"].as_str().unwrap().to_string())
            .collect()
    };
    let (calls, outputs) = (ids("function_call"), ids("function_call_output"));
    for c in &calls {
        assert!(
            outputs.contains(c),
            "{what}: call {c} has no result in {body}"
        );
    }
    for o in &outputs {
        assert!(
            calls.contains(o),
            "{what}: result {o} has no call in {body}"
        );
    }
    calls.len()
}

#[test]
fn kill_9_anywhere_in_a_tool_loop_leaves_a_transcript_that_resumes_paired() {
    let seed = std::env::var("SX_DURABILITY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("durability: seed {seed} (SX_DURABILITY_SEED={seed} repeats this run)");
    let mut rng = Rng(seed);
    let mut resumed_with_calls = 0;
    for round in 0..KILLS {
        let env = Env::new();
        let auth = env.login(AuthJson::new());
        for step in 0..TURNS - 1 {
            call(
                &env,
                &format!("call_{step}"),
                "bash",
                json!({ "command": format!("echo step {step} >> steps.txt; sleep 0.02; cat steps.txt") }),
            );
        }
        answer(&env, "finished");
        let mut child = env
            .sx_std()
            .args(["-p", "do the steps", "--yolo"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The point: after the k-th request arrived, then a random moment more.
        let k = 1 + rng.next() % TURNS;
        let delay = Duration::from_millis(rng.next() % 60);
        let got =
            env.server
                .wait_for_requests(CODEX_RESPONSES_PATH, k as usize, Duration::from_secs(60));
        assert!(
            got.len() as u64 >= k,
            "round {round}: the run never sent request {k}"
        );
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().unwrap();
        let what = format!("round {round} (kill after request {k} + {delay:?}, {status})");

        // Resume: the rest of the loop (what the killed run did not take), then an answer.
        answer(&env, "resumed");
        let before = env.server.requests_to(CODEX_RESPONSES_PATH).len();
        let out = env
            .sx()
            .args(["-p", "go on", "--yolo", "--continue"])
            .output()
            .unwrap();
        let stderr = stderr_of(&out);
        assert_no_panic(&stderr);
        assert!(out.status.success(), "{what}: --continue failed: {stderr}");
        let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
        assert!(reqs.len() > before, "{what}: --continue sent nothing");
        for (i, r) in reqs[before..].iter().enumerate() {
            let body = r.json();
            let n = assert_paired(&body, &format!("{what}, resumed request {i}"));
            if i == 0 {
                resumed_with_calls += usize::from(n > 0);
                let text = body.to_string();
                assert!(
                    text.contains("do the steps") && text.contains("go on"),
                    "{what}: the first prompt was lost: {text}"
                );
            }
        }

        // Nothing half-written is left, and no file but auth.json holds a token.
        let mut files = Vec::new();
        files_under(env.home.parent().unwrap(), &mut files);
        let secrets = [auth.access_token(), auth.id_token()];
        for f in &files {
            let name = f.file_name().unwrap().to_string_lossy();
            assert!(
                !name.contains(".tmp"),
                "{what}: left behind: {}",
                f.display()
            );
            if *f == env.auth_path() {
                continue;
            }
            let bytes = std::fs::read(f).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            for s in &secrets {
                assert!(
                    !text.contains(s.as_str()),
                    "{what}: a token in {}",
                    f.display()
                );
            }
        }
    }
    // The kills landed in the middle of the loop, not only before or after it.
    eprintln!(
        "durability: {KILLS} kills, {resumed_with_calls} resumed a transcript holding tool calls"
    );
    assert!(
        resumed_with_calls > 0,
        "no kill landed inside the tool loop (seed {seed})"
    );
}
