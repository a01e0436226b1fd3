//! `edit_file`: replace an exact, unique piece of text.
//!
//! Matching works on the file's normalized text (every line break `\n`), with the model's
//! strings normalized the same way, so CRLF vs LF never causes a miss. When there is no exact
//! match, whole lines are compared ignoring indentation and trailing whitespace; a unique such
//! match is applied with `new_string` re-indented to the file. Otherwise the error shows the
//! most similar region so the model can retry.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::text::{self, MAX_EDIT_BYTES, ReadError, TextFile};
use super::{Tool, ToolContext, ToolKind, ToolOutput, str_arg};

pub struct EditFile;

const DESCRIPTION: &str = "\
Replace text in an existing file: `old_string` must match the file's text exactly (including \
indentation) and, unless `replace_all` is true, occur exactly once. Best for small, targeted \
changes: give just enough surrounding lines in old_string to make it unique, and new_string as \
the text that replaces it (empty new_string deletes old_string).
- Copy old_string from read_file output WITHOUT the line-number prefix (number + tab).
- If old_string occurs several times the edit is refused and the matching line numbers are \
listed: add context or set replace_all to replace every occurrence.
- If there is no exact match but exactly one place matches when indentation (tabs vs spaces) and \
trailing whitespace are ignored, that place is edited and new_string re-indented to fit the \
file; the result says so. Otherwise the error shows the most similar lines of the file.
- Line endings (LF/CRLF) and encoding (UTF-8, UTF-8 BOM, UTF-16) are preserved: write plain \\n.
- To create a file or rewrite most of one use write_file; to change lines by number (from \
read_file) use edit_lines.";

#[async_trait]
impl Tool for EditFile {
    fn name(&self) -> &'static str {
        "edit_file"
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
                "old_string": {
                    "type": "string",
                    "description": "The exact text to replace, with its indentation; unique in the file unless replace_all is true."
                },
                "new_string": {
                    "type": "string",
                    "description": "The replacement text (must differ from old_string; empty deletes)."
                },
                "replace_all": {
                    "type": "boolean",
                    "description": "Replace every occurrence of old_string instead of requiring a unique one (default false)."
                }
            },
            "required": ["path", "old_string", "new_string"],
            "additionalProperties": false
        })
    }
    fn kind(&self) -> ToolKind {
        ToolKind::Mutating
    }
    async fn run(&self, input: Value, ctx: &ToolContext) -> ToolOutput {
        let ctx = ctx.clone();
        super::blocking("edit_file", move || edit(&input, &ctx)).await
    }
}

pub(crate) fn edit(input: &Value, ctx: &ToolContext) -> ToolOutput {
    match try_edit(input, ctx) {
        Ok(out) | Err(out) => out,
    }
}

fn try_edit(input: &Value, ctx: &ToolContext) -> Result<ToolOutput, ToolOutput> {
    let shown = str_arg(input, "path")?;
    let old = str_arg(input, "old_string")?;
    let new = str_arg(input, "new_string")?;
    let replace_all = match input.get("replace_all") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
        Some(other) => {
            return Err(ToolOutput::error(format!(
                "argument 'replace_all' must be true or false, got {other}"
            )));
        }
    };
    if old == new {
        return Err(ToolOutput::error(
            "old_string and new_string are identical, so there is nothing to change; give the new text in new_string",
        ));
    }
    let path = ctx.resolve(shown);
    let mut file = text::load(&path, MAX_EDIT_BYTES).map_err(|e| {
        let mut msg = e.message(shown, &path);
        if matches!(e, ReadError::NotFound) {
            msg.push_str("; edit_file only changes existing files: to create one use write_file");
        }
        ToolOutput::error(msg)
    })?;
    if old.is_empty() {
        return Err(ToolOutput::error(
            "old_string is empty; give the exact text to replace (with a few neighbouring lines so it is unique). \
             To replace the whole file use write_file; to insert lines at a line number use edit_lines",
        ));
    }
    let before = file.text().to_string();
    let summary = apply(&mut file, old, new, replace_all, shown).map_err(ToolOutput::error)?;
    text::save(&path, &file).map_err(|e| {
        ToolOutput::error(format!(
            "could not write {shown}: {e}; the file was not changed"
        ))
    })?;
    Ok(ToolOutput {
        text: summary,
        diff: Some(text::unified_diff(shown, &before, file.text())),
        ..Default::default()
    })
}

