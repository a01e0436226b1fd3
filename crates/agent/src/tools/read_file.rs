//! `read_file`: a text file's lines, numbered like `cat -n`, a window at a time.
//!
//! Files up to [`MAX_READ_BYTES`] are decoded whole (UTF-8, UTF-8 BOM, UTF-16 with BOM; line
//! breaks LF, CRLF or CR shown without their `\r`). Bigger files need `offset`/`limit` and are
//! then streamed line by line (UTF-8 only), so a multi-gigabyte log can still be paged through.

use std::io::{BufRead, BufReader};
use std::path::Path;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::text::{self, MAX_READ_BYTES, ReadError, TextFile, Undecodable};
use super::{Tool, ToolContext, ToolKind, ToolOutput, str_arg};

pub struct ReadFile;

const DEFAULT_LIMIT: usize = 2000;
const MAX_LINE_CHARS: usize = 2000;
const MAX_OUTPUT_BYTES: usize = 100_000;

const DESCRIPTION: &str = "\
Read a text file. Returns its lines numbered like `cat -n`: the line number right-aligned in 6 \
columns, a tab, then the line. The numbers are not part of the file: never copy them into \
edit_file's old_string/new_string; they are exactly the numbers edit_lines expects.
- Reads up to 2000 lines from the start. For longer files pass `offset` (1-based number of the \
first line to show) and `limit` (how many lines); the output says which lines it shows and how \
many the file has.
- Lines longer than 2000 characters are cut and marked; the whole output is capped at about \
100 KB (a note says where it stopped and which offset to pass next).
- Files over 10 MB are only read with `offset`/`limit`; to find the right lines first, use grep.
- Refuses directories (use list_dir), binary files (use read_image for images) and missing \
files (use glob to find the right path).
- UTF-8 and UTF-16 (with BOM) files are supported. Files with CRLF line endings are shown \
without the \\r; the edit tools keep each file's encoding and line endings, so always write \
plain \\n.";

#[async_trait]
impl Tool for ReadFile {
    fn name(&self) -> &'static str {
        "read_file"
    }
    fn description(&self) -> &'static str {
        DESCRIPTION
    }
    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "path": {
                    "type": "string",
                    "description": "The file to read: relative to the working directory, or absolute."
                },
                "offset": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "1-based number of the first line to show (default 1)."
                },
                "limit": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "How many lines to show (default 2000)."
                }
            },
            "required": ["path"],
            "additionalProperties": false
        })
    }
    fn kind(&self) -> ToolKind {
        ToolKind::ReadOnly
    }
    async fn run(&self, input: Value, ctx: &ToolContext) -> ToolOutput {
        let ctx = ctx.clone();
        super::bounded::blocking_with_timeout(
            "read_file",
            super::bounded::READ_ONLY_TIMEOUT,
            move || read(&input, &ctx),
        )
        .await
    }
}

pub(crate) fn read(input: &Value, ctx: &ToolContext) -> ToolOutput {
    match try_read(input, ctx) {
        Ok(out) | Err(out) => out,
    }
}

fn try_read(input: &Value, ctx: &ToolContext) -> Result<ToolOutput, ToolOutput> {
    let shown = str_arg(input, "path")?;
    let offset = line_arg(input, "offset")?;
    let limit = line_arg(input, "limit")?;
    if limit == Some(0) {
        return Err(ToolOutput::error(
            "limit must be at least 1 (the number of lines to show)",
        ));
    }
    let path = ctx.resolve(shown);
    let size = text::check_file(&path, u64::MAX)
        .map_err(|e| ToolOutput::error(e.message(shown, &path)))?;
    let window = Window {
        first: offset.unwrap_or(1).max(1),
        limit: limit.unwrap_or(DEFAULT_LIMIT),
    };
    if size > MAX_READ_BYTES {
        if offset.is_none() && limit.is_none() {
            return Err(ToolOutput::error(format!(
                "{shown} is {}, too big to read whole (the limit without offset/limit is {}); \
                 pass offset and limit to read part of it (e.g. offset 1, limit 500), or use grep \
                 to find the lines you need first",
                text::human_size(size),
                text::human_size(MAX_READ_BYTES)
            )));
        }
        return read_streaming(&path, shown, size, window);
    }
    // The size said it fits; the read is capped anyway (a `/proc` file says 0, a log grows).
    let file = text::load(&path, MAX_READ_BYTES)
        .map_err(|e| ToolOutput::error(e.message(shown, &path)))?;
    let body = file.text();
    let total = text::line_count(body);
    if total == 0 {
        return Ok(ToolOutput::ok(format!(
            "{shown} is empty ({size} bytes, no lines)"
        )));
    }
    if window.first > total {
        return Err(past_end(shown, window.first, total));
    }
    let mut page = Page::default();
    for (i, line) in body
        .split_terminator('\n')
        .enumerate()
        .skip(window.first - 1)
        .take(window.limit)
    {
        if !page.push(i + 1, line) {
            break;
        }
    }
    Ok(ToolOutput::ok(page.finish(
        window.first,
        total,
        format_hint(&file),
    )))
}

