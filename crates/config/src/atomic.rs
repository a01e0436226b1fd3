//! The one atomic file write of the workspace, used by the config editor, the file tools,
//! sessions and credentials: readers (and a crash) see the old file or the new one, never a
//! mix.
//!
//! The bytes go to a temporary file with a unique name (`.{name}.sx-{pid}-{n}.tmp`, created
//! with `create_new`) in the target's own folder, which is flushed (`fsync`) with its final
//! permissions and renamed over the target; the folder is then flushed too, so the rename
//! itself survives a crash. On any failure the temporary file is removed and the target is
//! untouched. What differs between callers is an [`AtomicWrite`] policy: the mode, whether the
//! parent folder is created, what a symlink or a hard-linked file means, read-only files, and
//! whether temporary files that a killed process left behind are removed first
//! ([`remove_stale_temps`]: files that may hold secrets do not outlive a `kill -9`).
//!
//! ```no_run
//! use sx_config::atomic::{AtomicWrite, Mode, Parent};
//! const PRIVATE: AtomicWrite = AtomicWrite::new()
//!     .mode(Mode::Set(0o600))
//!     .parent(Parent::CreateWithMode(0o700));
//! PRIVATE.write("/home/me/.codex/auth.json".as_ref(), b"{}")?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// The permissions the written file ends up with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The existing file's permissions; a new file gets the process default (0666 minus umask).
    Keep,
    /// The existing file's permissions; a new file gets exactly this mode.
    KeepOr(u32),
    /// Exactly this mode, whatever the file had (e.g. 0o600 for private files).
    Set(u32),
}

/// What happens when the target's parent folder does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    /// The write fails (`NotFound`).
    MustExist,
    /// Missing folders are created with the default mode.
    Create,
    /// Missing folders are created with this mode (existing ones are left alone).
    CreateWithMode(u32),
}

/// What a target that is a symlink means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symlinks {
    /// The link is replaced by a regular file (a plain rename over the path).
    Replace,
    /// The link is followed (through chains, relative to each link's folder) and its final
    /// target is replaced; the link stays. A dangling link's target is created.
    Follow,
}

/// What a target with more than one hard link means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HardLinks {
    /// The path gets a new file; the other links keep the old contents.
    Break,
    /// The file is rewritten in place (truncate, write, fsync; not atomic) so every link sees
    /// the new contents.
    RewriteInPlace,
}

/// How to write one file atomically; see the module documentation. Build it with the `const`
/// methods, then call [`AtomicWrite::write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtomicWrite {
    mode: Mode,
    without: u32,
    parent: Parent,
    symlinks: Symlinks,
    hard_links: HardLinks,
    refuse_read_only: bool,
    clean_stale: bool,
    durable: bool,
}

impl Default for AtomicWrite {
    fn default() -> Self {
        Self::new()
    }
}

impl AtomicWrite {
    /// Keep the mode, parent must exist, replace symlinks, break hard links, no read-only
    /// check.
    pub const fn new() -> Self {
        AtomicWrite {
            mode: Mode::Keep,
            without: 0,
            parent: Parent::MustExist,
            symlinks: Symlinks::Replace,
            hard_links: HardLinks::Break,
            refuse_read_only: false,
            clean_stale: false,
            durable: true,
        }
    }

    /// Whether the file and its folder are flushed to the disk (`fsync`) before `write`
    /// returns (the default). Without it the write is still atomic for every reader and
    /// survives the writer being killed — the kernel keeps the page cache — but a power loss
    /// right after it may lose it: for files rewritten often where the previous version is an
    /// acceptable loss (session transcripts), not for credentials.
    pub const fn durable(mut self, durable: bool) -> Self {
        self.durable = durable;
        self
    }

    /// Before writing, remove the target's temporary files left by processes that no longer
    /// run ([`remove_stale_temps`]); for files that hold secrets.
    pub const fn clean_stale_temps(mut self, clean: bool) -> Self {
        self.clean_stale = clean;
        self
    }

