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

fn numbered_lines(range: std::ops::RangeInclusive<usize>) -> String {
    range.map(|n| format!("{n:>6}\tline {n}\n")).collect()
}

#[test]
fn shows_numbered_windows() {
    let dir = tempfile::tempdir().unwrap();
    let content: String = (1..=10).map(|n| format!("line {n}\n")).collect();
    std::fs::write(dir.path().join("f.txt"), &content).unwrap();
    std::fs::write(dir.path().join("crlf.txt"), "a\r\nb\r\n").unwrap();
    std::fs::write(dir.path().join("nofinal.txt"), "a\nb").unwrap();
    std::fs::write(dir.path().join("empty.txt"), "").unwrap();
    std::fs::write(dir.path().join("cr.txt"), "a\rb\r").unwrap();
    // (args, expected text)
    let cases: Vec<(Value, String)> = vec![
        (json!({"path": "f.txt"}), numbered_lines(1..=10)),
        (json!({"path": "f.txt", "offset": 3, "limit": 2}), numbered_lines(3..=4) + "(lines 3-4 of 10; pass offset=5 to read more)\n"),
        (json!({"path": "f.txt", "offset": 9}), numbered_lines(9..=10) + "(lines 9-10 of 10; end of file)\n"),
        (json!({"path": "f.txt", "limit": 1}), numbered_lines(1..=1) + "(lines 1-1 of 10; pass offset=2 to read more)\n"),
        (json!({"path": "f.txt", "offset": 0, "limit": "2"}), numbered_lines(1..=2) + "(lines 1-2 of 10; pass offset=3 to read more)\n"),
        (
            json!({"path": "crlf.txt"}),
            "     1\ta\n     2\tb\n(file format: CRLF line endings; the edit tools keep it, so write plain \\n in edits)\n".into(),
        ),
        (
            json!({"path": "cr.txt"}),
            "     1\ta\n     2\tb\n(file format: CR line endings; the edit tools keep it, so write plain \\n in edits)\n"
                .into(),
        ),
        (json!({"path": "nofinal.txt"}), "     1\ta\n     2\tb\n".into()),
        (json!({"path": "empty.txt"}), "empty.txt is empty (0 bytes, no lines)".into()),
    ];
    for (args, expected) in cases {
        let out = read(&args, &ctx(dir.path()));
        assert!(!out.is_error, "{args}: {}", out.text);
        assert_eq!(out.text, expected, "{args}");
    }
}

#[test]
fn reads_utf16_and_bom_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(
        "héllo\r\nwörld\r\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes),
    );
    std::fs::write(dir.path().join("u16.txt"), bytes).unwrap();
    std::fs::write(dir.path().join("bom.txt"), b"\xEF\xBB\xBFfirst\n").unwrap();
    let out = read(&json!({"path": "u16.txt"}), &ctx(dir.path()));
    assert!(
        out.text.starts_with("     1\théllo\n     2\twörld\n"),
        "{}",
        out.text
    );
    assert!(
        out.text.contains("UTF-16 LE with BOM, CRLF line endings"),
        "{}",
        out.text
    );
    let out = read(&json!({"path": "bom.txt"}), &ctx(dir.path()));
    assert!(out.text.starts_with("     1\tfirst\n"), "{}", out.text);
}

#[test]
fn truncates_long_lines_and_caps_output() {
    let dir = tempfile::tempdir().unwrap();
    let long = "é".repeat(2500);
    std::fs::write(dir.path().join("long.txt"), format!("{long}\nshort\n")).unwrap();
    let out = read(&json!({"path": "long.txt"}), &ctx(dir.path()));
    let first = out.text.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("     1\t{}", "é".repeat(2000))),
        "{first}"
    );
    assert!(
        first.ends_with("… [line truncated: 2500 characters in all]"),
        "{first}"
    );
    assert!(out.text.contains("     2\tshort\n"));

    let wide: String = (1..=200)
        .map(|n| format!("{n} {}\n", "x".repeat(1000)))
        .collect();
    std::fs::write(dir.path().join("wide.txt"), wide).unwrap();
    let out = read(&json!({"path": "wide.txt"}), &ctx(dir.path()));
    assert!(out.text.len() < 110_000, "{}", out.text.len());
    assert!(
        out.text
            .contains("output capped at about 100 KB; pass offset="),
        "{}",
        &out.text[out.text.len() - 200..]
    );
}

