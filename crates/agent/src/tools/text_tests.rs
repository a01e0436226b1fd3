use super::*;
use pretty_assertions::assert_eq;

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

#[test]
fn decode_detects_encoding_and_style_and_round_trips() {
    use Encoding::*;
    use LineEnding::*;
    // (name, bytes, encoding, style, normalized text)
    let cases: Vec<(&str, Vec<u8>, Encoding, LineEnding, &str)> = vec![
        ("empty", b"".to_vec(), Utf8, Lf, ""),
        ("lf", b"a\nb\n".to_vec(), Utf8, Lf, "a\nb\n"),
        ("crlf", b"a\r\nb\r\n".to_vec(), Utf8, CrLf, "a\nb\n"),
        ("cr", b"a\rb\rc".to_vec(), Utf8, Cr, "a\nb\nc"),
        ("no final newline", b"a\r\nb".to_vec(), Utf8, CrLf, "a\nb"),
        (
            "mixed, crlf wins",
            b"a\r\nb\r\nc\nd".to_vec(),
            Utf8,
            CrLf,
            "a\nb\nc\nd",
        ),
        (
            "tie goes to the first",
            b"a\nb\r\n".to_vec(),
            Utf8,
            Lf,
            "a\nb\n",
        ),
        (
            "stray cr is content",
            b"a\rb\nc\n".to_vec(),
            Utf8,
            Lf,
            "a\rb\nc\n",
        ),
        ("cr before crlf", b"a\r\r\nb".to_vec(), Utf8, CrLf, "a\r\nb"),
        ("bom", b"\xEF\xBB\xBFx\r\n".to_vec(), Utf8Bom, CrLf, "x\n"),
        ("bom only", b"\xEF\xBB\xBF".to_vec(), Utf8Bom, Lf, ""),
        (
            "utf16le",
            utf16("h\u{e9}\r\n\u{1F600}\r\n", true),
            Utf16Le,
            CrLf,
            "h\u{e9}\n\u{1F600}\n",
        ),
        ("utf16be", utf16("x\ny", false), Utf16Be, Lf, "x\ny"),
        (
            "multibyte utf8",
            "é\n€\n".as_bytes().to_vec(),
            Utf8,
            Lf,
            "é\n€\n",
        ),
    ];
    for (name, bytes, encoding, style, text) in cases {
        let file = TextFile::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(file.encoding(), encoding, "{name}");
        assert_eq!(file.style(), style, "{name}");
        assert_eq!(file.text(), text, "{name}");
        assert_eq!(file.encode(), bytes, "{name}: round trip");
    }
}

#[test]
fn undecodable_bytes_say_why() {
    let cases: Vec<(&str, Vec<u8>, Undecodable)> = vec![
        ("nul", b"ab\0c".to_vec(), Undecodable::Nul { offset: 2 }),
        (
            "latin-1",
            b"caf\xE9\n".to_vec(),
            Undecodable::InvalidUtf8 {
                offset: 3,
                byte: 0xE9,
            },
        ),
        (
            "bom then bad utf8",
            b"\xEF\xBB\xBFa\xFF".to_vec(),
            Undecodable::InvalidUtf8 {
                offset: 4,
                byte: 0xFF,
            },
        ),
        (
            "utf16 odd length",
            vec![0xFF, 0xFE, b'a', 0, b'b'],
            Undecodable::InvalidUtf16 { offset: 4 },
        ),
        (
            "lone surrogate",
            vec![0xFF, 0xFE, b'a', 0, 0x00, 0xD8, b'b', 0],
            Undecodable::InvalidUtf16 { offset: 4 },
        ),
        (
            "utf16 nul",
            vec![0xFE, 0xFF, 0, b'a', 0, 0],
            Undecodable::Nul { offset: 4 },
        ),
        (
            "png",
            b"\x89PNG\r\n\x1a\n\0\0".to_vec(),
            Undecodable::Nul { offset: 8 },
        ),
    ];
    for (name, bytes, why) in cases {
        assert_eq!(TextFile::decode(&bytes), Err(why), "{name}");
    }
}

#[test]
fn splice_keeps_untouched_endings_and_gives_new_breaks_the_local_one() {
    // (name, bytes, range in normalized text, replacement, expected bytes)
    type Case = (
        &'static str,
        &'static [u8],
        std::ops::Range<usize>,
        &'static str,
        &'static [u8],
    );
    let cases: Vec<Case> = vec![
        (
            "crlf insert",
            b"a\r\nb\r\n",
            2..2,
            "x\ny\n",
            b"a\r\nx\r\ny\r\nb\r\n",
        ),
        (
            "crlf same count keeps",
            b"a\r\nb\nc\r\n",
            0..4,
            "A\nB\n",
            b"A\r\nB\nc\r\n",
        ),
        (
            "mixed: insertion takes the line's ending",
            b"a\r\nb\nc\r\n",
            2..2,
            "x\n",
            b"a\r\nx\nb\nc\r\n",
        ),
        ("delete a line", b"a\r\nb\r\nc", 2..4, "", b"a\r\nc"),
        (
            "append after last break",
            b"a\r\n",
            2..2,
            "b\n",
            b"a\r\nb\r\n",
        ),
        ("no breaks: lf", b"abc", 1..2, "\n", b"a\nc"),
        ("cr file", b"a\rb\r", 2..3, "x\ny", b"a\rx\ry\r"),
    ];
    for (name, bytes, range, replacement, expected) in cases {
        let mut file = TextFile::decode(bytes).unwrap();
        file.splice(range, replacement);
        assert_eq!(
            String::from_utf8_lossy(&file.encode()),
            String::from_utf8_lossy(expected),
            "{name}"
        );
    }
}

