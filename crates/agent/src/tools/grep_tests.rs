//! Tests of `grep` (a sibling file: `grep.rs` keeps the code under 500 lines).

use super::*;
use tokio_util::sync::CancellationToken;

fn write(dir: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join(".git")).unwrap();
    write(d, ".gitignore", "ignored/\n");
    write(d, "src/a.rs", "fn main() {\n    println!(\"Hello\");\n}\n");
    write(d, "src/b.txt", "hello world\nHELLO\nbye\n");
    write(d, "ignored/x.rs", "fn ignored_by_git() {}\n");
    write(d, ".hidden/h.rs", "fn hidden() {}\n");
    write(d, "data.bin", b"fn binary\0\x01\x02 fn more\n");
    dir
}

async fn grep(dir: &Path, input: Value) -> ToolOutput {
    let ctx = ToolContext {
        cwd: dir.to_path_buf(),
        project_root: dir.to_path_buf(),
        extra_roots: Vec::new(),
        cancel: CancellationToken::new(),
    };
    Grep.run(input, &ctx).await
}

#[tokio::test]
async fn finds_lines_skipping_ignored_hidden_and_binary() {
    let dir = tree();
    let out = grep(dir.path(), json!({"pattern": r"fn \w+"})).await;
    assert!(!out.is_error);
    assert_eq!(out.text, "src/a.rs:1:fn main() {");
}

#[tokio::test]
async fn ignore_file_works_without_git() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".ignore", "skip.txt\n");
    write(dir.path(), "skip.txt", "needle\n");
    write(dir.path(), "keep.txt", "needle\n");
    assert_eq!(
        grep(dir.path(), json!({"pattern": "needle"})).await.text,
        "keep.txt:1:needle"
    );
}

#[tokio::test]
async fn case_insensitive_and_sorted_by_path() {
    let dir = tree();
    assert_eq!(
        grep(dir.path(), json!({"pattern": "hello"})).await.text,
        "src/b.txt:1:hello world"
    );
    let out = grep(
        dir.path(),
        json!({"pattern": "hello", "case_insensitive": true}),
    )
    .await;
    assert_eq!(
        out.text,
        "src/a.rs:2:    println!(\"Hello\");\nsrc/b.txt:1:hello world\nsrc/b.txt:2:HELLO"
    );
}

#[tokio::test]
async fn glob_filter_and_paths() {
    let dir = tree();
    let ci = |glob: &str| json!({"pattern": "hello", "case_insensitive": true, "glob": glob});
    assert_eq!(
        grep(dir.path(), ci("*.txt")).await.text,
        "src/b.txt:1:hello world\nsrc/b.txt:2:HELLO"
    );
    assert_eq!(
        grep(dir.path(), ci("!*.txt")).await.text,
        "src/a.rs:2:    println!(\"Hello\");"
    );
    assert_eq!(
        grep(dir.path(), ci("src/*.rs")).await.text,
        "src/a.rs:2:    println!(\"Hello\");"
    );
    assert!(
        grep(dir.path(), ci("x/*.rs"))
            .await
            .text
            .starts_with("No matches")
    );
    // Relative to a directory `path`; a file `path` is shown as given.
    let out = grep(dir.path(), json!({"pattern": "bye", "path": "src"})).await;
    assert_eq!(out.text, "b.txt:3:bye");
    let out = grep(dir.path(), json!({"pattern": "bye", "path": "src/b.txt"})).await;
    assert_eq!(out.text, "src/b.txt:3:bye");
    // An explicitly named hidden directory is searched.
    assert_eq!(
        grep(dir.path(), json!({"pattern": "fn", "path": ".hidden"}))
            .await
            .text,
        "h.rs:1:fn hidden() {}"
    );
}

#[tokio::test]
async fn errors_and_no_match() {
    let dir = tree();
    let out = grep(dir.path(), json!({"pattern": "fn ("})).await;
    assert!(out.is_error);
    assert!(
        out.text.starts_with("invalid regex `fn (`") && out.text.contains("unclosed group"),
        "{}",
        out.text
    );
    let out = grep(dir.path(), json!({"pattern": "zzz"})).await;
    assert!(
        !out.is_error
            && out
                .text
                .starts_with("No matches for `zzz` in . (3 files searched;"),
        "{}",
        out.text
    );
    let out = grep(dir.path(), json!({"pattern": "x", "path": "nope"})).await;
    assert!(
        out.is_error && out.text.contains("does not exist"),
        "{}",
        out.text
    );
    let out = grep(dir.path(), json!({"pattern": "x", "glob": "[a"})).await;
    assert!(
        out.is_error && out.text.contains("invalid glob"),
        "{}",
        out.text
    );
    let out = grep(
        dir.path(),
        json!({"pattern": "x", "case_insensitive": "yes"}),
    )
    .await;
    assert!(
        out.is_error && out.text.contains("case_insensitive"),
        "{}",
        out.text
    );
    assert!(
        grep(dir.path(), json!({"path": "src"}))
            .await
            .text
            .contains("missing required argument 'pattern'")
    );
}

