//! [`SshAgent`]: an `ssh-agent` of a test's own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{READY_TIMEOUT, run};

/// An `ssh-agent` of its own (`ssh-agent -D -a SOCKET`), killed on drop.
pub struct SshAgent {
    _dir: TempDir,
    sock: PathBuf,
    child: Child,
}

impl SshAgent {
    /// Start an agent and wait until its socket exists.
    pub fn start() -> SshAgent {
        let dir = tempfile::Builder::new()
            .prefix("sx-agent-")
            .tempdir()
            .expect("temp dir");
        let sock = dir.path().join("agent.sock");
        let mut child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&sock)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot run ssh-agent (apt-get install openssh-client)");
        let deadline = Instant::now() + READY_TIMEOUT;
        // The socket file appears at bind(), before listen(): wait until it accepts.
        while std::os::unix::net::UnixStream::connect(&sock).is_err() {
            if let Some(status) = child.try_wait().expect("wait ssh-agent") {
                panic!(
                    "ssh-agent exited ({status}) before creating {}",
                    sock.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "ssh-agent did not accept on {} within {READY_TIMEOUT:?}",
                sock.display()
            );
            // Paces the poll (a spin would take a core from a loaded machine).
            std::thread::sleep(Duration::from_millis(10));
        }
        SshAgent {
            _dir: dir,
            sock,
            child,
        }
    }

    /// The socket, for `SSH_AUTH_SOCK`.
    pub fn sock(&self) -> &Path {
        &self.sock
    }

    /// `ssh-add KEY` (an unencrypted key).
    pub fn add(&self, key: &Path) {
        run(Command::new("ssh-add")
            .arg("-q")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.sock));
    }
}

impl Drop for SshAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
