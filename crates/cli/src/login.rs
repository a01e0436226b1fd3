//! `scorpiox-codex-login`: sign in with ChatGPT the way the official Codex CLI does (device code
//! by default, browser PKCE with `--browser`) and write its `auth.json`, so `codex` and `sx` share
//! one login. The flows live in `sxnet::auth::oauth`; this is the user's side of them.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use sx_config::{Config, set_in_file};
use sxnet::auth::codex::new_auth_doc;
use sxnet::auth::oauth::{
    CALLBACK_PORTS, CallbackServer, DEFAULT_ISSUER, OAuthClient, OAuthError, PendingCallback, Pkce,
    SIGN_IN_TTL, Tokens, new_state, parse_pasted,
};
use sxnet::auth::{AuthFile, decode_claims};
use sxnet::http::{ClientIdentity, client};
use tokio::sync::mpsc;

use crate::{Failure, clap_failure, exit_from_code, load_config, main_with, runtime};

#[path = "login_status.rs"]
mod status;

const BIN: &str = "scorpiox-codex-login";
/// How long to keep serving the browser's `/success` page after the login is saved.
const SUCCESS_GRACE: Duration = Duration::from_secs(3);

#[derive(Debug, Parser)]
#[command(
    name = "scorpiox-codex-login",
    version,
    about = "Sign in with ChatGPT for the Codex provider (writes the official ~/.codex/auth.json)",
    after_help = "Default: a device code you enter at the issuer's page on any device. --browser: sign in \
                  in a browser on this machine (callback on localhost:1455, or 1457 when 1455 is \
                  busy; you can also paste the redirect URL). With an existing login, \
                  --write-profile alone writes its profile. --status shows which login sx uses \
                  (never a token; exit 3 when there is none), --logout signs out as `codex \
                  logout` does. Exit codes: 0 ok, 1 network/server, 2 usage/configuration, 3 sign-in \
                  refused, expired or cancelled."
)]
struct Args {
    /// Show the login sx uses: account, plan, expiry and where it comes from (never a token);
    /// exit 3 when not signed in.
    #[arg(long, conflicts_with_all = ["logout", "browser", "force", "write_profile", "no_profile", "no_open"])]
    status: bool,
    /// Sign out: revoke the login and remove its file (with --name, that account's file).
    #[arg(long, conflicts_with_all = ["browser", "force", "write_profile", "no_profile", "no_open"])]
    logout: bool,
    /// Sign in with a browser on this machine (PKCE) instead of a device code.
    #[arg(long)]
    browser: bool,
    /// Replace an existing login file.
    #[arg(long)]
    force: bool,
    /// Save the login as ~/.codex/accounts/ACCOUNT.json instead of the default credential file.
    #[arg(long, value_name = "ACCOUNT")]
    name: Option<String>,
    /// With --browser: do not open a browser, only print the URL.
    #[arg(long)]
    no_open: bool,
    /// Write the `codex` profile (~/.scorpiox/scorpiox-env/codex.txt) without asking; with an
    /// existing login and no --force, only that (no new sign-in).
    #[arg(long, conflicts_with = "no_profile")]
    write_profile: bool,
    /// Do not offer to write the profile.
    #[arg(long)]
    no_profile: bool,
    /// For tests only: the callback ports to try, in order (0: any free port); the default is
    /// the official client's 1455, then 1457 (docs/login.md).
    #[arg(
        long = "port",
        hide = true,
        value_delimiter = ',',
        default_values_t = CALLBACK_PORTS
    )]
    ports: Vec<u16>,
    /// Override a configuration key (repeatable).
    #[arg(short = 'e', value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Working directory (selects the project configuration).
    #[arg(long, value_name = "DIR")]
    cwd: Option<PathBuf>,
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell) and exit
    #[arg(long, value_enum, value_name = "SHELL")]
    completions: Option<crate::completions::Shell>,
}

impl From<OAuthError> for Failure {
    fn from(e: OAuthError) -> Self {
        Failure::new(exit_from_code(e.exit_code()), e.to_string())
    }
}

pub fn main() -> ExitCode {
    main_with(run)
}

