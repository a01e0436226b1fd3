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

struct Case {
    name: &'static str,
    file: Vec<u8>,
    old: &'static str,
    new: &'static str,
    replace_all: bool,
    /// Ok(expected bytes, fragment of the result) or Err(fragments of the error).
    expect: Result<(Vec<u8>, &'static str), Vec<&'static str>>,
}

fn ok(
    name: &'static str,
    file: &[u8],
    old: &'static str,
    new: &'static str,
    bytes: &[u8],
    says: &'static str,
) -> Case {
    Case {
        name,
        file: file.to_vec(),
        old,
        new,
        replace_all: false,
        expect: Ok((bytes.to_vec(), says)),
    }
}

fn err(
    name: &'static str,
    file: &[u8],
    old: &'static str,
    new: &'static str,
    says: Vec<&'static str>,
) -> Case {
    Case {
        name,
        file: file.to_vec(),
        old,
        new,
        replace_all: false,
        expect: Err(says),
    }
}

#[test]
fn edits_table() {
    let cases = vec![
        ok(
            "unique",
            b"a\nb\nc\n",
            "b",
            "B",
            b"a\nB\nc\n",
            "edited f: replaced 1 occurrence at line 2",
        ),
        ok(
            "crlf multi-line with \\n strings",
            b"fn a() {\r\n    1\r\n}\r\n",
            "fn a() {\n    1\n}",
            "fn a() {\n    2\n    3\n}",
            b"fn a() {\r\n    2\r\n    3\r\n}\r\n",
            "at line 1",
        ),
        ok(
            "crlf with \\r\\n strings",
            b"x\r\ny\r\n",
            "x\r\ny",
            "y\r\nx",
            b"y\r\nx\r\n",
            "at line 1",
        ),
        ok(
            "utf-8 bom",
            b"\xEF\xBB\xBFk = 1\n",
            "1",
            "2",
            b"\xEF\xBB\xBFk = 2\n",
            "at line 1",
        ),
        Case {
            name: "utf-16 le",
            file: utf16("a\r\nb\r\nc\r\n", true),
            old: "b\n",
            new: "B1\nB2\n",
            replace_all: false,
            expect: Ok((utf16("a\r\nB1\r\nB2\r\nc\r\n", true), "at line 2")),
        },
        Case {
            name: "utf-16 be",
            file: utf16("x\ny", false),
            old: "y",
            new: "why",
            replace_all: false,
            expect: Ok((utf16("x\nwhy", false), "at line 2")),
        },
        ok(
            "no final newline",
            b"a\nb",
            "b",
            "b2\nb3",
            b"a\nb2\nb3",
            "at line 2",
        ),
        ok(
            "mixed endings",
            b"l1\r\nl2\nl3\r\n",
            "l2\n",
            "L2\nL2b\n",
            b"l1\r\nL2\nL2b\nl3\r\n",
            "at line 2",
        ),
        ok(
            "cr-only file",
            b"a\rb\rc\r",
            "b\r",
            "x\ry\r",
            b"a\rx\ry\rc\r",
            "at line 2",
        ),
        ok(
            "delete",
            b"keep\ndrop\nkeep\n",
            "drop\n",
            "",
            b"keep\nkeep\n",
            "at line 2",
        ),
        ok(
            "fuzzy: spaces for tabs",
            b"fn f() {\n\tif x {\n\t\ty();\n\t}\n}\n",
            "    if x {\n        y();\n    }",
            "    if x {\n        y();\n        z();\n            w();\n    }",
            b"fn f() {\n\tif x {\n\t\ty();\n\t\tz();\n\t\t\tw();\n\t}\n}\n",
            "matched lines 2-4 only when indentation and trailing whitespace are ignored",
        ),
        ok(
            "fuzzy: tabs for spaces",
            b"if x {\n    y();\n}\n",
            "if x {\n\ty();\n}\n",
            "if x {\n\ty();\n\tif z {\n\t\tw();\n\t}\n}\n",
            b"if x {\n    y();\n    if z {\n        w();\n    }\n}\n",
            "re-indented",
        ),
        ok(
            "fuzzy: model dropped the common indentation",
            b"class A:\n    def f(self):\n        return 1\n",
            "def f(self):\n    return 1\n",
            "def f(self):\n    x = 1\n    return x\n",
            b"class A:\n    def f(self):\n        x = 1\n        return x\n",
            "replaced 1 occurrence at line 2",
        ),
        ok(
            "fuzzy: trailing whitespace kept on unchanged lines",
            b"foo  \nbar\t\nbaz\n",
            "foo\nbar\n",
            "foo\nBAR\n",
            b"foo  \nBAR\nbaz\n",
            "matched lines 1-2",
        ),
        ok(
            "fuzzy over crlf",
            b"\tif a {\r\n\t\tb()\r\n\t}\r\n",
            "    if a {\r\n        b()\r\n    }",
            "    if a {\r\n        c()\r\n    }",
            b"\tif a {\r\n\t\tc()\r\n\t}\r\n",
            "matched lines 1-3",
        ),
        Case {
            name: "replace_all",
            file: b"x = 1\ny = 2\nx = 1\n".to_vec(),
            old: "x = 1",
            new: "x = 9",
            replace_all: true,
            expect: Ok((
                b"x = 9\ny = 2\nx = 9\n".to_vec(),
                "replaced 2 occurrences at lines 1, 3",
            )),
        },
        err(
            "ambiguous",
            b"x = 1\ny = 2\nx = 1\n",
            "x = 1",
            "x = 2",
            vec!["occurs 2 times", "lines 1, 3", "replace_all"],
        ),
        err(
            "overlapping occurrences",
            b"aaa\n",
            "aa",
            "b",
            vec!["occurs 2 times"],
        ),
        err(
            "fuzzy ambiguous",
            b"\tx();\n\tx();\n",
            "  x();  \n",
            "y();\n",
            vec!["matches 2 places (lines 1, 2)"],
        ),
        err(
            "not found: nearest region",
            b"alpha\nfn compute(a, b) {\n    a + b\n}\nomega\n",
            "fn compute(a, c) {\n    a + c\n}",
            "x",
            vec![
                "old_string not found in f",
                "lines 2-4",
                "     2\tfn compute(a, b) {\n     3\t    a + b\n     4\t}\n",
            ],
        ),
        err(
            "not found: nothing similar",
            b"alpha\n",
            "zzzz qqqq",
            "x",
            vec!["Nothing in the file resembles it"],
        ),
        err(
            "line-number prefixes",
            b"real\n",
            "     1\tfake",
            "x",
            vec!["line-number prefixes"],
        ),
        err(
            "only line endings differ",
            b"a\r\n",
            "a\r\n",
            "a\n",
            vec!["differ only in line endings"],
        ),
        err("same strings", b"a\n", "a", "a", vec!["identical"]),
        err(
            "empty old_string",
            b"a\n",
            "",
            "b",
            vec!["old_string is empty", "write_file"],
        ),
        err("binary", b"\0\0", "a", "b", vec!["binary file (2 bytes)"]),
    ];
    for case in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, &case.file).unwrap();
        let args = json!({"path": "f", "old_string": case.old, "new_string": case.new, "replace_all": case.replace_all});
        let out = edit(&args, &ctx(dir.path()));
        let name = case.name;
        match case.expect {
            Ok((bytes, says)) => {
                assert!(!out.is_error, "{name}: {}", out.text);
                assert!(
                    out.text.contains(says),
                    "{name}: {:?} lacks {says:?}",
                    out.text
                );
                let got = std::fs::read(&path).unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&bytes),
                    "{name}"
                );
                assert_eq!(got, bytes, "{name}");
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
                    case.file,
                    "{name}: file untouched"
                );
            }
        }
    }
}

