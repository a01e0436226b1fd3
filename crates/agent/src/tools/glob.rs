//! `glob`: files whose paths match a glob pattern.
//!
//! The tree is walked with the `ignore` crate (parallel), so `.gitignore` (inside a git
//! repository), `.ignore` and `.rgignore` rules apply and hidden files are skipped unless the
//! pattern itself names a dot-file or dot-directory (`.github/**`, `**/.env`). A pattern
//! without `/` matches file names at any depth (`*.rs`, `Cargo.toml`); a pattern with `/` is
//! matched against the whole path relative to `path` (`src/**/*.rs`, `*/Cargo.toml`), and its
//! leading literal directories are where the walk starts. Only files are listed, most recently
//! modified first (what changed lately is usually what matters), ties by path; at most
//! `MAX_RESULTS`, saying how many more matched.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;
use globset::{GlobBuilder, GlobMatcher};
use ignore::{WalkBuilder, WalkState};
use serde_json::{Value, json};

use super::bounded::WalkBudget;
use super::{Tool, ToolContext, ToolKind, ToolOutput, str_arg};

pub struct Glob;

const MAX_RESULTS: usize = 1000;

const DESCRIPTION: &str = "Find files by glob pattern, e.g. `**/*.rs`, `src/**/*.{ts,tsx}`, `*/Cargo.toml` or just `Cargo.toml`. \
A pattern without `/` matches file names at any depth; a pattern with `/` matches the path relative to `path` (`*` stays within one directory, `**` crosses directories). \
Files ignored by .gitignore/.ignore are skipped, and hidden (dot) files unless the pattern names them (`.github/**/*.yml`, `**/.env`). \
Returns matching file paths (not directories) relative to `path`, most recently modified first, at most 1000 (the total is stated). \
Use it to locate files by name; use grep to search file contents and list_dir to see one directory.";

#[async_trait]
impl Tool for Glob {
    fn name(&self) -> &'static str {
        "glob"
    }
    fn description(&self) -> &'static str {
        DESCRIPTION
    }
    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "pattern": {"type": "string", "description": "Glob pattern, e.g. `**/*.rs` or `src/*.ts`; `*`, `?`, `[abc]`, `{a,b}` and `**` are supported."},
                "path": {"type": "string", "description": "Directory to search in (default: the working directory). Results are relative to it."}
            },
            "required": ["pattern"],
            "additionalProperties": false
        })
    }
    fn kind(&self) -> ToolKind {
        ToolKind::ReadOnly
    }
    async fn run(&self, input: Value, ctx: &ToolContext) -> ToolOutput {
        let pattern = match str_arg(&input, "pattern") {
            Ok(p) if p.trim().is_empty() => {
                return ToolOutput::error(
                    "argument 'pattern' is empty; pass a glob such as **/*.rs",
                );
            }
            Ok(p) => p.to_string(),
            Err(e) => return e,
        };
        let root = match input.get("path") {
            None | Some(Value::Null) => ctx.cwd.clone(),
            Some(Value::String(p)) => ctx.resolve(p),
            Some(other) => {
                return ToolOutput::error(format!("argument 'path' must be a string, got {other}"));
            }
        };
        if !root.is_dir() {
            let why = if root.exists() {
                "is not a directory"
            } else {
                "does not exist"
            };
            return ToolOutput::error(format!(
                "path {} {why}; pass a directory to search in (or leave path out for the working directory)",
                root.display()
            ));
        }
        let cancel = ctx.cancel.clone();
        super::bounded::blocking_with_timeout(
            "the file search",
            super::bounded::READ_ONLY_TIMEOUT,
            move || {
                let budget = WalkBudget::standard();
                find(&pattern, &root, &|| cancel.is_cancelled(), &budget)
            },
        )
        .await
    }
}

/// A glob applied to a path relative to a search root: on the file name when the pattern has
/// no `/`, else on the whole relative path. A leading `!` negates it.
pub(super) struct PathFilter {
    matcher: GlobMatcher,
    by_name: bool,
    negate: bool,
}