#[tokio::test]
async fn line_cap_keeps_the_first_paths_and_states_the_total() {
    let dir = tempfile::tempdir().unwrap();
    let body: String = (1..=300).map(|i| format!("match {i}\n")).collect();
    for name in ["c.txt", "a.txt", "b.txt"] {
        write(dir.path(), name, &body);
    }
    let out = grep(dir.path(), json!({"pattern": "match"})).await;
    let lines: Vec<&str> = out.text.lines().collect();
    assert_eq!(lines.len(), 501);
    assert_eq!(lines[0], "a.txt:1:match 1");
    assert_eq!(lines[299], "a.txt:300:match 300");
    assert_eq!(lines[499], "b.txt:200:match 200");
    assert_eq!(
        lines[500],
        "[Showing 500 of 900 matching lines in 3 files (cap: 500 lines / 30000 characters). Narrow the pattern, path or glob to see the rest.]"
    );
}

#[tokio::test]
async fn char_cap_and_long_lines() {
    let dir = tempfile::tempdir().unwrap();
    let body: String = (0..100)
        .map(|i| format!("{i:03} {}\n", "y".repeat(390)))
        .collect();
    write(dir.path(), "wide.txt", &body);
    let out = grep(dir.path(), json!({"pattern": "y"})).await;
    let (shown, summary) = out.text.rsplit_once('\n').unwrap();
    assert!(shown.len() <= MAX_CHARS, "{}", shown.len());
    assert!(
        summary.starts_with("[Showing 73 of 100 matching lines in 1 files"),
        "{summary}"
    );

    write(
        dir.path(),
        "wide.txt",
        format!("{}NEEDLE{}\n", "é".repeat(1500), "x".repeat(2000)),
    );
    let out = grep(dir.path(), json!({"pattern": "NEEDLE"})).await;
    assert!(out.text.starts_with("wide.txt:1:…é"), "{}", out.text);
    assert!(
        out.text.contains("NEEDLE") && out.text.ends_with("… [line of 5006 bytes cut]"),
        "{}",
        out.text
    );
    assert!(out.text.len() < MAX_LINE_LEN + 100);
}

#[test]
fn collected_keeps_the_smallest_paths() {
    let mut c = Collected::default();
    for i in [7u32, 3, 9, 1, 5, 8, 2, 6, 4, 0] {
        let text = format!("f{i}:1:x\n").repeat(200).into_bytes();
        c.add(
            PathKey(format!("f{i}").into_bytes()),
            FileHits { text, lines: 200 },
        );
    }
    let kept: Vec<String> = c
        .files
        .keys()
        .map(|k| String::from_utf8_lossy(&k.0).into_owned())
        .collect();
    assert_eq!(kept, ["f0", "f1", "f2"]);
    assert!(PathKey(b"a/x".to_vec()) < PathKey(b"a-b/x".to_vec()));
}

#[test]
fn a_search_past_its_budget_stops_and_says_its_result_is_partial() {
    let dir = tree();
    let ctx = ToolContext {
        cwd: dir.path().to_path_buf(),
        project_root: dir.path().to_path_buf(),
        extra_roots: Vec::new(),
        cancel: CancellationToken::new(),
    };
    let req =
        Request::parse(&json!({"pattern": "hello"}), &ctx).unwrap_or_else(|e| panic!("{e:?}"));
    let small = WalkBudget::new(std::time::Duration::from_secs(3600), 2);
    let out = search(&req, &|| false, &small);
    assert!(
        out.text.ends_with(
            "[the search stopped early: it may visit at most 2 entries in 30 s, so the result above is partial; narrow the path or pattern]"
        ),
        "{}",
        out.text
    );
    let ample = WalkBudget::standard();
    let out = search(&req, &|| false, &ample);
    assert!(!out.text.contains("stopped early"), "{}", out.text);
}

#[cfg(unix)]
#[tokio::test]
async fn fifos_and_devices_in_the_tree_are_skipped_not_waited_on() {
    let dir = tree();
    nix::unistd::mkfifo(
        &dir.path().join("src/pipe"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let out = grep(
        dir.path(),
        json!({"pattern": "hello", "case_insensitive": true}),
    )
    .await;
    assert!(!out.is_error, "{}", out.text);
    assert_eq!(
        out.text,
        "src/a.rs:2:    println!(\"Hello\");\nsrc/b.txt:1:hello world\nsrc/b.txt:2:HELLO"
    );
    // The FIFO itself as the path.
    let out = grep(dir.path(), json!({"pattern": "x", "path": "src/pipe"})).await;
    assert!(out.text.starts_with("No matches"), "{}", out.text);
}