fn run() -> Result<(), Failure> {
    let args = match Args::try_parse_from(crate::args()) {
        Ok(a) => a,
        Err(e) => return clap_failure(e, BIN),
    };
    if let Some(shell) = args.completions {
        return crate::completions::print(<Args as clap::CommandFactory>::command(), shell);
    }
    if let Some(name) = &args.name {
        check_account_name(name)?;
    }
    let config = load_config(args.cwd.as_deref(), &args.env, Vec::new())?;
    let target = login_file(&config, args.name.as_deref())?;
    // The file the official Codex CLI reads too: CODEX_CREDENTIALS_FILE left at its default.
    let official = args.name.is_none() && config.is_default("CODEX_CREDENTIALS_FILE");
    if args.status || args.logout {
        let local =
            args.name.is_some() || matches!(config.get("CODEX_TOKEN_SOURCE"), None | Some("local"));
        let source = if local {
            status::Source::Local(&target)
        } else {
            status::Source::Elsewhere
        };
        return if args.status {
            status::status(&config, source, args.name.as_deref(), official)
        } else {
            status::logout(&config, source, args.name.as_deref(), official)
        };
    }
    if target.exists() && !args.force {
        if args.write_profile {
            // The hint after a sign-in: the login is there, write its profile (docs/login.md).
            AuthFile::load(&target)?;
            let mut stdin = StdinLines::default();
            return offer_profile(&args, &config, &target, &mut stdin);
        }
        return Err(Failure::usage(format!(
            "{} already holds a login; pass --force to replace it, --name ACCOUNT to save \
             another account beside it, or --write-profile to write its profile",
            target.display()
        )));
    }
    let issuer = config
        .get_nonempty("CODEX_AUTH_URL")
        .unwrap_or(DEFAULT_ISSUER);
    let identity = ClientIdentity::new(config.get_nonempty("CODEX_ORIGINATOR").unwrap_or("sx"));
    let http = client(&identity).map_err(Failure::runtime)?;
    let oauth = OAuthClient::new(issuer, http, &identity);
    let mut stdin = StdinLines::default();
    let rt = runtime()?;

    if args.browser {
        let (signed_in, mut server, pending) =
            rt.block_on(browser_flow(&oauth, &args, &mut stdin))?;
        let saved = save(&target, &signed_in);
        rt.block_on(async {
            match (&saved, pending) {
                (Ok(_), Some(p)) => {
                    p.succeed().await;
                    server.serve_success(SUCCESS_GRACE).await;
                }
                (Err(f), Some(p)) => p.fail(&f.message).await,
                (_, None) => {}
            }
        });
        report_saved(&saved?, &target);
    } else {
        let signed_in = rt.block_on(device_flow(&oauth))?;
        report_saved(&save(&target, &signed_in)?, &target);
    }
    if official {
        println!("The official Codex CLI uses this login too (the same file).");
    }
    offer_profile(&args, &config, &target, &mut stdin)
}

/// `[A-Za-z0-9_.-]+`, not starting with `.` (it names a file and a profile).
fn check_account_name(name: &str) -> Result<(), Failure> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Failure::usage(format!(
            "invalid account name {name:?}; use letters, digits, '_', '.' and '-', not starting \
             with '.'"
        )))
    }
}

fn home(config: &Config) -> Result<&Path, Failure> {
    config
        .home()
        .ok_or_else(|| Failure::usage("HOME is not set; set HOME to your home directory"))
}

/// `~/.codex/accounts/ACCOUNT.json` with `--name`, else `CODEX_CREDENTIALS_FILE`.
fn login_file(config: &Config, name: Option<&str>) -> Result<PathBuf, Failure> {
    match name {
        Some(name) => Ok(home(config)?
            .join(".codex/accounts")
            .join(format!("{name}.json"))),
        None => config.path("CODEX_CREDENTIALS_FILE").ok_or_else(|| {
            Failure::usage(
                "CODEX_CREDENTIALS_FILE is empty; set it to the path of auth.json, or pass --name \
                 ACCOUNT",
            )
        }),
    }
}

/// What a flow got from the issuer.
struct SignedIn {
    tokens: Tokens,
    api_key: Option<String>,
}

