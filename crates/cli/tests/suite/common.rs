//! Shared set-up for integration tests: a private HOME and project, a mock backend, and the
//! real binaries run with a clean environment (nothing from the machine leaks in).
//!
//! Every run of a binary fails the test when the binary panicked: [`Cmd::output`] checks its
//! stderr, and tests that spawn a binary themselves pass what it wrote to [`assert_no_panic`].

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

use sx_testkit::MockServer;
use sx_testkit::auth::AuthJson;
use tempfile::TempDir;

pub struct Env {
    pub _tmp: TempDir,
    pub home: PathBuf,
    pub proj: PathBuf,
    pub server: MockServer,
}

impl Env {
    pub fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let proj = tmp.path().join("proj");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(proj.join(".git")).unwrap();
        Env {
            _tmp: tmp,
            home,
            proj,
            server: MockServer::start(),
        }
    }

    pub fn auth_path(&self) -> PathBuf {
        self.home.join(".codex/auth.json")
    }

    /// Write a ChatGPT login to `~/.codex/auth.json`; returns it for inspection.
    pub fn login(&self, auth: AuthJson) -> AuthJson {
        auth.write(self.auth_path());
        auth
    }

    /// A binary with a clean environment: HOME is ours, cwd is the project.
    pub fn cmd(&self, bin: &str) -> Cmd {
        let mut c = Cmd::cargo_bin(bin);
        c.0.env_clear()
            .env("HOME", &self.home)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(&self.proj);
        c
    }

    /// `sx` pointed at the mock (backend and OAuth issuer), with fast retries.
    pub fn sx(&self) -> Cmd {
        let mut c = self.cmd("sx");
        c.args(self.sx_args());
        c
    }

    /// The same as a plain `std::process::Command` (for concurrent children; check what the
    /// child wrote to stderr with [`assert_no_panic`] or [`stderr_of`]).
    pub fn sx_std(&self) -> std::process::Command {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("sx"));
        c.env_clear()
            .env("HOME", &self.home)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(&self.proj)
            // sx reads a piped stdin (docs/agent.md "Piped input"): not the test runner's.
            .stdin(std::process::Stdio::null())
            .args(self.sx_args());
        c
    }

    pub fn sx_args(&self) -> Vec<String> {
        vec![
            "--provider".into(),
            "codex".into(),
            "-e".into(),
            format!("CODEX_BASE_URL={}", self.server.codex_base()),
            "-e".into(),
            format!("CODEX_AUTH_URL={}", self.server.url()),
            "-e".into(),
            "RETRY_BASE_DELAY_MS=5".into(),
        ]
    }
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Lines of JSON output.
pub fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

/// The process's stderr, checked to be free of panics.
pub fn stderr_of(out: &Output) -> String {
    let s = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_no_panic(&s);
    s
}

/// Fail when a binary's stderr shows a panic: the line of the binaries' panic hook
/// (`sx_cli::internal_error_line`), or the default hook's words for a panic before it is
/// installed.
pub fn assert_no_panic(stderr: &str) {
    let hook = stderr
        .lines()
        .any(|l| l.starts_with("error: internal error: "));
    assert!(
        !hook && !stderr.contains("panicked at") && !stderr.contains("RUST_BACKTRACE"),
        "the binary panicked; its stderr:\n{stderr}"
    );
}

/// One of our binaries (`assert_cmd`'s command), whose [`Cmd::output`] fails the test when the
/// binary panicked. The builder methods are `assert_cmd::Command`'s.
pub struct Cmd(assert_cmd::Command);

impl Cmd {
    pub fn cargo_bin(bin: &str) -> Cmd {
        Cmd(assert_cmd::Command::new(bin_path(bin)))
    }

    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Cmd {
        self.0.arg(arg);
        self
    }

    pub fn args(&mut self, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> &mut Cmd {
        self.0.args(args);
        self
    }

    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Cmd {
        self.0.env(key, value);
        self
    }

    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Cmd {
        self.0.env_remove(key);
        self
    }

    pub fn write_stdin(&mut self, input: impl Into<Vec<u8>>) -> &mut Cmd {
        self.0.write_stdin(input);
        self
    }

    /// Run to the end; the test fails here if the binary panicked.
    pub fn output(&mut self) -> std::io::Result<Output> {
        let out = self.0.output()?;
        assert_no_panic(&String::from_utf8_lossy(&out.stderr));
        Ok(out)
    }
}

#[test]
fn the_panic_check_knows_the_panic_hooks_line() {
    let line = sx_cli::internal_error_line("boom", " at crates/cli/src/x.rs:1");
    let caught = std::panic::catch_unwind(|| assert_no_panic(&format!("sx: a notice\n{line}\n")));
    assert!(caught.is_err(), "not recognised as a panic: {line}");
    assert_no_panic("error: HTTP 500: internal error on the server; try again\n");
}

/// The one `error:` line of a failed run.
pub fn error_line(out: &Output) -> String {
    let s = stderr_of(out);
    let errors: Vec<&str> = s.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(
        errors.len(),
        1,
        "expected exactly one error line, stderr was: {s}"
    );
    errors[0].to_string()
}

/// The program to run as `name`: `sx` itself, or a link to it by that name (one binary carries
/// every command, docs/commands.md). The links live beside the built `sx`, made once, safely
/// when tests race to make them.
pub fn bin_path(name: &str) -> std::path::PathBuf {
    let sx = assert_cmd::cargo::cargo_bin("sx");
    if name == "sx" {
        return sx;
    }
    let link = sx.with_file_name(name);
    if std::fs::read_link(&link).is_err() {
        let tmp = sx.with_file_name(format!(".{name}.{}.link", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink("sx", &tmp).unwrap();
        std::fs::rename(&tmp, &link).unwrap();
    }
    link
}
