//! `grep`: search file contents with ripgrep's engine.
//!
//! The ripgrep crates do the work: `grep-regex` (ripgrep's regex syntax, with the line
//! terminator set so the fast line-oriented search applies), `grep-searcher` (line numbers,
//! binary files skipped at their first NUL byte) and the `ignore` parallel walker (`.gitignore`
//! inside git repositories, `.ignore`, `.rgignore`, hidden files skipped). Each walker thread
//! keeps its own searcher and formats `path:line:text` into its own buffer; files are merged in
//! path order so the output is deterministic, and only the first `MAX_LINES` lines (by path)
//! are kept in memory while every match is still counted for the summary.

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use grep_matcher::Matcher as _;
use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkMatch};
use ignore::{WalkBuilder, WalkState};
use serde_json::{Value, json};

use super::bounded::WalkBudget;
use super::glob::{PathFilter, walk_threads};
use super::{Tool, ToolContext, ToolKind, ToolOutput, str_arg};

pub struct Grep;

/// Matching lines shown at most.
const MAX_LINES: usize = 500;
/// Characters of output at most (the lines; the summary comes on top).
const MAX_CHARS: usize = 30_000;
/// Longer lines are shown as a window around the first match.
const MAX_LINE_LEN: usize = 400;

const DESCRIPTION: &str = "Search file contents with a regular expression (ripgrep: Rust regex syntax, e.g. `fn \\w+\\(`, `TODO|FIXME`, `\\bfoo\\b`; escape literal `(`, `.`, `{` and the like). \
Searches `path` (a directory, recursively, or one file; default the working directory), skipping files ignored by .gitignore/.ignore, hidden files and binary files. \
Returns `path:line:text` lines, paths relative to `path` (the file's own path when `path` is a file), sorted by path; lines longer than 400 characters are cut around the match. \
At most 500 matching lines / 30000 characters are shown, and the total is stated: narrow the pattern, `path` or `glob` when capped. \
Matches are within one line (no multi-line patterns). Use `glob` to restrict file names (e.g. `*.rs`, `src/**/*.{ts,tsx}`, `!*.min.js`) and `case_insensitive` for case-blind matching.";

#[async_trait]
impl Tool for Grep {
    fn name(&self) -> &'static str {
        "grep"
    }
    fn description(&self) -> &'static str {
        DESCRIPTION
    }
    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "pattern": {"type": "string", "description": "Regular expression (ripgrep / Rust regex syntax) matched against each line."},
                "path": {"type": "string", "description": "Directory or file to search (default: the working directory)."},
                "glob": {"type": "string", "description": "Only search files matching this glob: without `/` it matches file names (`*.rs`), with `/` paths relative to `path` (`src/**/*.ts`); a leading `!` excludes."},
                "case_insensitive": {"type": "boolean", "description": "Match regardless of case (default false)."}
            },
            "required": ["pattern"],
            "additionalProperties": false
        })
    }
    fn kind(&self) -> ToolKind {
        ToolKind::ReadOnly
    }
    async fn run(&self, input: Value, ctx: &ToolContext) -> ToolOutput {
        let request = match Request::parse(&input, ctx) {
            Ok(r) => r,
            Err(e) => return e,
        };
        let cancel = ctx.cancel.clone();
        super::bounded::blocking_with_timeout(
            "the search",
            super::bounded::READ_ONLY_TIMEOUT,
            move || {
                let budget = WalkBudget::standard();
                search(&request, &|| cancel.is_cancelled(), &budget)
            },
        )
        .await
    }
}

/// A checked grep request.
struct Request {
    pattern: String,
    root: std::path::PathBuf,
    /// The `path` argument as given (shown for a file root and in messages).
    shown_root: String,
    glob: Option<String>,
    case_insensitive: bool,
}

impl Request {
    fn parse(input: &Value, ctx: &ToolContext) -> Result<Request, ToolOutput> {
        let pattern = str_arg(input, "pattern")?;
        if pattern.is_empty() {
            return Err(ToolOutput::error(
                "argument 'pattern' is empty; pass a regular expression",
            ));
        }
        let (root, shown_root) = match input.get("path") {
            None | Some(Value::Null) => (ctx.cwd.clone(), ".".to_string()),
            Some(Value::String(p)) => (ctx.resolve(p), p.clone()),
            Some(other) => {
                return Err(ToolOutput::error(format!(
                    "argument 'path' must be a string, got {other}"
                )));
            }
        };
        if !root.exists() {
            return Err(ToolOutput::error(format!(
                "path {} does not exist; pass an existing file or directory (or leave path out for the working directory)",
                root.display()
            )));
        }
        let glob = match input.get("glob") {
            None | Some(Value::Null) => None,
            Some(Value::String(g)) if g.trim().is_empty() => None,
            Some(Value::String(g)) => Some(g.clone()),
            Some(other) => {
                return Err(ToolOutput::error(format!(
                    "argument 'glob' must be a string, got {other}"
                )));
            }
        };
        let case_insensitive = match input.get("case_insensitive") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(ToolOutput::error(format!(
                    "argument 'case_insensitive' must be true or false, got {other}"
                )));
            }
        };
        Ok(Request {
            pattern: pattern.to_string(),
            root,
            shown_root,
            glob,
            case_insensitive,
        })
    }
}

