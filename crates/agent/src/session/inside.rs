//! The session's folders stay inside the project (docs/reliability.md, hole 3): a repository
//! may ship `.scorpiox` or `.scorpiox/sessions/<id>` as a symbolic link to anywhere, and sx
//! must not write its transcripts through it. Folders are created one at a time (mode 0700);
//! a link is accepted only when it leads to a folder inside the same root.

use std::fs::DirBuilder;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// Why a folder cannot be used.
#[derive(Debug)]
pub enum Refused {
    /// `path` is a symbolic link to `target`, outside `root`.
    Outside {
        path: PathBuf,
        target: PathBuf,
    },
    Io {
        path: PathBuf,
        source: io::Error,
    },
}

/// Make `dir` (below `root`) exist as a folder, creating what is missing with mode 0700,
/// without following a symbolic link out of `root`.
pub fn private_dir_in(root: &Path, dir: &Path) -> Result<(), Refused> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Refused::Io { path, source }
    };
    let real_root = root.canonicalize().map_err(io_err(root))?;
    let rel = dir.strip_prefix(root).map_err(|_| Refused::Io {
        path: dir.to_path_buf(),
        source: io::Error::other("not inside the project"),
    })?;
    let mut cur = root.to_path_buf();
    for part in rel.components() {
        cur.push(part);
        check_or_create(&real_root, &cur)?;
    }
    Ok(())
}

fn check_or_create(real_root: &Path, path: &Path) -> Result<(), Refused> {
    let io_err = |source| Refused::Io {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(m) if m.file_type().is_symlink() => {
            let target = path.canonicalize().map_err(io_err)?;
            if !target.starts_with(real_root) {
                return Err(Refused::Outside {
                    path: path.to_path_buf(),
                    target,
                });
            }
            if !target.is_dir() {
                return Err(io_err(io::Error::other("not a folder")));
            }
            Ok(())
        }
        Ok(_) => Err(io_err(io::Error::other("not a folder"))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            match DirBuilder::new().mode(0o700).create(path) {
                Ok(()) => Ok(()),
                // Made meanwhile (another sx starting): check what it is.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    match std::fs::symlink_metadata(path) {
                        Ok(m) if m.is_dir() => Ok(()),
                        _ => Err(io_err(e)),
                    }
                }
                Err(e) => Err(io_err(e)),
            }
        }
        Err(e) => Err(io_err(e)),
    }
}

/// Whether `dir` (an existing folder) resolves to a place inside `root`.
pub fn resolves_inside(root: &Path, dir: &Path) -> Result<(), Refused> {
    let real_root = root.canonicalize().map_err(|source| Refused::Io {
        path: root.to_path_buf(),
        source,
    })?;
    let target = dir.canonicalize().map_err(|source| Refused::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    if target.starts_with(&real_root) {
        return Ok(());
    }
    // Name the link that leads out (`.scorpiox`, say), not the folder below it.
    let mut cur = root.to_path_buf();
    for part in dir.strip_prefix(root).unwrap_or(Path::new("")).components() {
        cur.push(part);
        let is_link = std::fs::symlink_metadata(&cur).is_ok_and(|m| m.file_type().is_symlink());
        if let (true, Ok(t)) = (is_link, cur.canonicalize())
            && !t.starts_with(&real_root)
        {
            return Err(Refused::Outside {
                path: cur,
                target: t,
            });
        }
    }
    Err(Refused::Outside {
        path: dir.to_path_buf(),
        target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_out_of_the_root_are_refused_and_links_inside_followed() {
        let d = tempfile::tempdir().unwrap();
        let (root, outside) = (d.path().join("proj"), d.path().join("elsewhere"));
        std::fs::create_dir_all(root.join("real")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        private_dir_in(&root, &root.join("a/b")).unwrap();
        assert!(root.join("a/b").is_dir());
        std::os::unix::fs::symlink(&outside, root.join("out")).unwrap();
        let e = private_dir_in(&root, &root.join("out/s")).unwrap_err();
        assert!(matches!(e, Refused::Outside { .. }), "{e:?}");
        assert!(!outside.join("s").exists(), "nothing made through the link");
        std::os::unix::fs::symlink(root.join("real"), root.join("in")).unwrap();
        private_dir_in(&root, &root.join("in/s")).unwrap();
        assert!(root.join("real/s").is_dir());
        assert!(resolves_inside(&root, &root.join("in/s")).is_ok());
        assert!(resolves_inside(&root, &root.join("out")).is_err());
        std::fs::create_dir_all(outside.join("deeper")).unwrap();
        let Err(Refused::Outside { path, .. }) = resolves_inside(&root, &root.join("out/deeper"))
        else {
            panic!("outside")
        };
        assert_eq!(path, root.join("out"), "the link that leads out is named");
        std::fs::write(root.join("file"), "").unwrap();
        assert!(private_dir_in(&root, &root.join("file/x")).is_err());
    }
}
