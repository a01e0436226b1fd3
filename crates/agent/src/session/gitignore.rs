//! The sessions folder's line in the repository's `.gitignore` (docs/sessions.md): added once,
//! only in a git repository, and only to a `.gitignore` that is a regular file (or a new one).
//! A `.gitignore` that is a symlink (or anything else) is left untouched: appending through a
//! link would write to whatever file it points at.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::SESSIONS_DIR;

/// Add `/<path>/.scorpiox/sessions/` to `<git_root>/.gitignore` unless a line already covers
/// it. Best effort: a `.gitignore` that cannot be read or written costs no session.
pub fn ensure_ignored(git_root: &Path, project_root: &Path) {
    let rel = project_root.strip_prefix(git_root).unwrap_or(Path::new(""));
    let entry = if rel.as_os_str().is_empty() {
        format!("/{SESSIONS_DIR}/")
    } else {
        format!("/{}/{SESSIONS_DIR}/", rel.display())
    };
    let path = git_root.join(".gitignore");
    let existing = match fs::symlink_metadata(&path) {
        Ok(m) if m.is_file() => match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(_) => return,
        },
        Ok(_) => return,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(_) => return,
    };
    let covered = existing.lines().map(str::trim).any(|l| {
        l == entry
            || l == entry.trim_start_matches('/')
            || l == SESSIONS_DIR
            || l == format!("{SESSIONS_DIR}/")
            || l == ".scorpiox/"
            || l == ".scorpiox"
    });
    if covered {
        return;
    }
    // O_NOFOLLOW and O_NONBLOCK: a symlink or FIFO put there since the check above is
    // refused rather than followed or waited on; the handle is checked to be a regular file.
    let Ok(mut f) = OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(&path)
    else {
        return;
    };
    if !f.metadata().is_ok_and(|m| m.is_file()) {
        return;
    }
    let sep = if existing.is_empty() || existing.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    let _ = writeln!(
        f,
        "{sep}# sx sessions (transcripts and traffic logs)\n{entry}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_in_a_regular_or_new_file() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("sub");
        fs::create_dir_all(&root).unwrap();
        ensure_ignored(d.path(), d.path());
        assert_eq!(
            fs::read_to_string(d.path().join(".gitignore")).unwrap(),
            "# sx sessions (transcripts and traffic logs)\n/.scorpiox/sessions/\n"
        );
        fs::write(d.path().join(".gitignore"), "target").unwrap();
        ensure_ignored(d.path(), &root);
        ensure_ignored(d.path(), &root);
        let gi = fs::read_to_string(d.path().join(".gitignore")).unwrap();
        assert_eq!(gi.matches("/sub/.scorpiox/sessions/").count(), 1, "{gi}");
        assert!(gi.starts_with("target\n"), "{gi}");
    }

    #[test]
    fn a_symlinked_gitignore_and_its_target_are_left_alone() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("shared-ignore");
        fs::write(&target, "target\n").unwrap();
        let repo = d.path().join("repo");
        fs::create_dir_all(&repo).unwrap();
        std::os::unix::fs::symlink(&target, repo.join(".gitignore")).unwrap();
        ensure_ignored(&repo, &repo);
        assert_eq!(fs::read_to_string(&target).unwrap(), "target\n");
        assert!(
            fs::symlink_metadata(repo.join(".gitignore"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        // a dangling link is not created through either
        let dangling = d.path().join("dangling");
        fs::create_dir_all(&dangling).unwrap();
        std::os::unix::fs::symlink(d.path().join("nowhere"), dangling.join(".gitignore")).unwrap();
        ensure_ignored(&dangling, &dangling);
        assert!(!d.path().join("nowhere").exists());
        // nor is a FIFO waited on
        let fifo_repo = d.path().join("fifo");
        fs::create_dir_all(&fifo_repo).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(fifo_repo.join(".gitignore"))
            .status()
            .unwrap();
        assert!(made.success());
        ensure_ignored(&fifo_repo, &fifo_repo);
    }
}
