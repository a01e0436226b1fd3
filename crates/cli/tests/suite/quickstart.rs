//! The newcomer's documents: every command of `docs/quickstart.md` uses only flags its program
//! knows (checked against the program's own `--help`), every `--set KEY VALUE` there is a
//! value the key accepts, and README.md lists every page of `docs/`.

use std::path::{Path, PathBuf};

use super::common::Cmd;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The lines of the `sh` code blocks.
fn shell_lines(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            inside = !inside && line.trim() == "```sh";
            continue;
        }
        if inside {
            out.push(line.to_string());
        }
    }
    out
}

/// The inline code spans of the prose (outside code blocks) that run one of our commands.
fn inline_commands(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            inside = !inside;
            continue;
        }
        if !inside {
            out.extend(
                line.split('`')
                    .skip(1)
                    .step_by(2)
                    .filter(|span| command(span).is_some())
                    .map(str::to_string),
            );
        }
    }
    out
}

/// Words of a shell line: quotes grouped, a `#` comment dropped.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut started = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                started = true;
            }
            (None, '#') if !started => break,
            (None, c) if c.is_whitespace() => {
                if started {
                    out.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            (None, c) => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(word);
    }
    out
}

/// The command a line runs (after a pipe, if any) as (program name, its arguments), with
/// `sx config …` and `sx codex login …` read as the commands they are.
fn command(line: &str) -> Option<(String, Vec<String>)> {
    let segment = line.rsplit('|').next()?;
    let mut w = words(segment);
    if w.is_empty() {
        return None;
    }
    let program = w.remove(0);
    let (program, args) = match (program.as_str(), w.first().map(String::as_str)) {
        ("sx", Some("config")) => ("scorpiox-config".to_string(), w[1..].to_vec()),
        ("sx", Some("codex")) => (format!("scorpiox-codex-{}", w[1]), w[2..].to_vec()),
        ("sx", Some("install-links")) => ("sx install-links".to_string(), w[1..].to_vec()),
        ("sx" | "scorpiox-config" | "scorpiox-codex-login", _) => (program.clone(), w),
        _ => return None,
    };
    Some((program, args))
}

fn help_of(program: &str) -> String {
    let out = Cmd::cargo_bin(program).arg("--help").output().unwrap();
    assert!(out.status.success(), "{program} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_quickstart_uses_only_real_flags_and_values() {
    let text = std::fs::read_to_string(repo().join("docs/quickstart.md")).unwrap();
    let mut checked = Vec::new();
    for line in shell_lines(&text).into_iter().chain(inline_commands(&text)) {
        let Some((program, args)) = command(&line) else {
            continue;
        };
        if program == "sx install-links" {
            assert!(args.is_empty(), "{line}");
            continue;
        }
        let help = help_of(&program);
        for arg in args.iter().filter(|a| a.starts_with('-') && a.len() > 1) {
            let flag = arg.split('=').next().unwrap();
            let known = help.lines().any(|l| {
                l.trim_start()
                    .split([',', ' ', '['])
                    .any(|w| w == flag || w.starts_with(&format!("{flag}=")))
            });
            assert!(known, "{program} has no flag {flag} (line: {line})");
            checked.push(flag.to_string());
        }
        if let Some(i) = args.iter().position(|a| a == "--set") {
            let (key, value) = (&args[i + 1], &args[i + 2]);
            assert!(
                sx_config::key_spec(key).is_some(),
                "unknown key {key}: {line}"
            );
            sx_config::check_value(key, value).unwrap_or_else(|e| panic!("{line}: {e}"));
        }
    }
    // The parser found the commands: the flags the page is about were all seen.
    for flag in [
        "--browser",
        "--set",
        "--list-models",
        "--yolo",
        "--name",
        "--continue",
        "--sessions",
    ] {
        assert!(
            checked.iter().any(|f| f == flag),
            "{flag} not found in the quickstart"
        );
    }
}

#[test]
fn the_readme_lists_every_page_of_docs() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut missing = Vec::new();
    for e in std::fs::read_dir(repo().join("docs")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") && !readme.contains(&format!("](docs/{name})")) {
            missing.push(name);
        }
    }
    assert!(
        readme.contains("](docs/protocols/)"),
        "README.md should list docs/protocols/"
    );
    assert!(
        missing.is_empty(),
        "README.md does not list docs/{missing:?}"
    );
}

#[test]
fn shell_words_are_read_like_a_shell() {
    assert_eq!(
        words(r#"sx -p "what is it?" --yolo   # a comment"#),
        ["sx", "-p", "what is it?", "--yolo"]
    );
    assert_eq!(
        command("cat build.log | sx -p 'why?'"),
        Some(("sx".into(), vec!["-p".into(), "why?".into()]))
    );
    assert_eq!(
        command("sx codex login --browser"),
        Some(("scorpiox-codex-login".into(), vec!["--browser".into()]))
    );
    assert_eq!(command("cd ~/src/myproject"), None);
}