    pub const fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Permission bits removed from whatever [`Mode`] gives (e.g. 0o077: no group or other
    /// access, for a file that holds a secret).
    pub const fn without_bits(mut self, bits: u32) -> Self {
        self.without = bits;
        self
    }

    pub const fn parent(mut self, parent: Parent) -> Self {
        self.parent = parent;
        self
    }

    pub const fn symlinks(mut self, symlinks: Symlinks) -> Self {
        self.symlinks = symlinks;
        self
    }

    pub const fn hard_links(mut self, hard_links: HardLinks) -> Self {
        self.hard_links = hard_links;
        self
    }

    /// Refuse (`PermissionDenied`, "the file is read-only") to replace a file without write
    /// permission instead of replacing it anyway.
    pub const fn refuse_read_only(mut self, refuse: bool) -> Self {
        self.refuse_read_only = refuse;
        self
    }

    /// Replace the contents of `path` with `bytes` under this policy.
    pub fn write(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let target = match self.symlinks {
            Symlinks::Replace => path.to_path_buf(),
            Symlinks::Follow => follow_symlinks(path),
        };
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        match self.parent {
            Parent::MustExist => {}
            Parent::Create => fs::create_dir_all(&dir)?,
            Parent::CreateWithMode(mode) => create_dir_with_mode(&dir, mode)?,
        }
        let existing = if self.needs_metadata() {
            match fs::metadata(&target) {
                Ok(m) => Some(m),
                Err(e) if matches!(e.kind(), io::ErrorKind::NotFound) => None,
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        if let Some(m) = &existing {
            if self.refuse_read_only && m.permissions().readonly() {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "the file is read-only",
                ));
            }
            if self.hard_links == HardLinks::RewriteInPlace && hard_links(m) > 1 {
                let mut f = fs::OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(&target)?;
                f.write_all(bytes)?;
                return if self.durable { f.sync_all() } else { Ok(()) };
            }
        }
        let known = self.final_mode(existing.as_ref());
        if self.clean_stale {
            remove_stale_temps(&target);
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (tmp, mut f) = create_temp(&dir, &name, known.is_some())?;
        let written = (|| {
            let mode = match known {
                Some(m) => Some(m),
                // A new file under `Mode::Keep`: the process default, minus `without`.
                None if self.without != 0 => Some(mode_of(&f.metadata()?) & !self.without),
                None => None,
            };
            f.write_all(bytes)?;
            if let Some(mode) = mode {
                set_mode(&f, mode)?;
            }
            if self.durable {
                f.sync_all()?;
            }
            drop(f);
            fs::rename(&tmp, &target)
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        if self.durable {
            sync_dir(&dir);
        }
        Ok(())
    }

    fn needs_metadata(&self) -> bool {
        self.refuse_read_only
            || self.hard_links == HardLinks::RewriteInPlace
            || matches!(self.mode, Mode::Keep | Mode::KeepOr(_))
    }

    /// The mode to give the file, or `None` when it is the process default (a new file under
    /// [`Mode::Keep`]).
    fn final_mode(&self, existing: Option<&fs::Metadata>) -> Option<u32> {
        let base = match (self.mode, existing) {
            (Mode::Set(m), _) => m,
            (Mode::Keep | Mode::KeepOr(_), Some(meta)) => mode_of(meta),
            (Mode::KeepOr(m), None) => m,
            (Mode::Keep, None) => return None,
        };
        Some(base & !self.without)
    }
}

/// Write `bytes` to `path` atomically under `policy` (same as `policy.write(path, bytes)`).
pub fn write_atomic(path: &Path, bytes: &[u8], policy: &AtomicWrite) -> io::Result<()> {
    policy.write(path, bytes)
}

/// Remove the temporary files of `path` (beside it) whose writer is gone: ours
/// (`.{name}.sx-{pid}-{n}.tmp`) and those of earlier versions (`.{name}.tmp.{pid}`), when
/// process `pid` no longer runs. A file of a running process — this one included — is left
/// alone, and so is everything when `/proc` cannot tell (not Linux). Best effort; returns how
/// many were removed.
pub fn remove_stale_temps(path: &Path) -> usize {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return 0;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    if !Path::new("/proc/self").exists() {
        return 0;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let ours = format!(".{name}.sx-");
    let legacy = format!(".{name}.tmp.");
    let mut removed = 0;
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(file) = file.to_str() else { continue };
        let pid = if let Some(rest) = file.strip_prefix(&ours) {
            rest.strip_suffix(".tmp")
                .and_then(|r| r.split_once('-'))
                .map(|(pid, _)| pid)
        } else {
            file.strip_prefix(&legacy)
        };
        let Some(pid) = pid.and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_file()) && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
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

/// A new temporary file beside the target. With `private` it starts as 0600 (the final mode
/// is set before anything else can see the contents); else with the process default.
fn create_temp(dir: &Path, name: &str, private: bool) -> io::Result<(PathBuf, fs::File)> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let mut last_err = None;
    for _ in 0..100 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.sx-{}-{n}.tmp", std::process::id()));
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        match opts.open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("could not create a temporary file")))
}

/// Make the rename durable. Best effort: some file systems refuse to flush a folder, and the
/// new file is already in place.
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(unix)]
fn create_dir_with_mode(dir: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new().recursive(true).mode(mode).create(dir)
}

#[cfg(not(unix))]
fn create_dir_with_mode(dir: &Path, _mode: u32) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn mode_of(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_of(meta: &fs::Metadata) -> u32 {
    if meta.permissions().readonly() {
        0o444
    } else {
        0o644
    }
}

#[cfg(unix)]
fn set_mode(f: &fs::File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(f: &fs::File, mode: u32) -> io::Result<()> {
    let mut p = f.metadata()?.permissions();
    p.set_readonly(mode & 0o222 == 0);
    f.set_permissions(p)
}

#[cfg(unix)]
fn hard_links(meta: &fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::nlink(meta)
}

#[cfg(not(unix))]
fn hard_links(_meta: &fs::Metadata) -> u64 {
    1
}

#[cfg(test)]
#[path = "atomic_tests.rs"]
mod tests;
