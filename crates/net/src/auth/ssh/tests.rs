use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use russh::keys::parse_public_key_base64;
use sx_testkit::auth::AuthJson;

use super::host_key::{HostKeyProblem, judge, prefer_known_algorithms, read_known_keys, record};
use super::remote_output::{Output, error_line, interpret_fallback, interpret_fetch, sanitize};
use super::*;

const ED_A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
const ED_B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIA6rWI3G1sz07DnfFlrouTcysQlj2P+jpNSOEWD9OJ3X";
const ECDSA: &str = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBLHwh7Xr8xhx6A8J9lVU0RTM+so6IFBlWt5SxTYoVhKlOAYcpvhPGyzS8WwgsRud7aHQRXdW2X2ei8BdCFkQImE=";
/// `example.com` (port 22), hashed, with key ED_HASHED (from russh's own tests).
const HASHED_LINE: &str = "|1|O33ESRMWPVkMYIwJ1Uw+n877jTo=|nuuC5vEqXlEZ/8BXQR7m619W6Ak= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILIG2T/B0l0gaqj3puu510tu9N1OkQ4znY3LYuEm5zCF";
const ED_HASHED: &str = "AAAAC3NzaC1lZDI1NTE5AAAAILIG2T/B0l0gaqj3puu510tu9N1OkQ4znY3LYuEm5zCF";

fn key(b64: &str) -> PublicKey {
    parse_public_key_base64(b64).unwrap()
}

fn config(dir: &Path, overrides: &[(&str, &str)]) -> sx_config::Config {
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    sx_config::load(&sx_config::LoadOptions {
        cwd: dir.to_path_buf(),
        home: Some(home),
        exe_dir: Some(dir.join("exe")),
        env: Some(Vec::new()),
        overrides: overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    })
    .unwrap()
}

fn source(dir: &Path, overrides: &[(&str, &str)]) -> Result<SshSource, AuthError> {
    SshSource::from_config(&config(dir, overrides))
}

const BASE: [(&str, &str); 3] = [
    ("CODEX_TOKEN_SOURCE", "ssh"),
    ("CODEX_SSH_HOST", "tokens.example.com"),
    ("CODEX_SSH_USER", "alice"),
];

fn with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = BASE.to_vec();
    v.extend_from_slice(extra);
    v
}

fn source_error(e: AuthError) -> (String, bool, u8) {
    let (retryable, exit) = (e.is_retryable(), e.exit_code());
    (e.to_string(), retryable, exit)
}

#[test]
fn settings_and_their_defaults() {
    let tmp = tempfile::tempdir().unwrap();
    let s = source(tmp.path(), &BASE).unwrap();
    assert_eq!(s.kind(), "ssh");
    assert_eq!(
        (s.host.as_str(), s.port, s.user.as_str()),
        ("tokens.example.com", 22, "alice")
    );
    assert_eq!(s.password, None);
    assert_eq!(s.known_hosts, tmp.path().join("home/.ssh/known_hosts"));
    assert!(!s.accept_new);
    assert_eq!(s.ssh_dir, Some(tmp.path().join("home/.ssh")));

    let s = source(
        tmp.path(),
        &with(&[
            ("CODEX_SSH_PORT", "2222"),
            ("CODEX_SSH_PASS", "hunter2"),
            ("CODEX_SSH_KNOWN_HOSTS", "~/kh"),
            ("CODEX_SSH_ACCEPT_NEW", "1"),
        ]),
    )
    .unwrap();
    assert_eq!(s.port, 2222);
    assert_eq!(s.password.as_deref(), Some("hunter2"));
    assert_eq!(s.known_hosts, tmp.path().join("home/kh"));
    assert!(s.accept_new);
    // An empty password means keys.
    let s = source(tmp.path(), &with(&[("CODEX_SSH_PASS", "")])).unwrap();
    assert_eq!(s.password, None);
}

