use pretty_assertions::assert_eq;
use sx_config::{KEYS, Tier, load};

use super::*;
use crate::config_editor::testfx::Fx;

fn keys(rows: &[Row]) -> Vec<&str> {
    rows.iter().map(|r| r.key.as_str()).collect()
}

#[test]
fn every_known_key_has_one_place_in_the_layout_and_nothing_else_does() {
    let missing: Vec<&str> = KEYS
        .iter()
        .map(|s| s.name)
        .filter(|k| section_of(k).is_none())
        .collect();
    assert_eq!(missing, Vec::<&str>::new(), "keys without a section");
    let mut placed: Vec<&str> = LAYOUT.iter().flat_map(|(_, k)| k.iter().copied()).collect();
    placed.sort();
    let before = placed.len();
    placed.dedup();
    assert_eq!(placed.len(), before, "a key placed twice");
    let mut known: Vec<&str> = KEYS.iter().map(|s| s.name).collect();
    known.sort();
    assert_eq!(placed, known, "the layout lists exactly the known keys");
    assert!(LAYOUT.iter().all(|(s, _)| *s != Section::Other));
    assert_eq!(section_of("MY_OWN_KEY"), None);
    // With every row shown, each known key is listed exactly once.
    let fx = Fx::new();
    let all = rows(&fx.config(), true);
    let mut listed = keys(&all);
    listed.sort();
    assert_eq!(listed, known);
}

#[test]
fn rows_come_in_section_order() {
    let fx = Fx::new();
    let all = rows(&fx.config(), true);
    assert!(all.windows(2).all(|w| w[0].section <= w[1].section));
    assert_eq!(all[0].key, "PROVIDER");
    for s in [
        Section::Provider,
        Section::Model,
        Section::Tools,
        Section::Sessions,
        Section::Network,
    ] {
        assert!(all.iter().any(|r| r.section == s), "{s:?} is empty");
    }
}

#[test]
fn rows_follow_the_provider_and_the_codex_token_source() {
    let fx = Fx::new();
    let with = |lines: &str| {
        fx.write(&fx.proj.join("scorpiox-env.txt"), lines);
        rows(&fx.config(), false)
    };
    let codex = with("PROVIDER=codex\n");
    let k = keys(&codex);
    assert!(k.contains(&"CODEX_TOKEN_SOURCE") && k.contains(&"CODEX_BASE_URL"));
    assert!(
        k.contains(&"CODEX_CREDENTIALS_FILE"),
        "local source: its file"
    );
    assert!(!k.contains(&"CODEX_SSH_HOST") && !k.contains(&"TOKEN_HTTP_API_KEY"));
    assert!(k.contains(&"REASONING_EFFORT") && !k.contains(&"THINKING_BUDGET"));
    assert!(
        !k.iter()
            .any(|k| k.starts_with("GEMINI_") || k.starts_with("ANTHROPIC_"))
    );
    assert!(!k.contains(&"ROUTER_URL") && !k.contains(&"CLAUDE_CODE_BIN"));

    let ssh = with("PROVIDER=codex\nCODEX_TOKEN_SOURCE=ssh\n");
    let k = keys(&ssh);
    assert!(k.contains(&"CODEX_SSH_HOST") && k.contains(&"CODEX_SSH_PASS"));
    assert!(!k.contains(&"CODEX_CREDENTIALS_FILE"));
    let remote = with("PROVIDER=codex\nCODEX_TOKEN_SOURCE=http\n");
    assert!(keys(&remote).contains(&"TOKEN_HTTP_API_KEY"));

    let gemini = with("PROVIDER=gemini\n");
    let k = keys(&gemini);
    assert!(k.contains(&"GEMINI_API_KEY") && k.contains(&"GEMINI_CACHE"));
    assert!(k.contains(&"THINKING_BUDGET") && !k.contains(&"REASONING_EFFORT"));
    assert!(!k.iter().any(|k| k.starts_with("CODEX_")));

    let anthropic = with("PROVIDER=anthropic\n");
    assert!(keys(&anthropic).contains(&"ANTHROPIC_API_KEY"));
    assert!(!keys(&anthropic).contains(&"GEMINI_API_KEY"));
    let router = with("");
    let k = keys(&router);
    assert!(k.contains(&"ROUTER_URL") && !k.contains(&"ANTHROPIC_API_KEY"));
    assert!(keys(&with("PROVIDER=claude_code\n")).contains(&"CLAUDE_CODE_BIN"));
    assert!(keys(&with("PROVIDER=openai\n")).contains(&"OPENAI_BASE_URL"));
    // Provider-independent keys are always there.
    for r in [&codex, &gemini, &router] {
        for key in [
            "PROVIDER",
            "MODEL",
            "APPROVAL",
            "TRAFFIC_LOG",
            "REQUEST_MAX_RETRIES",
        ] {
            assert!(keys(r).contains(&key), "{key}");
        }
    }
}