#[test]
fn replace_text_keeps_the_endings_of_unchanged_lines() {
    let mut file = TextFile::decode(b"one\r\ntwo\nthree\r\nfour\r\n").unwrap();
    file.replace_text("one\ntwo\nTHREE\nfour\nfive\n");
    assert_eq!(file.encode(), b"one\r\ntwo\nTHREE\r\nfour\r\nfive\r\n");
    let mut file = TextFile::decode(b"a\r\nb").unwrap();
    file.replace_text("a\nb\n");
    assert_eq!(file.encode(), b"a\r\nb\r\n");
}

#[test]
fn normalize_input_follows_the_file() {
    let lf = TextFile::decode(b"a\n").unwrap();
    assert_eq!(lf.normalize_input("x\r\ny\rz"), "x\ny\rz");
    let cr = TextFile::decode(b"a\rb\r").unwrap();
    assert_eq!(cr.normalize_input("x\r\ny\rz"), "x\ny\nz");
}

#[test]
fn format_note_names_what_is_unusual() {
    let note = |b: &[u8]| TextFile::decode(b).unwrap().format_note();
    assert_eq!(note(b"a\n"), None);
    assert_eq!(note(b"a\r\n").as_deref(), Some("CRLF line endings"));
    assert_eq!(note(b"\xEF\xBB\xBFa\n").as_deref(), Some("UTF-8 with BOM"));
    assert_eq!(
        note(b"a\r\nb\r\nc\n").as_deref(),
        Some("mixed line endings (mostly CRLF)")
    );
    assert_eq!(
        note(&utf16("a\r\n", true)).as_deref(),
        Some("UTF-16 LE with BOM, CRLF line endings")
    );
}

#[test]
fn line_helpers() {
    for (text, count, starts) in [
        ("", 0, vec![]),
        ("a", 1, vec![0]),
        ("a\n", 1, vec![0]),
        ("a\nb", 2, vec![0, 2]),
        ("a\n\n", 2, vec![0, 2]),
        ("\n", 1, vec![0]),
    ] {
        assert_eq!(line_count(text), count, "{text:?}");
        assert_eq!(line_starts(text), starts, "{text:?}");
    }
    assert_eq!(line_at("a\nb\nc", 4), 3);
    assert_eq!(line_at("a\nb\nc", 0), 1);
    let mut s = String::new();
    numbered(&mut s, 7, "x");
    assert_eq!(s, "     7\tx\n");
    assert_eq!(human_size(10), "10 bytes");
    assert_eq!(human_size(11 * 1024 * 1024), "11.0 MB");
}

#[test]
fn unified_diff_has_headers_and_hunks() {
    let d = unified_diff("src/a.rs", "a\nb\nc\n", "a\nB\nc\n");
    assert_eq!(
        d,
        "--- a/src/a.rs\n+++ b/src/a.rs\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
    );
    assert_eq!(unified_diff("x", "same\n", "same\n"), "");
    let d = creation_diff("/abs/new.txt", "x\ny");
    assert_eq!(
        d,
        "--- /dev/null\n+++ /abs/new.txt\n@@ -0,0 +1,2 @@\n+x\n+y\n\\ No newline at end of file\n"
    );
}

#[test]
fn load_refuses_what_is_not_text() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("bin"), b"\x00\x01").unwrap();
    std::fs::write(p.join("big"), vec![b'a'; 100]).unwrap();
    assert!(matches!(
        load(&p.join("missing"), 1000),
        Err(ReadError::NotFound)
    ));
    assert!(matches!(load(p, 1000), Err(ReadError::IsDirectory)));
    assert!(matches!(
        load(&p.join("bin"), 1000),
        Err(ReadError::Binary { size: 2, .. })
    ));
    assert!(matches!(
        load(&p.join("big"), 99),
        Err(ReadError::TooLarge { size: 100, max: 99 })
    ));
    let msg = load(&p.join("bin"), 1000)
        .unwrap_err()
        .message("bin", &p.join("bin"));
    assert!(
        msg.contains("binary file (2 bytes)") && msg.contains("xxd"),
        "{msg}"
    );
    std::fs::write(p.join("config.toml"), "").unwrap();
    let msg = ReadError::NotFound.message("confg.toml", &p.join("confg.toml"));
    assert!(msg.contains("config.toml") && msg.contains("glob"), "{msg}");
}

#[cfg(unix)]
#[test]
fn write_atomic_keeps_mode_follows_symlinks_and_respects_hard_links() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("script.sh");
    std::fs::write(&p, "old").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o750)).unwrap();
    write_atomic(&p, b"new").unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"new");
    assert_eq!(
        std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o750
    );

    let link = dir.path().join("link.sh");
    std::os::unix::fs::symlink("script.sh", &link).unwrap();
    write_atomic(&link, b"via link").unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&p).unwrap(), b"via link");

    let hard = dir.path().join("hard.sh");
    std::fs::hard_link(&p, &hard).unwrap();
    write_atomic(&hard, b"shared").unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"shared");

    let ro = dir.path().join("ro.txt");
    std::fs::write(&ro, "keep").unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o444)).unwrap();
    assert!(write_atomic(&ro, b"x").is_err());
    assert_eq!(std::fs::read(&ro).unwrap(), b"keep");

    // No temporary files left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}
