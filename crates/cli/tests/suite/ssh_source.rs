//! `CODEX_TOKEN_SOURCE=ssh` end to end: `sx` and `scorpiox-codex-fetchtoken` fetch the token
//! from a real OpenSSH sshd on loopback (`sx_testkit::sshd`), then use it against the mock
//! backend. Host keys, password and key logins, the remote fetchtoken and its `cat` fallback,
//! and one clear error line for every refusal.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;
use serde_json::Value;
use sx_testkit::auth::{ACCOUNT_ID, AuthJson, MARKER_CLAIM, jwt_claims};
use sx_testkit::sshd::{HOST, KEY_USER, PASS_USER, PASSWORD, SshAgent, Sshd, fingerprint, keygen};
use sx_testkit::{CODEX_RESPONSES_PATH, MockResponse, fixture};

use super::common::{Cmd, Env, error_line, stderr_of};

/// `sx` with the ssh source pointed at `sshd` as `user`, known_hosts in the private HOME.
fn sx_ssh(env: &Env, sshd: &Sshd, user: &str) -> Cmd {
    let mut c = env.sx();
    c.args(ssh_args(env, sshd, user));
    c
}

fn fetchtoken_ssh(env: &Env, sshd: &Sshd, user: &str) -> Cmd {
    let mut c = env.cmd("scorpiox-codex-fetchtoken");
    c.args(["--source", "ssh"]).args(ssh_args(env, sshd, user));
    c
}

fn ssh_args(env: &Env, sshd: &Sshd, user: &str) -> Vec<String> {
    [
        "CODEX_TOKEN_SOURCE=ssh".to_string(),
        format!("CODEX_SSH_HOST={HOST}"),
        format!("CODEX_SSH_PORT={}", sshd.port()),
        format!("CODEX_SSH_USER={user}"),
        format!("CODEX_SSH_KNOWN_HOSTS={}", known_hosts(env).display()),
    ]
    .into_iter()
    .flat_map(|kv| ["-e".to_string(), kv])
    .collect()
}

fn known_hosts(env: &Env) -> PathBuf {
    env.home.join(".ssh/known_hosts")
}

fn password() -> [String; 2] {
    ["-e".into(), format!("CODEX_SSH_PASS={PASSWORD}")]
}

/// A login for a remote user whose token never needs refreshing during the test, marked so
/// the test can tell which token a request carried.
fn remote_login(marker: &str) -> AuthJson {
    AuthJson::new().expires_in(3600).access_marker(marker)
}

fn auth_bytes(auth: &AuthJson) -> Vec<u8> {
    serde_json::to_vec(&auth.to_json()).unwrap()
}

/// The directory holding the built binaries (scorpiox-codex-fetchtoken among them).
fn bin_dir() -> PathBuf {
    super::common::bin_path("scorpiox-codex-fetchtoken")
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The key user's private key as `~/.ssh/id_ed25519` of the private HOME.
fn install_client_key(env: &Env, sshd: &Sshd) {
    let to = env.home.join(".ssh/id_ed25519");
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(sshd.key_user_private_key(), &to).unwrap();
    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn text_answer(env: &Env) {
    env.server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(fixture("codex/text.sse")),
    );
}

/// `sx -p` answered, and the backend saw `auth`'s access token.
fn assert_answered_with(env: &Env, sshd: &Sshd, out: &std::process::Output, auth: &AuthJson) {
    assert!(
        out.status.success(),
        "stderr: {}\nsshd log:\n{}",
        stderr_of(out),
        sshd.log()
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello from the mock.\n"
    );
    let reqs = env.server.requests_to(CODEX_RESPONSES_PATH);
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].header("authorization"),
        Some(format!("Bearer {}", auth.access_token()).as_str())
    );
    assert_eq!(reqs[0].header("chatgpt-account-id"), Some(ACCOUNT_ID));
}

fn assert_no_backend_request(env: &Env) {
    assert!(env.server.requests_to(CODEX_RESPONSES_PATH).is_empty());
}

