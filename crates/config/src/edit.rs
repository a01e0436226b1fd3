//! Editing config files in place: set/unset one key, preserving everything else; trust.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::ConfigError;
use crate::atomic::{AtomicWrite, Mode, Parent, Symlinks};
use crate::keys::{is_secret, valid_key};
use crate::parse::{Parsed, lines, parse_line, read_file, unquote};

/// `~/.scorpiox/scorpiox-env.txt`
pub fn user_file(home: &Path) -> PathBuf {
    home.join(".scorpiox").join("scorpiox-env.txt")
}

/// `<root>/scorpiox-env.txt`
pub fn project_file(project_root: &Path) -> PathBuf {
    project_root.join("scorpiox-env.txt")
}

/// A value for display: a secret's value is `***` (an empty one stays empty).
pub fn display_value(key: &str, value: &str) -> String {
    if is_secret(key) && !value.is_empty() {
        "***".to_string()
    } else {
        value.to_string()
    }
}

/// The text after `KEY=` that reads back as `value`: quoted when the value has surrounding
/// whitespace or is itself wrapped in matching quotes.
fn encode(value: &str) -> String {
    if value.trim() != value || unquote(value) != value {
        format!("\"{value}\"")
    } else {
        value.to_string()
    }
}

/// The key a raw line sets, if it is a `KEY=VALUE` line.
fn line_key(raw: &[u8]) -> Option<&str> {
    match parse_line(std::str::from_utf8(raw).ok()?) {
        Parsed::Pair(k, _) => Some(k),
        _ => None,
    }
}

/// Set `key=value` in the file at `path` (created with its parent directories if missing):
/// the last existing line for the key is replaced in place, earlier duplicates removed, other
/// lines kept as they are; else the line is appended. Written atomically.
pub fn set_in_file(path: &Path, key: &str, value: &str) -> Result<(), ConfigError> {
    if !valid_key(key) {
        return Err(ConfigError::BadKey {
            key: key.to_string(),
        });
    }
    if value.contains(['\n', '\r']) {
        return Err(ConfigError::BadValue {
            key: key.to_string(),
            reason: "the value contains a line break and values are one line".into(),
        });
    }
    let path = &resolve_symlink(path)?;
    let old = read_existing(path)?;
    let new_line = format!("{key}={}", encode(value));
    let out = rewrite(old.as_deref().unwrap_or_default(), key, Some(&new_line));
    write_atomic(path, &out)
}

/// Remove every line setting `key` from the file at `path`. `Ok(false)` when there was none
/// (or no file); the file is only rewritten when something was removed.
pub fn unset_in_file(path: &Path, key: &str) -> Result<bool, ConfigError> {
    let path = &resolve_symlink(path)?;
    let Some(old) = read_existing(path)? else {
        return Ok(false);
    };
    if !lines(&old).any(|(_, raw)| line_key(raw) == Some(key)) {
        return Ok(false);
    }
    write_atomic(path, &rewrite(&old, key, None))?;
    Ok(true)
}

/// Record `project_root` (canonicalized) in `TRUSTED_PROJECTS` of the user file, keeping the
/// entries already there (taken from `~/.claude/scorpiox-env.txt` when ours has none).
pub fn trust_project(home: &Path, project_root: &Path) -> Result<(), ConfigError> {
    let root = project_root
        .canonicalize()
        .map_err(|source| ConfigError::Io {
            path: project_root.to_path_buf(),
            source,
        })?;
    let root_str = root.display().to_string();
    if root_str.contains(':') {
        return Err(ConfigError::BadValue {
            key: "TRUSTED_PROJECTS".into(),
            reason: format!("the path {root_str} contains ':' which separates entries"),
        });
    }
    let ours = user_file(home);
    let last = |path: &Path| -> Result<Option<String>, ConfigError> {
        Ok(read_file(path)?.and_then(|ls| {
            ls.into_iter()
                .rev()
                .find(|l| l.key == "TRUSTED_PROJECTS")
                .map(|l| l.value)
        }))
    };
    let in_ours = last(&ours)?;
    let from_ours = in_ours.is_some();
    let current = match in_ours {
        Some(v) => v,
        None => last(&home.join(".claude/scorpiox-env.txt"))?.unwrap_or_default(),
    };
    let mut entries: Vec<&str> = current
        .split(':')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let present = entries
        .iter()
        .any(|e| Path::new(e) == root || Path::new(e).canonicalize().is_ok_and(|c| c == root));
    if present && from_ours {
        return Ok(());
    }
    if !present {
        entries.push(&root_str);
    }
    set_in_file(&ours, "TRUSTED_PROJECTS", &entries.join(":"))
}

