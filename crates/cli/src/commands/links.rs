//! `sx install-links [DIR]`: the commands' names as links to this one program, in DIR or
//! beside it (docs/commands.md).

use std::path::{Path, PathBuf};

use crate::Failure;

/// `sx install-links --help`.
pub const USAGE: &str = "\
Make the commands' names links to sx: scorpiox-config, scorpiox-codex-fetchtoken,
scorpiox-codex-refreshtoken, scorpiox-codex-login, scorpiox-token-server, scorpiox-router.

Usage: sx install-links [DIR]

  DIR   where to make the links (default: the folder sx is in)";

pub fn install(dir: Option<PathBuf>) -> Result<(), Failure> {
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| Failure::runtime(format!("cannot find this program's path: {e}")))?;
    let dir = match dir {
        Some(d) => d,
        None => exe
            .parent()
            .map(Path::to_path_buf)
            .ok_or_else(|| Failure::runtime("this program has no folder"))?,
    };
    // A link beside the program points at its file name, so the pair can move together.
    let target = if exe.parent() == Some(dir.as_path()) {
        PathBuf::from(exe.file_name().unwrap_or_default())
    } else {
        exe.clone()
    };
    for c in super::COMMANDS {
        let link = dir.join(c.name);
        match std::fs::symlink_metadata(&link) {
            Ok(m) if m.file_type().is_symlink() => {
                std::fs::remove_file(&link).map_err(|e| write_failed(&link, &e))?;
            }
            Ok(_) => {
                return Err(Failure::usage(format!(
                    "{} exists and is not a link (an older install?); remove it, then run sx install-links again",
                    link.display()
                )));
            }
            Err(_) => {}
        }
        std::os::unix::fs::symlink(&target, &link).map_err(|e| write_failed(&link, &e))?;
        println!("{} -> {}", link.display(), target.display());
    }
    Ok(())
}

fn write_failed(link: &Path, e: &std::io::Error) -> Failure {
    Failure::runtime(format!(
        "cannot write {}: {e}; pass a folder you can write to: sx install-links DIR",
        link.display()
    ))
}