#[derive(Clone, Copy)]
struct Window {
    first: usize,
    limit: usize,
}

/// The numbered lines gathered so far.
#[derive(Default)]
struct Page {
    out: String,
    last: usize,
    capped: bool,
}

impl Page {
    /// Add line `number`; false when the output cap is reached (the line is not added).
    fn push(&mut self, number: usize, line: &str) -> bool {
        if self.last > 0 && self.out.len() + line.len().min(MAX_LINE_CHARS * 4) > MAX_OUTPUT_BYTES {
            self.capped = true;
            return false;
        }
        text::numbered(&mut self.out, number, &truncate_line(line));
        self.last = number;
        true
    }

    fn finish(self, first: usize, total: usize, hint: Option<String>) -> String {
        self.finish_counted(first, total, true, hint)
    }

    /// `exact`: `total` is every line of the file, not only those counted before the count
    /// stopped (a huge file).
    fn finish_counted(
        mut self,
        first: usize,
        total: usize,
        exact: bool,
        hint: Option<String>,
    ) -> String {
        let (first, last) = (first, self.last);
        if !exact {
            self.out.push_str(&format!(
                "(lines {first}-{last} of more than {total}: the file is too big to count them all; pass offset={} to read more)\n",
                last + 1
            ));
            return self.out;
        }
        if first > 1 || last < total {
            let cap = if self.capped {
                "; output capped at about 100 KB"
            } else {
                ""
            };
            let more = if last < total {
                format!("; pass offset={} to read more", last + 1)
            } else {
                "; end of file".to_string()
            };
            self.out
                .push_str(&format!("(lines {first}-{last} of {total}{cap}{more})\n"));
        }
        if let Some(hint) = hint {
            self.out.push_str(&hint);
        }
        self.out
    }
}

fn truncate_line(line: &str) -> std::borrow::Cow<'_, str> {
    if line.len() <= MAX_LINE_CHARS {
        return line.into();
    }
    match line.char_indices().nth(MAX_LINE_CHARS) {
        None => line.into(),
        Some((cut, _)) => {
            let chars = MAX_LINE_CHARS + line[cut..].chars().count();
            format!(
                "{} … [line truncated: {chars} characters in all]",
                &line[..cut]
            )
            .into()
        }
    }
}

fn format_hint(file: &TextFile) -> Option<String> {
    file.format_note().map(|note| {
        format!("(file format: {note}; the edit tools keep it, so write plain \\n in edits)\n")
    })
}

fn past_end(shown: &str, first: usize, total: usize) -> ToolOutput {
    ToolOutput::error(format!(
        "offset {first} is past the end of {shown}, which has {total} line{}; pass an offset from 1 to {total}",
        if total == 1 { "" } else { "s" }
    ))
}

/// An optional line-number argument: a non-negative integer (a numeric string is accepted
/// too, and `0` is read as 1 by the caller).
fn line_arg(input: &Value, name: &str) -> Result<Option<usize>, ToolOutput> {
    let bad = |v: &Value| {
        ToolOutput::error(format!(
            "argument '{name}' must be a positive whole number, got {v}"
        ))
    };
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(u), _) => Ok(Some(usize::try_from(u).unwrap_or(usize::MAX))),
            (None, Some(f)) if f >= 0.0 && f.fract() == 0.0 => Ok(Some(f as usize)),
            _ => Err(bad(&Value::Number(n.clone()))),
        },
        Some(Value::String(s)) => s
            .trim()
            .parse::<usize>()
            .map(Some)
            .map_err(|_| bad(&Value::String(s.clone()))),
        Some(other) => Err(bad(other)),
    }
}