#[test]
fn password_login_reads_auth_json_when_fetchtoken_is_not_installed() {
    let env = Env::new();
    let mut sshd = Sshd::start();
    sshd.write_known_hosts(&known_hosts(&env));
    let auth = remote_login("pass-user");
    sshd.write_codex_auth(PASS_USER, &auth_bytes(&auth));
    text_answer(&env);
    let out = sx_ssh(&env, &sshd, PASS_USER)
        .args(password())
        .args(["-p", "say hi"])
        .output()
        .unwrap();
    assert_answered_with(&env, &sshd, &out, &auth);
    assert!(
        !stderr_of(&out).contains(PASSWORD),
        "the password is never printed"
    );
}

#[test]
fn key_login_runs_the_remote_fetchtoken() {
    let env = Env::new();
    let mut sshd = Sshd::builder().path_dir(KEY_USER, bin_dir()).start();
    sshd.write_known_hosts(&known_hosts(&env));
    install_client_key(&env, &sshd);
    // The fallback would read ~/.codex/auth.json; the remote fetchtoken reads the file its own
    // configuration names. Different tokens in each tell which one ran.
    let fallback = remote_login("key-user-fallback");
    let fetched = remote_login("key-user-fetchtoken");
    sshd.write_codex_auth(KEY_USER, &auth_bytes(&fallback));
    sshd.write_user_file(KEY_USER, ".codex/sx-test.json", &auth_bytes(&fetched));
    sshd.write_user_file(
        KEY_USER,
        ".scorpiox/scorpiox-env.txt",
        b"CODEX_CREDENTIALS_FILE=~/.codex/sx-test.json\n",
    );
    text_answer(&env);
    let out = sx_ssh(&env, &sshd, KEY_USER)
        .args(["-p", "say hi"])
        .output()
        .unwrap();
    assert_answered_with(&env, &sshd, &out, &fetched);

    let out = fetchtoken_ssh(&env, &sshd, KEY_USER).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["access_token"], fetched.access_token());
    assert_eq!(line["account_id"], ACCOUNT_ID);
    assert_eq!(line["expires_at"], fetched.expires_at());
    assert_eq!(line["source"], "ssh");
    assert_eq!(
        jwt_claims(line["access_token"].as_str().unwrap())[MARKER_CLAIM],
        "key-user-fetchtoken"
    );
    sshd.remove_user_file(KEY_USER, ".scorpiox/scorpiox-env.txt");
}