#[test]
fn refuses_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("img.png"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    std::fs::write(dir.path().join("blob.bin"), b"abc\0def").unwrap();
    std::fs::write(dir.path().join("latin1.txt"), b"caf\xE9\n").unwrap();
    std::fs::write(dir.path().join("three.txt"), "1\n2\n3\n").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    // (args, fragments the error must contain)
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"path": "sub"}),
            vec!["sub is a directory", "list_dir"],
        ),
        (
            json!({"path": "img.png"}),
            vec!["binary file (16 bytes)", "read_image"],
        ),
        (
            json!({"path": "blob.bin"}),
            vec![
                "binary file (7 bytes)",
                "NUL byte at offset 3",
                "xxd/hexdump",
            ],
        ),
        (
            json!({"path": "latin1.txt"}),
            vec![
                "binary file (5 bytes)",
                "not valid UTF-8 (byte 0xE9 at offset 3)",
            ],
        ),
        (
            json!({"path": "nope.txt"}),
            vec!["file not found: nope.txt", "glob"],
        ),
        (
            json!({"path": "three.txt", "offset": 5}),
            vec!["offset 5 is past the end of three.txt, which has 3 lines"],
        ),
        (
            json!({"path": "three.txt", "limit": 0}),
            vec!["limit must be at least 1"],
        ),
        (
            json!({"path": "three.txt", "offset": -1}),
            vec!["'offset' must be a positive whole number"],
        ),
        (
            json!({"offset": 1}),
            vec!["missing required argument 'path'"],
        ),
    ];
    for (args, fragments) in cases {
        let out = read(&args, &ctx(dir.path()));
        assert!(out.is_error, "{args}: {}", out.text);
        for f in fragments {
            assert!(out.text.contains(f), "{args}: {:?} lacks {f:?}", out.text);
        }
    }
}

#[test]
fn huge_files_need_offset_and_are_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let line = format!("{}\r\n", "y".repeat(1023)); // 1 KiB per line
    let mut content = line.repeat(11 * 1024); // 11 MiB
    content.push_str("last line without newline");
    std::fs::write(dir.path().join("big.log"), &content).unwrap();
    let out = read(&json!({"path": "big.log"}), &ctx(dir.path()));
    assert!(out.is_error);
    assert!(
        out.text.contains("big.log is 11.0 MB") && out.text.contains("offset and limit"),
        "{}",
        out.text
    );

    let total = 11 * 1024 + 1;
    let out = read(
        &json!({"path": "big.log", "offset": total - 1, "limit": 5}),
        &ctx(dir.path()),
    );
    assert!(!out.is_error, "{}", out.text);
    let expected = format!(
        "{:>6}\t{}\n{total:>6}\tlast line without newline\n(lines {}-{total} of {total}; end of file)\n",
        total - 1,
        "y".repeat(1023),
        total - 1
    );
    assert_eq!(out.text, expected);
    let out = read(
        &json!({"path": "big.log", "offset": 2, "limit": 1}),
        &ctx(dir.path()),
    );
    assert!(
        out.text.ends_with(&format!(
            "(lines 2-2 of {total}; pass offset=3 to read more)\n"
        )),
        "{}",
        out.text
    );
    let out = read(
        &json!({"path": "big.log", "offset": total + 1}),
        &ctx(dir.path()),
    );
    assert!(
        out.is_error && out.text.contains(&format!("which has {total} lines")),
        "{}",
        out.text
    );
}

#[tokio::test]
async fn the_tool_runs_and_declares_itself() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "hi\n").unwrap();
    let out = ReadFile
        .run(
            json!({"path": dir.path().join("a.txt").to_str().unwrap()}),
            &ctx(Path::new("/")),
        )
        .await;
    assert_eq!(out.text, "     1\thi\n");
    assert_eq!(ReadFile.kind(), ToolKind::ReadOnly);
    let schema = ReadFile.parameters();
    assert_eq!(schema["required"], json!(["path"]));
    assert_eq!(schema["additionalProperties"], json!(false));
}