/// Write through a symlink to its target rather than replacing the link (a config file kept
/// in a dotfiles folder) — but only to a target that is itself a configuration file by its
/// name: `scorpiox-env.txt`, or a `.txt` profile in a `scorpiox-env` folder. A repository's
/// `scorpiox-env.txt` linking to `~/.bashrc` is refused, not appended to (docs/reliability.md,
/// hole 3).
fn resolve_symlink(path: &Path) -> Result<PathBuf, ConfigError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            let target = path.canonicalize().unwrap_or_else(|_| {
                // A dangling link: judged by what it names.
                std::fs::read_link(path)
                    .map(|t| path.parent().unwrap_or(Path::new("")).join(t))
                    .unwrap_or_else(|_| path.to_path_buf())
            });
            if is_config_name(&target) {
                Ok(target)
            } else {
                Err(ConfigError::LinkedElsewhere {
                    path: path.to_path_buf(),
                    target,
                })
            }
        }
        _ => Ok(path.to_path_buf()),
    }
}

fn is_config_name(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let folder = path
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .unwrap_or("");
    name == "scorpiox-env.txt" || (folder == "scorpiox-env" && name.ends_with(".txt"))
}

fn read_existing(path: &Path) -> Result<Option<Vec<u8>>, ConfigError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => Ok(None),
        Err(source) => Err(ConfigError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The file with `key`'s lines replaced by `new_line` (at the last one's place, or appended)
/// or removed (`None`). BOM and line-ending style are kept.
fn rewrite(old: &[u8], key: &str, new_line: Option<&str>) -> Vec<u8> {
    let bom: &[u8] = if old.starts_with(b"\xEF\xBB\xBF") {
        b"\xEF\xBB\xBF"
    } else {
        b""
    };
    let eol: &[u8] = match old.iter().position(|&b| b == b'\n') {
        Some(i) if i > 0 && old[i - 1] == b'\r' => b"\r\n",
        _ => b"\n",
    };
    let last = lines(old)
        .filter(|(_, raw)| line_key(raw) == Some(key))
        .map(|(n, _)| n)
        .last();
    let mut out = Vec::with_capacity(old.len() + 64);
    out.extend_from_slice(bom);
    for (n, raw) in lines(old) {
        if line_key(raw) == Some(key) {
            if Some(n) == last
                && let Some(l) = new_line
            {
                out.extend_from_slice(l.as_bytes());
                out.extend_from_slice(eol);
            }
            continue;
        }
        out.extend_from_slice(raw);
        out.extend_from_slice(eol);
    }
    if let (None, Some(l)) = (last, new_line) {
        out.extend_from_slice(l.as_bytes());
        out.extend_from_slice(eol);
    }
    out
}

/// Whether the text sets a secret key to a non-empty value.
fn holds_secret(text: &[u8]) -> bool {
    lines(text).any(|(_, raw)| {
        std::str::from_utf8(raw).ok().is_some_and(
            |t| matches!(parse_line(t), Parsed::Pair(k, v) if is_secret(k) && !v.is_empty()),
        )
    })
}

/// How the config editor writes: the old file's permissions (new files 0644), missing folders
/// created. `path` is already resolved ([`resolve_symlink`]), so the path itself is replaced.
const CONFIG_WRITE: AtomicWrite = AtomicWrite::new()
    .mode(Mode::KeepOr(0o644))
    .parent(Parent::Create)
    .symlinks(Symlinks::Replace)
    // A config file may hold an API key: a killed writer's copy does not stay behind.
    .clean_stale_temps(true);