#[test]
fn the_ssh_agent_is_asked_before_key_files() {
    let env = Env::new();
    let mut sshd = Sshd::start();
    sshd.write_known_hosts(&known_hosts(&env));
    // Two keys that may both log in: one in the agent, one as ~/.ssh/id_ed25519. Whichever
    // sx offers first gets in, and sshd logs its fingerprint.
    let agent = SshAgent::start();
    let agent_key = sshd.key_user_private_key();
    agent.add(&agent_key);
    let file_key = env.home.join(".ssh/id_ed25519");
    std::fs::create_dir_all(file_key.parent().unwrap()).unwrap();
    keygen(&file_key, None);
    sshd.authorize_key(KEY_USER, &file_key.with_extension("pub"));
    let (agent_print, file_print) = (fingerprint(&agent_key), fingerprint(&file_key));
    assert_ne!(agent_print, file_print);
    let auth = remote_login("agent");
    sshd.write_codex_auth(KEY_USER, &auth_bytes(&auth));
    text_answer(&env);
    let out = sx_ssh(&env, &sshd, KEY_USER)
        .env("SSH_AUTH_SOCK", agent.sock())
        .args(["-p", "say hi"])
        .output()
        .unwrap();
    assert_answered_with(&env, &sshd, &out, &auth);
    let log = sshd.log();
    let accepted: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Accepted publickey for"))
        .collect();
    assert_eq!(accepted.len(), 1, "{log}");
    assert!(
        accepted[0].contains(&agent_print),
        "not the agent's key {agent_print} logged in: {log}"
    );
    assert!(
        !log.contains(&file_print),
        "the key file was offered before the agent's key: {log}"
    );

    // Without the agent, the same key file logs in (so it was usable all along).
    text_answer(&env);
    let out = sx_ssh(&env, &sshd, KEY_USER)
        .args(["-p", "say hi"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stderr_of(&out), sshd.log());
    assert!(
        sshd.log()
            .lines()
            .any(|l| l.contains("Accepted publickey for") && l.contains(&file_print)),
        "{}",
        sshd.log()
    );
}

#[test]
fn a_remote_fetchtoken_error_is_surfaced_with_its_exit_code() {
    let env = Env::new();
    let mut sshd = Sshd::builder().path_dir(KEY_USER, bin_dir()).start();
    sshd.write_known_hosts(&known_hosts(&env));
    install_client_key(&env, &sshd);
    sshd.remove_user_file(KEY_USER, ".scorpiox/scorpiox-env.txt");
    sshd.remove_codex_auth(KEY_USER);
    let out = fetchtoken_ssh(&env, &sshd, KEY_USER).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let e = error_line(&out);
    assert!(
        e.starts_with(&format!(
            "error: the Codex token on {HOST} could not be fetched: no Codex login found at"
        )),
        "{e}"
    );
}

#[test]
fn without_fetchtoken_or_login_on_the_host_the_error_says_so() {
    let env = Env::new();
    let mut sshd = Sshd::start();
    sshd.write_known_hosts(&known_hosts(&env));
    sshd.remove_codex_auth(PASS_USER);
    let out = fetchtoken_ssh(&env, &sshd, PASS_USER)
        .args(password())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let e = error_line(&out);
    assert!(
        e.contains(&format!("no Codex login found on {HOST}")),
        "{e}"
    );
    assert!(
        e.contains("scorpiox-codex-fetchtoken is not installed there"),
        "{e}"
    );
}

#[test]
fn an_unknown_host_key_is_refused_with_how_to_accept_it() {
    let env = Env::new();
    let sshd = Sshd::start();
    let out = sx_ssh(&env, &sshd, PASS_USER)
        .args(password())
        .args(["-p", "say hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let e = error_line(&out);
    let file = known_hosts(&env);
    for part in [
        format!("the ssh host key of {HOST}:{} is not known", sshd.port()),
        sshd.host_key_fingerprint(),
        format!(
            "ssh-keyscan -p {} {HOST} >> {}",
            sshd.port(),
            file.display()
        ),
        "CODEX_SSH_ACCEPT_NEW=1".to_string(),
    ] {
        assert!(e.contains(&part), "{part:?} missing from: {e}");
    }
    assert!(
        !file.exists(),
        "nothing is written without CODEX_SSH_ACCEPT_NEW"
    );
    assert!(!env.home.join(".ssh").exists());
    assert_no_backend_request(&env);
}

#[test]
fn accept_new_records_the_key_and_later_runs_need_no_flag() {
    let env = Env::new();
    let mut sshd = Sshd::start();
    let auth = remote_login("accept-new");
    sshd.write_codex_auth(PASS_USER, &auth_bytes(&auth));
    // The default known_hosts (~/.ssh/known_hosts of the private HOME), created from nothing.
    let run = |accept: bool| {
        let mut c = env.sx();
        c.args(["-e", "CODEX_TOKEN_SOURCE=ssh", "-e"])
            .arg(format!("CODEX_SSH_HOST={HOST}"))
            .arg("-e")
            .arg(format!("CODEX_SSH_PORT={}", sshd.port()))
            .arg("-e")
            .arg(format!("CODEX_SSH_USER={PASS_USER}"))
            .args(password());
        if accept {
            c.args(["-e", "CODEX_SSH_ACCEPT_NEW=1"]);
        }
        c.args(["-p", "say hi"]).output().unwrap()
    };
    text_answer(&env);
    let out = run(true);
    assert_answered_with(&env, &sshd, &out, &auth);
    let file = known_hosts(&env);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{}\n", sshd.known_hosts_line())
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);

    text_answer(&env);
    let out = run(false);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(env.server.requests_to(CODEX_RESPONSES_PATH).len(), 2);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().lines().count(),
        1,
        "a known key is not recorded again"
    );
}

#[test]
fn a_changed_host_key_is_refused_even_with_accept_new() {
    let env = Env::new();
    let mut sshd = Sshd::start();
    let file = known_hosts(&env);
    sshd.write_known_hosts(&file);
    let before = std::fs::read_to_string(&file).unwrap();
    sshd.regenerate_host_key();
    let out = sx_ssh(&env, &sshd, PASS_USER)
        .args(password())
        .args(["-e", "CODEX_SSH_ACCEPT_NEW=1", "-p", "say hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let e = error_line(&out);
    assert!(
        e.contains(&format!(
            "the ssh host key of {HOST}:{} has CHANGED",
            sshd.port()
        )),
        "{e}"
    );
    assert!(e.contains("man-in-the-middle"), "{e}");
    assert!(e.contains(&sshd.host_key_fingerprint()), "{e}");
    assert!(e.contains("line 1 of"), "{e}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    assert_no_backend_request(&env);
    assert!(
        !sshd.log().contains("Accepted password"),
        "no password was sent: {}",
        sshd.log()
    );
}

#[test]
fn a_wrong_password_is_one_line_without_the_password() {
    let env = Env::new();
    let sshd = Sshd::start();
    sshd.write_known_hosts(&known_hosts(&env));
    let wrong = "not-the-Passw0rd-9xq";
    let out = sx_ssh(&env, &sshd, PASS_USER)
        .args(["-e", &format!("CODEX_SSH_PASS={wrong}"), "-p", "say hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let e = error_line(&out);
    assert!(
        e.contains(&format!(
            "ssh login as {PASS_USER}@{HOST}:{} with CODEX_SSH_PASS was refused",
            sshd.port()
        )),
        "{e}"
    );
    let all = format!(
        "{}{}",
        stderr_of(&out),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!all.contains(wrong), "{all}");
    assert_no_backend_request(&env);
}

#[test]
fn a_passphrase_protected_key_without_an_agent_is_named() {
    let env = Env::new();
    let sshd = Sshd::start();
    sshd.write_known_hosts(&known_hosts(&env));
    let key = env.home.join(".ssh/id_ed25519");
    keygen(&key, Some("a passphrase"));
    let out = sx_ssh(&env, &sshd, KEY_USER)
        .args(["-p", "say hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let e = error_line(&out);
    assert!(e.contains(&key.display().to_string()), "{e}");
    assert!(e.contains("passphrase") && e.contains("ssh-add"), "{e}");
}

#[test]
fn a_missing_host_is_a_config_error_naming_the_key() {
    let env = Env::new();
    let out = env
        .sx()
        .args([
            "-e",
            "CODEX_TOKEN_SOURCE=ssh",
            "-e",
            "CODEX_SSH_USER=someone",
        ])
        .args(["-p", "say hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(error_line(&out).contains("CODEX_SSH_HOST"));
    let out = env
        .cmd("scorpiox-codex-fetchtoken")
        .args(["--source", "ssh", "-e", "CODEX_SSH_HOST=example.invalid"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(error_line(&out).contains("CODEX_SSH_USER"));
    assert_no_backend_request(&env);
}

#[test]
fn a_user_name_with_shell_metacharacters_only_fails_to_log_in() {
    let env = Env::new();
    let sshd = Sshd::start();
    sshd.write_known_hosts(&known_hosts(&env));
    let marker = std::env::temp_dir().join(format!("sx-pwned-{}", uuid::Uuid::new_v4().simple()));
    for user in [
        format!("x; touch {}", marker.display()),
        format!("$(touch {})", marker.display()),
    ] {
        let out = sx_ssh(&env, &sshd, &user)
            .args(password())
            .args(["-p", "say hi"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
        assert!(error_line(&out).contains("was refused"));
    }
    assert!(!marker.exists(), "a user name reached a shell");
    assert_no_backend_request(&env);
}
