//! Integration tests of the `scorpiox-config` binary. Every run gets a temporary HOME, a
//! temporary project (`--cwd`) and none of the machine's config variables.

use std::path::{Path, PathBuf};
use std::process::Output;

use super::common::Cmd;

/// A temporary HOME and project (a git root), canonical paths; also used by `config_tui`.
pub(super) struct Fx {
    pub(super) _tmp: tempfile::TempDir,
    pub(super) home: PathBuf,
    pub(super) proj: PathBuf,
}

impl Fx {
    pub(super) fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let (home, proj) = (root.join("home"), root.join("proj"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(proj.join(".git")).unwrap();
        Fx {
            _tmp: tmp,
            home,
            proj,
        }
    }

    fn cmd(&self) -> Cmd {
        let mut c = Cmd::cargo_bin("scorpiox-config");
        c.env("HOME", &self.home).env_remove("CODEX_HOME");
        for spec in sx_config::KEYS {
            c.env_remove(spec.name);
        }
        c.arg("--cwd").arg(&self.proj);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    fn write(&self, path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub(super) fn user_file(&self) -> PathBuf {
        self.home.join(".scorpiox/scorpiox-env.txt")
    }

    pub(super) fn project_file(&self) -> PathBuf {
        self.proj.join("scorpiox-env.txt")
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

/// Exit code 2 and exactly one stderr line `error: …`.
fn assert_usage_error(o: &Output) -> String {
    let err = stderr(o);
    assert_eq!(code(o), 2, "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

#[test]
fn version_and_help() {
    let fx = Fx::new();
    let o = fx.run(&["--version"]);
    assert_eq!(
        (code(&o), stdout(&o)),
        (0, "scorpiox-config 0.1.0\n".to_string())
    );
    let o = fx.run(&["--help"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("--verbose"));
    assert_usage_error(&fx.run(&["--bogus"]));
}

#[test]
fn get_default_and_missing() {
    let fx = Fx::new();
    let o = fx.run(&["--get", "PROVIDER"]);
    assert_eq!((code(&o), stdout(&o)), (0, "scorpiox\n".to_string()));
    let o = fx.run(&["--get", "REASONING_EFFORT"]);
    assert_eq!((code(&o), stdout(&o)), (0, "\n".to_string()));
    let o = fx.run(&["--get", "TOKEN_HTTP_API_KEY"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).starts_with("error: TOKEN_HTTP_API_KEY has no value; "),
        "{}",
        stderr(&o)
    );
}

#[test]
fn set_user_then_get_then_unset() {
    let fx = Fx::new();
    let o = fx.run(&["--set", "MODEL", "opus"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("set MODEL in {}\n", fx.user_file().display())
    );
    assert_eq!(
        std::fs::read_to_string(fx.user_file()).unwrap(),
        "MODEL=opus\n"
    );
    assert_eq!(stdout(&fx.run(&["--get", "MODEL"])), "opus\n");
    let o = fx.run(&["--unset", "MODEL"]);
    assert_eq!(code(&o), 0);
    assert_eq!(stdout(&fx.run(&["--get", "MODEL"])), "sonnet\n");
}

#[test]
fn set_project_level() {
    let fx = Fx::new();
    let o = fx.run(&["--set", "MODEL", "haiku", "--level", "project"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("set MODEL in {}\n", fx.project_file().display())
    );
    fx.run(&["--set", "MODEL", "opus"]);
    // project beats user
    assert_eq!(stdout(&fx.run(&["--get", "MODEL"])), "haiku\n");
    // --level without --set/--unset is a usage error
    assert_usage_error(&fx.run(&["--level", "project"]));
}

#[test]
fn unknown_key_is_written_with_a_warning() {
    let fx = Fx::new();
    let o = fx.run(&["--set", "MY_EXTRA", "1"]);
    assert_eq!(code(&o), 0);
    assert_eq!(stderr(&o).lines().count(), 1);
    assert!(stderr(&o).contains("MY_EXTRA"));
    assert_eq!(stdout(&fx.run(&["--get", "MY_EXTRA"])), "1\n");
}

#[test]
fn verbose_shows_tier_and_path_and_masks_secrets() {
    let fx = Fx::new();
    fx.write(
        &fx.user_file(),
        "# mine\nPROVIDER=codex\nOPENAI_API_KEY=sk-secret\n",
    );
    // a project line too: tiers of different widths before a location
    fx.write(&fx.project_file(), "MAX_TURNS=7\n");
    let o = fx.run(&["--verbose"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.starts_with("PROVIDER=codex"))
        .unwrap();
    let want_loc = format!("{}:2", fx.user_file().display());
    assert!(
        line.contains(" user ") && line.ends_with(&want_loc),
        "{line}"
    );
    let line = out.lines().find(|l| l.starts_with("MODEL=")).unwrap();
    assert!(line.ends_with("default"), "{line}");
    assert!(
        out.contains("OPENAI_API_KEY=***") && !out.contains("sk-secret"),
        "{out}"
    );
    // columns are aligned: the tier column, and the location column where there is one,
    // start at the same place on every line, after at least two spaces
    assert_columns_aligned(&out);
    // dump: masked unless --show-secrets
    assert!(stdout(&fx.run(&["--dump"])).contains("OPENAI_API_KEY=***\n"));
    assert!(stdout(&fx.run(&["--dump", "--show-secrets"])).contains("OPENAI_API_KEY=sk-secret\n"));
    // --get prints the real value
    assert_eq!(stdout(&fx.run(&["--get", "OPENAI_API_KEY"])), "sk-secret\n");
}

/// `KEY=VALUE  tier  [location]` lines (no value holds a space): each column after the first
/// starts at one column on every line that has it, after at least two spaces.
fn assert_columns_aligned(out: &str) {
    let mut starts: [Vec<usize>; 2] = [vec![], vec![]];
    for line in out.lines() {
        let mut column = 0;
        let mut prev = ' ';
        let mut gap = 0;
        for (i, c) in line.char_indices() {
            if c == ' ' {
                gap += 1;
            } else {
                if prev == ' ' && i > 0 {
                    assert!(gap >= 2, "columns separated by one space: {line:?}");
                    assert!(column < 2, "more than three columns: {line:?}");
                    starts[column].push(line[..i].chars().count());
                    column += 1;
                }
                gap = 0;
            }
            prev = c;
        }
        assert!(column >= 1, "no tier column: {line:?}");
    }
    assert_eq!(starts[0].len(), out.lines().count());
    assert!(!starts[1].is_empty(), "no line with a location:\n{out}");
    for column in &starts {
        assert!(
            column.iter().all(|s| *s == column[0]),
            "columns not aligned ({column:?}):\n{out}"
        );
    }
}

#[test]
fn json_output_parses() {
    let fx = Fx::new();
    fx.write(&fx.user_file(), "MODEL=opus\n");
    let o = fx.run(&["--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["PROVIDER"]["value"], "scorpiox");
    assert_eq!(v["PROVIDER"]["tier"], "default");
    assert!(v["PROVIDER"]["path"].is_null() && v["PROVIDER"]["line"].is_null());
    assert_eq!(v["MODEL"]["tier"], "user");
    assert_eq!(v["MODEL"]["line"], 1);
    assert_eq!(v["MODEL"]["path"], fx.user_file().display().to_string());
    let o = fx.run(&["--verbose", "--json"]);
    let v2: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v, v2);
    let o = fx.run(&["--get", "MODEL", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["key"], "MODEL");
    assert_eq!(v["value"], "opus");
    assert_eq!(v["tier"], "user");
    assert_eq!(v["line"], 1);
}

#[test]
fn malformed_line_is_exit_2_naming_file_and_line() {
    let fx = Fx::new();
    fx.write(&fx.project_file(), "MODEL=x\nthis is not a pair\n");
    let err = assert_usage_error(&fx.run(&["--get", "MODEL"]));
    let want = format!("{}:2: malformed line", fx.project_file().display());
    assert!(err.contains(&want), "{err}");
}

#[test]
fn bad_provider_is_exit_2_naming_allowed_values() {
    let fx = Fx::new();
    let err = assert_usage_error(&fx.run(&["--set", "PROVIDER", "foo"]));
    assert!(
        err.contains("allowed: codex, claude_code, anthropic, gemini, openai, scorpiox"),
        "{err}"
    );
    assert!(!fx.user_file().exists());
    fx.write(&fx.user_file(), "PROVIDER=foo\n");
    let err = assert_usage_error(&fx.run(&["--dump"]));
    let want = format!(
        "PROVIDER=foo (from {}:1) is not valid; allowed: codex",
        fx.user_file().display()
    );
    assert!(err.contains(&want), "{err}");
}

#[test]
fn untrusted_project_is_ignored_until_trusted() {
    let fx = Fx::new();
    fx.write(
        &fx.project_file(),
        "MODEL=opus\nCODEX_BASE_URL=https://proxy.example\n",
    );
    let o = fx.run(&["--get", "CODEX_BASE_URL"]);
    assert_eq!(code(&o), 0);
    assert_eq!(stdout(&o), "https://chatgpt.com/backend-api/codex\n");
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("CODEX_BASE_URL") && err.contains("scorpiox-env.txt:2"),
        "{err}"
    );
    assert!(err.contains("--trust"), "{err}");
    // the rest of the project file still applies
    assert_eq!(stdout(&fx.run(&["--get", "MODEL"])), "opus\n");

    let o = fx.run(&["--trust"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).starts_with(&format!("trusted {}", fx.proj.display())));
    let user = std::fs::read_to_string(fx.user_file()).unwrap();
    assert_eq!(user, format!("TRUSTED_PROJECTS={}\n", fx.proj.display()));
    let o = fx.run(&["--get", "CODEX_BASE_URL"]);
    assert_eq!(stdout(&o), "https://proxy.example\n");
    assert_eq!(stderr(&o), "");
    // trusting again (naming the directory) succeeds and adds no duplicate
    let o = fx.run(&["--trust", fx.proj.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with(&format!("trusted {}", fx.proj.display())),
        "{}",
        stdout(&o)
    );
    assert_eq!(std::fs::read_to_string(fx.user_file()).unwrap(), user);
}

#[test]
fn override_wins_and_bad_override_is_usage_error() {
    let fx = Fx::new();
    fx.write(&fx.user_file(), "MODEL=opus\n");
    fx.write(&fx.project_file(), "MODEL=haiku\n");
    let o = fx
        .cmd()
        .env("MODEL", "from-env")
        .args(["-e", "MODEL=cli", "--get", "MODEL"])
        .output();
    assert_eq!(stdout(&o.unwrap()), "cli\n");
    let o = fx
        .cmd()
        .env("MODEL", "from-env")
        .args(["--get", "MODEL"])
        .output()
        .unwrap();
    assert_eq!(stdout(&o), "from-env\n");
    let o = fx.run(&["-e", "MODEL=", "--get", "MODEL"]);
    assert_eq!(stdout(&o), "\n");
    assert_usage_error(&fx.run(&["-e", "NOEQUALS", "--get", "MODEL"]));
}

#[test]
fn profile_via_active_profile() {
    let fx = Fx::new();
    fx.write(&fx.proj.join("scorpiox-env/dev.txt"), "MODEL=dev-model\n");
    fx.write(
        &fx.home.join(".scorpiox/scorpiox-env/dev.txt"),
        "MODEL=user-dev\n",
    );
    let o = fx
        .cmd()
        .env("ACTIVE_PROFILE", "dev")
        .args(["--get", "MODEL"])
        .output()
        .unwrap();
    assert_eq!(stdout(&o), "dev-model\n");
    fx.write(&fx.user_file(), "ACTIVE_PROFILE=dev\n");
    let o = fx.run(&["--verbose"]);
    let out = stdout(&o);
    let line = out.lines().find(|l| l.starts_with("MODEL=")).unwrap();
    assert!(
        line.contains("profile") && line.contains("scorpiox-env/dev.txt:1"),
        "{line}"
    );
    let err = assert_usage_error(&fx.run(&["-e", "ACTIVE_PROFILE=missing", "--get", "MODEL"]));
    assert!(err.contains("profile 'missing' not found"), "{err}");
}

#[test]
fn no_action_without_a_terminal_is_usage_error() {
    let fx = Fx::new();
    let err = assert_usage_error(&fx.run(&[]));
    assert!(err.contains("--help"), "{err}");
}
