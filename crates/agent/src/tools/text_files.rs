//! Text files on disk: loading with clear refusals (missing, directory, too large, binary),
//! atomic saves that keep permissions, symlinks and hard links, and the diffs shown to the user.

use std::fs;
use std::io;
use std::path::Path;

use sx_config::atomic::{AtomicWrite, HardLinks, Mode, Parent, Symlinks};

use super::{TextFile, Undecodable, human_size};

/// Why a file could not be loaded as text.
#[derive(Debug)]
pub enum ReadError {
    NotFound,
    IsDirectory,
    /// A device, socket or FIFO.
    NotAFile,
    /// A credential file sx itself uses (docs/reliability.md, hole 4).
    Protected,
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
            ReadError::Protected => format!(
                "{shown} is a credential file sx uses (it holds sign-in tokens); sx never gives its content to the model. Do not try to read it another way; if the task needs something from it, ask the user"
            ),
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

impl From<crate::tools::bounded::OpenError> for ReadError {
    fn from(e: crate::tools::bounded::OpenError) -> Self {
        use crate::tools::bounded::OpenError;
        match e {
            OpenError::NotFound => ReadError::NotFound,
            OpenError::IsDirectory => ReadError::IsDirectory,
            OpenError::NotAFile => ReadError::NotAFile,
            OpenError::Protected => ReadError::Protected,
            OpenError::Io(e) => ReadError::Io(e),
        }
    }
}

/// Check that `path` is a regular file no bigger than `max`; returns its size.
pub fn check_file(path: &Path, max: u64) -> Result<u64, ReadError> {
    if sx_config::secrets::is_protected(path) {
        return Err(ReadError::Protected);
    }
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ReadError::NotFound,
        _ => ReadError::Io(e),
    })?;
    if sx_config::secrets::is_protected_file(&meta) {
        return Err(ReadError::Protected);
    }
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

/// Load a text file whole: a regular file, opened without blocking, read to at most `max`
/// bytes whatever size it claims (`/proc` files claim 0; a log grows while it is read).
pub fn load(path: &Path, max: u64) -> Result<TextFile, ReadError> {
    let (mut file, meta) = crate::tools::bounded::open_regular(path)?;
    if meta.len() > max {
        return Err(ReadError::TooLarge {
            size: meta.len(),
            max,
        });
    }
    let bytes = crate::tools::bounded::read_capped(&mut file, max).map_err(ReadError::Io)?;
    if bytes.len() as u64 > max {
        return Err(ReadError::TooLarge {
            size: bytes.len() as u64,
            max,
        });
    }
    TextFile::decode(&bytes).map_err(|why| ReadError::Binary {
        size: bytes.len() as u64,
        why,
    })
}

/// Write `file` to `path` atomically (see [`write_atomic`]).
pub fn save(path: &Path, file: &TextFile) -> io::Result<()> {
    write_atomic(path, &file.encode())
}

/// How the file tools write (see [`sx_config::atomic`]): a symlink is followed (its target is
/// replaced, the link stays); a file with several hard links is rewritten in place instead, so
/// the links keep sharing it; a read-only file is refused; the old file's permissions are kept.
/// Missing parent folders are not created here.
const TOOL_WRITE: AtomicWrite = AtomicWrite::new()
    .mode(Mode::Keep)
    .parent(Parent::MustExist)
    .symlinks(Symlinks::Follow)
    .hard_links(HardLinks::RewriteInPlace)
    .refuse_read_only(true);

/// Replace `path`'s contents with `bytes` so that readers see the old or the new file, never a
/// mix (temp file in the same folder, fsync, rename), under the file tools' policy.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    TOOL_WRITE.write(path, bytes)
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
