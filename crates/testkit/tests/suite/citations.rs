//! The contract lives in the repository: code and docs cite `docs/` (the spec, the protocol
//! notes) and `tests/fixtures/captures/`, never files outside the repository, and every
//! `docs/…` path a comment names exists.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                sources(&path, out);
            }
        } else if name.ends_with(".rs") || name.ends_with(".md") {
            out.push(path);
        }
    }
}

#[test]
fn citations_point_inside_the_repository() {
    let root = repo();
    let mut files = Vec::new();
    sources(&root.join("crates"), &mut files);
    sources(&root.join("docs"), &mut files);
    let mut bad = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let rel = f.strip_prefix(&root).unwrap().display().to_string();
        let protocol_notes = rel.starts_with("docs/protocols/") || rel == "docs/spec.md";
        if rel.ends_with("citations.rs") {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            let outside = line.contains("../shared")
                || (!protocol_notes && line.contains("SPEC §"))
                || line.contains(" codex.md §")
                || line.contains("(codex.md §");
            if outside {
                bad.push(format!("{rel}:{}: {line}", n + 1));
            }
            // Every docs/ path a source comment names must exist.
            if rel.ends_with(".rs") && line.trim_start().starts_with("//") {
                for cited in line.split(|c: char| c.is_whitespace() || "`()[],;'\"".contains(c)) {
                    if let Some(path) = cited.strip_prefix("docs/")
                        && let Some(path) = path.split_once(".md").map(|(p, _)| format!("{p}.md"))
                        && !root.join("docs").join(&path).exists()
                    {
                        bad.push(format!("{rel}:{}: docs/{path} does not exist", n + 1));
                    }
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "citations outside the repository:\n{}",
        bad.join("\n")
    );
}
