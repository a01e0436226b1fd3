//! The editor driven key by key, without a terminal: where values land, what is refused and
//! why, what is shown of a secret.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pretty_assertions::assert_eq;

use super::*;
use crate::config_editor::draw;
use crate::config_editor::testfx::Fx;

fn app(fx: &Fx) -> App {
    App::new(fx.opts(), fx.config())
}

fn press(app: &mut App, code: KeyCode) {
    app.key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn typed(app: &mut App, s: &str) {
    for c in s.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn select(app: &mut App, key: &str) {
    app.sel = app
        .rows
        .iter()
        .position(|r| r.key == key)
        .unwrap_or_else(|| panic!("{key} is not listed"));
}

/// The live region as text.
fn screen(app: &mut App, height: usize) -> String {
    let (lines, _) = draw::live(app, 100, height);
    lines.iter().map(Line::text).collect::<Vec<_>>().join("\n")
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn a_typed_value_is_saved_to_the_project_file_by_default_and_to_the_user_file_after_tab() {
    let fx = Fx::new();
    let mut a = app(&fx);
    select(&mut a, "MODEL");
    press(&mut a, KeyCode::Enter);
    assert!(
        matches!(&a.mode, Mode::Text(e) if e.text() == "sonnet"),
        "pre-filled"
    );
    a.key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    typed(&mut a, "opus");
    press(&mut a, KeyCode::Enter);
    assert_eq!(read(&fx.proj.join("scorpiox-env.txt")), "MODEL=opus\n");
    let row = a.selected().unwrap();
    assert_eq!(row.value.as_ref().unwrap().1.tier, sx_config::Tier::Project);
    assert!(matches!(a.note, Some(Note::Done(_))), "{:?}", a.note);
    assert_eq!(a.committed.len(), 1);
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.target, Target::User);
    select(&mut a, "MAX_TURNS");
    press(&mut a, KeyCode::Enter);
    typed(&mut a, "0");
    press(&mut a, KeyCode::Enter);
    assert_eq!(
        read(&fx.home.join(".scorpiox/scorpiox-env.txt")),
        "MAX_TURNS=500\n"
    );
    assert_eq!(a.changes, 2);
}

#[test]
fn an_invalid_value_is_refused_with_the_reason_and_stays_in_the_editor() {
    let fx = Fx::new();
    let mut a = app(&fx);
    select(&mut a, "MAX_TURNS");
    press(&mut a, KeyCode::Enter);
    typed(&mut a, "x");
    press(&mut a, KeyCode::Enter);
    let Some(Note::Error(why)) = &a.note else {
        panic!("{:?}", a.note)
    };
    assert!(
        why.contains("whole number") && why.contains("\"50x\""),
        "{why}"
    );
    assert!(matches!(a.mode, Mode::Text(_)), "still editing");
    assert!(
        !fx.proj.join("scorpiox-env.txt").exists(),
        "nothing written"
    );
    // Fixed, it saves (and the stale error goes).
    press(&mut a, KeyCode::Backspace);
    press(&mut a, KeyCode::Enter);
    assert!(matches!(a.note, Some(Note::Done(_))), "{:?}", a.note);
    // A profile that does not exist would break every command: refused too.
    select(&mut a, "ACTIVE_PROFILE");
    press(&mut a, KeyCode::Enter);
    typed(&mut a, "nowhere");
    press(&mut a, KeyCode::Enter);
    assert!(
        matches!(&a.note, Some(Note::Error(e)) if e.contains("profile 'nowhere' not found")),
        "{:?}",
        a.note
    );
    assert_eq!(read(&fx.proj.join("scorpiox-env.txt")), "MAX_TURNS=50\n");
}

#[test]
fn a_secret_is_never_shown_or_prefilled_and_is_saved_as_typed() {
    let fx = Fx::new();
    fx.write(
        &fx.proj.join("scorpiox-env.txt"),
        "PROVIDER=openai\nOPENAI_API_KEY=sk-old\n",
    );
    let mut a = app(&fx);
    select(&mut a, "OPENAI_API_KEY");
    assert!(!screen(&mut a, 40).contains("sk-old"));
    press(&mut a, KeyCode::Enter);
    assert!(
        matches!(&a.mode, Mode::Text(e) if e.is_empty()),
        "not pre-filled"
    );
    a.paste("sk-new-42\n");
    let s = screen(&mut a, 40);
    assert!(!s.contains("sk-new") && s.contains("•••••••••"), "{s}");
    press(&mut a, KeyCode::Enter);
    assert_eq!(
        read(&fx.proj.join("scorpiox-env.txt")),
        "PROVIDER=openai\nOPENAI_API_KEY=sk-new-42\n"
    );
    let s = screen(&mut a, 40);
    assert!(!s.contains("sk-new") && s.contains("***"), "{s}");
    assert!(
        matches!(&a.note, Some(Note::Warn(w)) if w.contains("repository")),
        "{:?}",
        a.note
    );
    // An empty entry keeps the secret.
    press(&mut a, KeyCode::Enter);
    press(&mut a, KeyCode::Enter);
    assert!(read(&fx.proj.join("scorpiox-env.txt")).contains("sk-new-42"));
}

#[test]
fn choosing_a_provider_changes_the_rows_and_bools_toggle() {
    let fx = Fx::new();
    let mut a = app(&fx);
    assert!(a.rows.iter().any(|r| r.key == "ROUTER_URL"));
    select(&mut a, "PROVIDER");
    press(&mut a, KeyCode::Enter);
    press(&mut a, KeyCode::Right); // scorpiox → codex (wraps)
    press(&mut a, KeyCode::Enter);
    assert_eq!(read(&fx.proj.join("scorpiox-env.txt")), "PROVIDER=codex\n");
    assert!(a.rows.iter().any(|r| r.key == "CODEX_TOKEN_SOURCE"));
    assert!(!a.rows.iter().any(|r| r.key == "ROUTER_URL"));
    assert_eq!(a.selected().unwrap().key, "PROVIDER", "the selection stays");
    select(&mut a, "TRAFFIC_LOG");
    press(&mut a, KeyCode::Enter);
    assert!(read(&fx.proj.join("scorpiox-env.txt")).contains("TRAFFIC_LOG=0\n"));
    // Esc leaves a choice unchanged.
    select(&mut a, "APPROVAL");
    press(&mut a, KeyCode::Char('a')); // every key
    assert!(a.all && a.rows.iter().any(|r| r.key == "GEMINI_API_KEY"));
}

#[test]
fn an_untrusted_project_refuses_a_trust_sensitive_key_and_offers_the_user_file_or_trust() {
    let fx = Fx::new();
    fx.write(&fx.proj.join("scorpiox-env.txt"), "PROVIDER=codex\n");
    let mut a = app(&fx);
    select(&mut a, "CODEX_BASE_URL");
    press(&mut a, KeyCode::Enter);
    assert!(matches!(a.mode, Mode::Refused(Refusal::Untrusted)));
    let s = screen(&mut a, 60);
    assert!(s.contains("untrusted project may not set it"), "{s}");
    assert!(
        s.contains("[u] save it in your user file ~/.scorpiox/scorpiox-env.txt"),
        "{s}"
    );
    press(&mut a, KeyCode::Char('u'));
    assert_eq!(a.target, Target::User);
    typed(&mut a, "/v2");
    press(&mut a, KeyCode::Enter);
    assert_eq!(
        read(&fx.home.join(".scorpiox/scorpiox-env.txt")),
        "CODEX_BASE_URL=https://chatgpt.com/backend-api/codex/v2\n"
    );
    assert_eq!(read(&fx.proj.join("scorpiox-env.txt")), "PROVIDER=codex\n");
    // Back to the project: trust it from the question, then the key saves there.
    press(&mut a, KeyCode::Tab);
    select(&mut a, "CODEX_AUTH_URL");
    press(&mut a, KeyCode::Enter);
    press(&mut a, KeyCode::Char('t'));
    assert!(a.cfg.project_trusted());
    assert!(matches!(a.mode, Mode::Text(_)));
    press(&mut a, KeyCode::Enter);
    assert!(read(&fx.proj.join("scorpiox-env.txt")).contains("CODEX_AUTH_URL="));
    // TRUSTED_PROJECTS never goes to a project, trusted or not.
    select(&mut a, "TRUSTED_PROJECTS");
    press(&mut a, KeyCode::Enter);
    assert!(matches!(a.mode, Mode::Refused(Refusal::NeverInProject)));
    press(&mut a, KeyCode::Esc);
    assert!(matches!(a.mode, Mode::Browse));
}

#[test]
fn a_higher_tier_that_still_wins_is_reported() {
    let fx = Fx::new();
    let mut opts = fx.opts();
    opts.env = Some(vec![("MODEL".into(), "from-env".into())]);
    let mut a = App::new(opts.clone(), sx_config::load(&opts).unwrap());
    select(&mut a, "MODEL");
    press(&mut a, KeyCode::Enter);
    typed(&mut a, "x");
    press(&mut a, KeyCode::Enter);
    assert!(
        matches!(&a.note, Some(Note::Warn(w)) if w.contains("environment") && w.contains("still wins")),
        "{:?}",
        a.note
    );
    assert_eq!(read(&fx.proj.join("scorpiox-env.txt")), "MODEL=from-envx\n");
}

#[test]
fn removing_a_key_takes_it_out_of_the_target_file() {
    let fx = Fx::new();
    fx.write(&fx.proj.join("scorpiox-env.txt"), "# keep\nMODEL=opus\n");
    let mut a = app(&fx);
    select(&mut a, "MODEL");
    press(&mut a, KeyCode::Char('d'));
    assert_eq!(read(&fx.proj.join("scorpiox-env.txt")), "# keep\n");
    assert_eq!(a.selected().unwrap().value.as_ref().unwrap().0, "sonnet");
    press(&mut a, KeyCode::Char('d'));
    assert!(
        matches!(&a.note, Some(Note::Info(i)) if i.contains("not set")),
        "{:?}",
        a.note
    );
}

#[test]
fn the_list_scrolls_to_keep_the_selection_in_view() {
    let fx = Fx::new();
    let mut a = app(&fx);
    press(&mut a, KeyCode::Char('a'));
    press(&mut a, KeyCode::End);
    let last = a.selected().unwrap().key.clone();
    let s = screen(&mut a, 20);
    assert!(s.lines().count() <= 20, "{s}");
    assert!(s.contains(&format!("› {last}")), "{s}");
    let more = s
        .lines()
        .find(|l| l.starts_with("── ↑ "))
        .expect("a scroll mark");
    assert!(
        more.ends_with('─') && crate::text::width(more) == 100,
        "{more}"
    );
    press(&mut a, KeyCode::Home);
    let s = screen(&mut a, 20);
    assert!(
        s.contains("› PROVIDER") && s.contains("Provider & authentication"),
        "{s}"
    );
    press(&mut a, KeyCode::Char('q'));
    assert!(a.quit);
}