/// Apply the edit to `file` in memory: the summary for the model, or why not.
pub(crate) fn apply(
    file: &mut TextFile,
    old: &str,
    new: &str,
    replace_all: bool,
    shown: &str,
) -> Result<String, String> {
    let (old, new) = (file.normalize_input(old), file.normalize_input(new));
    if old == new {
        return Err(
            "old_string and new_string differ only in line endings; line endings are kept \
                    automatically, so there is nothing to change"
                .into(),
        );
    }
    let text = file.text();
    let starts = occurrences(text, &old);
    match starts.len() {
        0 => fuzzy(file, &old, &new, shown),
        1 => {
            let line = text::line_at(text, starts[0]);
            file.splice(starts[0]..starts[0] + old.len(), &new);
            Ok(format!(
                "edited {shown}: replaced 1 occurrence at line {line}"
            ))
        }
        n if !replace_all => Err(format!(
            "old_string occurs {n} times in {shown} (starting at lines {}); edit_file needs a unique \
             match: include more surrounding lines in old_string to pick one, or set replace_all \
             to true to replace every occurrence",
            line_list(text, &starts)
        )),
        _ => {
            let starts: Vec<usize> = text.match_indices(old.as_str()).map(|(i, _)| i).collect();
            let lines = line_list(text, &starts);
            for &s in starts.iter().rev() {
                file.splice(s..s + old.len(), &new);
            }
            Ok(format!(
                "edited {shown}: replaced {} occurrences at lines {lines}",
                starts.len()
            ))
        }
    }
}

/// Start offsets of every occurrence, overlapping ones included.
fn occurrences(text: &str, needle: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(needle) {
        let at = from + i;
        found.push(at);
        from = at + needle.chars().next().map_or(1, char::len_utf8);
    }
    found
}

fn line_list(text: &str, starts: &[usize]) -> String {
    let mut lines: Vec<usize> = starts.iter().map(|&s| text::line_at(text, s)).collect();
    lines.dedup();
    let mut list = lines
        .iter()
        .take(20)
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if lines.len() > 20 {
        list.push_str(&format!(", … ({} more)", lines.len() - 20));
    }
    list
}

/// Split `s` into lines; a final `\n` is reported, not turned into an empty last line.
fn split_lines(s: &str) -> (Vec<&str>, bool) {
    match s.strip_suffix('\n') {
        Some(body) => (body.split('\n').collect(), true),
        None => (s.split('\n').collect(), false),
    }
}

