//! Shared set-up for integration tests: a private HOME and project, a mock backend, and the
//! real binaries run with a clean environment (nothing from the machine leaks in).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
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
    pub fn cmd(&self, bin: &str) -> Command {
        let mut c = Command::cargo_bin(bin).unwrap();
        c.env_clear()
            .env("HOME", &self.home)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(&self.proj);
        c
    }

    /// `sx` pointed at the mock (backend and OAuth issuer), with fast retries.
    pub fn sx(&self) -> Command {
        let mut c = self.cmd("sx");
        c.args(self.sx_args());
        c
    }

    /// The same as a plain `std::process::Command` (for concurrent children).
    pub fn sx_std(&self) -> std::process::Command {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("sx"));
        c.env_clear()
            .env("HOME", &self.home)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(&self.proj)
            .args(self.sx_args());
        c
    }

    fn sx_args(&self) -> Vec<String> {
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

/// The process's stderr, checked to be free of panics and backtraces.
pub fn stderr_of(out: &std::process::Output) -> String {
    let s = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !s.contains("panicked") && !s.contains("RUST_BACKTRACE"),
        "panic in stderr: {s}"
    );
    s
}

/// The one `error:` line of a failed run.
pub fn error_line(out: &std::process::Output) -> String {
    let s = stderr_of(out);
    let errors: Vec<&str> = s.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(
        errors.len(),
        1,
        "expected exactly one error line, stderr was: {s}"
    );
    errors[0].to_string()
}
