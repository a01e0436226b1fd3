//! Text files as the edit tools see them: encoding and line endings detected on read and
//! preserved on write.
//!
//! A file is decoded into a [`TextFile`]: its text with every line break normalized to `\n`
//! (that is what the tools search and splice), plus the original ending of each of those
//! breaks. Encoding puts every untouched break back byte for byte, so a mixed-ending file keeps
//! its bytes wherever it was not edited; breaks added by an edit take the ending of the lines
//! they replace or sit in (see [`TextFile::splice`]).
//!
//! Encodings: UTF-8, UTF-8 with BOM, UTF-16 LE/BE with BOM. Anything else that is not valid
//! UTF-8, and any text containing NUL, is "binary" and refused with a reason.
//!
//! Line breaks: `\r\n` and `\n` always; a lone `\r` only in files where lone `\r` is the most
//! common ending (classic Mac files). Elsewhere a stray `\r` is ordinary line content.

use std::ops::Range;

#[path = "text_files.rs"]
mod files;
pub use files::{
    ReadError, check_file, creation_diff, load, save, similar_names, unified_diff, write_atomic,
};

/// Above this size `read_file` needs an explicit `offset`/`limit`.
pub const MAX_READ_BYTES: u64 = 10 * 1024 * 1024;
/// The edit tools load files whole; above this they refuse.
pub const MAX_EDIT_BYTES: u64 = 64 * 1024 * 1024;

const BOM_UTF8: &[u8] = &[0xEF, 0xBB, 0xBF];
const BOM_UTF16LE: &[u8] = &[0xFF, 0xFE];
const BOM_UTF16BE: &[u8] = &[0xFE, 0xFF];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
}

impl Encoding {
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf8Bom => "UTF-8 with BOM",
            Encoding::Utf16Le => "UTF-16 LE with BOM",
            Encoding::Utf16Be => "UTF-16 BE with BOM",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    CrLf,
    Cr,
}

impl LineEnding {
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
            LineEnding::Cr => "\r",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            LineEnding::Lf => "LF",
            LineEnding::CrLf => "CRLF",
            LineEnding::Cr => "CR",
        }
    }
}

/// Why bytes are not text we edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undecodable {
    /// A NUL at this byte offset.
    Nul { offset: usize },
    /// Not UTF-8: the first bad byte and its offset.
    InvalidUtf8 { offset: usize, byte: u8 },
    /// A UTF-16 file (with BOM) that does not decode: odd length or a lone surrogate.
    InvalidUtf16 { offset: usize },
}

impl std::fmt::Display for Undecodable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Undecodable::Nul { offset } => write!(f, "it contains a NUL byte at offset {offset}"),
            Undecodable::InvalidUtf8 { offset, byte } => write!(
                f,
                "it is not valid UTF-8 (byte 0x{byte:02X} at offset {offset}) and has no \
                 UTF-16 BOM; legacy encodings such as Latin-1 are not supported"
            ),
            Undecodable::InvalidUtf16 { offset } => {
                write!(
                    f,
                    "it has a UTF-16 BOM but is not valid UTF-16 (at byte offset {offset})"
                )
            }
        }
    }
}

/// A decoded text file: normalized text plus what it takes to write it back unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFile {
    encoding: Encoding,
    /// The text with every line break as `\n`.
    text: String,
    /// The original ending of each `\n` in `text`, in order.
    endings: Vec<LineEnding>,
    /// The dominant ending; `Lf` when the file has no line break.
    style: LineEnding,
}

impl TextFile {
    /// Decode file bytes (BOM sniffing, then strict decoding).
    pub fn decode(bytes: &[u8]) -> Result<TextFile, Undecodable> {
        if let Some(rest) = bytes.strip_prefix(BOM_UTF8) {
            let s = decode_utf8(rest, BOM_UTF8.len())?;
            Ok(TextFile::parse(Encoding::Utf8Bom, s))
        } else if let Some(rest) = bytes.strip_prefix(BOM_UTF16LE) {
            let s = decode_utf16(rest, u16::from_le_bytes)?;
            Ok(TextFile::parse(Encoding::Utf16Le, &s))
        } else if let Some(rest) = bytes.strip_prefix(BOM_UTF16BE) {
            let s = decode_utf16(rest, u16::from_be_bytes)?;
            Ok(TextFile::parse(Encoding::Utf16Be, &s))
        } else {
            let s = decode_utf8(bytes, 0)?;
            Ok(TextFile::parse(Encoding::Utf8, s))
        }
    }

