//! Driving a program through a real terminal: `tmux` on its own socket, keys sent with
//! `send-keys`, the screen read with `capture-pane`. Waits are for what the screen shows (with
//! a generous deadline), never for a time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Deadline for anything to appear on the screen: only a broken program waits this long.
const DEADLINE: Duration = Duration::from_secs(60);

pub struct Tmux {
    socket: PathBuf,
    exit_file: PathBuf,
}

fn tmux_bin() -> &'static str {
    assert!(
        Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success()),
        "tmux is missing; install it (apt-get install tmux), as .ci/run does"
    );
    "tmux"
}

impl Tmux {
    /// Start `program args` in a `width`×`height` terminal, in `cwd`, with exactly `env`.
    pub fn start(
        dir: &Path,
        cwd: &Path,
        env: &[(&str, String)],
        program: &Path,
        args: &[String],
        (width, height): (u16, u16),
    ) -> Tmux {
        // Each start its own socket and exit file: a server killed by the previous `Tmux` of
        // the same test may still be going away, and its exit status must not be read as ours.
        static STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = dir.join(format!("tmux-{n}.sock"));
        let exit_file = dir.join(format!("exit-status-{n}"));
        let mut cmd = String::from("exec env -i");
        for (k, v) in env {
            cmd.push_str(&format!(" {k}={}", shell_quote(v)));
        }
        cmd.push_str(&format!(
            " sh -c {}",
            shell_quote(&format!(
                "{} \"$@\"; echo $? > {}; sleep 600",
                shell_quote(&program.display().to_string()),
                shell_quote(&exit_file.display().to_string())
            ))
        ));
        cmd.push_str(" sh");
        for a in args {
            cmd.push(' ');
            cmd.push_str(&shell_quote(a));
        }
        let status = Command::new(tmux_bin())
            .arg("-S")
            .arg(&socket)
            .args(["-f", "/dev/null", "new-session", "-d", "-s", "t", "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .arg("-c")
            .arg(cwd)
            .arg(cmd)
            .status()
            .expect("tmux new-session");
        assert!(status.success(), "tmux new-session failed");
        Tmux { socket, exit_file }
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket);
        c
    }

    /// Keys by tmux name (`Enter`, `Escape`, `C-c`, `y`).
    pub fn keys(&self, keys: &[&str]) {
        let st = self
            .tmux()
            .args(["send-keys", "-t", "t"])
            .args(keys)
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Text typed literally.
    pub fn type_text(&self, text: &str) {
        let st = self
            .tmux()
            .args(["send-keys", "-t", "t", "-l", text])
            .status()
            .unwrap();
        assert!(st.success());
    }

    pub fn screen(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-t", "t"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Wait until the screen satisfies `what`; the screen then.
    pub fn wait_for(&self, label: &str, what: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if what(&s) {
                return s;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "the screen never showed {label}; it shows:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn wait_text(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?}"), |s| s.contains(text))
    }

    /// Like [`Tmux::wait_for`], then until the screen stops changing — two captures a moment
    /// apart agree once passed through `norm`, which blanks what moves on its own (a spinner,
    /// a clock). What a snapshot is taken of, so a frame drawn in several writes on a loaded
    /// machine is never caught half-way.
    pub fn wait_settled(
        &self,
        label: &str,
        what: impl Fn(&str) -> bool,
        norm: impl Fn(&str) -> String,
    ) -> String {
        let start = Instant::now();
        let mut last = self.wait_for(label, &what);
        loop {
            std::thread::sleep(Duration::from_millis(150));
            let now = self.screen();
            if norm(&now) == norm(&last) && what(&now) {
                return now;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "the screen never settled showing {label}; it shows:\n{now}"
            );
            last = now;
        }
    }

    pub fn resize(&self, width: u16, height: u16) {
        let st = self
            .tmux()
            .args(["resize-window", "-t", "t", "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// The program's exit status, once it has exited.
    pub fn wait_exit(&self) -> i32 {
        let start = Instant::now();
        loop {
            if let Ok(s) = std::fs::read_to_string(&self.exit_file)
                && let Ok(code) = s.trim().parse()
            {
                return code;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "the program did not exit; the screen shows:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