/// Page through a big file without loading it: UTF-8 (optionally with BOM), lines split at
/// `\n` (a `\r` before it is dropped).
fn read_streaming(
    path: &Path,
    shown: &str,
    size: u64,
    window: Window,
) -> Result<ToolOutput, ToolOutput> {
    let io_err = |e: std::io::Error| ToolOutput::error(ReadError::Io(e).message(shown, path));
    let binary =
        |why: Undecodable| ToolOutput::error(ReadError::Binary { size, why }.message(shown, path));
    let (file, _) = super::bounded::open_regular(path)
        .map_err(|e| ToolOutput::error(ReadError::from(e).message(shown, path)))?;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let head = reader.fill_buf().map_err(io_err)?;
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(ToolOutput::error(format!(
            "{shown} is a {} UTF-16 file; read_file pages through files this big only when they \
             are UTF-8. Convert a part with bash, e.g. `iconv -f UTF-16 -t UTF-8 {shown} | sed -n '1,200p'`",
            text::human_size(size)
        )));
    }
    if let Some(offset) = memchr::memchr(0, &head[..head.len().min(8192)]) {
        return Err(binary(Undecodable::Nul { offset }));
    }
    let mut consumed = 0usize;
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        reader.consume(3);
        consumed = 3;
    }
    let mut page = Page::default();
    let mut line_no = 0usize;
    let mut buf = Vec::new();
    let stop = window.first.saturating_add(window.limit);
    while line_no + 1 < stop {
        buf.clear();
        let n = read_line_capped(&mut reader, &mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let start = consumed;
        consumed += n;
        if line_no < window.first {
            continue;
        }
        let mut bytes = buf.strip_suffix(b"\n").unwrap_or(&buf);
        bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        if let Some(i) = memchr::memchr(0, bytes) {
            return Err(binary(Undecodable::Nul { offset: start + i }));
        }
        let line = std::str::from_utf8(bytes).map_err(|e| {
            let at = e.valid_up_to();
            binary(Undecodable::InvalidUtf8 {
                offset: start + at,
                byte: bytes[at],
            })
        })?;
        if !page.push(line_no, line) {
            break;
        }
    }
    // Count the rest of the lines, up to a bound (a file of many gigabytes is not read to its
    // end for a count).
    let mut total = line_no;
    let mut tail_open = false;
    let mut scanned: u64 = 0;
    let mut exact = true;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(io_err(e)),
        };
        if chunk.is_empty() {
            break;
        }
        if scanned >= MAX_COUNT_BYTES {
            exact = false;
            break;
        }
        total += memchr::memchr_iter(b'\n', chunk).count();
        tail_open = chunk.last() != Some(&b'\n');
        let n = chunk.len();
        scanned += n as u64;
        reader.consume(n);
    }
    if exact {
        total += usize::from(tail_open);
    }
    if page.last == 0 {
        return Err(past_end(shown, window.first, total));
    }
    Ok(ToolOutput::ok(page.finish_counted(
        window.first,
        total,
        exact,
        None,
    )))
}

/// Lines are read at most this far (the rest of a longer line is skipped; the page shows
/// 2000 characters of it anyway).
const MAX_LINE_BYTES: usize = MAX_LINE_CHARS * 4 + 4;

/// The most of a big file read past the window just to count its lines.
const MAX_COUNT_BYTES: u64 = 1 << 30;

/// One line into `buf` (with its `\n`), keeping at most [`MAX_LINE_BYTES`] of it (cut at a
/// character boundary) and skipping the rest; returns the bytes consumed (0 at the end). A
/// read that would block ends the file.
fn read_line_capped(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut consumed = 0;
    let mut cut = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = MAX_LINE_BYTES.saturating_sub(buf.len());
        if take <= room {
            buf.extend_from_slice(&chunk[..take]);
        } else {
            buf.extend_from_slice(&chunk[..room]);
            cut = true;
        }
        reader.consume(take);
        consumed += take;
        if done {
            break;
        }
    }
    if cut {
        // Back to a character boundary, so the kept part is still UTF-8.
        let mut end = buf.len();
        while end > 0 && (buf[end - 1] & 0xC0) == 0x80 {
            end -= 1;
        }
        if end > 0 && buf[end - 1] >= 0xC0 {
            end -= 1;
        }
        buf.truncate(end);
    }
    Ok(consumed)
}

#[cfg(test)]
#[path = "read_file_tests.rs"]
mod tests;
