//! Parsing of `scorpiox-env.txt` files: `KEY=VALUE` lines, `#` comments, BOM, CRLF, quotes.

use std::io::ErrorKind;
use std::path::Path;

use crate::ConfigError;
use crate::keys::valid_key;

/// One `KEY=VALUE` line of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub key: String,
    pub value: String,
    /// 1-based line number.
    pub line: usize,
}

/// Read and parse a file. A missing file is `Ok(None)`; any other read failure is an error
/// naming the path.
pub(crate) fn read_file(path: &Path) -> Result<Option<Vec<Line>>, ConfigError> {
    match std::fs::read(path) {
        Ok(bytes) => parse(path, &bytes).map(Some),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        // A path component that is a file (".../file/scorpiox-env.txt") also means "not there".
        Err(e) if e.kind() == ErrorKind::NotADirectory => Ok(None),
        Err(source) => Err(ConfigError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Split file contents into logical lines (BOM skipped, `\r\n` or `\n`), numbered from 1.
pub(crate) fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let count = if bytes.is_empty() {
        0
    } else {
        bytes.split(|&b| b == b'\n').count() - usize::from(bytes.ends_with(b"\n"))
    };
    bytes
        .split(|&b| b == b'\n')
        .take(count)
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .enumerate()
        .map(|(i, l)| (i + 1, l))
}

/// What one line of a file is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed<'a> {
    /// Blank or comment.
    Nothing,
    Pair(&'a str, &'a str),
    /// Malformed: the reason, phrased for the error message.
    Bad(String),
}

/// Parse one logical line (already without its line ending).
pub(crate) fn parse_line(text: &str) -> Parsed<'_> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Parsed::Nothing;
    }
    let Some((key, value)) = trimmed.split_once('=') else {
        return Parsed::Bad(format!("malformed line (expected KEY=VALUE): {trimmed:?}"));
    };
    let key = key.trim();
    if !valid_key(key) {
        return Parsed::Bad(format!(
            "malformed line (invalid key {key:?}; keys are letters, digits and _, \
             not starting with a digit): {trimmed:?}"
        ));
    }
    Parsed::Pair(key, unquote(value.trim()))
}

/// Strip one pair of matching surrounding double or single quotes.
pub(crate) fn unquote(v: &str) -> &str {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &v[1..v.len() - 1]
    } else {
        v
    }
}

/// Parse whole file contents; the first malformed line is an error naming `path` and the line.
pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<Line>, ConfigError> {
    let mut out = Vec::new();
    for (n, raw) in lines(bytes) {
        let malformed = |reason: String| ConfigError::Malformed {
            path: path.to_path_buf(),
            line: n,
            reason,
        };
        let text = std::str::from_utf8(raw)
            .map_err(|_| malformed("line is not valid UTF-8".to_string()))?;
        match parse_line(text) {
            Parsed::Nothing => {}
            Parsed::Pair(key, value) => out.push(Line {
                key: key.to_string(),
                value: value.to_string(),
                line: n,
            }),
            Parsed::Bad(reason) => return Err(malformed(reason)),
        }
    }
    Ok(out)
}

/// The `KEY=VALUE` pairs of a file's contents with their line numbers, exactly as [`parse`]
/// reads them: the entry point of the config parser's fuzz target (docs/reliability.md,
/// "Fuzzing"), not an API.
#[doc(hidden)]
pub fn parse_text(bytes: &[u8]) -> Result<Vec<(String, String, usize)>, ConfigError> {
    let lines = parse(Path::new("scorpiox-env.txt"), bytes)?;
    Ok(lines
        .into_iter()
        .map(|l| (l.key, l.value, l.line))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn pairs(s: &str) -> Vec<(String, String, usize)> {
        parse(Path::new("/x/scorpiox-env.txt"), s.as_bytes())
            .unwrap()
            .into_iter()
            .map(|l| (l.key, l.value, l.line))
            .collect()
    }

    fn p(k: &str, v: &str, n: usize) -> (String, String, usize) {
        (k.to_string(), v.to_string(), n)
    }

    #[test]
    fn basic_comments_blank_and_trim() {
        let got = pairs("# comment\n\n  A = 1 \n   # indented comment\nB=two words\nC=\n");
        assert_eq!(
            got,
            vec![p("A", "1", 3), p("B", "two words", 5), p("C", "", 6)]
        );
    }

    #[test]
    fn bom_and_crlf() {
        let got = pairs("\u{feff}A=1\r\nB=2\r\n\r\nC=3");
        assert_eq!(got, vec![p("A", "1", 1), p("B", "2", 2), p("C", "3", 4)]);
    }

    #[test]
    fn quotes_stripped_once_and_hash_kept() {
        let got = pairs(
            "A=\"quoted value\"\nB='single'\nC=\"\"x\"\"\nD=\"mismatch'\nE=\"\nF=http://h/p#frag\nG=a=b",
        );
        assert_eq!(
            got,
            vec![
                p("A", "quoted value", 1),
                p("B", "single", 2),
                p("C", "\"x\"", 3),
                p("D", "\"mismatch'", 4),
                p("E", "\"", 5),
                p("F", "http://h/p#frag", 6),
                p("G", "a=b", 7),
            ]
        );
        assert_eq!(pairs("A=\"  spaced  \"")[0].1, "  spaced  ");
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let e = parse(
            Path::new("/h/.scorpiox/scorpiox-env.txt"),
            b"# c\nA=1\nfoo\n",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "/h/.scorpiox/scorpiox-env.txt:3: malformed line (expected KEY=VALUE): \"foo\"; \
             fix or remove that line"
        );
        let e = parse(Path::new("/f"), b"1A=2").unwrap_err();
        assert!(matches!(e, ConfigError::Malformed { line: 1, .. }), "{e}");
        assert!(e.to_string().contains("invalid key \"1A\""), "{e}");
        let e = parse(Path::new("/f"), b"A B=2").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/f:1: malformed line (invalid key"),
            "{e}"
        );
        let e = parse(Path::new("/f"), b"A=1\nB=\xff\n").unwrap_err();
        assert!(
            e.to_string().starts_with("/f:2: line is not valid UTF-8"),
            "{e}"
        );
    }

    #[test]
    fn missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_file(&dir.path().join("nope.txt")).unwrap(), None);
        assert_eq!(read_file(&dir.path().join("nope/x.txt")).unwrap(), None);
        // A directory where a file should be is an error naming the path.
        let e = read_file(dir.path()).unwrap_err();
        assert!(
            e.to_string().contains(&dir.path().display().to_string()),
            "{e}"
        );
    }

    #[test]
    fn line_numbers_count_every_line() {
        let n: Vec<usize> = lines(b"a\n\nb\n").map(|(n, _)| n).collect();
        assert_eq!(n, vec![1, 2, 3]);
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"x").count(), 1);
    }
}
