//! The terminal: raw mode and bracketed paste while the UI runs, restored however it ends
//! (return, error, panic), and a way out to `$EDITOR` and back.

use std::io::Write;

use crossterm::terminal;

pub struct Terminal {
    _private: (),
}

static ACTIVE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn restore() {
    if ACTIVE.swap(false, std::sync::atomic::Ordering::SeqCst) {
        let mut out = std::io::stdout();
        let _ = out.write_all(b"\x1b[?2004l\x1b[?25h");
        let _ = out.flush();
        let _ = terminal::disable_raw_mode();
    }
}

impl Terminal {
    pub fn enter() -> std::io::Result<Terminal> {
        terminal::enable_raw_mode()?;
        ACTIVE.store(true, std::sync::atomic::Ordering::SeqCst);
        // A panic must not leave the user's shell in raw mode.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        let mut out = std::io::stdout();
        out.write_all(b"\x1b[?2004h")?;
        out.flush()?;
        Ok(Terminal { _private: () })
    }

    pub fn size(&self) -> (usize, usize) {
        terminal::size()
            .map(|(w, h)| (w as usize, h as usize))
            .unwrap_or((80, 24))
    }

    pub fn write(&mut self, s: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(s.as_bytes());
        let _ = out.flush();
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        restore();
    }
}

/// A new file in the temp folder holding `text`, mode 0600. Made with `create_new`, so a
/// file or link another user put at the name in the shared `/tmp` is never written through
/// (docs/reliability.md, hole 3): the next name is tried.
fn private_temp(text: &str) -> std::io::Result<std::path::PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = std::env::temp_dir();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut last = None;
    for n in 0..100u32 {
        let path = dir.join(format!("sx-prompt-{}-{nanos:x}-{n}.md", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(text.as_bytes())?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary file name")))
}

/// Edit `text` in `$VISUAL`/`$EDITOR` (else `vi`); the terminal is handed over meanwhile.
pub fn edit_externally(text: &str) -> std::io::Result<String> {
    let path = private_temp(text)?;
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("EDITOR").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "vi".to_string());
    let _ = terminal::disable_raw_mode();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&path)
        .status();
    let _ = terminal::enable_raw_mode();
    let result = match status {
        Ok(s) if s.success() => std::fs::read_to_string(&path),
        Ok(s) => Err(std::io::Error::other(format!("{editor} exited with {s}"))),
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_file(&path);
    result
}