#[test]
fn a_row_shows_its_value_and_source_and_masks_secrets() {
    let fx = Fx::new();
    fx.write(
        &fx.proj.join("scorpiox-env.txt"),
        "PROVIDER=openai\nMODEL=gpt-x\nOPENAI_API_KEY=sk-secret\nMY_TOKEN=t0k\nEXTRA=1\n",
    );
    let rows = rows(&fx.config(), false);
    let get = |k: &str| rows.iter().find(|r| r.key == k).unwrap().clone();
    let model = get("MODEL");
    let (value, source) = model.value.clone().unwrap();
    assert_eq!(value, "gpt-x");
    assert_eq!(source.tier, Tier::Project);
    assert_eq!(source.line, Some(2));
    assert_eq!(model.shown(None), "gpt-x");
    assert_eq!(get("OPENAI_API_KEY").shown(None), "***");
    assert_eq!(get("OPENAI_BASE_URL").value.unwrap().1.tier, Tier::Default);
    assert_eq!(get("REASONING_EFFORT").shown(None), "(empty)");
    fx.write(&fx.proj.join("scorpiox-env.txt"), "PROVIDER=codex\n");
    let codex = super::rows(&fx.config(), false);
    let file = codex
        .iter()
        .find(|r| r.key == "CODEX_CREDENTIALS_FILE")
        .unwrap();
    assert_eq!(file.shown(Some(&fx.home)), "~/.codex/auth.json");
    // Unknown keys that a file sets: listed under Other, secrets by their name masked.
    assert_eq!(get("EXTRA").section, Section::Other);
    assert_eq!(get("MY_TOKEN").shown(None), "***");
    assert_eq!(rows.last().unwrap().section, Section::Other);
    let all = super::rows(&fx.config(), true);
    assert_eq!(
        all.iter()
            .find(|r| r.key == "ANTHROPIC_API_KEY")
            .unwrap()
            .shown(None),
        "(unset)"
    );
}

#[test]
fn an_ignored_project_line_is_attached_to_its_row() {
    let fx = Fx::new();
    fx.write(
        &fx.proj.join("scorpiox-env.txt"),
        "PROVIDER=codex\nCODEX_BASE_URL=http://evil.example\n",
    );
    let rows = rows(&fx.config(), false);
    let r = rows.iter().find(|r| r.key == "CODEX_BASE_URL").unwrap();
    assert_eq!(r.value.as_ref().unwrap().1.tier, Tier::Default);
    assert!(
        r.ignored.as_deref().unwrap().contains("untrusted project"),
        "{r:?}"
    );
}

#[test]
fn edit_kinds_cycle_and_toggle() {
    let fx = Fx::new();
    let all = rows(&fx.config(), true);
    let kind = |k: &str| all.iter().find(|r| r.key == k).unwrap().edit();
    assert_eq!(kind("TOOLS"), EditKind::Toggle);
    assert_eq!(kind("MODEL"), EditKind::Text);
    assert_eq!(kind("MAX_TURNS"), EditKind::Text);
    let EditKind::Choice(values) = kind("PROVIDER") else {
        panic!("PROVIDER is a choice")
    };
    assert_eq!(cycle(values, "codex", false), "claude_code");
    assert_eq!(cycle(values, "codex", true), "scorpiox");
    assert_eq!(cycle(values, "scorpiox", false), "codex");
    assert_eq!(cycle(values, "nonsense", false), "codex");
    assert_eq!(toggled(Some("1")), "0");
    assert_eq!(toggled(Some("off")), "1");
    assert_eq!(toggled(None), "1");
}

#[test]
fn validation_names_what_is_allowed_and_never_echoes_a_secret() {
    assert_eq!(validate("MAX_TURNS", "12"), Ok(()));
    let e = validate("MAX_TURNS", "lots").unwrap_err();
    assert!(e.contains("\"lots\"") && e.contains("whole number"), "{e}");
    let e = validate("CODEX_BASE_URL", "ftp://x").unwrap_err();
    assert!(e.contains("http"), "{e}");
    assert_eq!(validate("OPENAI_API_KEY", "anything"), Ok(()));
    assert_eq!(validate("UNKNOWN_KEY", "anything"), Ok(()));
}

#[test]
fn the_trust_rule_decides_where_a_key_may_be_saved() {
    let fx = Fx::new();
    let cfg = fx.config();
    assert_eq!(
        may_save("CODEX_BASE_URL", Target::Project, &cfg),
        Err(Refusal::Untrusted)
    );
    assert_eq!(
        may_save("APPROVAL", Target::Project, &cfg),
        Err(Refusal::Untrusted)
    );
    assert_eq!(may_save("MODEL", Target::Project, &cfg), Ok(()));
    assert_eq!(may_save("CODEX_BASE_URL", Target::User, &cfg), Ok(()));
    assert_eq!(
        may_save("TRUSTED_PROJECTS", Target::Project, &cfg),
        Err(Refusal::NeverInProject)
    );
    sx_config::trust_project(&fx.home, &fx.proj).unwrap();
    let trusted = fx.config();
    assert_eq!(
        may_save("CODEX_BASE_URL", Target::Project, &trusted),
        Ok(())
    );
    assert_eq!(
        may_save("TRUSTED_PROJECTS", Target::Project, &trusted),
        Err(Refusal::NeverInProject)
    );
    let mut opts = fx.opts();
    opts.home = None;
    let homeless = load(&opts).unwrap();
    assert_eq!(
        may_save("MODEL", Target::User, &homeless),
        Err(Refusal::NoHome)
    );
    assert_eq!(
        Target::Project.file(&cfg).unwrap(),
        fx.proj.join("scorpiox-env.txt")
    );
    assert_eq!(
        Target::User.file(&cfg).unwrap(),
        fx.home.join(".scorpiox/scorpiox-env.txt")
    );
    assert_eq!(
        short_path(&fx.home.join(".scorpiox/x.txt"), Some(&fx.home)),
        "~/.scorpiox/x.txt"
    );
}
