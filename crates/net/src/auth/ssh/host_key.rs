//! Host key verification against an OpenSSH known_hosts file (russh's helpers read it, so
//! `[host]:port` entries and hashed host names work). Unknown keys are refused unless
//! `CODEX_SSH_ACCEPT_NEW=1`; a changed key is always refused.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use russh::client;
use russh::keys::{
    Algorithm, HashAlg, PublicKey, PublicKeyBase64, PublicKeyOrCertificate, known_hosts,
};

use crate::error::{EXIT_AUTH, EXIT_RUNTIME};

/// Keys recorded for one host, with their line numbers.
pub(super) type KnownKeys = Vec<(usize, PublicKey)>;

/// Why the server's host key was not accepted.
#[derive(Debug)]
pub(super) enum HostKeyProblem {
    /// No key of any type is recorded for the host.
    Unknown { key: PublicKey },
    /// A key of the same type is recorded, and it is a different one.
    Changed { key: PublicKey, line: usize },
    /// Only keys of other types are recorded for the host.
    OtherType { key: PublicKey, line: usize },
    /// A host certificate (never asked for, so never expected).
    Certificate,
    /// `CODEX_SSH_ACCEPT_NEW=1` but the key could not be written down.
    RecordFailed { key: PublicKey, error: String },
}

/// The keys `path` records for `host` on `port`; a missing file records none.
pub(super) fn read_known_keys(path: &Path, host: &str, port: u16) -> Result<KnownKeys, String> {
    match std::fs::File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(format!(
                "cannot read the known_hosts file {} ({e}); check its permissions, or set CODEX_SSH_KNOWN_HOSTS",
                path.display()
            ));
        }
        Ok(_) => {}
    }
    known_hosts::known_host_keys_path(&host.to_ascii_lowercase(), port, path).map_err(|e| {
        format!(
            "the known_hosts file {} has an entry for {} that cannot be read ({e}); fix or remove that line",
            path.display(),
            host_pattern(host, port)
        )
    })
}

/// What is wrong with `key` given the keys recorded for the host; `None` when it is one of
/// them.
pub(super) fn judge(known: &[(usize, PublicKey)], key: &PublicKey) -> Option<HostKeyProblem> {
    if known.iter().any(|(_, k)| k.key_data() == key.key_data()) {
        return None;
    }
    let key = key.clone();
    if let Some((line, _)) = known
        .iter()
        .find(|(_, k)| same_type(&k.algorithm(), &key.algorithm()))
    {
        return Some(HostKeyProblem::Changed { key, line: *line });
    }
    Some(match known.first() {
        Some((line, _)) => HostKeyProblem::OtherType { key, line: *line },
        None => HostKeyProblem::Unknown { key },
    })
}

fn same_type(a: &Algorithm, b: &Algorithm) -> bool {
    (a.clone().is_rsa() && b.clone().is_rsa()) || a == b
}

/// Host key algorithms with the types already recorded for this host first, so a server with
/// several keys shows the one we can check (as OpenSSH does).
pub(super) fn prefer_known_algorithms<'k>(
    default: &[Algorithm],
    known: impl Iterator<Item = &'k PublicKey>,
) -> Vec<Algorithm> {
    let known: Vec<Algorithm> = known.map(PublicKey::algorithm).collect();
    let (mut first, rest): (Vec<Algorithm>, Vec<Algorithm>) = default
        .iter()
        .cloned()
        .partition(|a| known.iter().any(|k| same_type(k, a)));
    first.extend(rest);
    first
}

/// Append `[host]:port type key` to `path`, creating it (0600) and its directory (0700) if needed.
pub(super) fn record(path: &Path, host: &str, port: u16, key: &PublicKey) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    let mut line = String::new();
    if file.seek(SeekFrom::End(-1)).is_ok() {
        let mut last = [0u8; 1];
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            line.push('\n');
        }
    }
    line.push_str(&format!(
        "{} {} {}\n",
        host_pattern(host, port),
        key.algorithm().as_str(),
        key.public_key_base64()
    ));
    file.write_all(line.as_bytes())
}