/// Write `data` over `path` atomically ([`crate::atomic`]); a file holding a secret loses
/// group/other access.
fn write_atomic(path: &Path, data: &[u8]) -> Result<(), ConfigError> {
    let policy = if holds_secret(data) {
        CONFIG_WRITE.without_bits(0o077)
    } else {
        CONFIG_WRITE
    };
    policy
        .write(path, data)
        .map_err(|source| ConfigError::Write {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap()
    }

    #[test]
    fn set_replaces_last_in_place_and_keeps_comments() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("scorpiox-env.txt");
        std::fs::write(
            &p,
            "# top\nMODEL=a\nPROVIDER=codex\n\n# mid\nMODEL=b\nTAIL=1",
        )
        .unwrap();
        set_in_file(&p, "MODEL", "opus").unwrap();
        assert_eq!(
            read(&p),
            "# top\nPROVIDER=codex\n\n# mid\nMODEL=opus\nTAIL=1\n"
        );
        set_in_file(&p, "NEW", "x y").unwrap();
        assert_eq!(
            read(&p),
            "# top\nPROVIDER=codex\n\n# mid\nMODEL=opus\nTAIL=1\nNEW=x y\n"
        );
        // No temp files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn set_creates_file_and_parents() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/scorpiox-env.txt");
        set_in_file(&p, "MODEL", "").unwrap();
        assert_eq!(read(&p), "MODEL=\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644);
            set_in_file(&p, "OPENAI_API_KEY", "sk-1").unwrap();
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn set_keeps_existing_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        std::fs::write(&p, "A=1\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o664)).unwrap();
        set_in_file(&p, "A", "2").unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o664
        );
    }

    #[cfg(unix)]
    #[test]
    fn write_is_a_rename_of_a_complete_temp_file() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        std::fs::write(&p, "A=1\n").unwrap();
        // A reader holding the old file keeps seeing the old, complete contents.
        let before = std::fs::metadata(&p).unwrap().ino();
        let mut held = std::fs::File::open(&p).unwrap();
        set_in_file(&p, "A", "2").unwrap();
        assert_ne!(std::fs::metadata(&p).unwrap().ino(), before);
        let mut old = String::new();
        std::io::Read::read_to_string(&mut held, &mut old).unwrap();
        assert_eq!((old.as_str(), read(&p).as_str()), ("A=1\n", "A=2\n"));
        // A failed write leaves nothing behind and the error names the path.
        let blocked = dir.path().join("f.txt/sub/g.txt");
        let e = set_in_file(&blocked, "A", "1").unwrap_err();
        assert!(matches!(e, ConfigError::Write { .. }), "{e}");
        assert!(e.to_string().starts_with("cannot write "), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn set_keeps_bom_crlf_and_quotes_when_needed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        std::fs::write(&p, "\u{feff}A=1\r\n# c\r\n").unwrap();
        set_in_file(&p, "B", " padded ").unwrap();
        set_in_file(&p, "C", "'q'").unwrap();
        set_in_file(&p, "A", "http://x/#y").unwrap();
        assert_eq!(
            read(&p),
            "\u{feff}A=http://x/#y\r\n# c\r\nB=\" padded \"\r\nC=\"'q'\"\r\n"
        );
        let parsed = read_file(&p).unwrap().unwrap();
        let values: Vec<&str> = parsed.iter().map(|l| l.value.as_str()).collect();
        assert_eq!(values, vec!["http://x/#y", " padded ", "'q'"]);
    }

    #[test]
    fn set_rejects_bad_keys_and_multiline_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        assert!(matches!(
            set_in_file(&p, "1X", "v"),
            Err(ConfigError::BadKey { .. })
        ));
        assert!(matches!(
            set_in_file(&p, "X", "a\nb"),
            Err(ConfigError::BadValue { .. })
        ));
        assert!(!p.exists());
    }

    #[test]
    fn malformed_lines_survive_editing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        std::fs::write(&p, "oops\nA=1\n").unwrap();
        set_in_file(&p, "A", "2").unwrap();
        assert_eq!(read(&p), "oops\nA=2\n");
    }

    #[test]
    fn unset_removes_all_and_reports() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        assert!(!unset_in_file(&p, "A").unwrap());
        assert!(!p.exists());
        std::fs::write(&p, "A=1\n# keep\nB=2\n A = 3\n").unwrap();
        assert!(unset_in_file(&p, "A").unwrap());
        assert_eq!(read(&p), "# keep\nB=2\n");
        assert!(!unset_in_file(&p, "A").unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn writes_through_symlinks_to_config_files_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dotfiles/scorpiox-env")).unwrap();
        for target in [
            "dotfiles/scorpiox-env.txt",
            "dotfiles/scorpiox-env/work.txt",
        ] {
            let real = dir.path().join(target);
            let link = dir.path().join("link.txt");
            let _ = std::fs::remove_file(&link);
            std::fs::write(&real, "A=1\n").unwrap();
            std::os::unix::fs::symlink(&real, &link).unwrap();
            set_in_file(&link, "A", "2").unwrap();
            assert!(
                std::fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            assert_eq!(read(&real), "A=2\n", "{target}");
        }
        // A link to anything else (a repository's scorpiox-env.txt pointing at ~/.bashrc).
        let bashrc = dir.path().join(".bashrc");
        std::fs::write(&bashrc, "export A=1\n").unwrap();
        let link = dir.path().join("scorpiox-env.txt");
        std::os::unix::fs::symlink(&bashrc, &link).unwrap();
        let e = set_in_file(&link, "A", "2").unwrap_err();
        assert!(
            e.to_string()
                .contains("is not a scorpiox configuration file"),
            "{e}"
        );
        assert!(matches!(
            unset_in_file(&link, "A"),
            Err(ConfigError::LinkedElsewhere { .. })
        ));
        std::os::unix::fs::symlink(dir.path().join("none"), dir.path().join("dangling")).unwrap();
        assert!(set_in_file(&dir.path().join("dangling"), "A", "2").is_err());
        assert!(!dir.path().join("none").exists());
        assert_eq!(read(&bashrc), "export A=1\n");
    }

    #[test]
    fn trust_project_records_once_and_keeps_claude_entries() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        for d in [&home.join(".claude"), &a, &b] {
            std::fs::create_dir_all(d).unwrap();
        }
        let (ca, cb) = (a.canonicalize().unwrap(), b.canonicalize().unwrap());
        std::fs::write(
            home.join(".claude/scorpiox-env.txt"),
            "TRUSTED_PROJECTS=/old\n",
        )
        .unwrap();
        trust_project(&home, &a).unwrap();
        trust_project(&home, &a).unwrap();
        trust_project(&home, &b).unwrap();
        let want = format!("TRUSTED_PROJECTS=/old:{}:{}\n", ca.display(), cb.display());
        assert_eq!(read(&user_file(&home)), want);
    }

    #[test]
    fn masking() {
        assert_eq!(display_value("OPENAI_API_KEY", "sk-x"), "***");
        assert_eq!(display_value("OPENAI_API_KEY", ""), "");
        assert_eq!(display_value("MODEL", "opus"), "opus");
    }
}