#[test]
fn missing_or_bad_settings_name_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&[(&str, &str)], &str); 7] = [
        (&[("CODEX_SSH_USER", "alice")], "CODEX_SSH_HOST"),
        (
            &[("CODEX_SSH_HOST", "h"), ("CODEX_SSH_USER", "")],
            "CODEX_SSH_USER",
        ),
        (&[("CODEX_SSH_HOST", "h")], "CODEX_SSH_USER"),
        (&with(&[("CODEX_SSH_PORT", "0")]), "CODEX_SSH_PORT"),
        (&with(&[("CODEX_SSH_PORT", "70000")]), "CODEX_SSH_PORT"),
        (
            &[
                ("CODEX_SSH_HOST", "-oProxyCommand=sh"),
                ("CODEX_SSH_USER", "a"),
            ],
            "CODEX_SSH_HOST",
        ),
        (
            &[("CODEX_SSH_HOST", "a b,c"), ("CODEX_SSH_USER", "a")],
            "CODEX_SSH_HOST",
        ),
    ];
    for (overrides, key) in cases {
        let e = source(tmp.path(), overrides).err().expect("an error");
        assert!(
            matches!(&e, AuthError::NotConfigured { key: k, .. } if *k == key),
            "{overrides:?}: {e:?}"
        );
        assert_eq!(e.exit_code(), 2);
        let msg = e.to_string();
        assert!(msg.contains(key) && msg.contains("; "), "{msg}");
    }
    let e = source(
        tmp.path(),
        &[("CODEX_SSH_HOST", "h"), ("CODEX_SSH_USER", "a\nb")],
    )
    .err()
    .unwrap();
    assert!(matches!(
        e,
        AuthError::NotConfigured {
            key: "CODEX_SSH_USER",
            ..
        }
    ));
    for ok in ["127.0.0.1", "::1", "fe80::1%eth0", "my-host_1.example"] {
        assert!(valid_host(ok), "{ok}");
    }
}

#[test]
fn host_keys_are_judged_against_known_hosts() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("known_hosts");
    std::fs::write(
        &file,
        format!(
            "# a comment\nother.example ssh-ed25519 {ED_B}\n[h.example]:2222 ssh-ed25519 {ED_A}\nh.example ecdsa-sha2-nistp256 {ECDSA}\n{HASHED_LINE}\n"
        ),
    )
    .unwrap();
    let known = read_known_keys(&file, "H.example", 2222).unwrap();
    assert_eq!(known.len(), 1);
    assert!(judge(&known, &key(ED_A)).is_none());
    assert!(matches!(
        judge(&known, &key(ED_B)),
        Some(HostKeyProblem::Changed { line: 2, .. })
    ));
    assert!(matches!(
        judge(&known, &key(ECDSA)),
        Some(HostKeyProblem::OtherType { line: 2, .. })
    ));
    // Port 22 entries are the bare host name; a different port is a different host.
    let known = read_known_keys(&file, "h.example", 22).unwrap();
    assert!(judge(&known, &key(ECDSA)).is_none());
    assert!(matches!(
        judge(&known, &key(ED_A)),
        Some(HostKeyProblem::OtherType { line: 3, .. })
    ));
    let known = read_known_keys(&file, "h.example", 2223).unwrap();
    assert!(matches!(
        judge(&known, &key(ED_A)),
        Some(HostKeyProblem::Unknown { .. })
    ));
    // Hashed host names.
    let known = read_known_keys(&file, "example.com", 22).unwrap();
    assert!(judge(&known, &key(ED_HASHED)).is_none());
    // No file: nothing is known.
    assert!(
        read_known_keys(&tmp.path().join("absent"), "h", 22)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn known_key_types_are_asked_for_first() {
    let default = russh::Preferred::DEFAULT.key.to_vec();
    let ecdsa = key(ECDSA);
    let order = prefer_known_algorithms(&default, [&ecdsa].into_iter());
    assert_eq!(order[0], ecdsa.algorithm());
    assert_eq!(order.len(), default.len());
    assert_eq!(
        prefer_known_algorithms(&default, std::iter::empty()),
        default
    );
}

#[test]
fn accepted_keys_are_recorded_with_safe_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("new/.ssh/known_hosts");
    record(&file, "127.0.0.1", 2222, &key(ED_A)).unwrap();
    record(&file, "h.example", 22, &key(ED_B)).unwrap();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("[127.0.0.1]:2222 ssh-ed25519 {ED_A}\nh.example ssh-ed25519 {ED_B}\n")
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);
    let known = read_known_keys(&file, "127.0.0.1", 2222).unwrap();
    assert!(judge(&known, &key(ED_A)).is_none());
    // A file whose last line lacks its newline gets one first.
    let other = tmp.path().join("kh");
    std::fs::write(&other, "x ssh-ed25519 AAAA").unwrap();
    record(&other, "h.example", 22, &key(ED_B)).unwrap();
    assert_eq!(
        std::fs::read_to_string(&other).unwrap(),
        format!("x ssh-ed25519 AAAA\nh.example ssh-ed25519 {ED_B}\n")
    );
}