    /// Text that keeps its own line endings (as given), to be written in `encoding`.
    pub fn parse(encoding: Encoding, raw: &str) -> TextFile {
        let style = dominant_ending(raw);
        let lone_cr_breaks = style == LineEnding::Cr;
        let mut text = String::with_capacity(raw.len());
        let mut endings = Vec::new();
        let bytes = raw.as_bytes();
        let mut last = 0;
        for i in memchr::memchr2_iter(b'\r', b'\n', bytes) {
            if i < last {
                continue; // the `\n` of a `\r\n` already taken
            }
            let ending = match bytes[i] {
                b'\n' => LineEnding::Lf,
                _ if bytes.get(i + 1) == Some(&b'\n') => LineEnding::CrLf,
                _ if lone_cr_breaks => LineEnding::Cr,
                _ => continue, // a stray `\r`: content
            };
            text.push_str(&raw[last..i]);
            text.push('\n');
            endings.push(ending);
            last = i + ending.as_str().len();
        }
        text.push_str(&raw[last..]);
        TextFile {
            encoding,
            text,
            endings,
            style,
        }
    }

    /// `text` (normalized, `\n` only) with every line break written as `ending`.
    pub fn with_ending(encoding: Encoding, ending: LineEnding, text: String) -> TextFile {
        let endings = vec![ending; count_newlines(&text)];
        TextFile {
            encoding,
            text,
            endings,
            style: ending,
        }
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }
    /// The dominant line ending (`Lf` for a file without line breaks).
    pub fn style(&self) -> LineEnding {
        self.style
    }
    /// Whether the file has at least one line break (so `style` was detected, not assumed).
    pub fn has_line_breaks(&self) -> bool {
        !self.endings.is_empty()
    }
    /// Whether the line breaks are not all the same.
    pub fn is_mixed(&self) -> bool {
        self.endings.iter().any(|e| *e != self.style)
    }
    /// The normalized text (`\n` line breaks).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Bring a string from the model to this file's normalized form: `\r\n` becomes `\n`, and
    /// in a CR-ending file so does a lone `\r`.
    pub fn normalize_input(&self, s: &str) -> String {
        let s = s.replace("\r\n", "\n");
        if self.style == LineEnding::Cr {
            s.replace('\r', "\n")
        } else {
            s
        }
    }

    /// Replace `range` of the normalized text by `replacement` (normalized).
    ///
    /// Line endings: when the replacement has as many line breaks as the replaced text, the
    /// breaks keep their endings in order; otherwise the new breaks all take the ending of the
    /// replaced breaks when those agree, else of the line the range sits in, else the file's
    /// dominant ending. Breaks outside `range` are never touched.
    pub fn splice(&mut self, range: Range<usize>, replacement: &str) {
        let before = count_newlines(&self.text[..range.start]);
        let removed = count_newlines(&self.text[range.clone()]);
        let added = count_newlines(replacement);
        if removed != added {
            let old = &self.endings[before..before + removed];
            let ending = match old.first() {
                Some(first) if old.iter().all(|e| e == first) => *first,
                Some(_) => self.style,
                None => {
                    let line = self
                        .endings
                        .get(before)
                        .or(before.checked_sub(1).and_then(|i| self.endings.get(i)));
                    line.copied().unwrap_or(self.style)
                }
            };
            self.endings
                .splice(before..before + removed, std::iter::repeat_n(ending, added));
        }
        self.text.replace_range(range, replacement);
    }

    /// Replace the whole text by `new` (normalized). Lines a line diff finds unchanged keep
    /// their endings; changed regions follow [`splice`](Self::splice)'s rule.
    pub fn replace_text(&mut self, new: &str) {
        const MAX_DIFF_BYTES: usize = 8 * 1024 * 1024;
        if self.text.len() + new.len() > MAX_DIFF_BYTES {
            *self = TextFile::with_ending(self.encoding, self.style, new.to_string());
            return;
        }
        let edits: Vec<(Range<usize>, Range<usize>)> = {
            let old_lines: Vec<&str> = self.text.split_inclusive('\n').collect();
            let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
            let offsets = |lines: &[&str]| -> Vec<usize> {
                let mut at = vec![0];
                at.extend(lines.iter().scan(0, |acc, l| {
                    *acc += l.len();
                    Some(*acc)
                }));
                at
            };
            let (old_at, new_at) = (offsets(&old_lines), offsets(&new_lines));
            similar::capture_diff_slices(similar::Algorithm::Myers, &old_lines, &new_lines)
                .iter()
                .filter(|op| op.tag() != similar::DiffTag::Equal)
                .map(|op| {
                    let (o, n) = (op.old_range(), op.new_range());
                    (
                        old_at[o.start]..old_at[o.end],
                        new_at[n.start]..new_at[n.end],
                    )
                })
                .collect()
        };
        for (old, new_range) in edits.into_iter().rev() {
            self.splice(old, &new[new_range]);
        }
    }

