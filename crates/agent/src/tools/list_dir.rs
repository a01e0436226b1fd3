//! `list_dir`: the entries of one directory, as they are on disk.
//!
//! Nothing is filtered (hidden and ignored entries are shown: this is the tool for seeing what
//! is really there). Directories come first, then everything else, each group sorted by name;
//! directories end in `/`, symbolic links show their target, files their size. At most
//! `MAX_ENTRIES` entries, saying how many more there are.

use std::fs::{DirEntry, FileType};
use std::path::Path;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Tool, ToolContext, ToolKind, ToolOutput, str_arg};

pub struct ListDir;

const MAX_ENTRIES: usize = 1000;
/// Entries read from the folder at most.
const MAX_READ: usize = 100_000;

const DESCRIPTION: &str = "List the entries of one directory (not recursive): subdirectories first, marked with a trailing `/`, then files with their sizes, each sorted by name; symbolic links show their target. \
Hidden and git-ignored entries are shown too. At most 1000 entries (the total is stated). \
Use it to look around a directory; use glob to find files by name across a tree and grep to search contents.";

#[async_trait]
impl Tool for ListDir {
    fn name(&self) -> &'static str {
        "list_dir"
    }
    fn description(&self) -> &'static str {
        DESCRIPTION
    }
    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "The directory, absolute or relative to the working directory (`.` for the working directory itself)."}
            },
            "required": ["path"],
            "additionalProperties": false
        })
    }
    fn kind(&self) -> ToolKind {
        ToolKind::ReadOnly
    }
    async fn run(&self, input: Value, ctx: &ToolContext) -> ToolOutput {
        let arg = match str_arg(&input, "path") {
            Ok(p) => p,
            Err(e) => return e,
        };
        let arg = if arg.is_empty() { "." } else { arg };
        let (dir, shown) = (ctx.resolve(arg), arg.to_string());
        super::bounded::blocking_with_timeout(
            "listing the directory",
            super::bounded::READ_ONLY_TIMEOUT,
            move || list(&dir, &shown),
        )
        .await
    }
}

struct Entry {
    name: String,
    is_dir: bool,
    detail: String,
}

/// `shown` is the path as the model wrote it.
fn list(dir: &Path, shown: &str) -> ToolOutput {
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) => {
            let msg = match e.kind() {
                std::io::ErrorKind::NotFound => {
                    format!("{shown} does not exist; check the path (glob can find files by name)")
                }
                std::io::ErrorKind::NotADirectory => {
                    format!("{shown} is a file, not a directory; use read_file to read it")
                }
                std::io::ErrorKind::PermissionDenied => {
                    format!("permission denied listing {shown}")
                }
                _ => format!("cannot list {shown}: {e}"),
            };
            return ToolOutput::error(msg);
        }
    };
    // A folder of millions of entries is not read whole (docs/reliability.md).
    let mut entries: Vec<Entry> = read
        .filter_map(Result::ok)
        .take(MAX_READ + 1)
        .map(|e| describe(&e))
        .collect();
    let more = entries.len() > MAX_READ;
    entries.truncate(MAX_READ);
    entries.sort_unstable_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    if entries.is_empty() {
        return ToolOutput::ok(format!("{shown} is empty."));
    }
    let dirs = entries.iter().filter(|e| e.is_dir).count();
    let mut text = if more {
        format!(
            "{shown}: more than {MAX_READ} entries; only the first {MAX_READ} read were sorted ({dirs} directories, {} other)\n",
            entries.len() - dirs
        )
    } else {
        format!(
            "{shown}: {} entries ({dirs} directories, {} other)\n",
            entries.len(),
            entries.len() - dirs
        )
    };
    for e in entries.iter().take(MAX_ENTRIES) {
        text.push_str(&e.name);
        if e.is_dir {
            text.push('/');
        }
        if !e.detail.is_empty() {
            text.push_str("  ");
            text.push_str(&e.detail);
        }
        text.push('\n');
    }
    if entries.len() > MAX_ENTRIES {
        text.push_str(&format!(
            "[{MAX_ENTRIES} of {} entries shown; {} more not shown. Use glob with a pattern to find specific files.]",
            entries.len(),
            entries.len() - MAX_ENTRIES
        ));
    } else {
        text.pop();
    }
    ToolOutput::ok(text)
}

fn describe(e: &DirEntry) -> Entry {
    let name = e.file_name().to_string_lossy().into_owned();
    let ft: Option<FileType> = e.file_type().ok();
    if ft.is_some_and(|t| t.is_symlink()) {
        let target = std::fs::read_link(e.path())
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        let is_dir = e.path().is_dir();
        let detail = if e.path().exists() {
            format!("-> {target}")
        } else {
            format!("-> {target} (broken link)")
        };
        return Entry {
            name,
            is_dir,
            detail,
        };
    }
    if ft.is_some_and(|t| t.is_dir()) {
        return Entry {
            name,
            is_dir: true,
            detail: String::new(),
        };
    }
    let detail = match e.metadata() {
        Ok(m) if m.is_file() => human_size(m.len()),
        Ok(_) => "(special file)".to_string(),
        Err(_) => String::new(),
    };
    Entry {
        name,
        is_dir: false,
        detail,
    }
}

fn human_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut size = n as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_util::sync::CancellationToken;

    async fn ls(dir: &Path, path: &str) -> ToolOutput {
        let ctx = ToolContext {
            cwd: dir.to_path_buf(),
            project_root: dir.to_path_buf(),
            extra_roots: Vec::new(),
            cancel: CancellationToken::new(),
        };
        ListDir.run(json!({"path": path}), &ctx).await
    }

    #[tokio::test]
    async fn lists_directories_first_with_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("src")).unwrap();
        std::fs::create_dir(d.join(".git")).unwrap();
        std::fs::write(d.join("b.txt"), "hello").unwrap();
        std::fs::write(d.join("a.bin"), vec![0u8; 3000]).unwrap();
        std::fs::write(d.join(".env"), "").unwrap();
        std::os::unix::fs::symlink("src", d.join("link")).unwrap();
        std::os::unix::fs::symlink("gone", d.join("dangling")).unwrap();
        let out = ls(d, ".").await;
        assert!(!out.is_error);
        let body = out.text.split_once('\n').unwrap().1;
        assert_eq!(
            body,
            ".git/\nlink/  -> src\nsrc/\n.env  0 B\na.bin  2.9 KiB\nb.txt  5 B\ndangling  -> gone (broken link)"
        );
        assert!(
            out.text
                .starts_with(".: 7 entries (3 directories, 4 other)\n"),
            "{}",
            out.text
        );
        assert_eq!(ls(d, "src").await.text, "src is empty.");
    }

    #[tokio::test]
    async fn errors_and_cap() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("f"), "x").unwrap();
        let out = ls(d, "missing").await;
        assert!(
            out.is_error && out.text.contains("does not exist"),
            "{}",
            out.text
        );
        let out = ls(d, "f").await;
        assert!(
            out.is_error && out.text.contains("not a directory"),
            "{}",
            out.text
        );
        for i in 0..1003 {
            std::fs::write(d.join(format!("n{i:04}")), "").unwrap();
        }
        let out = ls(d, d.to_str().unwrap()).await;
        assert_eq!(out.text.lines().count(), 1002);
        assert!(out.text.ends_with("[1000 of 1004 entries shown; 4 more not shown. Use glob with a pattern to find specific files.]"));
        assert_eq!(human_size(5 * 1024 * 1024 + 1), "5.0 MiB");
    }
}