/// One file's matches as formatted lines.
struct FileHits {
    text: Vec<u8>,
    lines: usize,
}

/// A relative path ordered component by component (`a/x` before `a-b/x`, like a sorted walk).
#[derive(PartialEq, Eq)]
struct PathKey(Vec<u8>);

impl PathKey {
    fn path(&self) -> &Path {
        Path::new(std::ffi::OsStr::from_bytes(&self.0))
    }
}

impl Ord for PathKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.path().cmp(other.path())
    }
}

impl PartialOrd for PathKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The files with matches kept so far: the smallest paths that still fill the caps.
#[derive(Default)]
struct Collected {
    files: BTreeMap<PathKey, FileHits>,
    kept_lines: usize,
    kept_bytes: usize,
}

impl Collected {
    fn full(&self) -> bool {
        self.kept_lines >= MAX_LINES || self.kept_bytes >= MAX_CHARS
    }

    fn add(&mut self, path: PathKey, hits: FileHits) {
        if self.full()
            && self
                .files
                .last_key_value()
                .is_some_and(|(last, _)| *last < path)
        {
            return;
        }
        self.kept_lines += hits.lines;
        self.kept_bytes += hits.text.len();
        self.files.insert(path, hits);
        // Drop the largest paths while the rest still fill the caps.
        while self.files.len() > 1 {
            let (_, last) = self.files.last_key_value().expect("non-empty");
            let (lines, bytes) = (
                self.kept_lines - last.lines,
                self.kept_bytes - last.text.len(),
            );
            if lines < MAX_LINES && bytes < MAX_CHARS {
                break;
            }
            self.files.pop_last();
            (self.kept_lines, self.kept_bytes) = (lines, bytes);
        }
    }
}

/// Formats the matches of one file into `out`, counting all of them.
struct FileSink<'a> {
    matcher: &'a RegexMatcher,
    path: &'a [u8],
    out: &'a mut Vec<u8>,
    lines: usize,
    count: u64,
    binary: bool,
}

impl Sink for FileSink<'_> {
    type Error = std::io::Error;

    fn matched(&mut self, _: &Searcher, mat: &SinkMatch<'_>) -> Result<bool, std::io::Error> {
        self.count += 1;
        if self.lines >= MAX_LINES || self.out.len() >= MAX_CHARS {
            return Ok(true);
        }
        self.lines += 1;
        let mut line = mat.bytes();
        while let [rest @ .., b'\n' | b'\r'] = line {
            line = rest;
        }
        self.out.extend_from_slice(self.path);
        self.out.push(b':');
        let mut num = [0u8; 20];
        self.out
            .extend_from_slice(format_u64(mat.line_number().unwrap_or(0), &mut num));
        self.out.push(b':');
        if line.len() <= MAX_LINE_LEN {
            self.out.extend_from_slice(line);
        } else {
            self.push_window(line);
        }
        self.out.push(b'\n');
        Ok(true)
    }

    fn binary_data(&mut self, _: &Searcher, _: u64) -> Result<bool, std::io::Error> {
        self.binary = true;
        Ok(false)
    }
}

impl FileSink<'_> {
    /// A long line: `MAX_LINE_LEN` bytes around the first match, cut on character boundaries.
    fn push_window(&mut self, line: &[u8]) {
        let at = self
            .matcher
            .find(line)
            .ok()
            .flatten()
            .map_or(0, |m| m.start());
        let mut start = at.saturating_sub(MAX_LINE_LEN / 4);
        let mut end = (start + MAX_LINE_LEN).min(line.len());
        while start > 0 && line[start] & 0xC0 == 0x80 {
            start -= 1;
        }
        while end < line.len() && line[end] & 0xC0 == 0x80 {
            end -= 1;
        }
        if start > 0 {
            self.out.extend_from_slice("…".as_bytes());
        }
        self.out.extend_from_slice(&line[start..end]);
        if end < line.len() {
            self.out
                .extend_from_slice(format!("… [line of {} bytes cut]", line.len()).as_bytes());
        }
    }
}

fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// A line longer than this makes its file unsearchable (the searcher holds one line whole).
const MAX_SEARCH_LINE: usize = 16 * 1024 * 1024;

