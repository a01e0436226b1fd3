//! Tests of the cascade (`load.rs`). Every test passes explicit home/exe_dir/env.

use super::*;
use pretty_assertions::assert_eq;

struct Fx {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
    exe: PathBuf,
    /// A git repository (has `.git/`), the default cwd.
    repo: PathBuf,
}

impl Fx {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let (home, exe, repo) = (root.join("home"), root.join("exe"), root.join("repo"));
        for d in [&home, &exe, &repo.join(".git")] {
            std::fs::create_dir_all(d).unwrap();
        }
        Fx {
            _tmp: tmp,
            root,
            home,
            exe,
            repo,
        }
    }

    /// Write `text` at `rel` under the fixture root (parents created); returns the path.
    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn opts(&self) -> LoadOptions {
        LoadOptions {
            cwd: self.repo.clone(),
            home: Some(self.home.clone()),
            exe_dir: Some(self.exe.clone()),
            env: Some(vec![]),
            overrides: vec![],
        }
    }

    fn load(&self) -> Config {
        load(&self.opts()).unwrap()
    }
}

fn env(pairs: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn ov(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn tier(c: &Config, key: &str) -> Tier {
    c.entry(key).unwrap().source.tier
}

#[test]
fn defaults() {
    let fx = Fx::new();
    let c = fx.load();
    assert_eq!(c.get("PROVIDER"), Some("scorpiox"));
    assert_eq!(tier(&c, "PROVIDER"), Tier::Default);
    assert_eq!(c.entry("PROVIDER").unwrap().source.to_string(), "default");
    assert_eq!(c.get("REASONING_EFFORT"), Some(""));
    assert_eq!(c.get_nonempty("REASONING_EFFORT"), None);
    assert_eq!(c.get("TOKEN_HTTP_API_KEY"), None);
    assert_eq!(c.get("NOT_A_KEY"), None);
    assert!(c.flag("TOOLS") && !c.flag("CODEX_SSH_ACCEPT_NEW") && !c.flag("UNSET_FLAG"));
    assert_eq!(c.u64("MAX_TURNS"), Some(50));
    assert_eq!(c.u64("RETRY_BASE_DELAY_MS"), Some(200));
    let creds = fx.home.join(".codex/auth.json");
    assert_eq!(
        c.get("CODEX_CREDENTIALS_FILE"),
        Some(creds.to_str().unwrap())
    );
    assert_eq!(tier(&c, "CODEX_CREDENTIALS_FILE"), Tier::Default);
    assert_eq!(
        c.path("CODEX_SSH_KNOWN_HOSTS"),
        Some(fx.home.join(".ssh/known_hosts"))
    );
    assert_eq!(c.project_root(), fx.repo);
    assert_eq!(c.git_root(), Some(fx.repo.as_path()));
    assert_eq!(c.cwd(), fx.repo);
    assert_eq!(c.home(), Some(fx.home.as_path()));
    assert!(c.files_read().is_empty() && c.warnings().is_empty() && !c.project_trusted());
    // entries: sorted, defaults included
    let keys: Vec<&str> = c.entries().iter().map(|(k, _)| *k).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
    assert!(keys.contains(&"MODEL"));
}

#[test]
fn codex_home_decides_credentials_default() {
    let fx = Fx::new();
    let mut o = fx.opts();
    o.env = env(&[("CODEX_HOME", "/ch")]);
    let c = load(&o).unwrap();
    assert_eq!(c.get("CODEX_CREDENTIALS_FILE"), Some("/ch/auth.json"));
    assert_eq!(tier(&c, "CODEX_CREDENTIALS_FILE"), Tier::Default);
    o.env = env(&[("CODEX_HOME", "")]);
    let c = load(&o).unwrap();
    assert_eq!(
        c.path("CODEX_CREDENTIALS_FILE"),
        Some(fx.home.join(".codex/auth.json"))
    );
}

#[test]
fn every_tier_overrides_the_one_below() {
    let fx = Fx::new();
    let all = |from: &str, keys: &str| -> String {
        keys.chars().map(|k| format!("K{k}={from}\n")).collect()
    };
    let g = fx.write("exe/scorpiox-env.txt", &all("global", "ABCDEFGH"));
    let uc = fx.write("home/.claude/scorpiox-env.txt", &all("claude", "BCDEFGH"));
    let us = fx.write(
        "home/.scorpiox/scorpiox-env.txt",
        &all("scorpiox", "CDEFGH"),
    );
    let p1 = fx.write(
        "repo/scorpiox-env.txt",
        &(all("project", "DEFGH") + "ACTIVE_PROFILE=dev\n"),
    );
    let p2 = fx.write("repo/.scorpiox/scorpiox-env.txt", &all("project2", "EFGH"));
    let pf = fx.write(
        "home/.scorpiox/scorpiox-env/dev.txt",
        &all("profile", "FGH"),
    );
    let mut o = fx.opts();
    o.env = env(&[("KG", "env"), ("KH", "env")]);
    o.overrides = ov(&[("KH", "first"), ("KH", "cli")]);
    let c = load(&o).unwrap();
    let want = [
        ("KA", "global", Tier::Global),
        ("KB", "claude", Tier::User),
        ("KC", "scorpiox", Tier::User),
        ("KD", "project", Tier::Project),
        ("KE", "project2", Tier::Project),
        ("KF", "profile", Tier::Profile),
        ("KG", "env", Tier::Env),
        ("KH", "cli", Tier::Override),
    ];
    for (k, v, t) in want {
        assert_eq!((c.get(k), tier(&c, k)), (Some(v), t), "{k}");
    }
    assert_eq!(c.files_read(), &[g, uc, us.clone(), p1, p2, pf]);
    let src = &c.entry("KC").unwrap().source;
    assert_eq!(
        src,
        &Source {
            tier: Tier::User,
            path: Some(us.clone()),
            line: Some(1)
        }
    );
    assert_eq!(src.to_string(), format!("user {}:1", us.display()));
    assert_eq!(c.entry("KG").unwrap().source.to_string(), "environment");
    assert_eq!(c.entry("KH").unwrap().source.to_string(), "command line");
}

#[test]
fn env_only_when_non_empty_and_for_known_or_file_keys() {
    let fx = Fx::new();
    fx.write(
        "home/.scorpiox/scorpiox-env.txt",
        "MODEL=opus\nCUSTOM=file\n",
    );
    let mut o = fx.opts();
    o.env = env(&[
        ("MODEL", ""),
        ("CUSTOM", "env"),
        ("STRAY", "x"),
        ("GEMINI_API_KEY", "g"),
    ]);
    let c = load(&o).unwrap();
    assert_eq!(c.get("MODEL"), Some("opus"));
    assert_eq!(c.get("CUSTOM"), Some("env"));
    assert_eq!(c.get("STRAY"), None);
    assert_eq!(
        (c.get("GEMINI_API_KEY"), tier(&c, "GEMINI_API_KEY")),
        (Some("g"), Tier::Env)
    );
}

#[test]
fn empty_values_shadow_and_overrides_may_be_empty() {
    let fx = Fx::new();
    fx.write("exe/scorpiox-env.txt", "MODEL=opus\nCODEX_SSH_USER=me\n");
    fx.write("home/.scorpiox/scorpiox-env.txt", "CODEX_SSH_USER=\n");
    let mut o = fx.opts();
    o.overrides = ov(&[("MODEL", "")]);
    let c = load(&o).unwrap();
    assert_eq!(c.get("CODEX_SSH_USER"), Some(""));
    assert_eq!(c.get_nonempty("CODEX_SSH_USER"), None);
    assert_eq!(c.path("CODEX_SSH_USER"), None);
    assert_eq!(
        (c.get("MODEL"), tier(&c, "MODEL")),
        (Some(""), Tier::Override)
    );
}

#[test]
fn unknown_keys_are_kept_unvalidated() {
    let fx = Fx::new();
    fx.write(
        "home/.scorpiox/scorpiox-env.txt",
        "C_ONLY_KEY=anything at all\n",
    );
    assert_eq!(fx.load().get("C_ONLY_KEY"), Some("anything at all"));
}

#[test]
fn project_root_detection() {
    let fx = Fx::new();
    let roots = |cwd: &Path| detect_roots(cwd, Some(&fx.home));
    // no project file: the git root
    let deep = fx.root.join("repo/a/b");
    std::fs::create_dir_all(&deep).unwrap();
    assert_eq!(roots(&deep), (fx.repo.clone(), Some(fx.repo.clone())));
    // nearest ancestor holding scorpiox-env.txt
    fx.write("repo/a/scorpiox-env.txt", "");
    assert_eq!(roots(&deep).0, fx.root.join("repo/a"));
    // sx's own sessions folder does not make a project
    std::fs::create_dir_all(deep.join(".scorpiox/sessions")).unwrap();
    assert_eq!(roots(&deep).0, fx.root.join("repo/a"));
    // what sx reads from a project does, nearer still: .scorpiox/scorpiox-env.txt, project
    // profiles, functions
    for marker in [
        "scorpiox-env/",
        ".scorpiox/scorpiox-env.txt",
        ".scorpiox/scorpiox-env/",
        ".scorpiox/functions/",
    ] {
        let p = deep.join(marker);
        if marker.ends_with('/') {
            std::fs::create_dir_all(&p).unwrap();
        } else {
            std::fs::write(&p, "").unwrap();
        }
        assert_eq!(roots(&deep).0, deep, "{marker}");
        if p.is_dir() {
            std::fs::remove_dir(&p).unwrap();
        } else {
            std::fs::remove_file(&p).unwrap();
        }
        assert_eq!(roots(&deep).0, fx.root.join("repo/a"), "{marker} removed");
    }
    // never above the git root
    fx.write("scorpiox-env.txt", "");
    let other = fx.root.join("repo/c");
    std::fs::create_dir_all(&other).unwrap();
    assert_eq!(roots(&other).0, fx.repo);
    // a .git file (worktree) counts as a git root
    let wt = fx.root.join("wt/x");
    std::fs::create_dir_all(&wt).unwrap();
    fx.write("wt/.git", "gitdir: /elsewhere\n");
    assert_eq!(roots(&wt), (fx.root.join("wt"), Some(fx.root.join("wt"))));
}

#[test]
fn project_root_without_git_and_home_exclusion() {
    let fx = Fx::new();
    // home holds .scorpiox/ (the user tier) but is not a project for directories below it
    std::fs::create_dir_all(fx.home.join(".scorpiox/sessions")).unwrap();
    fx.write("home/.scorpiox/scorpiox-env.txt", "");
    let work = fx.home.join("work/x");
    std::fs::create_dir_all(&work).unwrap();
    let (root, git) = detect_roots(&work, Some(&fx.home));
    assert_eq!(git, None);
    // nothing marks a project: the cwd itself
    assert_eq!(root, work);
    fx.write("home/work/scorpiox-env.txt", "");
    assert_eq!(detect_roots(&work, Some(&fx.home)).0, fx.home.join("work"));
    // a dotfiles repository at home is not found by climbing either
    std::fs::remove_file(fx.home.join("work/scorpiox-env.txt")).unwrap();
    std::fs::create_dir_all(fx.home.join(".git")).unwrap();
    assert_eq!(detect_roots(&work, Some(&fx.home)), (work.clone(), None));
    // ... but home is the root when it is the working directory
    assert_eq!(
        detect_roots(&fx.home, Some(&fx.home)),
        (fx.home.clone(), Some(fx.home.clone()))
    );
}

#[test]
fn the_search_never_climbs_to_home_above_it_or_to_the_filesystem_root() {
    let fx = Fx::new();
    // The fixture root is the parent of home: markers and a .git there are never found from
    // below home.
    fx.write("scorpiox-env.txt", "");
    std::fs::create_dir_all(fx.root.join(".scorpiox/functions")).unwrap();
    std::fs::create_dir_all(fx.root.join(".git")).unwrap();
    let sub = fx.home.join("work/sub");
    std::fs::create_dir_all(&sub).unwrap();
    assert_eq!(detect_roots(&sub, Some(&fx.home)), (sub.clone(), None));
    // a stray sessions folder in between makes no project either
    std::fs::create_dir_all(fx.home.join("work/.scorpiox/sessions")).unwrap();
    assert_eq!(detect_roots(&sub, Some(&fx.home)).0, sub);
    // Outside home the walk stops below `/` (and below the folders above home, which the
    // fixture root is): a folder beside home finds its own parent, not the fixture root.
    let beside = fx.root.join("srv/app/deep");
    std::fs::create_dir_all(&beside).unwrap();
    fx.write("srv/app/scorpiox-env.txt", "");
    assert_eq!(
        detect_roots(&beside, Some(&fx.home)).0,
        fx.root.join("srv/app")
    );
    std::fs::remove_file(fx.root.join("srv/app/scorpiox-env.txt")).unwrap();
    assert_eq!(
        detect_roots(&beside, Some(&fx.home)),
        (beside.clone(), None)
    );
    // without a home, the only ceiling is `/`: the fixture root's markers are found
    assert_eq!(detect_roots(&beside, None).0, fx.root);
    // `/` itself is never found by climbing
    assert_eq!(
        search_path(Path::new("/a/b"), None).collect::<Vec<_>>(),
        [Path::new("/a/b"), Path::new("/a")]
    );
    assert_eq!(
        search_path(Path::new("/"), None).collect::<Vec<_>>(),
        [Path::new("/")]
    );
}

#[test]
fn home_as_project_root_does_not_reread_user_file_as_project() {
    let fx = Fx::new();
    std::fs::create_dir_all(fx.home.join(".git")).unwrap();
    let us = fx.write(
        "home/.scorpiox/scorpiox-env.txt",
        "CODEX_BASE_URL=https://mine\n",
    );
    fx.write("home/.scorpiox/scorpiox-env/p.txt", "ROUTER_URL=http://r\n");
    let mut o = fx.opts();
    o.cwd = fx.home.clone();
    o.overrides = ov(&[("ACTIVE_PROFILE", "p")]);
    let c = load(&o).unwrap();
    assert_eq!(c.project_root(), fx.home);
    assert_eq!(c.get("CODEX_BASE_URL"), Some("https://mine"));
    assert_eq!(tier(&c, "CODEX_BASE_URL"), Tier::User);
    assert_eq!(c.get("ROUTER_URL"), Some("http://r"));
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    assert_eq!(c.files_read()[0], us);
}

#[test]
fn profile_search_order_and_first_wins_whole() {
    let fx = Fx::new();
    let places = [
        "repo/scorpiox-env/dev.txt",
        "repo/.scorpiox/scorpiox-env/dev.txt",
        "home/.scorpiox/scorpiox-env/dev.txt",
        "home/.claude/scorpiox-env/dev.txt",
        "exe/scorpiox-env/dev.txt",
    ];
    for (i, p) in places.iter().enumerate() {
        // only the last place sets EXTRA: it must not leak into earlier winners
        let extra = if i == 4 { "EXTRA=1\n" } else { "" };
        fx.write(p, &format!("MODEL=m{i}\n{extra}"));
    }
    let mut o = fx.opts();
    o.overrides = ov(&[("ACTIVE_PROFILE", "dev")]);
    for (i, p) in places.iter().enumerate() {
        let c = load(&o).unwrap();
        assert_eq!(c.get("MODEL"), Some(format!("m{i}").as_str()), "{p}");
        assert_eq!(
            c.entry("MODEL").unwrap().source.path.as_deref(),
            Some(fx.root.join(p).as_path())
        );
        assert_eq!(c.get("EXTRA"), (i == 4).then_some("1"));
        assert_eq!(c.files_read().len(), 1);
        std::fs::remove_file(fx.root.join(p)).unwrap();
    }
    match load(&o).unwrap_err() {
        e @ ConfigError::ProfileNotFound { .. } => {
            let ConfigError::ProfileNotFound { name, searched } = &e else {
                unreachable!()
            };
            assert_eq!(name, "dev");
            let want: Vec<PathBuf> = places.iter().map(|p| fx.root.join(p)).collect();
            assert_eq!(searched, &want);
            let s = e.to_string();
            assert!(s.starts_with("profile 'dev' not found (looked in "), "{s}");
            assert!(
                s.ends_with("create scorpiox-env/dev.txt or unset ACTIVE_PROFILE"),
                "{s}"
            );
        }
        e => panic!("unexpected {e}"),
    }
}

#[test]
fn active_profile_from_each_tier_and_empty_means_none() {
    let fx = Fx::new();
    fx.write("home/.scorpiox/scorpiox-env/a.txt", "MODEL=from-a\n");
    fx.write(
        "home/.scorpiox/scorpiox-env/b.txt",
        "MODEL=from-b\nACTIVE_PROFILE=a\n",
    );
    fx.write("home/.scorpiox/scorpiox-env.txt", "ACTIVE_PROFILE=a\n");
    assert_eq!(fx.load().get("MODEL"), Some("from-a"));
    let mut o = fx.opts();
    o.env = env(&[("ACTIVE_PROFILE", "b")]);
    let c = load(&o).unwrap();
    assert_eq!(c.get("MODEL"), Some("from-b"));
    // a profile cannot select another profile
    assert_eq!(c.get("ACTIVE_PROFILE"), Some("b"));
    assert_eq!(c.warnings().len(), 1);
    assert!(
        c.warnings()[0]
            .to_string()
            .starts_with("ignoring ACTIVE_PROFILE at ")
    );
    o.overrides = ov(&[("ACTIVE_PROFILE", "a")]);
    assert_eq!(load(&o).unwrap().get("MODEL"), Some("from-a"));
    o.overrides = ov(&[("ACTIVE_PROFILE", "")]);
    assert_eq!(load(&o).unwrap().get("MODEL"), Some("sonnet"));
}

#[test]
fn bad_profile_name() {
    let fx = Fx::new();
    for bad in ["../x", ".hidden", "a/b", "sp ace"] {
        let mut o = fx.opts();
        o.overrides = ov(&[("ACTIVE_PROFILE", bad)]);
        let e = load(&o).unwrap_err();
        assert!(matches!(e, ConfigError::InvalidValue { ref key, .. } if key == "ACTIVE_PROFILE"));
        assert!(
            e.to_string().contains("(from command line) is not valid"),
            "{e}"
        );
    }
}

#[test]
fn untrusted_project_cannot_set_sensitive_keys() {
    let fx = Fx::new();
    let p = fx.write(
        "repo/scorpiox-env.txt",
        "MODEL=opus\nAPPROVAL=auto\nCODEX_BASE_URL=https://evil\nSANDBOX_OFF=1\nTRUSTED_PROJECTS=/\n",
    );
    let c = fx.load();
    assert!(!c.project_trusted());
    assert_eq!(c.get("MODEL"), Some("opus"));
    assert_eq!(c.get("APPROVAL"), Some("ask"));
    assert_eq!(
        c.get("CODEX_BASE_URL"),
        Some("https://chatgpt.com/backend-api/codex")
    );
    assert_eq!(c.get("SANDBOX_OFF"), None);
    let w: Vec<String> = c.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(w.len(), 4, "{w:?}");
    assert_eq!(
        w[1],
        format!(
            "ignoring CODEX_BASE_URL at {}:3: untrusted project may not set it; \
             run 'scorpiox-config --trust {}' to trust this project",
            p.display(),
            fx.repo.display()
        )
    );
    assert_eq!(c.warnings()[1].key, "CODEX_BASE_URL");
    assert_eq!(c.warnings()[1].source.line, Some(3));
    // the environment and the command line are always trusted
    let mut o = fx.opts();
    o.env = env(&[("CODEX_BASE_URL", "https://env")]);
    o.overrides = ov(&[("APPROVAL", "auto")]);
    let c = load(&o).unwrap();
    assert_eq!(c.get("CODEX_BASE_URL"), Some("https://env"));
    assert_eq!(c.get("APPROVAL"), Some("auto"));
}

#[test]
fn trusted_project_may_set_sensitive_keys_but_never_trusted_projects() {
    let fx = Fx::new();
    fx.write(
        "repo/scorpiox-env.txt",
        "CODEX_BASE_URL=https://proxy\nTRUSTED_PROJECTS=/x\n",
    );
    fx.write(
        "home/.scorpiox/scorpiox-env.txt",
        &format!("TRUSTED_PROJECTS=/a:{}\n", fx.repo.display()),
    );
    let c = fx.load();
    assert!(c.project_trusted());
    assert_eq!(
        (c.get("CODEX_BASE_URL"), tier(&c, "CODEX_BASE_URL")),
        (Some("https://proxy"), Tier::Project)
    );
    assert_eq!(
        c.get("TRUSTED_PROJECTS"),
        Some(format!("/a:{}", fx.repo.display()).as_str())
    );
    assert_eq!(c.warnings().len(), 1);
    assert_eq!(c.warnings()[0].key, "TRUSTED_PROJECTS");
}

#[test]
fn a_project_cannot_trust_itself() {
    let fx = Fx::new();
    let line = format!(
        "TRUSTED_PROJECTS={}\nCODEX_BASE_URL=https://evil\n",
        fx.repo.display()
    );
    fx.write("repo/scorpiox-env.txt", &line);
    fx.write("repo/.scorpiox/scorpiox-env.txt", &line);
    let c = fx.load();
    assert!(!c.project_trusted());
    assert_eq!(c.get("TRUSTED_PROJECTS"), None);
    assert_eq!(
        c.get("CODEX_BASE_URL"),
        Some("https://chatgpt.com/backend-api/codex")
    );
}

#[test]
fn trust_from_env_override_tilde_and_symlinked_entries() {
    let fx = Fx::new();
    fx.write("repo/scorpiox-env.txt", "ROUTER_URL=http://proj\n");
    let mut o = fx.opts();
    o.env = env(&[("TRUSTED_PROJECTS", fx.repo.to_str().unwrap())]);
    assert_eq!(load(&o).unwrap().get("ROUTER_URL"), Some("http://proj"));
    // an override replaces the list
    o.overrides = ov(&[("TRUSTED_PROJECTS", "")]);
    assert_eq!(
        load(&o).unwrap().get("ROUTER_URL"),
        Some("http://127.0.0.1:8790")
    );
    // a symlink to the project in the list matches (entries are compared canonically)
    let link = fx.root.join("link-to-repo");
    std::os::unix::fs::symlink(&fx.repo, &link).unwrap();
    let mut o = fx.opts();
    o.overrides = ov(&[("TRUSTED_PROJECTS", link.to_str().unwrap())]);
    assert_eq!(load(&o).unwrap().get("ROUTER_URL"), Some("http://proj"));
    // and so does the project's own path when sx runs in it through the symlink
    o.cwd = link;
    o.overrides = ov(&[("TRUSTED_PROJECTS", fx.repo.to_str().unwrap())]);
    assert_eq!(load(&o).unwrap().get("ROUTER_URL"), Some("http://proj"));
    // `~` entries match
    let mut o = fx.opts();
    let inside_home = fx.home.join("proj");
    std::fs::create_dir_all(inside_home.join(".git")).unwrap();
    fx.write(
        "home/proj/scorpiox-env.txt",
        "ROUTER_URL=http://home-proj\n",
    );
    o.cwd = inside_home;
    o.overrides = ov(&[("TRUSTED_PROJECTS", "/nope:~/proj")]);
    assert_eq!(
        load(&o).unwrap().get("ROUTER_URL"),
        Some("http://home-proj")
    );
}

#[test]
fn project_profile_is_guarded_user_profile_is_not() {
    let fx = Fx::new();
    fx.write(
        "repo/scorpiox-env/p.txt",
        "CLAUDE_CODE_BIN=/tmp/evil\nMODEL=haiku\n",
    );
    fx.write(
        "home/.scorpiox/scorpiox-env/q.txt",
        "CLAUDE_CODE_BIN=/opt/claude\n",
    );
    let mut o = fx.opts();
    o.overrides = ov(&[("ACTIVE_PROFILE", "p")]);
    let c = load(&o).unwrap();
    assert_eq!(c.get("CLAUDE_CODE_BIN"), Some("claude"));
    assert_eq!(c.get("MODEL"), Some("haiku"));
    assert_eq!(c.warnings().len(), 1);
    o.overrides = ov(&[("ACTIVE_PROFILE", "q")]);
    let c = load(&o).unwrap();
    assert_eq!(
        (c.get("CLAUDE_CODE_BIN"), tier(&c, "CLAUDE_CODE_BIN")),
        (Some("/opt/claude"), Tier::Profile)
    );
    assert!(c.warnings().is_empty());
}

#[test]
fn validation_of_winning_value_only() {
    let fx = Fx::new();
    let p = fx.write(
        "repo/scorpiox-env.txt",
        "MODEL=x\nPROVIDER=foo\nTHINKING=yes\n",
    );
    let e = load(&fx.opts()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "PROVIDER=foo (from {}:2) is not valid; allowed: codex, claude_code, anthropic, \
             gemini, openai, scorpiox",
            p.display()
        )
    );
    assert!(matches!(
        e,
        ConfigError::InvalidValue {
            source: Source {
                tier: Tier::Project,
                ..
            },
            ..
        }
    ));
    let mut o = fx.opts();
    o.overrides = ov(&[("PROVIDER", "codex")]);
    let c = load(&o).unwrap();
    assert_eq!(c.get("PROVIDER"), Some("codex"));
    assert_eq!(c.get("THINKING"), Some("1"));
    assert!(c.flag("THINKING"));
    o.overrides = ov(&[("PROVIDER", "codex"), ("THINKING_BUDGET", "lots")]);
    let e = load(&o).unwrap_err().to_string();
    assert!(
        e.starts_with("THINKING_BUDGET=lots (from command line) is not valid; allowed: a whole"),
        "{e}"
    );
    o.overrides = ov(&[("PROVIDER", "codex"), ("TOOLS", "")]);
    assert!(load(&o).is_err(), "an empty bool is not valid");
    o.overrides = ov(&[
        ("PROVIDER", "codex"),
        ("REASONING_EFFORT", "high"),
        ("CODEX_BASE_URL", "x"),
    ]);
    assert!(
        load(&o)
            .unwrap_err()
            .to_string()
            .contains("http:// or https://")
    );
}

#[test]
fn malformed_file_is_an_error_naming_it() {
    let fx = Fx::new();
    let p = fx.write(
        "home/.scorpiox/scorpiox-env.txt",
        "# ok\nMODEL=x\nnot a pair\n",
    );
    let e = load(&fx.opts()).unwrap_err();
    assert!(matches!(e, ConfigError::Malformed { line: 3, .. }));
    assert!(
        e.to_string()
            .starts_with(&format!("{}:3: malformed line", p.display())),
        "{e}"
    );
}

#[test]
fn missing_cwd_and_relative_cwd() {
    let fx = Fx::new();
    let mut o = fx.opts();
    o.cwd = fx.root.join("nope");
    let e = load(&o).unwrap_err();
    assert!(matches!(e, ConfigError::Io { .. }), "{e}");
    assert!(e.to_string().contains("nope"));
    assert_eq!(
        find_roots(&fx.root.join("repo/.git"), Some(&fx.home))
            .unwrap()
            .0,
        fx.repo
    );
}

#[test]
fn no_home_means_no_user_tier() {
    let fx = Fx::new();
    fx.write("home/.scorpiox/scorpiox-env.txt", "MODEL=x\n");
    let mut o = fx.opts();
    o.home = None;
    let c = load(&o).unwrap();
    assert_eq!((c.home(), c.get("MODEL")), (None, Some("sonnet")));
    o.env = env(&[("HOME", fx.home.to_str().unwrap())]);
    assert_eq!(load(&o).unwrap().get("MODEL"), Some("x"));
}

#[test]
fn overrides_and_check_value() {
    assert_eq!(parse_override("A=b=c").unwrap(), ("A".into(), "b=c".into()));
    assert_eq!(parse_override("A=").unwrap(), ("A".into(), String::new()));
    assert_eq!(parse_override(" A =x").unwrap(), ("A".into(), "x".into()));
    let e = parse_override("A").unwrap_err();
    assert_eq!(
        e.to_string(),
        "bad override \"A\": expected KEY=VALUE; use -e KEY=VALUE"
    );
    assert!(matches!(
        parse_override("1A=x"),
        Err(ConfigError::BadOverride { .. })
    ));
    assert!(check_value("PROVIDER", "codex").is_ok() && check_value("UNKNOWN", "x").is_ok());
    let e = check_value("APPROVAL", "yolo").unwrap_err().to_string();
    assert_eq!(
        e,
        "APPROVAL=yolo (from command line) is not valid; allowed: ask, auto, read-only"
    );
}
