//! The folders the file tools work in: the project root, plus the folders given with
//! `--add-dir DIR` (docs/spec.md §1.1). One question, asked in one place: is a path inside
//! one of them? Symbolic links and `..` are resolved first, so a link or `../` that leads out
//! of every root is outside.
//!
//! This module only answers the question; what the file tools do with a path outside (ask,
//! refuse) is decided where they use it (docs/agent.md, Tools).

use std::path::{Component, Path, PathBuf};

use super::ToolContext;

/// Every root of `ctx`: the project root first, then the added folders in order.
pub fn all(ctx: &ToolContext) -> impl Iterator<Item = &Path> {
    std::iter::once(ctx.project_root.as_path()).chain(ctx.extra_roots.iter().map(PathBuf::as_path))
}

/// The root `path` lies in (after resolving it against the working directory, `..` and
/// symbolic links), if any.
pub fn containing<'c>(ctx: &'c ToolContext, path: &Path) -> Option<&'c Path> {
    let resolved = resolve(&ctx.resolve(&path.to_string_lossy()));
    if resolved.as_os_str().is_empty() {
        return None;
    }
    all(ctx).find(|root| resolved.starts_with(resolve(root)))
}

/// Whether `path` lies in the project or a folder added with `--add-dir`.
pub fn contains(ctx: &ToolContext, path: &Path) -> bool {
    containing(ctx, path).is_some()
}

/// `path` (absolute) with every symbolic link of its longest existing ancestor resolved and
/// the rest normalised lexically (`.` dropped, `..` applied), so that a file that does not
/// exist yet is judged by the folder it would be created in. A link whose target does not
/// exist (yet) is followed too: writing through it would create the target.
pub fn resolve(path: &Path) -> PathBuf {
    let mut path = path.to_path_buf();
    // As the kernel does, give up on a chain of more than 40 links: such a path names
    // nothing (the empty path, which lies in no root).
    for _ in 0..40 {
        match resolve_step(&path) {
            Ok(done) => return done,
            Err(through_link) => path = through_link,
        }
    }
    PathBuf::new()
}

/// `Ok(resolved)`, or `Err(path)` with one dangling link of it replaced by its target.
fn resolve_step(path: &Path) -> Result<PathBuf, PathBuf> {
    let mut existing = path;
    let mut rest: Vec<&std::ffi::OsStr> = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for part in rest.iter().rev() {
                push_normal(&mut out, Path::new(part));
            }
            return Ok(out);
        }
        if let Ok(target) = std::fs::read_link(existing) {
            // A dangling link: continue from where it points.
            let mut next = existing.parent().unwrap_or(Path::new("/")).join(target);
            for part in rest.iter().rev() {
                next.push(part);
            }
            return Err(next);
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                existing = parent;
            }
            // `..` at the end, or nothing exists at all: lexical only.
            _ => {
                let mut out = PathBuf::new();
                push_normal(&mut out, path);
                return Ok(out);
            }
        }
    }
}

fn push_normal(out: &mut PathBuf, path: &Path) {
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(project: &Path, extra: &[&Path]) -> ToolContext {
        ToolContext {
            cwd: project.to_path_buf(),
            project_root: project.to_path_buf(),
            extra_roots: extra.iter().map(|p| p.to_path_buf()).collect(),
            cancel: Default::default(),
        }
    }

    #[test]
    fn inside_the_project_or_an_added_folder() {
        let d = tempfile::tempdir().unwrap();
        let (proj, lib, other) = (
            d.path().join("proj"),
            d.path().join("lib"),
            d.path().join("other"),
        );
        for p in [&proj, &lib, &other] {
            std::fs::create_dir_all(p).unwrap();
        }
        let c = ctx(&proj, &[&lib]);
        assert!(
            contains(&c, Path::new("src/new.rs")),
            "relative, not yet existing"
        );
        assert!(contains(&c, &lib.join("a/b.rs")));
        assert_eq!(containing(&c, &lib.join("x")), Some(lib.as_path()));
        assert!(!contains(&c, &other.join("x")));
        assert!(
            !contains(&c, Path::new("../other/x")),
            "`..` out of the project"
        );
        assert!(
            contains(&c, Path::new("../lib/x")),
            "`..` into an added folder"
        );
        assert!(
            !contains(&ctx(&proj, &[]), &lib.join("x")),
            "not added: outside"
        );
        // A link inside the project that leads out of it is outside.
        std::os::unix::fs::symlink(&other, proj.join("out")).unwrap();
        assert!(!contains(&c, Path::new("out/x")));
        // A dangling link leading out: writing through it would create its target.
        std::os::unix::fs::symlink(other.join("new/file"), proj.join("dangling")).unwrap();
        assert!(!contains(&c, Path::new("dangling")));
        std::os::unix::fs::symlink(proj.join("later"), proj.join("dangling-in")).unwrap();
        assert!(contains(&c, Path::new("dangling-in")));
        std::os::unix::fs::symlink("loop", proj.join("loop")).unwrap();
        assert!(
            !contains(&c, Path::new("loop")),
            "a loop resolves to nothing inside"
        );
        // `proj2` is not inside `proj`.
        std::fs::create_dir_all(d.path().join("proj2")).unwrap();
        assert!(!contains(&c, &d.path().join("proj2/x")));
    }
}
