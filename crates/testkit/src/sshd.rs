//! A real OpenSSH `sshd` on loopback, for the `ssh` token source's tests.
//!
//! [`Sshd::start`] binds a listener on `127.0.0.1` (port chosen by the kernel and held for the
//! value's whole life) and serves every connection with its own `/usr/sbin/sshd -i -e -f <own
//! config>` (inetd mode: the accepted socket is the process's stdin and stdout). There is no
//! port found free and handed to a daemon that may lose it to another process, no readiness
//! to poll (the port accepts before `start` returns), and a new host key is simply used by the
//! next connection. Each server has a freshly generated ed25519 host key, its own log, and two
//! test users:
//! [`PASS_USER`] (password [`PASSWORD`]) and [`KEY_USER`] (a freshly generated ed25519 key
//! pair, [`Sshd::key_user_private_key`]). Running as root, the harness creates the users when
//! they are missing (`useradd -m`); otherwise it panics with what to do. Dropping the value
//! closes the listener and kills the connections' sshd processes.
//!
//! The users' `~/.codex/auth.json` are shared by every test on the machine, so
//! [`Sshd::write_codex_auth`] and [`Sshd::remove_codex_auth`] take an exclusive lock (across
//! threads and processes) that this `Sshd` holds until it is dropped.
//!
//! ```no_run
//! use sx_testkit::sshd::{KEY_USER, Sshd};
//! let sshd = Sshd::builder().path_dir(KEY_USER, "/path/to/target/debug").start();
//! let known_hosts_line = sshd.known_hosts_line();
//! ```

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use tempfile::TempDir;

mod acceptor;
mod agent;
use acceptor::Acceptor;
pub use agent::SshAgent;

/// The user that logs in with a password.
pub const PASS_USER: &str = "sxtest-pass";
/// [`PASS_USER`]'s password.
pub const PASSWORD: &str = "sx-test-pass-7Qf2";
/// The user that logs in with [`Sshd::key_user_private_key`].
pub const KEY_USER: &str = "sxtest-key";
/// Where sshd listens.
pub const HOST: &str = "127.0.0.1";

const SSHD: &str = "/usr/sbin/sshd";
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// PATH of every test user's sessions, after any [`SshdBuilder::path_dir`] directories.
const BASE_PATH: &str = "/usr/bin:/bin";

/// Options for [`Sshd`].
#[derive(Debug, Default, Clone)]
pub struct SshdBuilder {
    path_dirs: BTreeMap<String, Vec<PathBuf>>,
}

impl SshdBuilder {
    /// Put `dir` first on `user`'s PATH in ssh sessions (`Match User … SetEnv PATH=…`).
    /// Every user's PATH is otherwise just `/usr/bin:/bin`. A directory the test users
    /// cannot reach (a parent without `o+x`) has its executables linked into one they can.
    pub fn path_dir(mut self, user: &str, dir: impl Into<PathBuf>) -> SshdBuilder {
        self.path_dirs
            .entry(user.to_string())
            .or_default()
            .push(dir.into());
        self
    }

    pub fn start(self) -> Sshd {
        Sshd::start_with(self)
    }
}

/// A running sshd; see the module docs.
pub struct Sshd {
    dir: TempDir,
    port: u16,
    acceptor: Option<Acceptor>,
    /// `user` → PATH of its sessions.
    paths: BTreeMap<String, String>,
    /// `ssh-ed25519 AAAA…` (no comment).
    host_public: String,
    auth_lock: Option<File>,
}

impl Sshd {
    /// An sshd with no extra PATH directories.
    pub fn start() -> Sshd {
        Sshd::builder().start()
    }

    pub fn builder() -> SshdBuilder {
        SshdBuilder::default()
    }