/// No exact match: try whole lines ignoring indentation and trailing whitespace.
fn fuzzy(file: &mut TextFile, old: &str, new: &str, shown: &str) -> Result<String, String> {
    let text = file.text();
    let file_lines: Vec<&str> = text.split_terminator('\n').collect();
    let (old_lines, old_nl) = split_lines(old);
    let m = old_lines.len();
    let hits: Vec<usize> = if m > file_lines.len() {
        Vec::new()
    } else {
        (0..=file_lines.len() - m)
            .filter(|&i| (0..m).all(|k| file_lines[i + k].trim() == old_lines[k].trim()))
            .collect()
    };
    match hits.len() {
        0 => Err(not_found(shown, &file_lines, &old_lines)),
        1 => {
            let i = hits[0];
            let starts = text::line_starts(text);
            let window = &file_lines[i..i + m];
            let (new_lines, new_nl) = if new.is_empty() {
                (Vec::new(), false)
            } else {
                split_lines(new)
            };
            let indent = Reindent::new(&old_lines, window, &file_lines);
            let mut out: Vec<String> = Vec::with_capacity(new_lines.len());
            for op in
                similar::capture_diff_slices(similar::Algorithm::Myers, &old_lines, &new_lines)
            {
                let (tag, o, n) = op.as_tag_tuple();
                match tag {
                    similar::DiffTag::Equal => out.extend(window[o].iter().map(|l| l.to_string())),
                    _ => out.extend(new_lines[n].iter().map(|l| indent.apply(l))),
                }
            }
            let mut replacement = out.join("\n");
            let begin = starts[i];
            let mut end = starts[i + m - 1] + window[m - 1].len();
            match (old_nl, new_nl) {
                (true, false) if text[end..].starts_with('\n') => end += 1,
                (false, true) => replacement.push('\n'),
                _ => {}
            }
            file.splice(begin..end, &replacement);
            let range = if m == 1 {
                format!("line {}", i + 1)
            } else {
                format!("lines {}-{}", i + 1, i + m)
            };
            Ok(format!(
                "edited {shown}: replaced 1 occurrence at line {}. Note: old_string did not match \
                 exactly; it matched {range} only when indentation and trailing whitespace are \
                 ignored, so new_string was re-indented to fit the file (check the result)",
                i + 1
            ))
        }
        n => Err(format!(
            "old_string was not found exactly in {shown}; ignoring indentation and trailing whitespace \
             it matches {n} places (lines {}), and such loose matches are only applied when unique. \
             Copy the exact text from read_file (without the line-number prefixes), with enough \
             surrounding lines to be unique",
            hits.iter()
                .take(20)
                .map(|h| (h + 1).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Maps the model's indentation onto the file's.
struct Reindent {
    /// Model indent → file indent, from the matched lines.
    known: Vec<(String, String)>,
    /// Columns of the first matched non-blank line: model side, file side.
    base: (usize, usize),
    /// File columns per model column.
    ratio: f64,
    tabs: bool,
}

const TAB: usize = 4;

fn indent_of(line: &str) -> &str {
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

fn columns(ws: &str) -> usize {
    ws.chars().fold(0, |col, c| {
        if c == '\t' {
            (col / TAB + 1) * TAB
        } else {
            col + 1
        }
    })
}

impl Reindent {
    fn new(old_lines: &[&str], window: &[&str], file_lines: &[&str]) -> Reindent {
        let pairs: Vec<(&str, &str)> = old_lines
            .iter()
            .zip(window)
            .filter(|(o, _)| !o.trim().is_empty())
            .map(|(o, f)| (indent_of(o), indent_of(f)))
            .collect();
        let mut known: Vec<(String, String)> = Vec::new();
        for (o, f) in &pairs {
            if !known.iter().any(|(k, _)| k == o) {
                known.push((o.to_string(), f.to_string()));
            }
        }
        let cols: Vec<(usize, usize)> = pairs
            .iter()
            .map(|(o, f)| (columns(o), columns(f)))
            .collect();
        let base = cols.first().copied().unwrap_or((0, 0));
        let lo = cols.iter().min_by_key(|c| c.0);
        let hi = cols.iter().max_by_key(|c| c.0);
        let ratio = match (lo, hi) {
            (Some(lo), Some(hi)) if hi.0 > lo.0 && hi.1 > lo.1 => {
                (hi.1 - lo.1) as f64 / (hi.0 - lo.0) as f64
            }
            _ => 1.0,
        };
        let count = |lines: &[&str], c: char| lines.iter().filter(|l| l.starts_with(c)).count();
        let (t, s) = (count(window, '\t'), count(window, ' '));
        let tabs = if t + s > 0 {
            t > s
        } else {
            count(file_lines, '\t') > count(file_lines, ' ')
        };
        Reindent {
            known,
            base,
            ratio,
            tabs,
        }
    }

    fn apply(&self, line: &str) -> String {
        if line.trim().is_empty() {
            return String::new();
        }
        let ws = indent_of(line);
        let rest = &line[ws.len()..];
        if let Some((_, f)) = self.known.iter().find(|(k, _)| k == ws) {
            return format!("{f}{rest}");
        }
        let shift = (columns(ws) as f64 - self.base.0 as f64) * self.ratio;
        let cols = (self.base.1 as f64 + shift).round().max(0.0) as usize;
        let lead = if self.tabs {
            "\t".repeat(cols / TAB) + &" ".repeat(cols % TAB)
        } else {
            " ".repeat(cols)
        };
        format!("{lead}{rest}")
    }
}

/// "Not found", with the most similar region of the file.
fn not_found(shown: &str, file_lines: &[&str], old_lines: &[&str]) -> String {
    let mut msg = format!(
        "old_string not found in {shown} (no exact match, and none when ignoring indentation and \
         trailing whitespace)."
    );
    if looks_numbered(old_lines) {
        msg.push_str(
            " old_string seems to start its lines with read_file's line-number prefixes (number + \
             tab); those are not part of the file: remove them.",
        );
    }
    if file_lines.is_empty() {
        msg.push_str(&format!(
            " {shown} is empty; use write_file to give it content."
        ));
        return msg;
    }
    let Some((start, len, score)) = nearest(file_lines, old_lines) else {
        return msg;
    };
    if score < 0.3 {
        msg.push_str(" Nothing in the file resembles it; read the file (read_file) to see its current content.");
        return msg;
    }
    let pct = (score * 100.0).round();
    let range = if len == 1 {
        format!("line {}", start + 1)
    } else {
        format!("lines {}-{}", start + 1, start + len)
    };
    msg.push_str(&format!(
        " The most similar part of the file is {range} ({pct}% similar):\n"
    ));
    const SHOW: usize = 40;
    for (k, line) in file_lines[start..start + len].iter().enumerate().take(SHOW) {
        let cut: String = line.chars().take(500).collect();
        text::numbered(&mut msg, start + k + 1, &cut);
    }
    if len > SHOW {
        msg.push_str(&format!("   … ({} more lines)\n", len - SHOW));
    }
    msg.push_str(
        "Compare it with old_string, then retry with the file's exact text (without the line-number \
         prefixes), or re-read the file if it changed.",
    );
    msg
}

fn looks_numbered(lines: &[&str]) -> bool {
    let mut any = false;
    for line in lines.iter().filter(|l| !l.trim().is_empty()) {
        let rest = line.trim_start_matches(' ');
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || !rest[digits..].starts_with('\t') {
            return false;
        }
        any = true;
    }
    any
}

/// The window of `old_lines.len()` file lines most similar to `old_lines`: (start, len, score
/// in 0..=1), scored by line-wise character-bigram similarity of the trimmed lines.
fn nearest(file_lines: &[&str], old_lines: &[&str]) -> Option<(usize, usize, f64)> {
    let len = old_lines.len().min(file_lines.len());
    // Scoring uses at most the first 20 lines of old_string, so big files stay fast.
    let scored = len.min(20);
    if scored == 0 {
        return None;
    }
    let prep = |l: &&str| {
        let t = l.trim();
        let chars: Vec<char> = t.chars().collect();
        let mut grams: Vec<u64> = chars
            .windows(2)
            .map(|w| (u64::from(w[0]) << 32) | u64::from(w[1]))
            .collect();
        grams.sort_unstable();
        (t.to_string(), grams)
    };
    let file: Vec<(String, Vec<u64>)> = file_lines.iter().map(prep).collect();
    let old: Vec<(String, Vec<u64>)> = old_lines.iter().take(scored).map(prep).collect();
    let mut best: Option<(usize, f64)> = None;
    for i in 0..=file.len() - len {
        let score = (0..scored)
            .map(|k| similarity(&file[i + k], &old[k]))
            .sum::<f64>()
            / scored as f64;
        if best.is_none_or(|(_, b)| score > b) {
            best = Some((i, score));
        }
    }
    best.map(|(i, score)| (i, len, score))
}

fn similarity(a: &(String, Vec<u64>), b: &(String, Vec<u64>)) -> f64 {
    if a.0 == b.0 {
        return 1.0;
    }
    if a.1.is_empty() || b.1.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.1.len() && j < b.1.len() {
        match a.1[i].cmp(&b.1[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    2.0 * common as f64 / (a.1.len() + b.1.len()) as f64
}

#[cfg(test)]
#[path = "edit_file_tests.rs"]
mod tests;
