//! Shell completions (docs/completions.md): every binary prints a script for bash, zsh and fish
//! that names each of its long flags (taken from its own `--help`, so a new flag is covered
//! without touching this test), bash accepts its script (`bash -n`), and `sx completions` is
//! the command only when used exactly so — any other use of the word is a prompt.

use std::process::{Command, Stdio};

use super::common::{Cmd, Env};

const BINARIES: &[&str] = &[
    "sx",
    "scorpiox-config",
    "scorpiox-codex-fetchtoken",
    "scorpiox-codex-refreshtoken",
    "scorpiox-codex-login",
    "scorpiox-token-server",
];

fn stdout_of(bin: &str, args: &[&str]) -> String {
    let out = Cmd::cargo_bin(bin).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{bin} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// How a binary is asked for its script.
fn completion_args(bin: &str, shell: &str) -> Vec<String> {
    match bin {
        "sx" => vec!["completions".into(), shell.into()],
        _ => vec!["--completions".into(), shell.into()],
    }
}

/// The long flags `--help` lists in its options (not `--help`/`--version`' mentions elsewhere).
fn long_flags(help: &str) -> Vec<String> {
    let mut flags: Vec<String> = help
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        // The option's own spelling ends where its description starts (two spaces).
        .map(|l| l.split("  ").next().unwrap_or(""))
        .flat_map(|l| l.split([' ', ',', '=', '[', '<']))
        .filter_map(|w| w.strip_prefix("--"))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    flags.sort();
    flags.dedup();
    flags
}

#[test]
fn every_binary_completes_its_flags_in_bash_zsh_and_fish() {
    for bin in BINARIES {
        let flags = long_flags(&stdout_of(bin, &["--help"]));
        assert!(flags.len() >= 3, "{bin}: {flags:?}");
        assert!(flags.contains(&"cwd".to_string()), "{bin}: {flags:?}");
        for shell in ["bash", "zsh", "fish"] {
            let args = completion_args(bin, shell);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let script = stdout_of(bin, &args);
            assert!(script.contains(bin), "{bin} {shell} names the binary");
            for flag in &flags {
                // fish spells a long option `-l name`, bash and zsh `--name`.
                let spelled = match shell {
                    "fish" => format!("-l {flag}"),
                    _ => format!("--{flag}"),
                };
                assert!(
                    script.contains(&spelled),
                    "{bin}'s {shell} script lacks {spelled}:\n{script}"
                );
            }
        }
    }
}

#[test]
fn bash_accepts_every_bash_script() {
    for bin in BINARIES {
        let args = completion_args(bin, "bash");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let script = stdout_of(bin, &args);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("completion.bash");
        std::fs::write(&file, &script).unwrap();
        let out = Command::new("bash")
            .arg("-n")
            .arg(&file)
            .stdin(Stdio::null())
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "bash -n rejects {bin}'s script: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Sourcing it registers the completion function for the binary.
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(". {}; complete -p {bin}", file.display()))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let registered = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && registered.contains(bin),
            "{bin}: {registered} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn sx_completions_lists_its_own_command_and_values() {
    let bash = stdout_of("sx", &["completions", "bash"]);
    assert!(bash.contains("completions"), "{bash}");
    let fish = stdout_of("sx", &["completions", "fish"]);
    assert!(
        fish.contains("stream-json"),
        "output formats complete: {fish}"
    );
    let zsh = stdout_of("sx", &["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef sx"), "{zsh}");
    // A bad shell name is a usage error on the binaries with the flag.
    let out = Cmd::cargo_bin("scorpiox-config")
        .args(["--completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_word_completions_in_a_prompt_is_a_prompt() {
    // Not exactly `sx completions SHELL`: sx runs the prompt (here against a provider that is
    // not signed in, so it fails the way any prompt would, not with a usage error about shells).
    let env = Env::new();
    for prompt in [
        &["completions", "everywhere"][..],
        &["completions", "are", "slow"],
    ] {
        let out = env
            .cmd("sx")
            .env("PROVIDER", "codex")
            .args(prompt)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.stdout.is_empty(), "{prompt:?}: no script printed");
        assert_eq!(
            out.status.code(),
            Some(3),
            "{prompt:?}: not signed in: {err}"
        );
        assert!(err.contains("sign in") || err.contains("login"), "{err}");
    }
}