    fn start_with(opts: SshdBuilder) -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing; install OpenSSH's server (apt-get install openssh-server), as .ci/run does"
        );
        ensure_users();
        let dir = tempfile::Builder::new()
            .prefix("sx-sshd-")
            .tempdir()
            .expect("temp dir");
        // sshd reads authorized_keys as the user, and the users run what PATH names.
        chmod(dir.path(), 0o755);
        let keys = dir.path().join("authorized_keys");
        fs::create_dir(&keys).expect("mkdir");
        chmod(&keys, 0o755);
        let client = dir.path().join("client");
        fs::create_dir(&client).expect("mkdir");
        chmod(&client, 0o700);
        keygen(&client.join("id_ed25519"), None);
        let public = fs::read_to_string(client.join("id_ed25519.pub")).expect("public key");
        let authorized = keys.join(KEY_USER);
        fs::write(&authorized, public).expect("authorized_keys");
        chmod(&authorized, 0o644);

        let mut paths = BTreeMap::new();
        for user in [PASS_USER, KEY_USER] {
            let mut parts: Vec<String> = Vec::new();
            for (i, d) in opts.path_dirs.get(user).into_iter().flatten().enumerate() {
                parts.push(reachable_dir(dir.path(), user, i, d).display().to_string());
            }
            parts.push(BASE_PATH.to_string());
            paths.insert(user.to_string(), parts.join(":"));
        }

        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        let mut sshd = Sshd {
            dir,
            port,
            acceptor: None,
            paths,
            host_public: String::new(),
            auth_lock: None,
        };
        sshd.new_host_key();
        let config = sshd.write_config();
        sshd.check_config(&config);
        sshd.acceptor = Some(Acceptor::start(listener, config, sshd.log_path()));
        sshd
    }

    /// The port sshd listens on (on [`HOST`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `[127.0.0.1]:PORT ssh-ed25519 AAAA…`, a known_hosts line for this server's key.
    pub fn known_hosts_line(&self) -> String {
        format!("[{HOST}]:{} {}", self.port, self.host_public)
    }

    /// Write [`Sshd::known_hosts_line`] (and a newline) to `path`, replacing the file.
    pub fn write_known_hosts(&self, path: &Path) {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(path, format!("{}\n", self.known_hosts_line())).expect("write known_hosts");
    }

    /// The host key's `SHA256:…` fingerprint, as `ssh-keygen -l` shows it.
    pub fn host_key_fingerprint(&self) -> String {
        fingerprint(&self.host_key_path().with_extension("pub"))
    }

    /// Let `key` (a public key file, `….pub`) log in as `user` too, besides the keys already
    /// authorised ([`KEY_USER`]'s own).
    pub fn authorize_key(&self, user: &str, key: &Path) {
        let public = fs::read_to_string(key).expect("public key");
        let path = self.dir.path().join("authorized_keys").join(user);
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("authorized_keys");
        f.write_all(public.as_bytes())
            .expect("write authorized_keys");
        chmod(&path, 0o644);
    }

    /// [`KEY_USER`]'s private key (OpenSSH format, no passphrase).
    pub fn key_user_private_key(&self) -> PathBuf {
        self.dir.path().join("client/id_ed25519")
    }

    /// Replace the host key; the next connection (same port) is served with the new one, so
    /// known_hosts entries for this server now hold the old key.
    pub fn regenerate_host_key(&mut self) {
        self.new_host_key();
    }

    /// Everything sshd logged so far (for failing tests' messages).
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("sshd.log")
    }

    /// Write `user`'s `~/.codex/auth.json` (owned by the user, 0600). Takes the test users'
    /// lock for the rest of this `Sshd`'s life.
    pub fn write_codex_auth(&mut self, user: &str, contents: &[u8]) {
        self.write_user_file(user, ".codex/auth.json", contents);
    }

    /// Write `~/<relative>` of `user` (owned by the user, 0600; missing directories 0700),
    /// replacing it. Takes the lock as [`Sshd::write_codex_auth`].
    pub fn write_user_file(&mut self, user: &str, relative: &str, contents: &[u8]) {
        self.lock_auth_files();
        let (uid, gid, home) = lookup_user(user).unwrap_or_else(|| panic!("no user {user}"));
        let path = home.join(relative);
        let mut missing: Vec<PathBuf> = path
            .ancestors()
            .skip(1)
            .take_while(|d| *d != home && !d.exists())
            .map(Path::to_path_buf)
            .collect();
        missing.reverse();
        for dir in missing {
            fs::create_dir(&dir).expect("mkdir");
            chmod(&dir, 0o700);
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown");
        }
        let _ = fs::remove_file(&path);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        f.write_all(contents).expect("write");
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).expect("chown");
    }

    /// Remove `~/<relative>` of `user` if it exists (taking the lock as
    /// [`Sshd::write_codex_auth`]).
    pub fn remove_user_file(&mut self, user: &str, relative: &str) {
        self.lock_auth_files();
        let (_, _, home) = lookup_user(user).unwrap_or_else(|| panic!("no user {user}"));
        let _ = fs::remove_file(home.join(relative));
    }

    /// Remove `user`'s `~/.codex/auth.json`.
    pub fn remove_codex_auth(&mut self, user: &str) {
        self.remove_user_file(user, ".codex/auth.json");
    }

    fn lock_auth_files(&mut self) {
        if self.auth_lock.is_none() {
            let f = lock_file("sx-testkit-sshd-auth.lock");
            f.lock().expect("lock the test users' auth files");
            self.auth_lock = Some(f);
        }
    }

    fn host_key_path(&self) -> PathBuf {
        self.dir.path().join("host_ed25519")
    }

    fn new_host_key(&mut self) {
        let key = self.host_key_path();
        let _ = fs::remove_file(&key);
        let _ = fs::remove_file(key.with_extension("pub"));
        keygen(&key, None);
        let public = fs::read_to_string(key.with_extension("pub")).expect("host public key");
        let mut words = public.split_whitespace();
        self.host_public = format!(
            "{} {}",
            words.next().expect("key type"),
            words.next().expect("key")
        );
    }

    fn write_config(&self) -> PathBuf {
        let d = self.dir.path().display();
        let mut cfg = format!(
            "Port {port}\n\
             ListenAddress {HOST}\n\
             HostKey {d}/host_ed25519\n\
             UsePAM no\n\
             PasswordAuthentication yes\n\
             PermitEmptyPasswords no\n\
             KbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\n\
             PermitRootLogin no\n\
             StrictModes no\n\
             AuthorizedKeysFile {d}/authorized_keys/%u\n\
             AllowUsers {PASS_USER} {KEY_USER}\n\
             PrintMotd no\n\
             PrintLastLog no\n\
             UseDNS no\n\
             MaxStartups 100:30:200\n\
             LogLevel VERBOSE\n",
            port = self.port
        );
        for (user, path) in &self.paths {
            cfg.push_str(&format!("Match User {user}\n    SetEnv PATH={path}\n"));
        }
        let path = self.dir.path().join("sshd_config");
        fs::write(&path, cfg).expect("write sshd_config");
        path
    }

    /// `sshd -t`: a bad config or key fails here, loudly, not as refused connections later.
    fn check_config(&self, config: &Path) {
        // Privilege separation needs this directory (packages create it at boot).
        let _ = fs::create_dir_all("/run/sshd");
        let out = Command::new(SSHD)
            .arg("-t")
            .arg("-f")
            .arg(config)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {SSHD}: {e}"));
        assert!(
            out.status.success(),
            "{SSHD} -t refused its config ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // The connections' sshd processes go before the temp dir (their config and keys).
        self.acceptor.take();
    }
}