async fn device_flow(oauth: &OAuthClient) -> Result<SignedIn, Failure> {
    let code = oauth.request_device_code().await?;
    eprintln!(
        "\nTo sign in, open this page in a browser (on any device):\n\n    {}\n\nand enter this \
         code:\n\n    {}\n\nThe code expires in 15 minutes; never share it. Waiting for you to \
         finish…",
        oauth.device_verification_url(),
        code.user_code
    );
    let auth = oauth.wait_for_device_code(&code, SIGN_IN_TTL).await?;
    let tokens = oauth
        .exchange_code(
            &auth.authorization_code,
            &oauth.device_redirect_uri(),
            &auth.code_verifier,
        )
        .await?;
    Ok(SignedIn {
        tokens,
        api_key: None,
    })
}

async fn browser_flow(
    oauth: &OAuthClient,
    args: &Args,
    stdin: &mut StdinLines,
) -> Result<(SignedIn, CallbackServer, Option<PendingCallback>), Failure> {
    let pkce = Pkce::generate()?;
    let state = new_state()?;
    let mut server = CallbackServer::bind_first(&args.ports).await?;
    let redirect_uri = server.redirect_uri();
    let url = oauth.authorize_url(&redirect_uri, &pkce, &state);
    eprintln!("\nSign in with ChatGPT in your browser:\n\n    {url}\n");
    if !args.no_open && has_display() {
        match open_browser(&url) {
            Ok(()) => eprintln!("(opened your browser)"),
            Err(e) => eprintln!("(could not open a browser: {e}; open the URL yourself)"),
        }
    }
    eprintln!(
        "Waiting for the browser to come back to {redirect_uri}. If it cannot reach this \
         machine, finish signing in there, then paste the address it ended on (or just the \
         code) here and press Enter:"
    );

    let (code, pending) = {
        let mut callback = Box::pin(server.wait_for_code(&state));
        let deadline = tokio::time::sleep(SIGN_IN_TTL);
        tokio::pin!(deadline);
        let lines = stdin.receiver();
        let mut stdin_open = true;
        loop {
            tokio::select! {
                r = &mut callback => {
                    let p = r?;
                    break (p.code.clone(), Some(p));
                }
                line = lines.recv(), if stdin_open => match line {
                    None => stdin_open = false,
                    Some(l) => match parse_pasted(&l, &state)? {
                        Some(code) => break (code, None),
                        None => continue,
                    },
                },
                () = &mut deadline => return Err(OAuthError::TimedOut { after: SIGN_IN_TTL }.into()),
            }
        }
    };
    let tokens = match oauth
        .exchange_code(&code, &redirect_uri, &pkce.verifier)
        .await
    {
        Ok(t) => t,
        Err(e) => {
            if let Some(p) = pending {
                p.fail(&e.to_string()).await;
            }
            return Err(e.into());
        }
    };
    let api_key = oauth.mint_api_key(&tokens.id_token).await;
    Ok((SignedIn { tokens, api_key }, server, pending))
}

fn has_display() -> bool {
    if cfg!(target_os = "macos") {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

fn open_browser(url: &str) -> Result<(), String> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let mut child = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("{opener}: {e}"))?;
    std::thread::spawn(move || child.wait());
    Ok(())
}

/// What was written, for the summary.
struct Saved {
    email: Option<String>,
    plan: Option<String>,
    account_id: Option<String>,
}

/// Write the official `auth.json` shape atomically with mode 0600.
fn save(path: &Path, signed_in: &SignedIn) -> Result<Saved, Failure> {
    let t = &signed_in.tokens;
    let unusable = |detail: String| {
        Failure::runtime(format!(
            "the issuer's tokens are not usable ({detail}); try again, and report it if it \
             persists"
        ))
    };
    let id = decode_claims(&t.id_token).map_err(|d| unusable(format!("id token: {d}")))?;
    let doc = new_auth_doc(
        &t.id_token,
        &t.access_token,
        &t.refresh_token,
        id.account_id.as_deref(),
        signed_in.api_key.as_deref(),
    );
    let file = AuthFile::from_doc(path, doc).map_err(|e| unusable(e.to_string()))?;
    file.save()?;
    Ok(Saved {
        email: id.email,
        plan: id
            .plan_type
            .or_else(|| file.access_claims.plan_type.clone()),
        account_id: file.account_id().map(str::to_owned),
    })
}