#[test]
fn host_key_messages_say_what_to_do() {
    let file = Path::new("/home/a b/.ssh/known_hosts");
    let fp = key(ED_A).fingerprint(HashAlg::Sha256).to_string();
    assert!(fp.starts_with("SHA256:"));
    let (msg, exit) = HostKeyProblem::Unknown { key: key(ED_A) }.message("h.example", 2222, file);
    assert_eq!(exit, 3);
    for part in [
        "the ssh host key of h.example:2222 is not known",
        fp.as_str(),
        "ssh-keyscan -p 2222 h.example >> '/home/a b/.ssh/known_hosts'",
        "CODEX_SSH_ACCEPT_NEW=1",
    ] {
        assert!(msg.contains(part), "{part:?} missing: {msg}");
    }
    let (msg, exit) = HostKeyProblem::Changed {
        key: key(ED_A),
        line: 4,
    }
    .message("h.example", 22, file);
    assert_eq!(exit, 3);
    for part in [
        "CHANGED",
        "man-in-the-middle",
        "line 4 of",
        fp.as_str(),
        "ssh-keygen -R 'h.example' -f '/home/a b/.ssh/known_hosts'",
        "CODEX_SSH_ACCEPT_NEW does not override",
    ] {
        assert!(msg.contains(part), "{part:?} missing: {msg}");
    }
    assert!(!msg.contains('\n'));
}

fn out(status: Option<u32>, stdout: &str, stderr: &str) -> Output {
    Output {
        status,
        signal: None,
        stdout: stdout.as_bytes().to_vec(),
        stderr: stderr.as_bytes().to_vec(),
    }
}

#[test]
fn fetchtoken_output_becomes_a_token_or_the_remote_error() {
    let line =
        r#"{"access_token":"tok","account_id":"acct","expires_at":1767225600,"source":"local"}"#;
    let t = interpret_fetch("h", &out(Some(0), &format!("{line}\n"), "")).unwrap();
    assert_eq!(
        (
            t.access_token.as_str(),
            t.account_id.as_deref(),
            t.expires_at,
            t.source
        ),
        ("tok", Some("acct"), Some(1767225600), "ssh")
    );
    // A login banner before the line.
    let t = interpret_fetch("h", &out(Some(0), &format!("Welcome!\n{line}\n"), "")).unwrap();
    assert_eq!(t.access_token, "tok");

    let (msg, retryable, exit) = interpret_fetch(
        "h",
        &out(
            Some(3),
            "",
            "warning: x\nerror: your Codex refresh token has expired; run scorpiox-codex-login to sign in again\n",
        ),
    )
    .unwrap_err();
    assert_eq!(
        msg,
        "the Codex token on h could not be fetched: your Codex refresh token has expired; run scorpiox-codex-login to sign in again"
    );
    assert_eq!((retryable, exit), (false, 3));
    let (_, retryable, exit) =
        interpret_fetch("h", &out(Some(1), "", "error: timed out; retry\n")).unwrap_err();
    assert_eq!((retryable, exit), (true, 1));
    let (_, _, exit) =
        interpret_fetch("h", &out(Some(2), "", "error: bad key; fix it\n")).unwrap_err();
    assert_eq!(exit, 2);
    let (msg, _, exit) = interpret_fetch("h", &out(Some(0), "garbage", "")).unwrap_err();
    assert!(msg.contains("not a token"), "{msg}");
    assert_eq!(exit, 1);
    let (msg, _, exit) =
        interpret_fetch("h", &out(Some(9), "", "Segmentation fault\n")).unwrap_err();
    assert!(msg.contains("exit status 9 (Segmentation fault)"), "{msg}");
    assert_eq!(exit, 1);
    // Terminal escapes from the remote side are neutralized.
    let (msg, _, _) =
        interpret_fetch("h", &out(Some(1), "", "error: \x1b]0;owned\x07x\n")).unwrap_err();
    assert!(!msg.chars().any(char::is_control), "{msg:?}");
}

#[test]
fn command_not_found_is_recognized() {
    assert!(
        out(
            Some(127),
            "",
            "bash: line 1: scorpiox-codex-fetchtoken: command not found\n"
        )
        .command_not_found()
    );
    assert!(out(Some(127), "", "").command_not_found());
    assert!(
        out(
            Some(1),
            "",
            "fish: Unknown command. scorpiox-codex-fetchtoken not found\n"
        )
        .command_not_found()
    );
    assert!(!out(Some(0), "{}", "").command_not_found());
    assert!(!out(Some(3), "", "error: no Codex login found at /x; run it\n").command_not_found());
}

