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

fn utf16(s: &str, le: bool) -> Vec<u8> {
    let mut out = if le {
        vec![0xFF, 0xFE]
    } else {
        vec![0xFE, 0xFF]
    };
    for u in s.encode_utf16() {
        out.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
    }
    out
}

const FIVE: &[u8] = b"1\n2\n3\n4\n5\n";

/// (name, file, blocks, Ok((expected bytes, fragments of the result)) or Err(fragments of the error))
type Case = (
    &'static str,
    Vec<u8>,
    &'static str,
    Result<(Vec<u8>, Vec<&'static str>), Vec<&'static str>>,
);

fn ok(
    name: &'static str,
    file: &[u8],
    blocks: &'static str,
    bytes: &[u8],
    says: Vec<&'static str>,
) -> Case {
    (name, file.to_vec(), blocks, Ok((bytes.to_vec(), says)))
}

fn err(name: &'static str, file: &[u8], blocks: &'static str, says: Vec<&'static str>) -> Case {
    (name, file.to_vec(), blocks, Err(says))
}

#[test]
fn edits_table() {
    let cases: Vec<Case> = vec![
        ok(
            "replace middle",
            FIVE,
            "LINE 2-3\nb\nc\nEND",
            b"1\nb\nc\n4\n5\n",
            vec![
                "edited f: applied 1 block; the file now has 5 lines (was 5)",
                "- LINE 2-3: replaced lines 2-3 (2 lines) with 2 lines (now lines 2-3)",
            ],
        ),
        ok(
            "insert at top",
            FIVE,
            "LINE 1-0\n0\nEND",
            b"0\n1\n2\n3\n4\n5\n",
            vec!["- LINE 1-0: inserted 1 line at the top (now line 1)"],
        ),
        ok(
            "insert in the middle",
            FIVE,
            "LINE 3-2\nx\ny\nEND",
            b"1\n2\nx\ny\n3\n4\n5\n",
            vec!["- LINE 3-2: inserted 2 lines before line 3 (now lines 3-4)"],
        ),
        ok(
            "append",
            FIVE,
            "LINE 6-5\n6\nEND\n",
            b"1\n2\n3\n4\n5\n6\n",
            vec!["- LINE 6-5: appended 1 line after the last line (now line 6)"],
        ),
        ok(
            "delete",
            FIVE,
            "LINE 2-4\nEND",
            b"1\n5\n",
            vec![
                "- LINE 2-4: deleted lines 2-4 (3 lines)",
                "now has 2 lines (was 5)",
            ],
        ),
        ok(
            "delete everything",
            b"a\nb\n",
            "LINE 1-2\nEND",
            b"",
            vec!["deleted lines 1-2"],
        ),
        ok(
            "single-number header",
            FIVE,
            "LINE 2\ntwo\nEND",
            b"1\ntwo\n3\n4\n5\n",
            vec!["- LINE 2: replaced line 2 with 1 line"],
        ),
        ok(
            "several blocks against the original numbering",
            FIVE,
            "LINE 1-1\none\nEND\nLINE 3-3\nthree\nthree-b\nEND\nLINE 5-5\nEND",
            b"one\n2\nthree\nthree-b\n4\n",
            vec![
                "applied 3 blocks",
                "- LINE 1-1: replaced line 1 with 1 line (now line 1)",
                "(now lines 3-4)",
                "- LINE 5-5: deleted line 5",
            ],
        ),
        ok(
            "blocks out of order",
            FIVE,
            "LINE 5-5\nfive\nEND\nLINE 1-1\none\nEND",
            b"one\n2\n3\n4\nfive\n",
            vec![],
        ),
        ok(
            "insert and replace at the same line",
            FIVE,
            "LINE 2-2\nrep\nEND\nLINE 2-1\nins\nEND",
            b"1\nins\nrep\n3\n4\n5\n",
            vec![
                "- LINE 2-1: inserted 1 line before line 2 (now line 2)",
                "- LINE 2-2: replaced line 2 with 1 line (now line 3)",
            ],
        ),
        ok(
            "end clamped",
            FIVE,
            "LINE 4-9\nX\nEND",
            b"1\n2\n3\nX\n",
            vec!["[end 9 was past the last line and was clamped to 5]"],
        ),
        ok(
            "start just past the end appends",
            FIVE,
            "LINE 6-6\nx\nEND",
            b"1\n2\n3\n4\n5\nx\n",
            vec!["appended", "clamped to 5"],
        ),
        ok(
            "END as content",
            FIVE,
            "LINE 2-2\ncat <<END\nhi\nEND\nEND\n",
            b"1\ncat <<END\nhi\nEND\n3\n4\n5\n",
            vec![],
        ),
        ok(
            "blank lines between blocks and as content",
            FIVE,
            "\nLINE 1-1\n\nEND\n\n\nLINE 3-3\nx\nEND\n\n",
            b"\n2\nx\n4\n5\n",
            vec![],
        ),
        ok(
            "indentation kept verbatim",
            b"a\n",
            "LINE 1-1\n    x\ty  \n\tz\nEND",
            b"    x\ty  \n\tz\n",
            vec![],
        ),
        ok(
            "crlf file",
            b"a\r\nb\r\nc\r\n",
            "LINE 2-2\nB1\nB2\nEND",
            b"a\r\nB1\r\nB2\r\nc\r\n",
            vec!["kept the file's CRLF line endings"],
        ),
        ok(
            "crlf blocks text",
            b"a\r\nb\r\nc\r\n",
            "LINE 2-2\r\nB\r\nEND\r\n",
            b"a\r\nB\r\nc\r\n",
            vec![],
        ),
        ok(
            "crlf append",
            b"a\r\nb\r\n",
            "LINE 3-2\nc\nEND",
            b"a\r\nb\r\nc\r\n",
            vec![],
        ),
        ok(
            "mixed endings",
            b"a\r\nb\nc\r\n",
            "LINE 3-3\nC\nEND",
            b"a\r\nb\nC\r\n",
            vec![],
        ),
        ok(
            "cr-only file",
            b"a\rb\r",
            "LINE 2-1\nx\nEND",
            b"a\rx\rb\r",
            vec![],
        ),
        ok(
            "no final newline: replace last",
            b"a\nb",
            "LINE 2-2\nB\nEND",
            b"a\nB",
            vec![],
        ),
        ok(
            "no final newline: append",
            b"a\r\nb",
            "LINE 3-2\nc\nEND",
            b"a\r\nb\r\nc",
            vec![],
        ),
        ok(
            "no final newline: delete last",
            b"a\nb\nc",
            "LINE 3-3\nEND",
            b"a\nb",
            vec![],
        ),
        ok(
            "no final newline: insert before last",
            b"a\nb",
            "LINE 2-1\nx\nEND",
            b"a\nx\nb",
            vec![],
        ),
        ok(
            "no final newline: replace last and append",
            b"a\nb",
            "LINE 2-2\nB\nEND\nLINE 3-2\nc\nEND",
            b"a\nB\nc",
            vec![],
        ),
        ok("empty file", b"", "LINE 1-0\nx\nEND", b"x\n", vec![]),
        ok(
            "utf-8 bom",
            b"\xEF\xBB\xBFa\nb\n",
            "LINE 1-1\nA\nEND",
            b"\xEF\xBB\xBFA\nb\n",
            vec!["kept the file's UTF-8 with BOM"],
        ),
        ok(
            "utf-16 le crlf",
            &utf16("x\r\ny\r\n", true),
            "LINE 2-1\né\nEND",
            &utf16("x\r\né\r\ny\r\n", true),
            vec!["UTF-16 LE with BOM, CRLF line endings"],
        ),
        ok(
            "utf-16 be no final newline",
            &utf16("x\ny", false),
            "LINE 2-2\nz\nEND",
            &utf16("x\nz", false),
            vec![],
        ),
        err(
            "start past the end",
            FIVE,
            "LINE 7-7\nx\nEND",
            vec!["line 7 is past the end of the file, which has 5 lines; to append use `LINE 6-5`"],
        ),
        err(
            "overlap",
            FIVE,
            "LINE 1-3\na\nEND\nLINE 3-4\nb\nEND",
            vec!["blocks `LINE 1-3` and `LINE 3-4` overlap (both change line 3)"],
        ),
        err(
            "same insertion point",
            FIVE,
            "LINE 2-1\na\nEND\nLINE 2-1\nb\nEND",
            vec!["overlap (both insert before line 2)"],
        ),
        err(
            "insertion inside a replaced range",
            FIVE,
            "LINE 2-4\nx\nEND\nLINE 3-2\ny\nEND",
            vec!["blocks `LINE 2-4` and `LINE 3-2` overlap"],
        ),
        err(
            "malformed header",
            FIVE,
            "LINE a-b\nx\nEND",
            vec!["malformed header `LINE a-b`"],
        ),
        err(
            "text outside a block",
            FIVE,
            "hello\nLINE 1-1\nx\nEND",
            vec!["line 1 of blocks: expected a header `LINE a-b`, got `hello`"],
        ),
        err(
            "text after END",
            FIVE,
            "LINE 1-1\nx\nEND\nstray\n",
            vec![
                "block `LINE 1-1` has no closing `END` line (the `END` on line 3 of blocks was read as a replacement line because the next line, `stray`, is not a `LINE` header",
            ],
        ),
        err(
            "text after END, then a block",
            FIVE,
            "LINE 1-1\nx\nEND\nstray\nLINE 3-3\ny\nEND",
            vec!["comes before its `END` (the `END` on line 3 of blocks"],
        ),
        err(
            "missing END at the end",
            FIVE,
            "LINE 1-1\nx",
            vec!["block `LINE 1-1` has no closing `END` line"],
        ),
        err(
            "missing END before the next header",
            FIVE,
            "LINE 1-1\nx\nLINE 3-3\ny\nEND",
            vec![
                "block `LINE 1-1` is not closed: the header `LINE 3-3` (line 3 of blocks) comes before its `END`",
            ],
        ),
        err(
            "line zero",
            FIVE,
            "LINE 0-0\nx\nEND",
            vec!["lines are numbered from 1", "LINE 1-0"],
        ),
        err(
            "end before start",
            FIVE,
            "LINE 5-2\nx\nEND",
            vec!["the end 2 is before the start 5", "`LINE 5-4`"],
        ),
        // Found by fuzzing (docs/reliability.md, "Fuzzing"): the largest number overflowed.
        err(
            "largest line number",
            FIVE,
            "LINE 18446744073709551615\nx\nEND",
            vec!["line 18446744073709551615 is past the end of the file, which has 5 lines"],
        ),
        err(
            "largest start, small end",
            FIVE,
            "LINE 18446744073709551615-2\nx\nEND",
            vec!["the end 2 is before the start 18446744073709551615"],
        ),
        err(
            "read_file prefixes",
            FIVE,
            "LINE 1-2\n     1\tfoo\n     2\tbar\nEND",
            vec!["line number and a tab"],
        ),
        err("no blocks", FIVE, "\n\n", vec!["blocks is empty"]),
        err(
            "binary",
            b"\0",
            "LINE 1-1\nx\nEND",
            vec!["binary file (1 byte)"],
        ),
    ];
    for (name, file, blocks, expect) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, &file).unwrap();
        let out = edit(&json!({"path": "f", "blocks": blocks}), &ctx(dir.path()));
        match expect {
            Ok((bytes, says)) => {
                assert!(!out.is_error, "{name}: {}", out.text);
                let got = std::fs::read(&path).unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&bytes),
                    "{name}"
                );
                assert_eq!(got, bytes, "{name}");
                for s in says {
                    assert!(out.text.contains(s), "{name}: {:?} lacks {s:?}", out.text);
                }
                assert!(
                    out.diff
                        .as_deref()
                        .is_some_and(|d| d.starts_with("--- a/f\n+++ b/f\n@@")),
                    "{name}"
                );
            }
            Err(fragments) => {
                assert!(out.is_error, "{name}: {}", out.text);
                for f in fragments {
                    assert!(out.text.contains(f), "{name}: {:?} lacks {f:?}", out.text);
                }
                assert_eq!(
                    std::fs::read(&path).unwrap(),
                    file,
                    "{name}: file untouched"
                );
            }
        }
    }
}

