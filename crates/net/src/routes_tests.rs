use super::*;

fn routes(v: &str) -> Routes {
    Routes::parse(Some(v), DEFAULT_LONG_CONTEXT).unwrap()
}

fn traits(model: &str) -> Traits<'_> {
    Traits {
        model,
        thinking: false,
        input_tokens: 10,
    }
}

fn to(r: &Routes, t: Traits<'_>) -> (ProviderId, String) {
    let r = r.route(&t).unwrap();
    (r.provider, r.model)
}

#[test]
fn globs() {
    assert!(glob_match("gpt-*", "gpt-5.5"));
    assert!(glob_match("GPT-*", "gpt-5.5"));
    assert!(glob_match("*", ""));
    assert!(glob_match("*codex*", "gpt-5.3-codex"));
    assert!(glob_match("gemini-?.5-*", "gemini-3.5-flash-lite"));
    assert!(!glob_match("gemini-?.5-*", "gemini-3.15-flash"));
    assert!(!glob_match("gpt-*", "claude-gpt-"));
    assert!(glob_match("a*b*c", "aXXbYYc"));
    assert!(!glob_match("a*b*c", "aXXbYY"));
    assert!(glob_match("claude-*-4-*", "claude-haiku-4-5"));
}

#[test]
fn model_globs_first_match_wins_and_claude_families_map_to_each_provider() {
    let r = routes("gpt-*=codex, gemini-*=gemini ,*=anthropic");
    assert_eq!(
        to(&r, traits("gpt-5.5")),
        (ProviderId::Codex, "gpt-5.5".into())
    );
    assert_eq!(
        to(&r, traits("gemini-3.8-flash")),
        (ProviderId::Gemini, "gemini-3.8-flash".into())
    );
    assert_eq!(
        to(&r, traits("claude-sonnet-5")),
        (ProviderId::Anthropic, "claude-sonnet-5".into())
    );
    assert_eq!(
        to(&r, traits("opus")),
        (ProviderId::Anthropic, "claude-opus-4-8".into())
    );
    assert_eq!(
        r.providers(),
        [ProviderId::Codex, ProviderId::Gemini, ProviderId::Anthropic]
    );

    // Claude Code asks for Claude ids; a codex catch-all answers each family with its own model.
    let r = routes("*=codex");
    assert_eq!(to(&r, traits("claude-opus-4-8")).1, "gpt-5.5");
    assert_eq!(to(&r, traits("claude-sonnet-5")).1, "gpt-5.4");
    assert_eq!(
        to(&r, traits("claude-haiku-4-5-20251001")).1,
        "gpt-5.4-mini"
    );
    assert_eq!(to(&r, traits("gpt-5.3-codex")).1, "gpt-5.3-codex");
    let r = routes("*=gemini");
    assert_eq!(to(&r, traits("sonnet")).1, "gemini-3.8-flash");
    // A fixed model wins over the requested one (its alias resolved).
    let r = routes("*=openai:local-model,x=codex:opus");
    assert_eq!(
        to(&r, traits("claude-opus-4-8")),
        (ProviderId::Openai, "local-model".into())
    );
}

#[test]
fn scenarios_by_request_trait_in_written_order() {
    let r = routes(
        "long_context=gemini:gemini-3.1-pro-preview,background=gemini:haiku,\
         think=codex:gpt-5.5,*=anthropic",
    );
    assert_eq!(
        to(&r, traits("claude-haiku-4-5")),
        (ProviderId::Gemini, "gemini-3.5-flash-lite".into())
    );
    let mut t = traits("claude-opus-4-8");
    t.thinking = true;
    assert_eq!(to(&r, t), (ProviderId::Codex, "gpt-5.5".into()));
    assert_eq!(r.route(&t).unwrap().why, "think=codex:gpt-5.5");
    t.input_tokens = DEFAULT_LONG_CONTEXT + 1;
    assert_eq!(
        to(&r, t),
        (ProviderId::Gemini, "gemini-3.1-pro-preview".into())
    );
    t.input_tokens = DEFAULT_LONG_CONTEXT;
    assert_eq!(
        to(&r, t).0,
        ProviderId::Codex,
        "the threshold itself is not above it"
    );
    assert_eq!(
        to(&r, traits("claude-opus-4-8")),
        (ProviderId::Anthropic, "claude-opus-4-8".into())
    );
    // The threshold is configurable.
    let r = Routes::parse(Some("long_context=gemini,*=codex"), 100).unwrap();
    let mut t = traits("gpt-5.5");
    t.input_tokens = 101;
    assert_eq!(to(&r, t).0, ProviderId::Gemini);
}

#[test]
fn explicit_provider_and_model_passes_straight_through() {
    let r = routes("*=anthropic");
    let route = r.route(&traits("codex,gpt-5.5")).unwrap();
    assert_eq!(
        (route.provider, route.model.as_str(), route.why.as_str()),
        (ProviderId::Codex, "gpt-5.5", "explicit")
    );
    assert_eq!(
        to(&r, traits("gemini, haiku")),
        (ProviderId::Gemini, "gemini-3.5-flash-lite".into())
    );
    let e = r.route(&traits("claude_code,x")).unwrap_err();
    assert!(
        e.0.contains("cannot send requests to 'claude_code'"),
        "{e:?}"
    );
    let e = r.route(&traits("nope,x")).unwrap_err();
    assert!(e.0.contains("unknown provider 'nope'"), "{e:?}");
    let e = r.route(&traits("codex,")).unwrap_err();
    assert!(e.0.contains("no model after the comma"), "{e:?}");
}

#[test]
fn unmatched_models_are_not_routed() {
    let r = routes("gpt-*=codex");
    let e = r.route(&traits("claude-opus-4-8")).unwrap_err();
    assert!(
        e.0.contains("no ROUTER_ROUTES rule routes model 'claude-opus-4-8'"),
        "{e:?}"
    );
}

#[test]
fn bad_tables_are_one_line_naming_the_rule() {
    let err = |v: Option<&str>| Routes::parse(v, 1).unwrap_err();
    assert!(err(None).contains("ROUTER_ROUTES is not set"));
    assert!(err(Some(" , ")).contains("has no rules"));
    let e = err(Some("gpt-*=codex,oops"));
    assert!(
        e.contains("rule 2 ('oops')") && e.contains("MATCH=PROVIDER"),
        "{e}"
    );
    assert!(err(Some("=codex")).contains("the match is empty"));
    assert!(err(Some("*=scorpiox")).contains("cannot send requests to 'scorpiox'"));
    assert!(err(Some("*=claude_code")).contains("cannot send requests"));
    assert!(err(Some("*=gpt")).contains("unknown provider 'gpt'"));
    assert!(err(Some("*=codex:")).contains("model after ':' is empty"));
    for e in [err(None), err(Some("x"))] {
        assert!(!e.contains('\n'), "{e}");
    }
}
