//! `edit_lines`: deterministic line-range edits (the C original's `LINE a-b … END` blocks).
//!
//! Every block names lines of the file as it is before the call; blocks are applied bottom-up
//! so none shifts another. Encoding, BOM, each untouched line break's ending, and whether the
//! file ends with a newline are preserved; inserted lines take the ending of the lines around
//! them. Format details decided here (also in the description):
//! - `LINE a` is short for `LINE a-a`; spaces around the numbers and `-` are allowed.
//! - `END` closes a block when the next non-blank line is a `LINE` header or there is none;
//!   otherwise a line reading `END` is replacement content (heredocs, Fortran…).
//! - Blank lines between blocks are ignored; anything else there is an error.
//! - An end past the last line is clamped (and said); a start past `len + 1` is an error.
//! - Two insertions at the same place, or an insertion inside a replaced range, overlap.
//! - An empty file gains lines that end with a newline.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::text::{self, MAX_EDIT_BYTES, ReadError, TextFile};
use super::{Tool, ToolContext, ToolKind, ToolOutput, str_arg};

pub struct EditLines;

const DESCRIPTION: &str = "\
Edit a file by line numbers: replace, insert or delete whole lines. Use it when you know the line \
numbers from read_file; it matches no text, so it is deterministic. `blocks` holds one or more \
blocks of this form:

LINE a-b
first replacement line
second replacement line
END

A block replaces lines a through b (1-based, inclusive) with the lines between its header and \
END, written exactly as they should appear in the file (with their indentation; no line-number \
prefixes, no quoting or escaping).
- Replace one line: LINE 7-7 (or LINE 7). Delete lines 3-5: LINE 3-5 followed directly by END.
- Insert without replacing: LINE N-(N-1) inserts before line N, e.g. LINE 5-4 inserts before \
line 5, LINE 1-0 inserts at the top, and in a 20-line file LINE 21-20 appends at the end.
- All blocks in one call use the line numbers of the file as it is NOW (before this call), not \
as changed by other blocks; they are applied bottom-up so they do not shift each other. Blocks \
must not overlap.
- An end past the last line is clamped to the last line; a start after the last line + 1 is an \
error.
- END closes a block when the next non-blank line is another LINE header or there is nothing \
more; a line END followed by other lines counts as replacement content.
- The file's encoding (UTF-8, UTF-8 BOM, UTF-16), line endings (LF/CRLF) and final newline (or \
its absence) are kept; do not write \\r.
The result gives each block's new line numbers (later lines shift when line counts change). For \
a small change to text you have not located by line number, edit_file is simpler.";

#[async_trait]
impl Tool for EditLines {
    fn name(&self) -> &'static str {
        "edit_lines"
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
                    "description": "The file to edit: relative to the working directory, or absolute. It must exist."
                },
                "blocks": {
                    "type": "string",
                    "description": "One or more blocks: a header line `LINE a-b`, the replacement lines, then a line `END`. Line numbers refer to the file before this call."
                }
            },
            "required": ["path", "blocks"],
            "additionalProperties": false
        })
    }
    fn kind(&self) -> ToolKind {
        ToolKind::Mutating
    }
    async fn run(&self, input: Value, ctx: &ToolContext) -> ToolOutput {
        let ctx = ctx.clone();
        super::blocking("edit_lines", move || edit(&input, &ctx)).await
    }
}

pub(crate) fn edit(input: &Value, ctx: &ToolContext) -> ToolOutput {
    match try_edit(input, ctx) {
        Ok(out) | Err(out) => out,
    }
}

fn try_edit(input: &Value, ctx: &ToolContext) -> Result<ToolOutput, ToolOutput> {
    let shown = str_arg(input, "path")?;
    let blocks = str_arg(input, "blocks")?;
    let blocks = parse_blocks(blocks).map_err(ToolOutput::error)?;
    let path = ctx.resolve(shown);
    let mut file = text::load(&path, MAX_EDIT_BYTES).map_err(|e| {
        let mut msg = e.message(shown, &path);
        if matches!(e, ReadError::NotFound) {
            msg.push_str("; edit_lines only changes existing files: to create one use write_file");
        }
        ToolOutput::error(msg)
    })?;
    let before = file.text().to_string();
    let report = apply(&mut file, &blocks).map_err(ToolOutput::error)?;
    if file.text() == before {
        return Ok(ToolOutput::ok(format!(
            "{shown} is unchanged: the blocks reproduce the lines already there\n{report}"
        )));
    }
    text::save(&path, &file).map_err(|e| {
        ToolOutput::error(format!(
            "could not write {shown}: {e}; the file was not changed"
        ))
    })?;
    let mut summary = format!(
        "edited {shown}: applied {} block{}; the file now has {} lines (was {})\n{report}",
        blocks.len(),
        if blocks.len() == 1 { "" } else { "s" },
        text::line_count(file.text()),
        text::line_count(&before),
    );
    if let Some(note) = file.format_note() {
        summary.push_str(&format!("kept the file's {note}\n"));
    }
    Ok(ToolOutput {
        text: summary,
        diff: Some(text::unified_diff(shown, &before, file.text())),
        ..Default::default()
    })
}

