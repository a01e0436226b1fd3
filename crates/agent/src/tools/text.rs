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

use std::fs;
use std::io::{self, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

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

/// Why a file could not be loaded as text.
#[derive(Debug)]
pub enum ReadError {
    NotFound,
    IsDirectory,
    /// A device, socket or FIFO.
    NotAFile,
    TooLarge {
        size: u64,
        max: u64,
    },
    Binary {
        size: u64,
        why: Undecodable,
    },
    Io(io::Error),
}

impl ReadError {
    /// One message for the model: what is wrong and what to do instead. `shown` is the path as
    /// the model wrote it.
    pub fn message(&self, shown: &str, resolved: &Path) -> String {
        match self {
            ReadError::NotFound => {
                let mut msg = format!("file not found: {shown}");
                let near = similar_names(resolved);
                if !near.is_empty() {
                    msg.push_str(&format!(
                        " (similar names in that folder: {})",
                        near.join(", ")
                    ));
                }
                msg.push_str(
                    "; check the path (relative paths resolve against the working directory) \
                     or find the file with glob",
                );
                msg
            }
            ReadError::IsDirectory => {
                format!("{shown} is a directory, not a file; use list_dir to see what it contains")
            }
            ReadError::NotAFile => {
                format!(
                    "{shown} is not a regular file (a device, socket or FIFO); it cannot be read as text"
                )
            }
            ReadError::TooLarge { size, max } => format!(
                "{shown} is too large to load whole ({}, limit {}); use bash (sed -n, head, tail) or grep to work on parts of it",
                human_size(*size),
                human_size(*max)
            ),
            ReadError::Binary { size, why } => {
                let image = is_image_name(resolved);
                format!(
                    "{shown} is a binary file ({size} byte{}): {why}; {}",
                    if *size == 1 { "" } else { "s" },
                    if image {
                        "it looks like an image: use read_image to see it"
                    } else {
                        "use bash with xxd/hexdump to inspect it, or read_image for images"
                    }
                )
            }
            ReadError::Io(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                format!("cannot read {shown}: permission denied")
            }
            ReadError::Io(e) => format!("cannot read {shown}: {e}"),
        }
    }
}

fn is_image_name(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(
        ext.as_str(),
        "png" | "jpg" | "jpeg" | "gif" | "webp" | "bmp" | "ico" | "tif" | "tiff"
    )
}

/// Up to 3 names in `path`'s folder that look like its file name (for "not found" messages).
pub fn similar_names(path: &Path) -> Vec<String> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .take(2000)
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    similar::get_close_matches(name, &refs, 3, 0.6)
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// Check that `path` is a regular file no bigger than `max`; returns its size.
pub fn check_file(path: &Path, max: u64) -> Result<u64, ReadError> {
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ReadError::NotFound,
        _ => ReadError::Io(e),
    })?;
    if meta.is_dir() {
        return Err(ReadError::IsDirectory);
    }
    if !meta.is_file() {
        return Err(ReadError::NotAFile);
    }
    if meta.len() > max {
        return Err(ReadError::TooLarge {
            size: meta.len(),
            max,
        });
    }
    Ok(meta.len())
}

/// Load a text file whole.
pub fn load(path: &Path, max: u64) -> Result<TextFile, ReadError> {
    check_file(path, max)?;
    let bytes = fs::read(path).map_err(ReadError::Io)?;
    TextFile::decode(&bytes).map_err(|why| ReadError::Binary {
        size: bytes.len() as u64,
        why,
    })
}

/// Write `file` to `path` atomically (see [`write_atomic`]).
pub fn save(path: &Path, file: &TextFile) -> io::Result<()> {
    write_atomic(path, &file.encode())
}

/// Replace `path`'s contents with `bytes` so that readers see the old or the new file, never a
/// mix: write a temporary file in the same folder, flush it, give it the old file's
/// permissions, rename it over the old one. A symlink is followed (its target is replaced, the
/// link stays). A file with several hard links is rewritten in place instead, so the links keep
/// sharing it. A read-only file is refused. Missing parent folders are not created here.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let target = follow_symlinks(path);
    let meta = match fs::metadata(&target) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Some(m) = &meta {
        if m.permissions().readonly() {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the file is read-only",
            ));
        }
        if hard_links(m) > 1 {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&target)?;
            f.write_all(bytes)?;
            return f.sync_all();
        }
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (tmp, mut f) = create_temp(&dir, &name)?;
    let written = (|| {
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        if let Some(m) = &meta {
            fs::set_permissions(&tmp, m.permissions())?;
        }
        fs::rename(&tmp, &target)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

fn follow_symlinks(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => match fs::read_link(&p) {
                Ok(link) => p = p.parent().map(|d| d.join(&link)).unwrap_or(link),
                Err(_) => break,
            },
            _ => break,
        }
    }
    p
}

#[cfg(unix)]
fn hard_links(meta: &fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::nlink(meta)
}

#[cfg(not(unix))]
fn hard_links(_meta: &fs::Metadata) -> u64 {
    1
}

fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, fs::File)> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let mut last_err = None;
    for _ in 0..100 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.sx-{}-{n}.tmp", std::process::id()));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("could not create a temporary file")))
}

/// A unified diff (3 lines of context) of a change to `path`, for the user. Empty when nothing
/// changed.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    let (a, b) = diff_names(path);
    diff_with_header(&a, &b, old, new)
}

/// The diff of creating `path` with `new` (every line added).
pub fn creation_diff(path: &str, new: &str) -> String {
    diff_with_header("/dev/null", &diff_names(path).1, "", new)
}

fn diff_names(path: &str) -> (String, String) {
    if Path::new(path).is_absolute() {
        (path.to_string(), path.to_string())
    } else {
        (format!("a/{path}"), format!("b/{path}"))
    }
}

fn diff_with_header(a: &str, b: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(a, b)
        .to_string()
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
