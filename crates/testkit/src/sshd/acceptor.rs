//! The listener's side of [`super::Sshd`]: every accepted connection gets its own `sshd -i`.

use std::fs::OpenOptions;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::SSHD;

/// The listener's thread: one `sshd -i` per accepted connection.
pub(super) struct Acceptor {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    sessions: Arc<Mutex<Vec<Child>>>,
    thread: Option<JoinHandle<()>>,
}

impl Acceptor {
    pub(super) fn start(listener: TcpListener, config: PathBuf, log: PathBuf) -> Acceptor {
        let addr = listener.local_addr().expect("local_addr");
        let stop = Arc::new(AtomicBool::new(false));
        let sessions = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (stop, sessions) = (Arc::clone(&stop), Arc::clone(&sessions));
            std::thread::Builder::new()
                .name(format!("sshd-{}", addr.port()))
                .spawn(move || accept_loop(&listener, &config, &log, &stop, &sessions))
                .expect("spawn the sshd acceptor")
        };
        Acceptor {
            addr,
            stop,
            sessions,
            thread: Some(thread),
        }
    }
}

fn accept_loop(
    listener: &TcpListener,
    config: &Path,
    log: &Path,
    stop: &AtomicBool,
    sessions: &Mutex<Vec<Child>>,
) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let spawned = serve(stream, config, log);
        let mut sessions = sessions.lock().unwrap_or_else(|e| e.into_inner());
        // Reap the finished ones as we go.
        sessions.retain_mut(|c| c.try_wait().ok().flatten().is_none());
        match spawned {
            Ok(child) => sessions.push(child),
            Err(e) => append_log(log, &format!("sx-testkit: cannot run {SSHD} -i: {e}\n")),
        }
    }
}

/// `sshd -i` with `stream` as its stdin and stdout and its log on stderr.
fn serve(stream: TcpStream, config: &Path, log: &Path) -> std::io::Result<Child> {
    let input = OwnedFd::from(stream.try_clone()?);
    let output = OwnedFd::from(stream);
    let log = OpenOptions::new().create(true).append(true).open(log)?;
    Command::new(SSHD)
        .args(["-i", "-e", "-f"])
        .arg(config)
        .stdin(Stdio::from(input))
        .stdout(Stdio::from(output))
        .stderr(log)
        .spawn()
}

fn append_log(log: &Path, line: &str) {
    if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(log) {
        let _ = f.write_all(line.as_bytes());
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept; the loop sees `stop` and returns, closing the listener.
        if TcpStream::connect(self.addr).is_ok()
            && let Some(thread) = self.thread.take()
        {
            let _ = thread.join();
        }
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        for child in sessions.iter_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