/// The block parser and the edit on a file's text, without the file system: the entry point of
/// the `edit_lines` fuzz target (docs/reliability.md, "Fuzzing"), not an API. The edited text,
/// or the message the model would get.
#[doc(hidden)]
pub fn edit_text(blocks: &str, text: &str) -> Result<String, String> {
    let blocks = parse_blocks(blocks)?;
    let mut file = TextFile::parse(text::Encoding::Utf8, text);
    apply(&mut file, &blocks)?;
    Ok(file.text().to_string())
}

/// One `LINE a-b … END` block as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    /// The header as written (for messages).
    header: String,
    start: usize,
    end: usize,
    lines: Vec<String>,
}

/// `LINE a-b` or `LINE a` → (a, b); `None` when the line is not a header at all.
fn parse_header(line: &str) -> Option<Result<(usize, usize), String>> {
    let rest = line.trim().strip_prefix("LINE")?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let (a, b) = match rest.split_once('-') {
        Some((a, b)) => (a.trim(), Some(b.trim())),
        None => (rest.trim(), None),
    };
    let number = |s: &str| s.parse::<usize>().ok();
    let bad = || {
        Err(format!(
            "malformed header `{}`: expected `LINE a-b` with whole numbers, e.g. `LINE 3-5`",
            line.trim()
        ))
    };
    let Some(a) = number(a) else {
        return Some(bad());
    };
    let b = match b.map(number) {
        None => a,
        Some(Some(b)) => b,
        Some(None) => return Some(bad()),
    };
    if a == 0 {
        return Some(Err(format!(
            "header `{}`: lines are numbered from 1 (to insert at the top use `LINE 1-0`)",
            line.trim()
        )));
    }
    // `a >= 1` here; `b + 1` would overflow on `LINE 18446744073709551615` (found by fuzzing,
    // docs/reliability.md).
    if b < a - 1 {
        return Some(Err(format!(
            "header `{}`: the end {b} is before the start {a}; to insert before line {a} without replacing anything use `LINE {a}-{}`",
            line.trim(),
            a - 1
        )));
    }
    Some(Ok((a, b)))
}

pub(crate) fn parse_blocks(src: &str) -> Result<Vec<Block>, String> {
    let body = src.strip_suffix('\n').unwrap_or(src);
    let lines: Vec<&str> = body
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let closes = |i: usize| {
        lines[i].trim_end() == "END"
            && lines[i + 1..]
                .iter()
                .find(|l| !l.trim().is_empty())
                .is_none_or(|l| parse_header(l).is_some())
    };
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() {
            i += 1;
            continue;
        }
        let (start, end) = match parse_header(line) {
            Some(header) => header?,
            None => {
                return Err(format!(
                    "line {} of blocks: expected a header `LINE a-b`, got `{}`. Each block is a line \
                     `LINE a-b`, the replacement lines, then a line `END`{}",
                    i + 1,
                    line,
                    if blocks.is_empty() {
                        ""
                    } else {
                        " (was an END line missing or early?)"
                    }
                ));
            }
        };
        let header = line.trim().to_string();
        let mut content = Vec::new();
        // An `END` line read as content (it was not followed by a header or the end).
        let mut inner_end: Option<usize> = None;
        let explain = |inner_end: Option<usize>| match inner_end {
            Some(e) => format!(
                " (the `END` on line {} of blocks was read as a replacement line because the next \
                 line, `{}`, is not a `LINE` header; remove stray text after END)",
                e + 1,
                lines.get(e + 1).map_or("", |l| l.trim())
            ),
            None => String::new(),
        };
        i += 1;
        loop {
            let Some(l) = lines.get(i) else {
                return Err(format!(
                    "block `{header}` has no closing `END` line{}; end every block with a line `END`",
                    explain(inner_end)
                ));
            };
            if closes(i) {
                i += 1;
                break;
            }
            if parse_header(l).is_some() {
                return Err(format!(
                    "block `{header}` is not closed: the header `{}` (line {} of blocks) comes before its `END`{}; \
                     end every block with a line `END`",
                    l.trim(),
                    i + 1,
                    explain(inner_end)
                ));
            }
            if l.trim_end() == "END" {
                inner_end = Some(i);
            }
            content.push(l.to_string());
            i += 1;
        }
        blocks.push(Block {
            header,
            start,
            end,
            lines: content,
        });
    }
    if blocks.is_empty() {
        return Err(
            "blocks is empty; give at least one block: `LINE a-b`, the replacement lines, `END`"
                .into(),
        );
    }
    Ok(blocks)
}

/// A block placed on the file: 0-based half-open line range `lo..hi` of the original.
struct Placed<'a> {
    block: &'a Block,
    lo: usize,
    hi: usize,
    clamped: bool,
}

