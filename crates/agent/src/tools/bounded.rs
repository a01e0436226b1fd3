//! Reads a model can point anywhere, bounded (docs/reliability.md, "Unbounded reads by tools"):
//! `/dev/zero` never ends, a FIFO blocks its reader until a writer comes, `/proc/kmsg` is a
//! "regular" file of size 0 whose read waits for the next kernel message, a log grows while it
//! is read. So the file tools
//!
//! - refuse what is not a regular file, asking the path first (opening a device can have
//!   effects of its own) and the opened file again (the path may have changed in between);
//! - open without blocking (`O_NONBLOCK`): a read that would wait ends the file instead;
//! - never read past their cap, whatever the size the file claims;
//! - and, being read-only, are given a time limit ([`READ_ONLY_TIMEOUT`]); the walks (grep,
//!   glob) stop themselves earlier ([`WalkBudget`]) and say that their result is partial.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use super::ToolOutput;

/// The longest a read-only tool runs before its call is answered with an error.
pub const READ_ONLY_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest a walk (grep, glob) runs before it stops with what it found.
pub const WALK_TIME: Duration = Duration::from_secs(30);

/// The most entries a walk visits.
pub const WALK_ENTRIES: u64 = 500_000;

/// Why a file cannot be read.
#[derive(Debug)]
pub enum OpenError {
    NotFound,
    IsDirectory,
    /// A device, socket or FIFO.
    NotAFile,
    /// A credential file sx itself uses (`sx_config::secrets::is_protected`): its tokens are
    /// never given to the model (docs/reliability.md, hole 4).
    Protected,
    Io(io::Error),
}

/// Open `path` for reading if it is a regular file and not a credential file sx uses,
/// without blocking; its metadata as opened.
pub fn open_regular(path: &Path) -> Result<(File, Metadata), OpenError> {
    let io = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => OpenError::NotFound,
        _ => OpenError::Io(e),
    };
    if sx_config::secrets::is_protected(path) {
        return Err(OpenError::Protected);
    }
    let meta = std::fs::metadata(path).map_err(io)?;
    check(&meta)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(io)?;
    let meta = file.metadata().map_err(OpenError::Io)?;
    check(&meta)?;
    Ok((file, meta))
}

fn check(meta: &Metadata) -> Result<(), OpenError> {
    if sx_config::secrets::is_protected_file(meta) {
        // A hard link to one, or a file swapped in after the path was checked.
        Err(OpenError::Protected)
    } else if meta.is_dir() {
        Err(OpenError::IsDirectory)
    } else if !meta.is_file() {
        Err(OpenError::NotAFile)
    } else {
        Ok(())
    }
}

/// Read `file` to its end, or to `max + 1` bytes (the caller tells "too large" by the
/// length). A read that would block ends the file: what was there is what is read.
pub fn read_capped(file: &mut File, max: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut limited = file.take(max.saturating_add(1));
    match limited.read_to_end(&mut out) {
        Ok(_) => Ok(out),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(out),
        Err(e) => Err(e),
    }
}

/// A walk's allowance of time and entries; [`WalkBudget::spent`] is polled per entry.
pub struct WalkBudget {
    deadline: Instant,
    entries: std::sync::atomic::AtomicU64,
    max_entries: u64,
    stopped: std::sync::atomic::AtomicBool,
}

impl WalkBudget {
    pub fn new(time: Duration, max_entries: u64) -> WalkBudget {
        WalkBudget {
            deadline: Instant::now() + time,
            entries: Default::default(),
            max_entries,
            stopped: Default::default(),
        }
    }

    /// The default allowance ([`WALK_TIME`], [`WALK_ENTRIES`]).
    pub fn standard() -> WalkBudget {
        WalkBudget::new(WALK_TIME, WALK_ENTRIES)
    }

    /// Count one entry; true once the time or the entries are used up (and from then on).
    pub fn spent(&self) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let n = self.entries.fetch_add(1, Relaxed) + 1;
        if n > self.max_entries || Instant::now() >= self.deadline {
            self.stopped.store(true, Relaxed);
        }
        self.stopped.load(Relaxed)
    }

    /// Whether the walk was cut short.
    pub fn stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The note a cut-short result ends with.
    pub fn note(&self, what: &str) -> String {
        format!(
            "[{what} stopped early: it may visit at most {} entries in {} s, so the result above is partial; narrow the path or pattern]",
            self.max_entries,
            WALK_TIME.as_secs()
        )
    }
}

/// Run a read-only tool's blocking work with a time limit: past `limit` the call is answered
/// with an error (the work is abandoned; with non-blocking opens and bounded walks it ends by
/// itself soon after).
pub async fn blocking_with_timeout(
    what: &str,
    limit: Duration,
    work: impl FnOnce() -> ToolOutput + Send + 'static,
) -> ToolOutput {
    match tokio::time::timeout(limit, super::blocking(what, work)).await {
        Ok(out) => out,
        Err(_) => ToolOutput::error(format!(
            "{what} did not finish within {} s and was abandoned; narrow it (a smaller path, a more specific pattern) or use bash with a timeout",
            limit.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_fifos_and_folders_are_refused_before_anything_is_read() {
        assert!(matches!(
            open_regular(Path::new("/dev/zero")),
            Err(OpenError::NotAFile)
        ));
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        // Opening a FIFO for reading would wait for a writer forever: it is never opened.
        assert!(matches!(open_regular(&fifo), Err(OpenError::NotAFile)));
        assert!(matches!(
            open_regular(d.path()),
            Err(OpenError::IsDirectory)
        ));
        assert!(matches!(
            open_regular(&d.path().join("none")),
            Err(OpenError::NotFound)
        ));
    }

    #[test]
    fn a_read_never_passes_its_cap_whatever_the_file_says() {
        // /proc files claim size 0; a read is still capped.
        let (mut f, meta) = open_regular(Path::new("/proc/self/status")).unwrap();
        assert_eq!(meta.len(), 0);
        let all = read_capped(&mut f, 1 << 20).unwrap();
        assert!(!all.is_empty());
        let (mut f, _) = open_regular(Path::new("/proc/self/status")).unwrap();
        assert_eq!(read_capped(&mut f, 10).unwrap().len(), 11);
    }

    #[test]
    fn a_read_that_would_wait_ends_the_file() {
        // A FIFO with a writer that sends a little and stays open: a blocking read would
        // wait for more forever. Opened without blocking, the read returns what is there.
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
            .open(&fifo)
            .unwrap();
        let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        io::Write::write_all(&mut writer, b"pending").unwrap();
        assert_eq!(read_capped(&mut reader, 1024).unwrap(), b"pending");
        drop(writer);
    }

    #[test]
    fn a_walk_budget_runs_out_of_entries_or_time() {
        let b = WalkBudget::new(Duration::from_secs(3600), 3);
        assert!(!b.spent() && !b.spent() && !b.spent());
        assert!(b.spent() && b.stopped());
        let b = WalkBudget::new(Duration::ZERO, 100);
        assert!(b.spent());
    }

    #[tokio::test]
    async fn a_read_only_tool_past_its_time_is_answered_with_an_error() {
        let out = blocking_with_timeout("the test read", Duration::from_millis(20), || {
            std::thread::sleep(Duration::from_millis(500));
            ToolOutput::ok("late")
        })
        .await;
        assert!(out.is_error);
        assert!(
            out.text
                .starts_with("the test read did not finish within 0 s"),
            "{}",
            out.text
        );
    }
}
