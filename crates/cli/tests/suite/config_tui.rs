//! The interactive `scorpiox-config` through a real terminal (tmux): an edit lands in the
//! project file by default and in the user file after Tab, an invalid value is refused with
//! its reason, a secret is masked on screen and saved as typed, the rows follow `PROVIDER`,
//! and an untrusted project refuses a trust-sensitive key with the explanation. Screens are
//! insta snapshots with the temporary folder replaced by `<tmp>`.

use std::path::Path;

use super::config_cli::Fx;
use super::tmux::Tmux;

fn write_project(fx: &Fx, text: &str) {
    std::fs::write(fx.project_file(), text).unwrap();
}

/// `scorpiox-config` with no arguments in a 100×40 terminal, in the project, with a clean
/// environment; returns once the editor is drawn.
fn start(fx: &Fx) -> Tmux {
    let t = Tmux::start(
        fx._tmp.path(),
        &fx.proj,
        &[
            ("HOME", fx.home.display().to_string()),
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("TERM", "xterm-256color".to_string()),
        ],
        &super::common::bin_path("scorpiox-config"),
        &[],
        (100, 40),
    );
    t.wait_text("q quit");
    t
}

/// The screen with the temporary folder replaced and trailing blanks dropped.
fn normalized(fx: &Fx, screen: &str) -> String {
    let root = fx.home.parent().unwrap().display().to_string();
    let mut out: Vec<String> = screen
        .lines()
        .map(|l| l.replace(&root, "<tmp>").trim_end().to_string())
        .collect();
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out.join("\n")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The key on the selected row (`› KEY …`).
fn selected(screen: &str) -> Option<String> {
    screen.lines().find_map(|l| {
        l.strip_prefix("› ")
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string)
    })
}

/// Move the selection down to `key`, one row at a time, each move seen on the screen.
fn move_to(t: &Tmux, key: &str) {
    for _ in 0..60 {
        let now = selected(&t.screen());
        if now.as_deref() == Some(key) {
            return;
        }
        t.keys(&["Down"]);
        t.wait_for("the selection to move", |s| selected(s) != now);
    }
    panic!(
        "{key} never got selected; the screen shows:\n{}",
        t.screen()
    );
}

/// Leave with q; the exit status.
fn quit(t: &Tmux) -> i32 {
    t.keys(&["q"]);
    t.wait_exit()
}

#[test]
fn config_editor_main_screen() {
    let fx = Fx::new();
    let t = start(&fx);
    let s = t.wait_settled("the editor", |s| s.contains("q quit"), |s| s.to_string());
    insta::assert_snapshot!("config_editor_main", normalized(&fx, &s));
    assert_eq!(quit(&t), 0);
    let end = t.wait_text("scorpiox-config: no changes");
    assert!(!end.contains("q quit"), "the live region is gone:\n{end}");
}

#[test]
fn config_edit_lands_in_the_project_file_by_default_and_the_user_file_after_tab() {
    let fx = Fx::new();
    let t = start(&fx);
    assert!(t.screen().contains("save to project"));
    move_to(&t, "MODEL");
    t.keys(&["Enter", "C-u"]);
    t.type_text("opus");
    t.keys(&["Enter"]);
    t.wait_text("✓ set MODEL=opus in");
    assert_eq!(read(&fx.project_file()), "MODEL=opus\n");
    assert!(!fx.user_file().exists());
    t.keys(&["Tab"]);
    t.wait_text("save to user ~/.scorpiox/scorpiox-env.txt");
    move_to(&t, "MAX_TURNS");
    t.keys(&["Enter", "C-u"]);
    t.type_text("7");
    t.keys(&["Enter"]);
    t.wait_text("✓ set MAX_TURNS=7 in ~/.scorpiox/scorpiox-env.txt");
    assert_eq!(read(&fx.user_file()), "MAX_TURNS=7\n");
    assert_eq!(read(&fx.project_file()), "MODEL=opus\n");
    // The row shows the new value and its tier.
    let s = t.screen();
    let row = s.lines().find(|l| l.starts_with("› MAX_TURNS")).unwrap();
    assert!(
        row.contains(" 7 ") && row.trim_end().ends_with("user"),
        "{row}"
    );
    assert_eq!(quit(&t), 0);
    t.wait_text("scorpiox-config: 2 changes saved");
}

