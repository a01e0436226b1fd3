//! What the UI remembers and looks up on disk: the prompt history of each project
//! (`~/.scorpiox/history/<hash of the project root>`, one JSON string per line, the last 500
//! kept), the profiles that exist and the saved sessions (for Tab completion).

use std::io::Write;
use std::path::{Path, PathBuf};

use sx_config::Config;

const KEEP: usize = 500;
/// A history file larger than this is read from its end only.
const MAX_BYTES: u64 = 4 * 1024 * 1024;

/// FNV-1a: a stable file name per project without a hashing dependency.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

pub fn file(config: &Config) -> Option<PathBuf> {
    let home = config.home()?;
    let root = config.project_root().display().to_string();
    Some(
        home.join(".scorpiox")
            .join("history")
            .join(format!("{:016x}", fnv(&root))),
    )
}

pub fn load(path: &Path) -> Vec<String> {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if len > MAX_BYTES {
        let _ = f.seek(SeekFrom::Start(len - MAX_BYTES));
    }
    let mut s = String::new();
    let _ = f.take(MAX_BYTES).read_to_string(&mut s);
    let mut out: Vec<String> = s
        .lines()
        .filter_map(|l| serde_json::from_str::<String>(l).ok())
        .collect();
    let skip = out.len().saturating_sub(KEEP);
    out.drain(..skip);
    out
}

pub fn append(path: &Path, entry: &str) {
    let Some(dir) = path.parent() else {
        return;
    };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let line = serde_json::to_string(entry).unwrap_or_default();
    // Not through a link, nor into a FIFO (docs/reliability.md, hole 3).
    use std::os::unix::fs::OpenOptionsExt;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
        && f.metadata().is_ok_and(|m| m.is_file())
    {
        let _ = writeln!(f, "{line}");
    }
}

/// Profile names found in the `scorpiox-env/` folders of the project, user and global tiers.
pub fn profiles(config: &Config) -> Vec<String> {
    let mut dirs = vec![
        config.project_root().join("scorpiox-env"),
        config.project_root().join(".scorpiox").join("scorpiox-env"),
    ];
    if let Some(home) = config.home() {
        dirs.push(home.join(".scorpiox").join("scorpiox-env"));
    }
    if let Some(exe) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(exe.join("scorpiox-env"));
    }
    let mut names: Vec<String> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".txt").map(str::to_owned)
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Saved session ids, newest first.
pub fn sessions(config: &Config) -> Vec<String> {
    let dir = config.project_root().join(".scorpiox").join("sessions");
    let mut ids: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    // UUIDv7 ids sort by time.
    ids.sort();
    ids.reverse();
    ids.truncate(20);
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_or_fifo_at_the_history_file_is_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "mine\n").unwrap();
        let link = dir.path().join("h/linked");
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        append(&link, "entry");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "mine\n");
        // A FIFO with no reader: not waited on.
        let fifo = dir.path().join("h/fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        append(&fifo, "entry");
    }

    #[test]
    fn history_round_trips_multi_line_entries_and_keeps_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("h/x");
        append(&f, "first");
        append(&f, "two\nlines");
        assert_eq!(load(&f), ["first", "two\nlines"]);
        for i in 0..KEEP + 5 {
            append(&f, &format!("n{i}"));
        }
        let h = load(&f);
        assert_eq!(h.len(), KEEP);
        assert_eq!(
            h.last().map(String::as_str),
            Some(&*format!("n{}", KEEP + 4))
        );
    }
}
