//! `-i/--image PATH`: the images attached to a one-shot prompt, checked before anything is
//! sent, each failure one line that says what to do about *that* failure (docs/agent.md,
//! Vision; docs/troubleshooting.md).

use std::path::{Path, PathBuf};

use sxnet::model::Block;

use crate::Failure;

/// The images as blocks, in order; the first that cannot be used is a usage error (exit 2).
pub fn attach(paths: &[PathBuf]) -> Result<Vec<Block>, Failure> {
    paths
        .iter()
        .map(|path| {
            sx_agent::vision::load_image(path)
                .map(Block::Image)
                .map_err(|why| Failure::usage(message(path, &why)))
        })
        .collect()
}

/// The advice depends on what is wrong: a path that names nothing is not a format problem.
fn message(path: &Path, why: &str) -> String {
    let shown = path.display();
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            format!("cannot attach {shown}: no such file; check the path given to -i/--image")
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            format!("cannot attach {shown}: permission denied; check the file's permissions")
        }
        Ok(m) if m.is_dir() => {
            format!("cannot attach {shown}: it is a directory; pass an image file")
        }
        // Read but not usable: the vision module's reason, after its own naming of the file.
        _ => {
            let prefixes = [
                format!("cannot use image {shown}: "),
                format!("cannot read image {shown}: "),
            ];
            let reason = prefixes
                .iter()
                .find_map(|prefix| why.strip_prefix(prefix.as_str()))
                .unwrap_or(why);
            let fix = if reason.ends_with(" limit") {
                "pass a smaller image"
            } else {
                "pass a PNG, JPEG, WebP or GIF file"
            };
            format!("cannot attach {shown}: {reason}; {fix}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_gets_its_own_advice() {
        let d = tempfile::tempdir().unwrap();
        let missing = d.path().join("nope.png");
        let m = message(&missing, "cannot read image …: no such file");
        assert!(
            m.ends_with("nope.png: no such file; check the path given to -i/--image"),
            "{m}"
        );
        assert!(!m.contains("PNG"), "{m}");
        let m = message(d.path(), "x");
        assert!(m.ends_with("it is a directory; pass an image file"), "{m}");
        let txt = d.path().join("notes.txt");
        std::fs::write(&txt, "hello").unwrap();
        let why = sx_agent::vision::load_image(&txt).unwrap_err();
        let m = message(&txt, &why);
        assert!(
            m.starts_with("cannot attach ") && m.ends_with("pass a PNG, JPEG, WebP or GIF file"),
            "{m}"
        );
        assert_eq!(m.matches("notes.txt").count(), 1, "{m}");
    }
}