#[test]
fn unchanged_content_is_not_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f"), FIVE).unwrap();
    let out = edit(
        &json!({"path": "f", "blocks": "LINE 2-2\n2\nEND"}),
        &ctx(dir.path()),
    );
    assert!(!out.is_error && out.diff.is_none(), "{out:?}");
    assert!(out.text.starts_with("f is unchanged"), "{}", out.text);
}

#[test]
fn parses_blocks() {
    let blocks = parse_blocks("LINE 3 - 4\na\n\nEND  \nLINE 9\nEND").unwrap();
    assert_eq!(
        blocks,
        vec![
            Block {
                header: "LINE 3 - 4".into(),
                start: 3,
                end: 4,
                lines: vec!["a".into(), "".into()]
            },
            Block {
                header: "LINE 9".into(),
                start: 9,
                end: 9,
                lines: vec![]
            },
        ]
    );
    assert!(parse_header("LINEAR 3-4").is_none());
    assert!(parse_header("  LINE 3-4").is_some_and(|h| h == Ok((3, 4))));
}

#[tokio::test]
async fn the_tool_runs_and_declares_itself() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "x\n").unwrap();
    let out = EditLines
        .run(
            json!({"path": "a.txt", "blocks": "LINE 1-1\ny\nEND"}),
            &ctx(dir.path()),
        )
        .await;
    assert!(!out.is_error, "{}", out.text);
    assert_eq!(
        out.diff.as_deref(),
        Some("--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-x\n+y\n")
    );
    assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"y\n");
    assert_eq!(EditLines.kind(), ToolKind::Mutating);
    assert_eq!(
        EditLines.parameters()["required"],
        json!(["path", "blocks"])
    );
    assert!(EditLines.description().contains("LINE 5-4 inserts before"));
}

/// Every input the fuzzer found a crash with (tests/fixtures/fuzz/edit_lines/: the blocks, a NUL
/// byte, the file) is an ordinary edit now: an answer, never a panic.
#[test]
fn fuzz_crashes_are_answered() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/fuzz/edit_lines");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let (blocks, file) = text.split_once('\0').unwrap_or((&text, ""));
        let _ = edit_text(blocks, file);
        seen += 1;
    }
    assert!(seen > 0, "no inputs in {}", dir.display());
}
