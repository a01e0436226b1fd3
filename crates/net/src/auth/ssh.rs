//! `ssh`: fetch the token from another machine over SSH (docs/spec.md §4.1, `docs/ssh-token-source.md`).
//!
//! Connects to `CODEX_SSH_USER@CODEX_SSH_HOST:CODEX_SSH_PORT`, verifies the host key against
//! `CODEX_SSH_KNOWN_HOSTS`, logs in with `CODEX_SSH_PASS` or public keys (ssh-agent, then
//! `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`) and runs the fixed command
//! `scorpiox-codex-fetchtoken --source local` there, falling back to `cat ~/.codex/auth.json`.
//! The remote side keeps the login fresh; this side never refreshes, it only fetches again.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use russh::client::{self, AuthResult};
use russh::keys::agent::client::AgentClient;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey};
use russh::{ChannelMsg, Disconnect, MethodKind};

use super::{AuthError, CodexToken, TokenSource};
use crate::error::{EXIT_AUTH, EXIT_CONFIG, EXIT_RUNTIME};

/// What runs on the remote host. Fixed strings: no configuration value ever reaches a shell.
const FETCH_COMMAND: &str = "scorpiox-codex-fetchtoken --source local";
const FALLBACK_COMMAND: &str = "cat ~/.codex/auth.json";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);
/// Key files tried, in order, when there is no password.
const KEY_FILES: [&str; 3] = ["id_ed25519", "id_ecdsa", "id_rsa"];
/// A fetched token is reused while it is valid for at least this long.
const REUSE_MARGIN_SECS: u64 = 5 * 60;

pub struct SshSource {
    host: String,
    port: u16,
    user: String,
    password: Option<String>,
    known_hosts: PathBuf,
    accept_new: bool,
    ssh_dir: Option<PathBuf>,
    agent_sock: Option<PathBuf>,
    connect_timeout: Duration,
    fetch_timeout: Duration,
    /// The last token fetched; the lock also keeps one fetch in flight at a time.
    cached: tokio::sync::Mutex<Option<CodexToken>>,
}