#[test]
fn missing_file_points_to_write_file() {
    let dir = tempfile::tempdir().unwrap();
    for old in ["", "x"] {
        let out = edit(
            &json!({"path": "new.txt", "old_string": old, "new_string": "y"}),
            &ctx(dir.path()),
        );
        assert!(out.is_error);
        assert!(
            out.text.contains("file not found: new.txt") && out.text.contains("use write_file"),
            "{}",
            out.text
        );
    }
    assert!(!dir.path().join("new.txt").exists());
}

#[test]
fn reindent_maps_levels() {
    // 2-space model indentation onto a 4-space file.
    let r = Reindent::new(
        &["a", "  b", "    c"],
        &["    a", "        b", "            c"],
        &[],
    );
    assert_eq!(r.apply("      d"), "                d");
    assert_eq!(r.apply("  e"), "        e");
    assert_eq!(r.apply("f"), "    f");
    assert_eq!(r.apply("   "), "");
}

#[tokio::test]
async fn the_tool_runs_and_declares_itself() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "hello\n").unwrap();
    let args = json!({"path": "a.txt", "old_string": "hello", "new_string": "bye"});
    let out = EditFile.run(args, &ctx(dir.path())).await;
    assert_eq!(out.text, "edited a.txt: replaced 1 occurrence at line 1");
    assert_eq!(
        out.diff.as_deref(),
        Some("--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-hello\n+bye\n")
    );
    assert_eq!(EditFile.kind(), ToolKind::Mutating);
    assert_eq!(
        EditFile.parameters()["required"],
        json!(["path", "old_string", "new_string"])
    );
}