/// `ssh-keygen -t ed25519` into `path` (and `path.pub`), with `passphrase` or none.
pub fn keygen(path: &Path, passphrase: Option<&str>) {
    run(Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-C",
            "",
            "-N",
            passphrase.unwrap_or(""),
            "-f",
        ])
        .arg(path));
}

/// A key's `SHA256:…` fingerprint (of a private or public key file), as `ssh-keygen -l`
/// shows it and sshd logs it.
pub fn fingerprint(key: &Path) -> String {
    let out = run(Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(key));
    out.split_whitespace()
        .nth(1)
        .expect("ssh-keygen -l output")
        .to_string()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

fn lock_file(name: &str) -> File {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(std::env::temp_dir().join(name))
        .expect("lock file")
}

/// `(uid, gid, home)` from /etc/passwd.
fn lookup_user(user: &str) -> Option<(u32, u32, PathBuf)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 7 && f[0] == user).then(|| {
            (
                f[2].parse().unwrap_or(u32::MAX),
                f[3].parse().unwrap_or(u32::MAX),
                PathBuf::from(f[5]),
            )
        })
    })
}

fn is_root() -> bool {
    run(Command::new("id").arg("-u")).trim() == "0"
}

/// Create the test users when missing (root only), once per process, under a lock shared
/// with other test processes.
fn ensure_users() {
    static DONE: Mutex<bool> = Mutex::new(false);
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if *done {
        return;
    }
    let root = is_root();
    let lock = lock_file("sx-testkit-sshd-users.lock");
    lock.lock().expect("lock");
    for user in [PASS_USER, KEY_USER] {
        if lookup_user(user).is_some() {
            continue;
        }
        assert!(
            root,
            "the ssh tests need the users {PASS_USER} and {KEY_USER}; run the tests as root once (the harness creates them), or create them with `useradd -m -s /bin/bash NAME`"
        );
        run(Command::new("useradd").args(["-m", "-s", "/bin/bash", user]));
    }
    if root {
        // The password user's password; the key user gets a usable but unguessable password
        // field ('*'), since sshd refuses even key logins to a locked ('!') account.
        let mut chpasswd = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .expect("chpasswd");
        chpasswd
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("{PASS_USER}:{PASSWORD}\n").as_bytes())
            .expect("chpasswd stdin");
        assert!(
            chpasswd.wait().expect("chpasswd").success(),
            "chpasswd failed"
        );
        run(Command::new("usermod").args(["-p", "*", KEY_USER]));
    }
    drop(lock);
    *done = true;
}

/// `dir` itself when every user may reach it, else a directory under `root` holding links to
/// (or copies of) its executables.
fn reachable_dir(root: &Path, user: &str, index: usize, dir: &Path) -> PathBuf {
    let dir = dir
        .canonicalize()
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let open = dir
        .ancestors()
        .all(|a| fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 != 0));
    if open {
        return dir;
    }
    let copy = root.join(format!("path-{user}-{index}"));
    fs::create_dir(&copy).expect("mkdir");
    chmod(&copy, 0o755);
    for entry in fs::read_dir(&dir).expect("read dir").flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        let mode = meta.permissions().mode();
        if !meta.is_file() || mode & 0o111 == 0 {
            continue;
        }
        let to = copy.join(entry.file_name());
        // A link shares the original's mode, so only link what others may already run.
        if mode & 0o005 != 0o005 || fs::hard_link(entry.path(), &to).is_err() {
            fs::copy(entry.path(), &to).expect("copy executable");
            chmod(&to, 0o755);
        }
    }
    copy
}