fn report_saved(saved: &Saved, path: &Path) {
    let or_unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".into());
    println!(
        "Signed in as {} (plan: {}, account: {}).",
        or_unknown(&saved.email),
        or_unknown(&saved.plan),
        or_unknown(&saved.account_id)
    );
    println!("Saved the login to {}.", path.display());
}

/// Offer (or, with `--write-profile`, write) a profile that selects this login.
fn offer_profile(
    args: &Args,
    config: &Config,
    target: &Path,
    stdin: &mut StdinLines,
) -> Result<(), Failure> {
    let profile = match &args.name {
        Some(name) => format!("codex-{name}"),
        None => "codex".to_string(),
    };
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let write = if args.write_profile {
        true
    } else if args.no_profile || !interactive {
        false
    } else {
        print!("Write a `{profile}` profile for sx (PROVIDER=codex with this login)? [Y/n] ");
        let _ = std::io::stdout().flush();
        let answer = stdin
            .receiver()
            .blocking_recv()
            .unwrap_or_else(|| "n".into());
        matches!(
            answer.trim().to_ascii_lowercase().as_str(),
            "" | "y" | "yes"
        )
    };
    if !write {
        if !args.no_profile {
            let (use_it, again) = match &args.name {
                Some(name) => (
                    format!(
                        "sx --provider codex -e CODEX_CREDENTIALS_FILE={}",
                        shown_path(config, target)
                    ),
                    format!("{BIN} --name {name} --write-profile"),
                ),
                None => (
                    "sx --provider codex".to_string(),
                    format!("{BIN} --write-profile"),
                ),
            };
            println!("Use it with `{use_it}`, or run `{again}` to save a profile.");
        }
        return Ok(());
    }
    let home = home(config)?;
    let file = home
        .join(".scorpiox/scorpiox-env")
        .join(format!("{profile}.txt"));
    set_in_file(&file, "PROVIDER", "codex")?;
    set_in_file(&file, "CODEX_TOKEN_SOURCE", "local")?;
    if args.name.is_some() {
        set_in_file(&file, "CODEX_CREDENTIALS_FILE", &shown_path(config, target))?;
    }
    println!(
        "Wrote profile {profile} to {}. Use it with ACTIVE_PROFILE={profile}: `sx -e \
         ACTIVE_PROFILE={profile}`, or `scorpiox-config --set ACTIVE_PROFILE {profile}` to make \
         it the default.",
        file.display()
    );
    Ok(())
}

/// `path` with the home directory written `~`.
fn shown_path(config: &Config, path: &Path) -> String {
    match config.home().and_then(|h| path.strip_prefix(h).ok()) {
        Some(rel) => format!("~/{}", rel.display()),
        None => path.display().to_string(),
    }
}

/// Lines of standard input, read on a thread of their own so the browser flow can wait for a
/// pasted URL and the callback at once, and the profile prompt can reuse the same reader.
#[derive(Default)]
struct StdinLines {
    rx: Option<mpsc::UnboundedReceiver<String>>,
}

impl StdinLines {
    fn receiver(&mut self) -> &mut mpsc::UnboundedReceiver<String> {
        self.rx.get_or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            std::thread::spawn(move || {
                for line in std::io::stdin().lock().lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            rx
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Exit;

    #[test]
    fn the_callback_ports_are_the_official_clients_in_its_order() {
        let args = Args::try_parse_from(["scorpiox-codex-login", "--browser"]).unwrap();
        assert_eq!(args.ports, [1455, 1457]);
        let args = Args::try_parse_from(["x", "--port", "0"]).unwrap();
        assert_eq!(args.ports, [0]);
        let args = Args::try_parse_from(["x", "--port", "40001,0"]).unwrap();
        assert_eq!(args.ports, [40001, 0]);
    }

    #[test]
    fn account_names() {
        for ok in ["work", "alice.b", "a_b-c", "A1"] {
            assert!(check_account_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".hidden", "a/b", "a b", "..", "é"] {
            let e = check_account_name(bad).unwrap_err();
            assert_eq!(e.exit, Exit::Usage, "{bad}");
        }
    }
}