    /// The file's bytes: encoding, BOM and every line break's ending restored.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = String::with_capacity(self.text.len() + self.endings.len());
        for (i, segment) in self.text.split('\n').enumerate() {
            if i > 0 {
                out.push_str(self.endings.get(i - 1).unwrap_or(&self.style).as_str());
            }
            out.push_str(segment);
        }
        match self.encoding {
            Encoding::Utf8 => out.into_bytes(),
            Encoding::Utf8Bom => [BOM_UTF8, out.as_bytes()].concat(),
            Encoding::Utf16Le => {
                let mut bytes = BOM_UTF16LE.to_vec();
                bytes.extend(out.encode_utf16().flat_map(u16::to_le_bytes));
                bytes
            }
            Encoding::Utf16Be => {
                let mut bytes = BOM_UTF16BE.to_vec();
                bytes.extend(out.encode_utf16().flat_map(u16::to_be_bytes));
                bytes
            }
        }
    }

    /// A note for the model when the file is not plain UTF-8 with LF endings, e.g.
    /// `UTF-16 LE with BOM, CRLF line endings`; `None` for plain files.
    pub fn format_note(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.encoding != Encoding::Utf8 {
            parts.push(self.encoding.label().to_string());
        }
        if self.is_mixed() {
            parts.push(format!(
                "mixed line endings (mostly {})",
                self.style.label()
            ));
        } else if self.style != LineEnding::Lf {
            parts.push(format!("{} line endings", self.style.label()));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

fn decode_utf8(bytes: &[u8], base: usize) -> Result<&str, Undecodable> {
    if let Some(i) = memchr::memchr(0, bytes) {
        return Err(Undecodable::Nul { offset: base + i });
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        Undecodable::InvalidUtf8 {
            offset: base + offset,
            byte: bytes.get(offset).copied().unwrap_or(0),
        }
    })
}

fn decode_utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, Undecodable> {
    if !bytes.len().is_multiple_of(2) {
        return Err(Undecodable::InvalidUtf16 {
            offset: 2 + bytes.len() - 1,
        });
    }
    let units = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    let mut out = String::with_capacity(bytes.len() / 2);
    let mut at = 0; // in code units
    for c in char::decode_utf16(units) {
        let offset = 2 + 2 * at;
        let c = c.map_err(|_| Undecodable::InvalidUtf16 { offset })?;
        if c == '\0' {
            return Err(Undecodable::Nul { offset });
        }
        at += c.len_utf16();
        out.push(c);
    }
    Ok(out)
}

/// The most common line ending; a lone `\r` wins only with a strict majority over both others.
/// A tie between LF and CRLF goes to whichever comes first. `Lf` when there is none.
fn dominant_ending(raw: &str) -> LineEnding {
    let bytes = raw.as_bytes();
    let (mut lf, mut crlf, mut cr) = (0usize, 0usize, 0usize);
    let mut first = None;
    for i in memchr::memchr2_iter(b'\r', b'\n', bytes) {
        let kind = match bytes[i] {
            b'\n' if i > 0 && bytes[i - 1] == b'\r' => continue,
            b'\n' => {
                lf += 1;
                LineEnding::Lf
            }
            _ if bytes.get(i + 1) == Some(&b'\n') => {
                crlf += 1;
                LineEnding::CrLf
            }
            _ => {
                cr += 1;
                LineEnding::Cr
            }
        };
        if kind != LineEnding::Cr {
            first.get_or_insert(kind);
        }
    }
    if cr > lf && cr > crlf {
        LineEnding::Cr
    } else if crlf > lf {
        LineEnding::CrLf
    } else if lf > crlf {
        LineEnding::Lf
    } else {
        first.unwrap_or(LineEnding::Lf)
    }
}

pub fn count_newlines(s: &str) -> usize {
    memchr::memchr_iter(b'\n', s.as_bytes()).count()
}

/// Lines in normalized text: a final line without `\n` counts, an empty text has none.
pub fn line_count(text: &str) -> usize {
    count_newlines(text) + usize::from(!text.is_empty() && !text.ends_with('\n'))
}

/// The 1-based line holding byte `offset`.
pub fn line_at(text: &str, offset: usize) -> usize {
    count_newlines(&text[..offset.min(text.len())]) + 1
}

/// Byte offset where each line starts (`line_count(text)` entries).
pub fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::with_capacity(line_count(text));
    if !text.is_empty() {
        starts.push(0);
    }
    starts.extend(
        memchr::memchr_iter(b'\n', text.as_bytes())
            .map(|i| i + 1)
            .filter(|&i| i < text.len()),
    );
    starts
}

/// One line in `cat -n` style: number right-aligned in 6 columns, a tab, the line.
pub fn numbered(out: &mut String, number: usize, line: &str) {
    use std::fmt::Write as _;
    let _ = writeln!(out, "{number:>6}\t{line}");
}

/// `1.5 KB`, `23.4 MB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