impl SshSource {
    pub fn from_config(config: &sx_config::Config) -> Result<SshSource, AuthError> {
        let host = required(
            config,
            "CODEX_SSH_HOST",
            "the machine that holds the Codex login",
        )?;
        if !valid_host(host) {
            return Err(not_configured(
                "CODEX_SSH_HOST",
                format!(
                    "CODEX_SSH_HOST={} is not a host name or IP address; set it to e.g. tokens.example.com",
                    host.escape_debug()
                ),
            ));
        }
        let user = required(config, "CODEX_SSH_USER", "the login name on that machine")?;
        if user.chars().any(char::is_control) {
            return Err(not_configured(
                "CODEX_SSH_USER",
                "CODEX_SSH_USER contains control characters; set it to the login name on CODEX_SSH_HOST".into(),
            ));
        }
        let port = match config.get_nonempty("CODEX_SSH_PORT") {
            None => 22,
            Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
                not_configured(
                    "CODEX_SSH_PORT",
                    format!(
                        "CODEX_SSH_PORT={} is not a port number; set it to 1-65535 (default 22)",
                        p.escape_debug()
                    ),
                )
            })?,
        };
        let known_hosts = config
            .path("CODEX_SSH_KNOWN_HOSTS")
            .or_else(|| config.home().map(|h| h.join(".ssh/known_hosts")))
            .filter(|p| !p.starts_with("~"))
            .ok_or_else(|| {
                not_configured(
                    "CODEX_SSH_KNOWN_HOSTS",
                    "no known_hosts file to verify the ssh host key with (HOME is not set); set CODEX_SSH_KNOWN_HOSTS to its path".into(),
                )
            })?;
        Ok(SshSource {
            host: host.to_string(),
            port,
            user: user.to_string(),
            password: config.get_nonempty("CODEX_SSH_PASS").map(str::to_owned),
            known_hosts,
            accept_new: config.flag("CODEX_SSH_ACCEPT_NEW"),
            ssh_dir: config.home().map(|h| h.join(".ssh")),
            agent_sock: std::env::var_os("SSH_AUTH_SOCK")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            connect_timeout: CONNECT_TIMEOUT,
            fetch_timeout: FETCH_TIMEOUT,
            cached: tokio::sync::Mutex::new(None),
        })
    }

    /// `host:port` as shown in messages.
    fn target(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    fn fail(&self, detail: String, retryable: bool, exit: u8) -> AuthError {
        AuthError::Source {
            detail,
            retryable,
            exit,
        }
    }

    /// Connect, log in, run the fetch command; the whole of it bounded by `fetch_timeout`.
    async fn fetch(&self) -> Result<CodexToken, AuthError> {
        match tokio::time::timeout(self.fetch_timeout, self.fetch_unbounded()).await {
            Ok(r) => r,
            Err(_) => Err(self.fail(
                format!(
                    "fetching the Codex token from {} over ssh took longer than {} s; check the connection to that host and try again",
                    self.target(),
                    self.fetch_timeout.as_secs()
                ),
                true,
                EXIT_RUNTIME,
            )),
        }
    }

    async fn fetch_unbounded(&self) -> Result<CodexToken, AuthError> {
        let mut session = self.connect().await?;
        let result = match self.authenticate(&mut session).await {
            Ok(()) => self.fetch_over(&session).await,
            Err(e) => Err(e),
        };
        // Best effort: the token is in hand (or the error is) whatever the goodbye does.
        let _ = session
            .disconnect(Disconnect::ByApplication, "", "en")
            .await;
        result
    }

    /// TCP and the SSH handshake, host key verified; bounded by `connect_timeout`.
    async fn connect(&self) -> Result<client::Handle<HostKeyCheck>, AuthError> {
        let known = read_known_keys(&self.known_hosts, &self.host, self.port)
            .map_err(|detail| self.fail(detail, false, EXIT_CONFIG))?;
        let verdict = Arc::new(Mutex::new(None));
        let check = HostKeyCheck {
            host: self.host.to_ascii_lowercase(),
            port: self.port,
            path: self.known_hosts.clone(),
            accept_new: self.accept_new,
            known: known.clone(),
            verdict: verdict.clone(),
        };
        let mut config = client::Config {
            inactivity_timeout: Some(self.fetch_timeout),
            ..Default::default()
        };
        config.preferred.key = Cow::Owned(prefer_known_algorithms(
            &config.preferred.key,
            known.iter().map(|(_, k)| k),
        ));
        let target = self.target();
        let handshake = async {
            let stream = self.tcp_connect().await?;
            client::connect_stream(Arc::new(config), stream, check)
                .await
                .map_err(|e| {
                    let problem = verdict.lock().expect("poisoned").take();
                    match problem {
                        Some(p) => self.host_key_error(p),
                        None => self.fail(
                            format!(
                                "the ssh handshake with {target} failed ({e}); check that CODEX_SSH_HOST and CODEX_SSH_PORT name an ssh server"
                            ),
                            !matches!(e, russh::Error::NoCommonAlgo { .. }),
                            EXIT_RUNTIME,
                        ),
                    }
                })
        };
        match tokio::time::timeout(self.connect_timeout, handshake).await {
            Ok(r) => r,
            Err(_) => Err(self.fail(
                format!(
                    "connecting to {target} over ssh timed out after {} s; check CODEX_SSH_HOST, CODEX_SSH_PORT and your network",
                    self.connect_timeout.as_secs()
                ),
                true,
                EXIT_RUNTIME,
            )),
        }
    }

    async fn tcp_connect(&self) -> Result<tokio::net::TcpStream, AuthError> {
        let target = self.target();
        let addrs = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|e| {
                self.fail(
                    format!("cannot resolve the ssh host {} ({e}); check CODEX_SSH_HOST and your network", self.host),
                    true,
                    EXIT_RUNTIME,
                )
            })?;
        let mut last = None;
        for addr in addrs {
            match tokio::net::TcpStream::connect(addr).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        let why = last.map_or_else(|| "no address".to_string(), |e| e.to_string());
        Err(self.fail(
            format!(
                "cannot connect to {target} over ssh ({why}); check CODEX_SSH_HOST and CODEX_SSH_PORT and that sshd runs there"
            ),
            true,
            EXIT_RUNTIME,
        ))
    }

    fn host_key_error(&self, problem: HostKeyProblem) -> AuthError {
        let (detail, exit) = problem.message(&self.host, self.port, &self.known_hosts);
        self.fail(detail, false, exit)
    }

    /// `CODEX_SSH_PASS` when set, else the agent's keys, then the key files.
    async fn authenticate(
        &self,
        session: &mut client::Handle<HostKeyCheck>,
    ) -> Result<(), AuthError> {
        let login = format!("{}@{}", self.user, self.target());
        let lost = |e: russh::Error| {
            self.fail(
                format!(
                    "the ssh connection to {} broke while logging in ({e}); try again",
                    self.target()
                ),
                true,
                EXIT_RUNTIME,
            )
        };
        if let Some(password) = &self.password {
            return match session
                .authenticate_password(&self.user, password)
                .await
                .map_err(lost)?
            {
                AuthResult::Success => Ok(()),
                AuthResult::Failure {
                    remaining_methods, ..
                } => {
                    let hint = if remaining_methods.contains(&MethodKind::Password) {
                        String::new()
                    } else {
                        format!(
                            " ({} does not accept passwords; it offers: {})",
                            self.host,
                            method_names(&remaining_methods)
                        )
                    };
                    Err(self.fail(
                        format!("ssh login as {login} with CODEX_SSH_PASS was refused{hint}; check CODEX_SSH_USER and CODEX_SSH_PASS"),
                        false,
                        EXIT_AUTH,
                    ))
                }
            };
        }

        let mut tried: Vec<String> = Vec::new();
        if let Some(sock) = &self.agent_sock {
            match AgentClient::connect_uds(sock).await {
                Ok(mut agent) => {
                    let ids = agent.request_identities().await.unwrap_or_default();
                    let mut offered = 0;
                    for id in ids {
                        let key = id.public_key().into_owned();
                        offered += 1;
                        let hash = rsa_hash(session, &key).await.map_err(lost)?;
                        if let Ok(AuthResult::Success) = session
                            .authenticate_publickey_with(&self.user, key, hash, &mut agent)
                            .await
                        {
                            return Ok(());
                        }
                    }
                    tried.push(format!("ssh-agent ({offered} keys)"));
                }
                Err(_) => tried.push(format!("ssh-agent (cannot connect to {})", sock.display())),
            }
        }
        let mut encrypted: Vec<PathBuf> = Vec::new();
        for path in self.key_files() {
            match russh::keys::load_secret_key(&path, None) {
                Ok(key) => {
                    let hash = rsa_hash(session, key.public_key()).await.map_err(lost)?;
                    let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
                    match session
                        .authenticate_publickey(&self.user, key)
                        .await
                        .map_err(lost)?
                    {
                        AuthResult::Success => return Ok(()),
                        AuthResult::Failure { .. } => tried.push(path.display().to_string()),
                    }
                }
                Err(russh::keys::Error::KeyIsEncrypted) => encrypted.push(path),
                Err(e) => tried.push(format!("{} (unreadable: {e})", path.display())),
            }
        }
        Err(self.fail(
            self.keys_refused_message(&login, &tried, &encrypted),
            false,
            EXIT_AUTH,
        ))
    }

    fn key_files(&self) -> Vec<PathBuf> {
        let Some(dir) = &self.ssh_dir else {
            return Vec::new();
        };
        KEY_FILES
            .iter()
            .map(|f| dir.join(f))
            .filter(|p| p.is_file())
            .collect()
    }

    fn keys_refused_message(&self, login: &str, tried: &[String], encrypted: &[PathBuf]) -> String {
        if let (true, Some(first)) = (
            tried.is_empty() && self.agent_sock.is_none(),
            encrypted.first(),
        ) {
            return format!(
                "cannot log in as {login}: {} is protected by a passphrase and no ssh-agent is running (SSH_AUTH_SOCK is not set); load the key into an agent with `ssh-add {}`, or set CODEX_SSH_PASS",
                first.display(),
                first.display()
            );
        }
        if tried.is_empty() {
            return format!(
                "no ssh key to log in as {login} (no ssh-agent, no ~/.ssh/id_ed25519, id_ecdsa or id_rsa); set CODEX_SSH_PASS, or create a key with ssh-keygen and add its .pub to ~/.ssh/authorized_keys of {} on {}",
                self.user, self.host
            );
        }
        let skipped = if encrypted.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = encrypted.iter().map(|p| p.display().to_string()).collect();
            format!(
                "; skipped passphrase-protected {} (ssh-add it)",
                names.join(", ")
            )
        };
        format!(
            "ssh login as {login} was refused for every key tried ({}){skipped}; add your public key to ~/.ssh/authorized_keys of {} on {}, or set CODEX_SSH_PASS",
            tried.join(", "),
            self.user,
            self.host
        )
    }

    /// Run the fetch command, or read the login file when the command is not installed.
    async fn fetch_over(
        &self,
        session: &client::Handle<HostKeyCheck>,
    ) -> Result<CodexToken, AuthError> {
        let out = self.run(session, FETCH_COMMAND).await?;
        if !out.command_not_found() {
            return interpret_fetch(&self.host, &out)
                .map_err(|(d, retryable, exit)| self.fail(d, retryable, exit));
        }
        let out = self.run(session, FALLBACK_COMMAND).await?;
        interpret_fallback(&self.host, &out, now_secs())
            .map_err(|(d, retryable, exit)| self.fail(d, retryable, exit))
    }

    async fn run(
        &self,
        session: &client::Handle<HostKeyCheck>,
        command: &'static str,
    ) -> Result<Output, AuthError> {
        let lost = |e: russh::Error| {
            self.fail(
                format!(
                    "the ssh connection to {} broke while fetching the token ({e}); try again",
                    self.target()
                ),
                true,
                EXIT_RUNTIME,
            )
        };
        let mut channel = session.channel_open_session().await.map_err(lost)?;
        channel.exec(true, command).await.map_err(lost)?;
        let mut out = Output::default();
        while let Some(msg) = channel.wait().await {
            match msg {
                ChannelMsg::Data { data } => push_capped(&mut out.stdout, &data),
                ChannelMsg::ExtendedData { data, ext: 1 } => push_capped(&mut out.stderr, &data),
                ChannelMsg::ExitStatus { exit_status } => out.status = Some(exit_status),
                ChannelMsg::ExitSignal { signal_name, .. } => {
                    out.signal = Some(format!("{signal_name:?}"));
                }
                ChannelMsg::Failure => {
                    return Err(self.fail(
                        format!("{} refused to run a command over ssh for {}; check that this account may run commands (no ForceCommand or restricted shell)", self.target(), self.user),
                        false,
                        EXIT_RUNTIME,
                    ));
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl TokenSource for SshSource {
    fn kind(&self) -> &'static str {
        "ssh"
    }

    fn sign_in_again(&self) -> String {
        format!(
            "sign in again on {} (scorpiox-codex-login --force, or codex login)",
            self.host
        )
    }

    async fn token(&self) -> Result<CodexToken, AuthError> {
        let mut cached = self.cached.lock().await;
        if let Some(t) = cached.as_ref()
            && t.expires_at
                .is_some_and(|e| e > now_secs() + REUSE_MARGIN_SECS)
        {
            return Ok(t.clone());
        }
        let t = self.fetch().await?;
        *cached = Some(t.clone());
        Ok(t)
    }

    async fn recover_unauthorized(&self, rejected: &str) -> Result<CodexToken, AuthError> {
        let mut cached = self.cached.lock().await;
        *cached = None;
        let t = self.fetch().await?;
        if t.access_token == rejected {
            return Err(AuthError::Unauthorized {
                detail: format!(
                    "{} keeps handing out a token the backend refuses",
                    self.host
                ),
                fix: self.sign_in_again(),
            });
        }
        *cached = Some(t.clone());
        Ok(t)
    }
}

fn not_configured(key: &'static str, detail: String) -> AuthError {
    AuthError::NotConfigured { key, detail }
}

fn required<'c>(
    config: &'c sx_config::Config,
    key: &'static str,
    what: &str,
) -> Result<&'c str, AuthError> {
    config.get_nonempty(key).ok_or_else(|| {
        not_configured(
            key,
            format!("CODEX_TOKEN_SOURCE=ssh needs {key} ({what}); set it with scorpiox-config --set {key} VALUE"),
        )
    })
}

/// Host names, IPv4 and IPv6 addresses. Nothing that could break a known_hosts line (spaces,
/// commas, patterns) or read as an option.
fn valid_host(host: &str) -> bool {
    !host.starts_with('-')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '%'))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn rsa_hash(
    session: &client::Handle<HostKeyCheck>,
    key: &PublicKey,
) -> Result<Option<HashAlg>, russh::Error> {
    if !key.algorithm().is_rsa() {
        return Ok(None);
    }
    Ok(session.best_supported_rsa_hash().await?.flatten())
}

fn method_names(methods: &[MethodKind]) -> String {
    let names: Vec<&str> = methods
        .iter()
        .map(|m| match m {
            MethodKind::None => "none",
            MethodKind::Password => "password",
            MethodKind::PublicKey => "publickey",
            MethodKind::HostBased => "hostbased",
            MethodKind::KeyboardInteractive => "keyboard-interactive",
            _ => "other",
        })
        .collect();
    if names.is_empty() {
        "nothing".into()
    } else {
        names.join(", ")
    }
}

mod host_key;
mod remote_output;

use host_key::{HostKeyCheck, HostKeyProblem, prefer_known_algorithms, read_known_keys};
use remote_output::{Output, interpret_fallback, interpret_fetch, push_capped};

#[cfg(test)]
mod tests;