#[test]
fn config_editor_refuses_an_invalid_value_with_the_reason() {
    let fx = Fx::new();
    let t = start(&fx);
    move_to(&t, "MAX_TURNS");
    t.keys(&["Enter", "C-u"]);
    t.type_text("lots");
    t.keys(&["Enter"]);
    let s = t.wait_text("not saved: MAX_TURNS");
    assert!(
        s.contains("\"lots\" is not valid; allowed: a whole number"),
        "{s}"
    );
    assert!(!fx.project_file().exists(), "nothing written");
    // Still editing: Esc leaves the value as it was.
    t.keys(&["Escape"]);
    t.wait_text("unchanged");
    let s = t.screen();
    let row = s.lines().find(|l| l.starts_with("› MAX_TURNS")).unwrap();
    assert!(row.contains(" 50 "), "{row}");
    assert_eq!(quit(&t), 0);
}

#[test]
fn config_editor_masks_a_secret_and_saves_it_as_typed() {
    let fx = Fx::new();
    write_project(&fx, "PROVIDER=openai\nOPENAI_API_KEY=sk-old-value\n");
    let t = start(&fx);
    assert!(!t.screen().contains("sk-old"));
    move_to(&t, "OPENAI_API_KEY");
    t.keys(&["Enter"]);
    t.wait_text("Enter save");
    t.type_text("sk-live-123");
    let s = t.wait_text("•••••••••••");
    assert!(!s.contains("sk-live") && !s.contains("sk-old"), "{s}");
    t.keys(&["Enter"]);
    let s = t.wait_text("✓ set OPENAI_API_KEY=*** in");
    assert!(!s.contains("sk-live"), "{s}");
    assert_eq!(
        read(&fx.project_file()),
        "PROVIDER=openai\nOPENAI_API_KEY=sk-live-123\n"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(fx.project_file())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "a file holding a secret is private");
    assert_eq!(quit(&t), 0);
    assert!(!t.screen().contains("sk-live"));
}

#[test]
fn config_editor_rows_follow_the_provider() {
    let fx = Fx::new();
    let t = start(&fx);
    let s = t.screen();
    assert!(
        s.contains("ROUTER_URL") && !s.contains("CODEX_TOKEN_SOURCE"),
        "{s}"
    );
    assert_eq!(selected(&s).as_deref(), Some("PROVIDER"));
    t.keys(&["Enter"]);
    t.wait_text("←→ choose");
    t.keys(&["Right", "Enter"]); // scorpiox → codex (the list wraps)
    let s = t.wait_text("CODEX_TOKEN_SOURCE");
    assert!(!s.contains("ROUTER_URL"), "{s}");
    assert_eq!(read(&fx.project_file()), "PROVIDER=codex\n");
    let s = t.wait_settled(
        "CODEX_CREDENTIALS_FILE",
        |s| s.contains("CODEX_CREDENTIALS_FILE"),
        |s| s.to_string(),
    );
    insta::assert_snapshot!("config_editor_codex", normalized(&fx, &s));
    assert_eq!(quit(&t), 0);
}

#[test]
fn config_editor_explains_why_an_untrusted_project_may_not_set_a_key() {
    let fx = Fx::new();
    write_project(&fx, "PROVIDER=codex\n");
    let t = start(&fx);
    move_to(&t, "CODEX_BASE_URL");
    t.keys(&["Enter"]);
    let s = t.wait_settled(
        "the refusal",
        |s| s.contains("untrusted project may not set it"),
        |s| s.to_string(),
    );
    insta::assert_snapshot!("config_editor_untrusted", normalized(&fx, &s));
    t.keys(&["Escape"]);
    t.wait_text("unchanged");
    assert_eq!(read(&fx.project_file()), "PROVIDER=codex\n");
    // Offered the user file instead: the value goes there.
    t.keys(&["Enter"]);
    t.wait_text("[u] save it in your user file");
    t.keys(&["u"]);
    t.wait_text("Enter save");
    t.keys(&["C-u"]);
    t.type_text("http://127.0.0.1:9/codex");
    t.keys(&["Enter"]);
    t.wait_text("✓ set CODEX_BASE_URL=http://127.0.0.1:9/codex in ~/.scorpiox/scorpiox-env.txt");
    assert_eq!(
        read(&fx.user_file()),
        "CODEX_BASE_URL=http://127.0.0.1:9/codex\n"
    );
    assert_eq!(read(&fx.project_file()), "PROVIDER=codex\n");
    assert_eq!(quit(&t), 0);
}