/// How known_hosts names the host: `host` on port 22, else `[host]:port`.
pub(super) fn host_pattern(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// `ssh-ed25519 SHA256:…`
fn describe(key: &PublicKey) -> String {
    format!(
        "{} key {}",
        key.algorithm().as_str(),
        key.fingerprint(HashAlg::Sha256)
    )
}

/// A path as it would be typed in a shell.
fn shell_word(p: &Path) -> String {
    let s = p.display().to_string();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+@%,:=~".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

impl HostKeyProblem {
    /// The one-line message and exit code.
    pub(super) fn message(&self, host: &str, port: u16, file: &Path) -> (String, u8) {
        let target = format!("{host}:{port}");
        let f = file.display();
        let remove_old = format!(
            "ssh-keygen -R '{}' -f {}",
            host_pattern(host, port),
            shell_word(file)
        );
        match self {
            HostKeyProblem::Unknown { key } => (
                format!(
                    "the ssh host key of {target} is not known ({}, not in {f}); if that fingerprint is right, record it with `ssh-keyscan -p {port} {host} >> {}` or run once with CODEX_SSH_ACCEPT_NEW=1",
                    describe(key),
                    shell_word(file)
                ),
                EXIT_AUTH,
            ),
            HostKeyProblem::Changed { key, line } => (
                format!(
                    "the ssh host key of {target} has CHANGED: it presented {} but line {line} of {f} holds a different one (possible man-in-the-middle attack; nothing was sent); if the host really was re-keyed, remove the old entry with `{remove_old}` and accept the new key (CODEX_SSH_ACCEPT_NEW does not override a changed key)",
                    describe(key)
                ),
                EXIT_AUTH,
            ),
            HostKeyProblem::OtherType { key, line } => (
                format!(
                    "the ssh host key of {target} does not match {f}: it presented {} but line {line} records a key of another type for it (possible man-in-the-middle attack; nothing was sent); if the host's keys really changed, remove the old entry with `{remove_old}` and accept the new key",
                    describe(key)
                ),
                EXIT_AUTH,
            ),
            HostKeyProblem::Certificate => (
                format!(
                    "{target} presented an ssh host certificate, which sx does not verify; record the host's plain key in {f} with `ssh-keyscan -p {port} {host} >> {}`",
                    shell_word(file)
                ),
                EXIT_AUTH,
            ),
            HostKeyProblem::RecordFailed { key, error } => (
                format!(
                    "could not record the ssh host key of {target} ({}) in {f} ({error}); check that file's permissions, or set CODEX_SSH_KNOWN_HOSTS",
                    describe(key)
                ),
                EXIT_RUNTIME,
            ),
        }
    }
}

/// The russh client handler: checks the host key during the handshake and leaves the reason
/// for a refusal in `verdict` (russh itself only reports "unknown key").
pub(crate) struct HostKeyCheck {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) path: PathBuf,
    pub(super) accept_new: bool,
    pub(super) known: KnownKeys,
    pub(super) verdict: Arc<Mutex<Option<HostKeyProblem>>>,
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let problem = match server_key {
            PublicKeyOrCertificate::Certificate(_) => HostKeyProblem::Certificate,
            PublicKeyOrCertificate::PublicKey { key, .. } => match judge(&self.known, key) {
                None => return Ok(true),
                Some(HostKeyProblem::Unknown { key }) if self.accept_new => {
                    match record(&self.path, &self.host, self.port, &key) {
                        Ok(()) => return Ok(true),
                        Err(e) => HostKeyProblem::RecordFailed {
                            key,
                            error: e.to_string(),
                        },
                    }
                }
                Some(p) => p,
            },
        };
        *self.verdict.lock().expect("poisoned") = Some(problem);
        Ok(false)
    }
}