/// Run the search (blocking: call it off the async runtime). `cancelled` is polled per file;
/// past `budget` the walk stops and the result says it is partial. Each file is opened
/// without blocking (a `/proc/kmsg` that would wait is skipped, docs/reliability.md).
fn search(req: &Request, cancelled: &(dyn Fn() -> bool + Sync), budget: &WalkBudget) -> ToolOutput {
    let matcher = match RegexMatcherBuilder::new()
        .case_insensitive(req.case_insensitive)
        .line_terminator(Some(b'\n'))
        .build(&req.pattern)
    {
        Ok(m) => m,
        Err(e) => {
            return ToolOutput::error(format!(
                "invalid regex `{}`: {e}\nThe syntax is ripgrep's (Rust regex); escape special characters such as ( ) [ ] {{ }} . * + ? | \\ with a backslash to match them literally.",
                req.pattern
            ));
        }
    };
    let filter = match req.glob.as_deref().map(PathFilter::new).transpose() {
        Ok(f) => f,
        Err(e) => {
            return ToolOutput::error(format!("{e}; pass a glob such as *.rs or src/**/*.ts"));
        }
    };
    let root_is_file = req.root.is_file();
    let collected = Mutex::new(Collected::default());
    let (total_lines, total_files, searched) =
        (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));

    let mut walk = WalkBuilder::new(&req.root);
    walk.add_custom_ignore_filename(".rgignore")
        .threads(walk_threads());
    walk.build_parallel().run(|| {
        let (matcher, filter, collected) = (matcher.clone(), filter.as_ref(), &collected);
        let (total_lines, total_files, searched) = (&total_lines, &total_files, &searched);
        let root = req.root.as_path();
        let shown_root = req.shown_root.as_bytes();
        let mut searcher = SearcherBuilder::new()
            .line_number(true)
            .binary_detection(BinaryDetection::quit(b'\x00'))
            .heap_limit(Some(MAX_SEARCH_LINE))
            .build();
        let mut buf = Vec::with_capacity(4096);
        Box::new(move |entry| {
            if cancelled() || budget.spent() {
                return WalkState::Quit;
            }
            let Ok(entry) = entry else {
                return WalkState::Continue;
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return WalkState::Continue;
            }
            let path = entry.path();
            let rel = if root_is_file {
                shown_root
            } else {
                match path.strip_prefix(root) {
                    Ok(rel) => rel.as_os_str().as_bytes(),
                    Err(_) => path.as_os_str().as_bytes(),
                }
            };
            if let Some(filter) = filter
                && !root_is_file
                && !filter.is_match(Path::new(std::ffi::OsStr::from_bytes(rel)))
            {
                return WalkState::Continue;
            }
            searched.fetch_add(1, Ordering::Relaxed);
            buf.clear();
            let mut sink = FileSink {
                matcher: &matcher,
                path: rel,
                out: &mut buf,
                lines: 0,
                count: 0,
                binary: false,
            };
            let Ok((file, _)) = super::bounded::open_regular(path) else {
                return WalkState::Continue;
            };
            if searcher.search_file(&matcher, &file, &mut sink).is_err()
                || sink.binary
                || sink.count == 0
            {
                return WalkState::Continue;
            }
            let (count, lines) = (sink.count, sink.lines);
            total_lines.fetch_add(count, Ordering::Relaxed);
            total_files.fetch_add(1, Ordering::Relaxed);
            let hits = FileHits {
                text: std::mem::take(&mut buf),
                lines,
            };
            collected
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .add(PathKey(rel.to_vec()), hits);
            WalkState::Continue
        })
    });
    if cancelled() {
        return ToolOutput::error("grep was cancelled by the user");
    }
    let collected = collected.into_inner().unwrap_or_else(|p| p.into_inner());
    let (total_lines, total_files) = (total_lines.into_inner(), total_files.into_inner());
    let mut out = if total_lines == 0 {
        ToolOutput::ok(format!(
            "No matches for `{}` in {} ({} files searched; files ignored by .gitignore/.ignore, hidden files and binary files are skipped).",
            req.pattern,
            req.shown_root,
            searched.into_inner()
        ))
    } else {
        render(collected, total_lines, total_files)
    };
    if budget.stopped() {
        out.text.push('\n');
        out.text.push_str(&budget.note("the search"));
    }
    out
}

fn render(collected: Collected, total_lines: u64, total_files: u64) -> ToolOutput {
    let mut out: Vec<u8> = Vec::with_capacity(collected.kept_bytes.min(MAX_CHARS) + 256);
    let mut shown = 0usize;
    'files: for hits in collected.files.values() {
        for line in hits.text.split_inclusive(|&b| b == b'\n') {
            if shown >= MAX_LINES || out.len() + line.len() > MAX_CHARS {
                break 'files;
            }
            out.extend_from_slice(line);
            shown += 1;
        }
    }
    let mut text = match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    if shown as u64 >= total_lines {
        text.pop();
    } else {
        text.push_str(&format!(
            "[Showing {shown} of {total_lines} matching lines in {total_files} files (cap: {MAX_LINES} lines / {MAX_CHARS} characters). Narrow the pattern, path or glob to see the rest.]"
        ));
    }
    ToolOutput::ok(text)
}

#[cfg(test)]
#[path = "grep_tests.rs"]
mod tests;
