//! `SESSIONS_KEEP_DAYS` (docs/sessions.md "Keeping sessions"): at start-up, the project's
//! sessions not used for that many days are deleted. Cheap: one directory listing and one
//! `stat` per session, nothing read; it runs only when the key is set.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::Session;

/// Delete the sessions of `project_root` whose folder was last changed more than `days` days
/// ago (a save renames files into the folder, and resuming touches it), except `keep` (the
/// session being resumed). Only real folders named like a session id (a UUID) and holding a
/// `meta.json` are deleted; a symlink is never followed. Returns how many were deleted;
/// failures are skipped (the next start tries again).
pub fn remove_expired(project_root: &Path, days: u64, keep: Option<&Path>) -> usize {
    let Some(max_age) = days.checked_mul(86_400).map(Duration::from_secs) else {
        return 0;
    };
    let now = SystemTime::now();
    let sessions = Session::sessions_dir(project_root);
    // A sessions folder that is a link out of the project is not ours to clean.
    if super::inside::resolves_inside(project_root, &sessions).is_err() {
        return 0;
    }
    let Ok(entries) = fs::read_dir(&sessions) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        if keep.is_some_and(|k| k == path) {
            continue;
        }
        let is_session = entry
            .file_name()
            .to_str()
            .is_some_and(|n| uuid::Uuid::parse_str(n).is_ok());
        // `symlink_metadata`: a link is not a folder here, whatever it points at.
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if !is_session || !meta.is_dir() {
            continue;
        }
        let expired = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age > max_age);
        if expired
            && fs::symlink_metadata(path.join("meta.json")).is_ok_and(|m| m.is_file())
            && fs::remove_dir_all(&path).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// Mark a session as used now (its folder's time), so that resuming an old session keeps it
/// from being deleted by another sx starting meanwhile.
pub fn touch(dir: &Path) {
    if let Ok(f) = fs::File::open(dir) {
        let _ = f.set_modified(SystemTime::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "0190aaaa-0000-7000-8000-000000000001";
    const NEW: &str = "0190aaaa-0000-7000-8000-000000000002";
    const RESUMED: &str = "0190aaaa-0000-7000-8000-000000000003";

    fn age(dir: &Path, days: u64) {
        let t = SystemTime::now() - Duration::from_secs(days * 86_400);
        fs::File::open(dir).unwrap().set_modified(t).unwrap();
    }

    #[test]
    fn only_old_session_folders_go_and_never_the_one_kept() {
        let d = tempfile::tempdir().unwrap();
        let sessions = Session::sessions_dir(d.path());
        for id in [OLD, NEW, RESUMED] {
            fs::create_dir_all(sessions.join(id)).unwrap();
            fs::write(sessions.join(id).join("meta.json"), "{}").unwrap();
        }
        // Not sessions: another name, a folder without meta.json, a link to an old session
        // elsewhere.
        let stray = sessions.join("notes");
        fs::create_dir_all(&stray).unwrap();
        let bare = sessions.join("0190aaaa-0000-7000-8000-000000000004");
        fs::create_dir_all(&bare).unwrap();
        let elsewhere = d.path().join("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        fs::write(elsewhere.join("meta.json"), "{}").unwrap();
        let link = sessions.join("0190aaaa-0000-7000-8000-000000000005");
        std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
        for p in [
            sessions.join(OLD),
            sessions.join(RESUMED),
            stray.clone(),
            bare.clone(),
        ] {
            age(&p, 40);
        }
        age(&elsewhere, 40);
        age(&sessions.join(NEW), 29);

        let kept = sessions.join(RESUMED);
        assert_eq!(remove_expired(d.path(), 30, Some(&kept)), 1);
        assert!(!sessions.join(OLD).exists());
        for p in [
            sessions.join(NEW),
            kept,
            stray,
            bare,
            link,
            elsewhere.join("meta.json"),
        ] {
            assert!(p.exists(), "{} was deleted", p.display());
        }
        // no sessions folder at all: nothing to do
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(remove_expired(empty.path(), 1, None), 0);
    }

    #[test]
    fn touching_makes_a_session_new() {
        let d = tempfile::tempdir().unwrap();
        let dir = Session::sessions_dir(d.path()).join(OLD);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("meta.json"), "{}").unwrap();
        age(&dir, 40);
        touch(&dir);
        assert_eq!(remove_expired(d.path(), 30, None), 0);
        assert!(dir.exists());
    }
}
