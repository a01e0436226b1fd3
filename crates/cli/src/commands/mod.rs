//! One program, every command (docs/commands.md): `sx` is also `scorpiox-config`,
//! `scorpiox-codex-fetchtoken`, `scorpiox-codex-refreshtoken`, `scorpiox-codex-login`,
//! `scorpiox-token-server` and `scorpiox-router`, chosen by the name it was started under (links made by
//! `sx install-links`) or by a subcommand (`sx config …`, `sx codex fetchtoken …`,
//! `sx token-server …`, `sx router …`). Nothing is set up before the command is known, so `--version` and
//! `scorpiox-config --get` start no runtime and no network stack.

pub mod config;
pub mod fetchtoken;
mod links;
pub mod refreshtoken;
pub mod router_main;
pub mod token_server_main;

use std::ffi::OsString;
use std::process::ExitCode;

/// A command: its program name, how to reach it as a subcommand, and its entry.
pub struct Command {
    pub name: &'static str,
    pub words: &'static [&'static str],
    pub run: fn() -> ExitCode,
}

pub const COMMANDS: &[Command] = &[
    Command {
        name: "scorpiox-config",
        words: &["config"],
        run: config::main,
    },
    Command {
        name: "scorpiox-codex-fetchtoken",
        words: &["codex", "fetchtoken"],
        run: fetchtoken::main,
    },
    Command {
        name: "scorpiox-codex-refreshtoken",
        words: &["codex", "refreshtoken"],
        run: refreshtoken::main,
    },
    Command {
        name: "scorpiox-codex-login",
        words: &["codex", "login"],
        run: crate::login::main,
    },
    Command {
        name: "scorpiox-token-server",
        words: &["token-server"],
        run: token_server_main::main,
    },
    Command {
        name: "scorpiox-router",
        words: &["router"],
        run: router_main::main,
    },
];

/// Which command `argv` asks for, and the arguments it gets (its own name first).
fn choose(argv: &[OsString]) -> Option<(&'static Command, Vec<OsString>)> {
    let name = argv
        .first()
        .map(std::path::Path::new)
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("sx");
    if let Some(c) = COMMANDS.iter().find(|c| c.name == name) {
        return Some((c, argv.to_vec()));
    }
    // `sx config …`, `sx codex login …`: the words must be whole arguments, so a prompt that
    // merely starts with one (`sx "config files are odd"`) stays a prompt.
    for c in COMMANDS {
        let n = c.words.len();
        if argv.len() > n
            && argv[1..=n]
                .iter()
                .zip(c.words)
                .all(|(a, w)| a.to_str() == Some(w))
        {
            let mut args = vec![OsString::from(c.name)];
            args.extend(argv[n + 1..].iter().cloned());
            return Some((c, args));
        }
    }
    None
}

/// The program's entry.
pub fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    // The supervisor of a tool's command (docs/reliability.md): sx starts itself under this
    // name, never a user.
    if argv.first().and_then(|a| a.to_str()) == Some(sx_agent::tools::supervisor::NAME) {
        return sx_agent::tools::supervisor::main(argv);
    }
    if argv.get(1).and_then(|a| a.to_str()) == Some("install-links") {
        crate::install_panic_hook();
        let rest: Vec<&str> = argv[2..].iter().filter_map(|a| a.to_str()).collect();
        if rest.iter().any(|a| matches!(*a, "-h" | "--help")) {
            println!("{}", links::USAGE);
            return ExitCode::SUCCESS;
        }
        if let Some(flag) = rest.iter().find(|a| a.starts_with('-')) {
            return crate::report(&crate::Failure::usage(format!(
                "install-links: unknown option {flag}; usage: sx install-links [DIR]"
            )));
        }
        if argv.len() > 3 {
            return crate::report(&crate::Failure::usage(
                "install-links takes one folder; usage: sx install-links [DIR]".to_string(),
            ));
        }
        return match links::install(argv.get(2).map(std::path::PathBuf::from)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(f) => crate::report(&f),
        };
    }
    match choose(&argv) {
        Some((c, args)) => {
            let _ = crate::ARGS.set(args);
            (c.run)()
        }
        None => {
            let _ = crate::ARGS.set(argv);
            sx_agent::tools::command::use_supervisor("/proc/self/exe".into());
            crate::sx::main()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(v: &[&str]) -> Option<(&'static str, Vec<String>)> {
        let argv: Vec<OsString> = v.iter().map(OsString::from).collect();
        choose(&argv).map(|(c, a)| {
            (
                c.name,
                a.iter().map(|s| s.to_string_lossy().into_owned()).collect(),
            )
        })
    }

    #[test]
    fn a_command_by_its_name_or_by_its_words() {
        assert_eq!(
            pick(&["/usr/bin/scorpiox-config", "--get", "MODEL"]),
            Some((
                "scorpiox-config",
                vec![
                    "/usr/bin/scorpiox-config".into(),
                    "--get".into(),
                    "MODEL".into()
                ]
            ))
        );
        assert_eq!(
            pick(&["sx", "config", "--get", "MODEL"]),
            Some((
                "scorpiox-config",
                vec!["scorpiox-config".into(), "--get".into(), "MODEL".into()]
            ))
        );
        assert_eq!(
            pick(&["sx", "codex", "login", "--force"]).map(|p| p.0),
            Some("scorpiox-codex-login")
        );
        assert_eq!(
            pick(&["sx", "token-server"]).map(|p| p.0),
            Some("scorpiox-token-server")
        );
        assert_eq!(pick(&["sx", "-p", "hi"]), None);
        assert_eq!(
            pick(&["sx", "config files are odd"]),
            None,
            "a prompt stays a prompt"
        );
        assert_eq!(pick(&["sx", "codex"]), None);
        assert_eq!(pick(&["sx"]), None);
    }
}