impl PathFilter {
    pub(super) fn new(pattern: &str) -> Result<Self, String> {
        let (negate, pat) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern),
        };
        let pat = pat.strip_prefix("./").unwrap_or(pat);
        Self::with_mode(pat, !pat.contains('/'), negate)
    }

    fn with_mode(pattern: &str, by_name: bool, negate: bool) -> Result<Self, String> {
        let glob = GlobBuilder::new(pattern)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| format!("invalid glob `{pattern}`: {}", e.kind()))?;
        Ok(PathFilter {
            matcher: glob.compile_matcher(),
            by_name,
            negate,
        })
    }

    pub(super) fn is_match(&self, rel: &Path) -> bool {
        let hit = if self.by_name {
            rel.file_name().is_some_and(|n| self.matcher.is_match(n))
        } else {
            self.matcher.is_match(rel)
        };
        hit != self.negate
    }
}

fn has_meta(component: &str) -> bool {
    component.contains(['*', '?', '[', ']', '{', '}', '\\'])
}

/// Whether the pattern asks for hidden entries by naming one.
fn names_hidden(pattern: &str) -> bool {
    pattern
        .split('/')
        .any(|c| c.starts_with('.') && c != "." && c != "..")
}

/// Threads for a parallel walk: like ripgrep, the available cores, at most 12.
pub(super) fn walk_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(12)
}