/// Apply `blocks` to `file`; the per-block report, or why nothing was changed.
pub(crate) fn apply(file: &mut TextFile, blocks: &[Block]) -> Result<String, String> {
    let total = text::line_count(file.text());
    let mut placed = Vec::with_capacity(blocks.len());
    for block in blocks {
        if block.start > total + 1 {
            return Err(format!(
                "block `{}`: line {} is past the end of the file, which has {total} lines; to append use `LINE {}-{total}`",
                block.header,
                block.start,
                total + 1
            ));
        }
        let clamped = block.end > total;
        placed.push(Placed {
            block,
            lo: block.start - 1,
            hi: block.end.min(total),
            clamped,
        });
    }
    placed.sort_by_key(|p| (p.lo, p.hi));
    for (n, x) in placed.iter().enumerate() {
        for y in &placed[n + 1..] {
            check_overlap(x, y)?;
        }
    }
    looks_numbered(blocks)?;

    let no_final_newline = !file.text().is_empty() && !file.text().ends_with('\n');
    if no_final_newline {
        let end = file.text().len();
        file.splice(end..end, "\n");
    }
    let starts = text::line_starts(file.text());
    let offset = |line: usize| starts.get(line).copied().unwrap_or(file.text().len());
    let ranges: Vec<(usize, usize)> = placed
        .iter()
        .map(|p| (offset(p.lo), offset(p.hi)))
        .collect();
    // Bottom-up; at the same place the replacement goes first so an insertion lands before it.
    for (p, (from, to)) in placed.iter().zip(ranges).rev() {
        let replacement: String = p
            .block
            .lines
            .iter()
            .flat_map(|l| [l.as_str(), "\n"])
            .collect();
        file.splice(from..to, &replacement);
    }
    if no_final_newline && file.text().ends_with('\n') {
        let end = file.text().len();
        file.splice(end - 1..end, "");
    }

    let mut report = String::new();
    let mut shift: isize = 0;
    for p in &placed {
        let (old, new) = (p.hi - p.lo, p.block.lines.len());
        let first = (p.lo as isize + shift + 1) as usize;
        let now = match new {
            0 => String::new(),
            1 => format!(" (now line {first})"),
            _ => format!(" (now lines {first}-{})", first + new - 1),
        };
        let what = match (old, new) {
            (0, 0) => "no lines given, nothing inserted".to_string(),
            (0, _) if p.lo == 0 => format!("inserted {new} line{} at the top{now}", plural(new)),
            (0, _) if p.lo == total => format!(
                "appended {new} line{} after the last line{now}",
                plural(new)
            ),
            (0, _) => format!(
                "inserted {new} line{} before line {}{now}",
                plural(new),
                p.lo + 1
            ),
            (_, 0) => format!("deleted {}", span(p.lo, p.hi)),
            _ => format!(
                "replaced {} with {new} line{}{now}",
                span(p.lo, p.hi),
                plural(new)
            ),
        };
        report.push_str(&format!("- {}: {what}", p.block.header));
        if p.clamped {
            report.push_str(&format!(
                " [end {} was past the last line and was clamped to {total}]",
                p.block.end
            ));
        }
        report.push('\n');
        shift += new as isize - old as isize;
    }
    Ok(report)
}

fn span(lo: usize, hi: usize) -> String {
    if hi - lo == 1 {
        format!("line {}", lo + 1)
    } else {
        format!("lines {}-{} ({} lines)", lo + 1, hi, hi - lo)
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn check_overlap(x: &Placed, y: &Placed) -> Result<(), String> {
    let inside = |p: usize, r: &Placed| r.lo < p && p < r.hi;
    let clash = match (x.lo == x.hi, y.lo == y.hi) {
        (true, true) => x.lo == y.lo,
        (true, false) => inside(x.lo, y),
        (false, true) => inside(y.lo, x),
        (false, false) => x.lo < y.hi && y.lo < x.hi,
    };
    if !clash {
        return Ok(());
    }
    let why = if x.lo == x.hi && y.lo == y.hi {
        format!("both insert before line {}", x.lo + 1)
    } else {
        let common = x.lo.max(y.lo) + 1;
        format!("both change line {common}")
    };
    Err(format!(
        "blocks `{}` and `{}` overlap ({why}); all blocks use the file's current line numbers, so merge them into one block",
        x.block.header, y.block.header
    ))
}

/// Refuse replacement lines that all carry read_file's `   12\t` prefixes, numbered in order.
fn looks_numbered(blocks: &[Block]) -> Result<(), String> {
    let lines: Vec<&String> = blocks
        .iter()
        .flat_map(|b| &b.lines)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let numbers: Option<Vec<usize>> = lines
        .iter()
        .map(|l| {
            let (n, _) = l.trim_start_matches(' ').split_once('\t')?;
            n.parse::<usize>().ok()
        })
        .collect();
    match numbers {
        Some(ns) if ns.len() >= 2 && ns.windows(2).all(|w| w[1] == w[0] + 1) => Err(
            "every replacement line starts with a line number and a tab, like read_file's output; \
             those prefixes are not part of the file: write the lines without them (if the numbers \
             really belong in the file, use edit_file or write_file)"
                .into(),
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[path = "edit_lines_tests.rs"]
mod tests;
