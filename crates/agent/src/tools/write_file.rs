//! `write_file`: create a file or replace its whole content.
//!
//! A new file is written exactly as given (UTF-8, line endings as in `content`). An existing
//! text file keeps its encoding/BOM and line-ending style: `content`'s line breaks take the
//! file's dominant ending, and lines that did not change keep their exact ending (so a mixed
//! file is only touched where it changed). Writes are atomic (see [`text::write_atomic`]).

use std::fs;
use std::io;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::text::{self, Encoding, MAX_EDIT_BYTES, ReadError, TextFile};
use super::{Tool, ToolContext, ToolKind, ToolOutput, str_arg};

pub struct WriteFile;

const DESCRIPTION: &str = "\
Write a whole file: create a new file (missing parent folders are created) or replace all of an \
existing file's content. Use it for new files and for rewrites of most of a file; to change part \
of an existing file prefer edit_file (replace a unique piece of text) or edit_lines (replace line \
ranges by number), which are cheaper and safer. `content` is the complete new content, written \
exactly (include the final newline if the file should end with one). New files are UTF-8 with \
line endings as given. An existing file keeps its encoding (UTF-8, UTF-8 BOM, UTF-16) and line \
ending style (\\n in content becomes \\r\\n in a CRLF file), so always write plain \\n. The result \
says whether the file was created or overwritten and how many lines it has.";

#[async_trait]
impl Tool for WriteFile {
    fn name(&self) -> &'static str {
        "write_file"
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
                    "description": "The file to write: relative to the working directory, or absolute. Parent folders are created."
                },
                "content": {
                    "type": "string",
                    "description": "The complete content of the file."
                }
            },
            "required": ["path", "content"],
            "additionalProperties": false
        })
    }
    fn kind(&self) -> ToolKind {
        ToolKind::Mutating
    }
    async fn run(&self, input: Value, ctx: &ToolContext) -> ToolOutput {
        let ctx = ctx.clone();
        super::blocking("write_file", move || write(&input, &ctx)).await
    }
}

pub(crate) fn write(input: &Value, ctx: &ToolContext) -> ToolOutput {
    match try_write(input, ctx) {
        Ok(out) | Err(out) => out,
    }
}

/// What was at the path before.
enum Before {
    Missing,
    Text(TextFile),
    /// Binary or too big to diff: replaced without keeping anything.
    Opaque(String),
}

fn try_write(input: &Value, ctx: &ToolContext) -> Result<ToolOutput, ToolOutput> {
    let shown = str_arg(input, "path")?;
    let content = str_arg(input, "content")?;
    if shown.ends_with('/') || shown.ends_with(std::path::MAIN_SEPARATOR) {
        return Err(ToolOutput::error(format!(
            "{shown} ends with a path separator; write_file needs a file path including the file name"
        )));
    }
    let path = ctx.resolve(shown);
    let before = match text::load(&path, MAX_EDIT_BYTES) {
        Ok(file) => Before::Text(file),
        Err(ReadError::NotFound) => Before::Missing,
        Err(ReadError::Binary { size, .. }) => {
            Before::Opaque(format!("a binary file of {size} bytes"))
        }
        Err(ReadError::TooLarge { size, .. }) => {
            Before::Opaque(format!("a file of {}", text::human_size(size)))
        }
        Err(ReadError::IsDirectory) => {
            return Err(ToolOutput::error(format!(
                "{shown} is a directory; write_file needs a file path (e.g. {}/name.ext)",
                shown.trim_end_matches('/')
            )));
        }
        Err(ReadError::NotAFile) => {
            return Err(ToolOutput::error(format!(
                "{shown} is not a regular file (a device, socket or FIFO); write_file only writes regular files"
            )));
        }
        Err(e @ ReadError::Protected) => {
            return Err(ToolOutput::error(e.message(shown, &path)));
        }
        Err(ReadError::Io(e)) => {
            return Err(ToolOutput::error(format!("could not write {shown}: {e}")));
        }
    };
    let write_failed = |e: io::Error| {
        let why = match e.kind() {
            io::ErrorKind::PermissionDenied => format!("permission denied ({e})"),
            _ => e.to_string(),
        };
        ToolOutput::error(format!(
            "could not write {shown}: {why}; the file was not changed"
        ))
    };
    match before {
        Before::Missing => {
            if let Some(dir) = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty() && !d.is_dir())
            {
                fs::create_dir_all(dir).map_err(|e| {
                    ToolOutput::error(format!(
                        "could not create the folder {}: {e}",
                        dir.display()
                    ))
                })?;
            }
            let file = TextFile::parse(Encoding::Utf8, content);
            text::write_atomic(&path, content.as_bytes()).map_err(write_failed)?;
            let lines = text::line_count(file.text());
            Ok(ToolOutput {
                text: format!("created {shown} ({lines} line{})", plural(lines)),
                diff: Some(text::creation_diff(shown, file.text())),
                ..Default::default()
            })
        }
        Before::Opaque(what) => {
            text::write_atomic(&path, content.as_bytes()).map_err(write_failed)?;
            let lines = text::line_count(TextFile::parse(Encoding::Utf8, content).text());
            Ok(ToolOutput::ok(format!(
                "overwrote {shown} ({lines} line{}); it was {what}, now UTF-8 text",
                plural(lines)
            )))
        }
        Before::Text(old) => {
            let new = if old.has_line_breaks() {
                let mut new = old.clone();
                new.replace_text(&old.normalize_input(content));
                new
            } else {
                // No line ending to follow: take content's own, keep the encoding.
                TextFile::parse(old.encoding(), content)
            };
            let (old_lines, lines) = (text::line_count(old.text()), text::line_count(new.text()));
            let bytes = new.encode();
            if bytes == old.encode() {
                return Ok(ToolOutput::ok(format!(
                    "{shown} already has exactly this content ({lines} line{}); nothing was written",
                    plural(lines)
                )));
            }
            text::write_atomic(&path, &bytes).map_err(write_failed)?;
            let note = if old.has_line_breaks() {
                new.format_note()
            } else {
                (new.encoding() != Encoding::Utf8).then(|| new.encoding().label().to_string())
            };
            let kept = note.map(|n| format!("; kept its {n}")).unwrap_or_default();
            Ok(ToolOutput {
                text: format!(
                    "overwrote {shown} ({lines} line{}, was {old_lines}){kept}",
                    plural(lines)
                ),
                diff: Some(text::unified_diff(shown, old.text(), new.text())),
                ..Default::default()
            })
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
#[path = "write_file_tests.rs"]
mod tests;