/// The search, within `budget`: past it the walk stops and the result says it is partial.
fn find(
    pattern: &str,
    root: &Path,
    cancelled: &(dyn Fn() -> bool + Sync),
    budget: &WalkBudget,
) -> ToolOutput {
    // Absolute patterns search from `/` and show absolute paths.
    let (root, pat, shown_root): (PathBuf, &str, &str) = match pattern.strip_prefix('/') {
        Some(rest) => (PathBuf::from("/"), rest, "/"),
        None => (
            root.to_path_buf(),
            pattern.strip_prefix("./").unwrap_or(pattern),
            "",
        ),
    };
    let by_name = !pat.contains('/');
    // Leading literal directories: start the walk there.
    let comps: Vec<&str> = pat.split('/').collect();
    let literal = comps[..comps.len() - 1]
        .iter()
        .take_while(|c| !has_meta(c))
        .count();
    let prefix = comps[..literal].join("/");
    let rest = comps[literal..].join("/");
    let base = if prefix.is_empty() {
        root.clone()
    } else {
        root.join(&prefix)
    };
    let filter = match PathFilter::with_mode(&rest, by_name, false) {
        Ok(f) => f,
        Err(e) => {
            return ToolOutput::error(format!(
                "{e}; see the tool description for the pattern syntax"
            ));
        }
    };
    let shown_base = match (shown_root, prefix.as_str()) {
        (s, "") => s.to_string(),
        (s, p) => format!("{s}{p}/"),
    };
    let none = || {
        let mut text = format!(
            "No files match `{pattern}` under {} (files ignored by .gitignore/.ignore and hidden files are skipped).",
            root.display()
        );
        if budget.stopped() {
            text.push('\n');
            text.push_str(&budget.note("the file search"));
        }
        ToolOutput::ok(text)
    };
    if !base.is_dir() {
        return none();
    }

    let mut walk = WalkBuilder::new(&base);
    walk.hidden(!names_hidden(&rest))
        .add_custom_ignore_filename(".rgignore")
        .filter_entry(|e| e.file_name() != ".git")
        .threads(walk_threads());
    if !by_name && !rest.contains("**") {
        walk.max_depth(Some(rest.split('/').count()));
    }
    let found: Mutex<Vec<(SystemTime, String)>> = Mutex::new(Vec::new());
    walk.build_parallel().run(|| {
        let (base, filter, found, shown_base) = (&base, &filter, &found, &shown_base);
        Box::new(move |entry| {
            if cancelled() || budget.spent() {
                return WalkState::Quit;
            }
            let Ok(entry) = entry else {
                return WalkState::Continue;
            };
            let Ok(rel) = entry.path().strip_prefix(base) else {
                return WalkState::Continue;
            };
            if rel.as_os_str().is_empty() || !filter.is_match(rel) {
                return WalkState::Continue;
            }
            let is_file = entry.file_type().is_some_and(|t| t.is_file());
            let meta = if is_file {
                entry.metadata().ok()
            } else {
                entry.path().metadata().ok()
            };
            if let Some(meta) = meta.filter(|m| m.is_file()) {
                let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                let shown = format!("{shown_base}{}", rel.to_string_lossy());
                found
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((mtime, shown));
            }
            WalkState::Continue
        })
    });
    if cancelled() {
        return ToolOutput::error("glob was cancelled by the user");
    }
    let mut found = found.into_inner().unwrap_or_else(|p| p.into_inner());
    if found.is_empty() {
        return none();
    }
    found.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let total = found.len();
    let mut text = String::new();
    for (_, path) in found.iter().take(MAX_RESULTS) {
        text.push_str(path);
        text.push('\n');
    }
    if total > MAX_RESULTS {
        text.push_str(&format!(
            "[{MAX_RESULTS} of {total} matching files shown, most recently modified first; {} more not shown. Narrow the pattern or path to see them.]",
            total - MAX_RESULTS
        ));
    } else {
        text.pop();
    }
    if budget.stopped() {
        text.push('\n');
        text.push_str(&budget.note("the file search"));
    }
    ToolOutput::ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio_util::sync::CancellationToken;

    fn ctx(dir: &Path) -> ToolContext {
        ToolContext {
            cwd: dir.to_path_buf(),
            project_root: dir.to_path_buf(),
            extra_roots: Vec::new(),
            cancel: CancellationToken::new(),
        }
    }

    fn touch(dir: &Path, rel: &str, age_secs: u64) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, rel).unwrap();
        let when = SystemTime::now() - Duration::from_secs(age_secs);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }

    #[test]
    fn a_walk_past_its_budget_stops_and_says_its_result_is_partial() {
        let dir = tree();
        let small = WalkBudget::new(Duration::from_secs(3600), 2);
        let out = find("**/*.rs", dir.path(), &|| false, &small);
        assert!(
            out.text.ends_with(
                "[the file search stopped early: it may visit at most 2 entries in 30 s, so the result above is partial; narrow the path or pattern]"
            ),
            "{}",
            out.text
        );
        let out = find("**/*.rs", dir.path(), &|| false, &WalkBudget::standard());
        assert!(!out.text.contains("stopped early"), "{}", out.text);
        assert!(out.text.contains("src/main.rs"));
    }

    /// A small tree: a git repository ignoring `target/` and `*.log`.
    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join(".git")).unwrap();
        std::fs::write(d.join(".gitignore"), "target/\n*.log\n").unwrap();
        touch(d, "src/main.rs", 30);
        touch(d, "src/lib.rs", 10);
        touch(d, "src/deep/mod.rs", 20);
        touch(d, "build.rs", 40);
        touch(d, "Cargo.toml", 50);
        touch(d, "crates/a/Cargo.toml", 60);
        touch(d, "target/debug/gen.rs", 1);
        touch(d, "debug.log", 1);
        touch(d, ".hidden/secret.rs", 1);
        touch(d, ".env", 1);
        touch(d, ".github/workflows/ci.yml", 1);
        dir
    }

    async fn glob(dir: &Path, input: Value) -> ToolOutput {
        Glob.run(input, &ctx(dir)).await
    }

    #[tokio::test]
    async fn recursive_pattern_newest_first_ignoring_gitignored_and_hidden() {
        let dir = tree();
        let out = glob(dir.path(), json!({"pattern": "**/*.rs"})).await;
        assert!(!out.is_error);
        assert_eq!(
            out.text,
            "src/lib.rs\nsrc/deep/mod.rs\nsrc/main.rs\nbuild.rs"
        );
        // A name pattern matches at any depth.
        let out = glob(dir.path(), json!({"pattern": "*.rs"})).await;
        assert_eq!(
            out.text,
            "src/lib.rs\nsrc/deep/mod.rs\nsrc/main.rs\nbuild.rs"
        );
    }

    #[tokio::test]
    async fn path_patterns_are_anchored() {
        let dir = tree();
        assert_eq!(
            glob(dir.path(), json!({"pattern": "src/*.rs"})).await.text,
            "src/lib.rs\nsrc/main.rs"
        );
        assert_eq!(
            glob(dir.path(), json!({"pattern": "*/a/Cargo.toml"}))
                .await
                .text,
            "crates/a/Cargo.toml"
        );
        assert_eq!(
            glob(dir.path(), json!({"pattern": "./Cargo.toml"}))
                .await
                .text,
            "Cargo.toml\ncrates/a/Cargo.toml"
        );
        assert_eq!(
            glob(dir.path(), json!({"pattern": "src/{lib,main}.rs"}))
                .await
                .text,
            "src/lib.rs\nsrc/main.rs"
        );
        let out = glob(dir.path(), json!({"pattern": "*.rs", "path": "src/deep"})).await;
        assert_eq!(out.text, "mod.rs");
        let abs = format!("{}/src/*.rs", dir.path().display());
        let out = glob(dir.path(), json!({"pattern": abs})).await;
        assert_eq!(
            out.text,
            format!("{0}/src/lib.rs\n{0}/src/main.rs", dir.path().display())
        );
    }

    #[tokio::test]
    async fn hidden_files_only_when_named() {
        let dir = tree();
        assert_eq!(
            glob(dir.path(), json!({"pattern": ".github/**/*.yml"}))
                .await
                .text,
            ".github/workflows/ci.yml"
        );
        assert_eq!(
            glob(dir.path(), json!({"pattern": "**/.env"})).await.text,
            ".env"
        );
        assert_eq!(
            glob(dir.path(), json!({"pattern": ".hidden/*"})).await.text,
            ".hidden/secret.rs"
        );
        let out = glob(dir.path(), json!({"pattern": "**/*"})).await;
        assert!(
            !out.text.contains(".env")
                && !out.text.contains("secret")
                && !out.text.contains(".git"),
            "{}",
            out.text
        );
        assert!(!out.text.contains(".gitignore"));
    }

    #[tokio::test]
    async fn ignore_file_without_git() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".ignore"), "skip/\n").unwrap();
        touch(dir.path(), "keep/a.txt", 1);
        touch(dir.path(), "skip/b.txt", 1);
        assert_eq!(
            glob(dir.path(), json!({"pattern": "**/*.txt"})).await.text,
            "keep/a.txt"
        );
    }

    #[tokio::test]
    async fn no_match_cap_and_errors() {
        let dir = tree();
        let out = glob(dir.path(), json!({"pattern": "**/*.py"})).await;
        assert!(
            !out.is_error && out.text.starts_with("No files match `**/*.py`"),
            "{}",
            out.text
        );
        assert!(
            glob(dir.path(), json!({"pattern": "nope/*.rs"}))
                .await
                .text
                .starts_with("No files match")
        );
        let out = glob(dir.path(), json!({"pattern": "src/[a"})).await;
        assert!(
            out.is_error && out.text.contains("invalid glob"),
            "{}",
            out.text
        );
        let out = glob(dir.path(), json!({"pattern": "*", "path": "missing"})).await;
        assert!(
            out.is_error && out.text.contains("does not exist"),
            "{}",
            out.text
        );
        assert!(glob(dir.path(), json!({})).await.is_error);

        let many = tempfile::tempdir().unwrap();
        for i in 0..1005 {
            std::fs::write(many.path().join(format!("f{i:04}.txt")), "").unwrap();
        }
        let out = glob(many.path(), json!({"pattern": "*.txt"})).await;
        assert_eq!(out.text.lines().count(), 1001);
        assert!(out.text.ends_with("[1000 of 1005 matching files shown, most recently modified first; 5 more not shown. Narrow the pattern or path to see them.]"), "{}", out.text.lines().last().unwrap());
    }

    #[test]
    fn path_filter_modes() {
        let f = PathFilter::new("*.rs").unwrap();
        assert!(f.is_match(Path::new("a/b/c.rs")) && !f.is_match(Path::new("a/b/c.rsx")));
        let f = PathFilter::new("src/**/*.rs").unwrap();
        assert!(
            f.is_match(Path::new("src/a/b.rs"))
                && f.is_match(Path::new("src/b.rs"))
                && !f.is_match(Path::new("x/src/b.rs"))
        );
        let f = PathFilter::new("src/*.rs").unwrap();
        assert!(!f.is_match(Path::new("src/a/b.rs")));
        let f = PathFilter::new("!*.md").unwrap();
        assert!(f.is_match(Path::new("a.rs")) && !f.is_match(Path::new("docs/a.md")));
    }
}
