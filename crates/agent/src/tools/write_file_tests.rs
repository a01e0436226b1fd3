use super::*;
use pretty_assertions::assert_eq;
use std::path::Path;
use tokio_util::sync::CancellationToken;

fn ctx(dir: &Path) -> ToolContext {
    ToolContext {
        cwd: dir.to_path_buf(),
        project_root: dir.to_path_buf(),
        extra_roots: Vec::new(),
        cancel: CancellationToken::new(),
    }
}

fn utf16le(s: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    out.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

#[test]
fn writes_bytes_exactly() {
    // (name, existing bytes or None, content, expected bytes, expected result text)
    type Case = (
        &'static str,
        Option<Vec<u8>>,
        &'static str,
        Vec<u8>,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "new file",
            None,
            "a\nb\n",
            b"a\nb\n".to_vec(),
            "created f (2 lines)",
        ),
        (
            "new file keeps given crlf",
            None,
            "a\r\nb",
            b"a\r\nb".to_vec(),
            "created f (2 lines)",
        ),
        (
            "new empty file",
            None,
            "",
            b"".to_vec(),
            "created f (0 lines)",
        ),
        (
            "crlf file stays crlf",
            Some(b"old\r\nlines\r\n".to_vec()),
            "new\nlines\nmore\n",
            b"new\r\nlines\r\nmore\r\n".to_vec(),
            "overwrote f (3 lines, was 2); kept its CRLF line endings",
        ),
        (
            "lf file: crlf content becomes lf",
            Some(b"x\n".to_vec()),
            "a\r\nb\r\n",
            b"a\nb\n".to_vec(),
            "overwrote f (2 lines, was 1)",
        ),
        (
            "mixed file keeps unchanged lines' endings",
            Some(b"one\r\ntwo\nthree\r\n".to_vec()),
            "one\ntwo\nTHREE\nfour\n",
            b"one\r\ntwo\nTHREE\r\nfour\r\n".to_vec(),
            "overwrote f (4 lines, was 3); kept its mixed line endings (mostly CRLF)",
        ),
        (
            "bom kept",
            Some(b"\xEF\xBB\xBFold\n".to_vec()),
            "new\n",
            b"\xEF\xBB\xBFnew\n".to_vec(),
            "overwrote f (1 line, was 1); kept its UTF-8 with BOM",
        ),
        (
            "utf16 kept",
            Some(utf16le("old\r\n")),
            "néw\nline",
            utf16le("néw\r\nline"),
            "overwrote f (2 lines, was 1); kept its UTF-16 LE with BOM, CRLF line endings",
        ),
        (
            "no line breaks before: content's own endings",
            Some(b"single".to_vec()),
            "a\r\nb\r\n",
            b"a\r\nb\r\n".to_vec(),
            "overwrote f (2 lines, was 1)",
        ),
        (
            "binary replaced",
            Some(b"\0\x01\x02".to_vec()),
            "text\n",
            b"text\n".to_vec(),
            "overwrote f (1 line); it was a binary file of 3 bytes, now UTF-8 text",
        ),
        (
            "unchanged",
            Some(b"same\r\n".to_vec()),
            "same\n",
            b"same\r\n".to_vec(),
            "f already has exactly this content (1 line); nothing was written",
        ),
    ];
    for (name, existing, content, expected, text) in cases {
        let dir = tempfile::tempdir().unwrap();
        if let Some(bytes) = &existing {
            std::fs::write(dir.path().join("f"), bytes).unwrap();
        }
        let out = write(&json!({"path": "f", "content": content}), &ctx(dir.path()));
        assert!(!out.is_error, "{name}: {}", out.text);
        assert_eq!(out.text, text, "{name}");
        assert_eq!(
            std::fs::read(dir.path().join("f")).unwrap(),
            expected,
            "{name}"
        );
    }
}

#[test]
fn creates_parent_folders_and_gives_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let out = write(
        &json!({"path": "deep/er/new.rs", "content": "fn main() {}\n"}),
        &ctx(dir.path()),
    );
    assert_eq!(out.text, "created deep/er/new.rs (1 line)");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("deep/er/new.rs")).unwrap(),
        "fn main() {}\n"
    );
    assert_eq!(
        out.diff.as_deref(),
        Some("--- /dev/null\n+++ b/deep/er/new.rs\n@@ -0,0 +1 @@\n+fn main() {}\n")
    );

    let out = write(
        &json!({"path": "deep/er/new.rs", "content": "fn main() { run() }\n"}),
        &ctx(dir.path()),
    );
    assert_eq!(
        out.diff.as_deref(),
        Some(
            "--- a/deep/er/new.rs\n+++ b/deep/er/new.rs\n@@ -1 +1 @@\n-fn main() {}\n+fn main() { run() }\n"
        )
    );
}

#[test]
fn refuses_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("file"), "x").unwrap();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"path": "sub", "content": "x"}),
            "sub is a directory; write_file needs a file path",
        ),
        (
            json!({"path": "file/inside.txt", "content": "x"}),
            "could not write file/inside.txt: Not a directory",
        ),
        (
            json!({"path": "a.txt"}),
            "missing required argument 'content'",
        ),
        (
            json!({"path": "a.txt", "content": 5}),
            "argument 'content' must be a string",
        ),
    ];
    for (args, fragment) in cases {
        let out = write(&args, &ctx(dir.path()));
        assert!(out.is_error, "{args}: {}", out.text);
        assert!(out.text.contains(fragment), "{args}: {:?}", out.text);
    }
}

#[cfg(unix)]
#[test]
fn keeps_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("run.sh");
    std::fs::write(&p, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = write(
        &json!({"path": "run.sh", "content": "#!/bin/sh\necho hi\n"}),
        &ctx(dir.path()),
    );
    assert!(!out.is_error, "{}", out.text);
    assert_eq!(
        std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o755
    );
}

#[tokio::test]
async fn the_tool_runs_and_declares_itself() {
    let dir = tempfile::tempdir().unwrap();
    let out = WriteFile
        .run(json!({"path": "x.txt", "content": "1\n"}), &ctx(dir.path()))
        .await;
    assert_eq!(out.text, "created x.txt (1 line)");
    assert_eq!(WriteFile.kind(), ToolKind::Mutating);
    assert_eq!(
        WriteFile.parameters()["required"],
        json!(["path", "content"])
    );
}
