//! One program: every command by its own name (a link) or as a subcommand of `sx`, with the
//! same output and exit codes; `sx install-links` makes the links.

use super::common::{Env, bin_path, stderr_of};

#[test]
fn a_command_answers_the_same_by_its_name_and_as_a_subcommand() {
    let env = Env::new();
    let by_name = env
        .cmd("scorpiox-config")
        .args(["--get", "MODEL"])
        .output()
        .unwrap();
    let by_word = env
        .cmd("sx")
        .args(["config", "--get", "MODEL"])
        .output()
        .unwrap();
    assert!(by_name.status.success(), "{}", stderr_of(&by_name));
    assert_eq!(by_name.stdout, by_word.stdout);
    assert_eq!(String::from_utf8_lossy(&by_word.stdout), "sonnet\n");
    // Errors too: the same line, the same code, the command's own name.
    let a = env.cmd("scorpiox-config").args(["--get"]).output().unwrap();
    let b = env.cmd("sx").args(["config", "--get"]).output().unwrap();
    assert_eq!(a.status.code(), Some(2));
    assert_eq!(a.status.code(), b.status.code());
    assert_eq!(stderr_of(&a), stderr_of(&b));
    for (words, name) in [
        (
            &["codex", "fetchtoken", "--help"][..],
            "scorpiox-codex-fetchtoken",
        ),
        (
            &["codex", "refreshtoken", "--help"],
            "scorpiox-codex-refreshtoken",
        ),
        (&["codex", "login", "--help"], "scorpiox-codex-login"),
        (&["token-server", "--help"], "scorpiox-token-server"),
    ] {
        let out = env.cmd("sx").args(words).output().unwrap();
        assert!(out.status.success(), "{words:?}: {}", stderr_of(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("Usage: {name}")),
            "{words:?}"
        );
    }
}

#[test]
fn a_prompt_that_starts_with_a_commands_word_stays_a_prompt() {
    let env = Env::new();
    // Not logged in anywhere: a prompt reaches provider start-up and fails there (exit 3),
    // where a command would have answered otherwise.
    let out = env.cmd("sx").args(["-p", "config"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let out = env.cmd("sx").arg("config files are odd").output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
}

#[test]
fn install_links_makes_every_command_name_run_this_program() {
    let env = Env::new();
    let dir = env.home.join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    let out = env
        .cmd("sx")
        .arg("install-links")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    for name in [
        "scorpiox-config",
        "scorpiox-codex-fetchtoken",
        "scorpiox-codex-refreshtoken",
        "scorpiox-codex-login",
        "scorpiox-token-server",
        "scorpiox-router",
    ] {
        let link = dir.join(name);
        assert_eq!(
            std::fs::canonicalize(&link).unwrap(),
            std::fs::canonicalize(bin_path("sx")).unwrap(),
            "{name}"
        );
        let v = std::process::Command::new(&link)
            .arg("--version")
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&v.stdout).starts_with(name),
            "{name}: {}",
            String::from_utf8_lossy(&v.stdout)
        );
    }
    // Again: links are replaced, not doubled; a regular file is left alone with a message.
    let again = env
        .cmd("sx")
        .arg("install-links")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(again.status.success());
    std::fs::remove_file(dir.join("scorpiox-config")).unwrap();
    std::fs::write(dir.join("scorpiox-config"), "old").unwrap();
    let blocked = env
        .cmd("sx")
        .arg("install-links")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(blocked.status.code(), Some(2));
    assert!(stderr_of(&blocked).contains("is not a link"));
    assert_eq!(
        std::fs::read_to_string(dir.join("scorpiox-config")).unwrap(),
        "old"
    );
}

#[test]
fn install_links_help_and_bad_arguments_write_nothing() {
    let env = Env::new();
    let out = env
        .cmd("sx")
        .args(["install-links", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: sx install-links [DIR]"));
    assert!(!env.proj.join("--help").exists(), "no folder named --help");
    for args in [
        &["install-links", "--force"][..],
        &["install-links", "a", "b"],
    ] {
        let out = env.cmd("sx").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        assert!(
            stderr_of(&out).contains("usage: sx install-links [DIR]"),
            "{}",
            stderr_of(&out)
        );
    }
    let names: Vec<_> = std::fs::read_dir(&env.proj)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [".git"], "nothing written beside the repository");
}