#[test]
fn fallback_reads_a_live_auth_json_only() {
    let now = now_secs();
    let auth = AuthJson::new().expires_in(3600);
    let doc = auth.to_json().to_string();
    let t = interpret_fallback("h", &out(Some(0), &doc, ""), now).unwrap();
    assert_eq!(t.access_token, auth.access_token());
    assert_eq!(t.source, "ssh");
    let expired = AuthJson::new().expires_in(-60).to_json().to_string();
    let (msg, _, exit) = interpret_fallback("h", &out(Some(0), &expired, ""), now).unwrap_err();
    assert!(msg.contains("has expired"), "{msg}");
    assert_eq!(exit, 3);
    let (msg, _, exit) = interpret_fallback(
        "h",
        &out(
            Some(1),
            "",
            "cat: /home/u/.codex/auth.json: No such file or directory\n",
        ),
        now,
    )
    .unwrap_err();
    assert!(msg.starts_with("no Codex login found on h"), "{msg}");
    assert!(
        msg.contains("(cat: /home/u/.codex/auth.json: No such file or directory)"),
        "{msg}"
    );
    assert_eq!(exit, 3);
    let (_, _, exit) = interpret_fallback("h", &out(Some(0), "{}", ""), now).unwrap_err();
    assert_eq!(exit, 3);
}

#[test]
fn remote_text_is_made_printable() {
    assert_eq!(sanitize(" a\x1b[2Jb\tc "), "a?[2Jb?c");
    let long = "x".repeat(1000);
    assert_eq!(sanitize(&long).chars().count(), 301);
    assert_eq!(
        error_line(b"error: one\nerror: two\n").as_deref(),
        Some("two")
    );
    assert_eq!(error_line(b"nothing\n"), None);
}

#[test]
fn key_login_failures_explain_themselves() {
    let tmp = tempfile::tempdir().unwrap();
    let s = source(tmp.path(), &BASE).unwrap();
    let enc = tmp.path().join("home/.ssh/id_ed25519");
    let msg = s.keys_refused_message("alice@h:22", &[], std::slice::from_ref(&enc));
    assert!(
        msg.contains(&format!("{} is protected by a passphrase", enc.display())),
        "{msg}"
    );
    assert!(msg.contains(&format!("ssh-add {}", enc.display())), "{msg}");
    let msg = s.keys_refused_message("alice@h:22", &[], &[]);
    assert!(
        msg.starts_with("no ssh key to log in as alice@h:22"),
        "{msg}"
    );
    let msg = s.keys_refused_message("alice@h:22", &["/k".into()], std::slice::from_ref(&enc));
    assert!(msg.contains("refused for every key tried (/k)"), "{msg}");
    assert!(msg.contains("skipped passphrase-protected"), "{msg}");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_closed_port_is_a_retryable_network_error() {
    let tmp = tempfile::tempdir().unwrap();
    // Bound, not listening: refused, and no other process can take the port meanwhile.
    let closed = sx_testkit::ClosedPort::bind();
    let port = closed.port().to_string();
    let s = source(
        tmp.path(),
        &[
            ("CODEX_SSH_HOST", "127.0.0.1"),
            ("CODEX_SSH_USER", "alice"),
            ("CODEX_SSH_PORT", &port),
        ],
    )
    .unwrap();
    let (msg, retryable, exit) = source_error(runtime().block_on(s.token()).unwrap_err());
    assert!(
        msg.starts_with(&format!("cannot connect to 127.0.0.1:{port} over ssh (")),
        "{msg}"
    );
    assert_eq!((retryable, exit), (true, 1));
}

#[test]
fn a_silent_server_times_out() {
    let tmp = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let mut s = source(
        tmp.path(),
        &[
            ("CODEX_SSH_HOST", "127.0.0.1"),
            ("CODEX_SSH_USER", "alice"),
            ("CODEX_SSH_PORT", &port),
        ],
    )
    .unwrap();
    s.connect_timeout = Duration::from_millis(300);
    let (msg, retryable, exit) = source_error(runtime().block_on(s.token()).unwrap_err());
    assert!(msg.contains("timed out after"), "{msg}");
    assert_eq!((retryable, exit), (true, 1));
    drop(listener);
}
