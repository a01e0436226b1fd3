//! The cascade: tiers, project root detection, profiles, trust, validation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::ConfigError;
use crate::config::{Config, Entry, Source, Tier, Warning, expand_tilde};
use crate::keys::{KEYS, check_kind, key_spec, trust_sensitive, valid_key};
use crate::parse::{Line, read_file};

/// Where to look and what to apply on top. Tests pass explicit `home`, `exe_dir` and `env` so
/// the machine's own files and variables never leak in.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub cwd: PathBuf,
    /// `None` => `$HOME` (from `env` when given); unset or empty => no user tier.
    pub home: Option<PathBuf>,
    /// `None` => the directory of `std::env::current_exe()`.
    pub exe_dir: Option<PathBuf>,
    /// `None` => the process environment.
    pub env: Option<Vec<(String, String)>>,
    /// `-e KEY=VALUE` and command-line flags, applied in order; always trusted; may be empty.
    pub overrides: Vec<(String, String)>,
}

impl LoadOptions {
    pub fn new(cwd: PathBuf) -> Self {
        LoadOptions {
            cwd,
            ..Default::default()
        }
    }
}

/// Parse `KEY=VALUE` as given to `-e`.
pub fn parse_override(arg: &str) -> Result<(String, String), ConfigError> {
    let bad = |reason: &str| ConfigError::BadOverride {
        arg: arg.to_string(),
        reason: reason.into(),
    };
    let (key, value) = arg
        .split_once('=')
        .ok_or_else(|| bad("expected KEY=VALUE"))?;
    let key = key.trim();
    if !valid_key(key) {
        return Err(bad(
            "the key must be letters, digits and _, not starting with a digit",
        ));
    }
    Ok((key.to_string(), value.to_string()))
}

/// Validate a value for `key` as load would (unknown keys accept anything). The error names the
/// allowed values, with the command line as its source.
pub fn check_value(key: &str, value: &str) -> Result<(), ConfigError> {
    match key_spec(key).map(|s| check_kind(s.kind, value)) {
        Some(Err(allowed)) => Err(ConfigError::InvalidValue {
            key: key.to_string(),
            value: value.to_string(),
            allowed,
            source: Source::tier(Tier::Override),
        }),
        _ => Ok(()),
    }
}

/// The project root and git root for `dir` (made absolute and canonical), as load finds them.
pub fn find_roots(
    dir: &Path,
    home: Option<&Path>,
) -> Result<(PathBuf, Option<PathBuf>), ConfigError> {
    let dir = canonical_dir(dir)?;
    let home = home.map(|h| h.canonicalize().unwrap_or_else(|_| h.to_path_buf()));
    Ok(detect_roots(&dir, home.as_deref()))
}

fn canonical_dir(dir: &Path) -> Result<PathBuf, ConfigError> {
    let abs = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        let here = std::env::current_dir().map_err(|source| ConfigError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        here.join(dir)
    };
    abs.canonicalize()
        .map_err(|source| ConfigError::Io { path: abs, source })
}

/// The folders the root search looks at: `cwd` itself, then its ancestors while they are
/// strictly below home (for a `cwd` inside home) and strictly below `/`. Home, every folder
/// above it and `/` are never reached by climbing, so a stray file there cannot take over
/// unrelated folders (docs/configuration.md "Project root").
fn search_path<'a>(cwd: &'a Path, home: Option<&Path>) -> impl Iterator<Item = &'a Path> {
    let ceiling = move |d: &Path| d.parent().is_none() || home.is_some_and(|h| h.starts_with(d));
    cwd.ancestors()
        .enumerate()
        .take_while(move |(i, d)| *i == 0 || !ceiling(d))
        .map(|(_, d)| d)
}

/// What makes a folder a project: something sx reads from a project. `.scorpiox/sessions/`
/// (which sx itself writes) is not one.
fn has_project_marker(d: &Path) -> bool {
    d.join("scorpiox-env.txt").is_file()
        || d.join("scorpiox-env").is_dir()
        || d.join(".scorpiox/scorpiox-env.txt").is_file()
        || d.join(".scorpiox/scorpiox-env").is_dir()
        || d.join(".scorpiox/functions").is_dir()
}

/// Git root: the nearest searched folder holding `.git`. Project root: the nearest searched
/// folder, never above the git root, holding a project marker; else the git root; else `cwd`.
fn detect_roots(cwd: &Path, home: Option<&Path>) -> (PathBuf, Option<PathBuf>) {
    let git_root = search_path(cwd, home)
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf);
    for d in search_path(cwd, home) {
        if has_project_marker(d) {
            return (d.to_path_buf(), git_root);
        }
        if git_root.as_deref() == Some(d) {
            break;
        }
    }
    (
        git_root.clone().unwrap_or_else(|| cwd.to_path_buf()),
        git_root,
    )
}

enum EnvSrc<'a> {
    Process,
    Given(&'a [(String, String)]),
}

impl EnvSrc<'_> {
    /// A non-empty variable.
    fn get(&self, key: &str) -> Option<String> {
        let v = match self {
            EnvSrc::Process => std::env::var(key).ok()?,
            EnvSrc::Given(vars) => vars.iter().rev().find(|(k, _)| k == key)?.1.clone(),
        };
        (!v.is_empty()).then_some(v)
    }
}

/// Project files may set trust-sensitive keys only when trusted, and `TRUSTED_PROJECTS` never.
struct Guard<'a> {
    trusted: bool,
    root: &'a Path,
}

#[derive(Default)]
struct Builder {
    values: BTreeMap<String, Entry>,
    warnings: Vec<Warning>,
    files_read: Vec<PathBuf>,
}

impl Builder {
    fn set(&mut self, key: &str, value: String, source: Source) {
        // Every tier's value of a secret key, not only the winner: an environment value that
        // `-e` overrides still reaches the commands sx runs (docs/reliability.md, hole 4).
        if crate::is_secret(key) {
            crate::secrets::register(&value);
        }
        match self.values.get_mut(key) {
            Some(e) => *e = Entry { value, source },
            None => {
                self.values.insert(key.to_string(), Entry { value, source });
            }
        }
    }

    fn warn(&mut self, key: &str, source: Source, what: &str) {
        let message = format!("ignoring {key} at {}: {what}", source.location());
        self.warnings.push(Warning {
            key: key.to_string(),
            source,
            message,
        });
    }

    /// Read `path` (if it exists) and apply it at `tier`. Returns whether it existed.
    fn file(
        &mut self,
        path: &Path,
        tier: Tier,
        guard: Option<&Guard>,
    ) -> Result<bool, ConfigError> {
        let Some(lines) = read_file(path)? else {
            return Ok(false);
        };
        self.files_read.push(path.to_path_buf());
        for Line { key, value, line } in lines {
            let source = Source {
                tier,
                path: Some(path.to_path_buf()),
                line: Some(line),
            };
            if let Some(g) = guard {
                if key == "TRUSTED_PROJECTS" {
                    // Deleting the line is the fix either way; trusting is advice only when
                    // the project is not trusted yet.
                    let what = if g.trusted {
                        "a project may never set it; delete the line (this project is already \
                         trusted)"
                            .to_string()
                    } else {
                        format!(
                            "a project may never set it; delete the line, and run \
                             'scorpiox-config --trust {}' if you trust this project",
                            g.root.display()
                        )
                    };
                    self.warn(&key, source, &what);
                    continue;
                }
                if !g.trusted && trust_sensitive(&key) {
                    let what = format!(
                        "untrusted project may not set it; run 'scorpiox-config --trust {}' to \
                         trust this project",
                        g.root.display()
                    );
                    self.warn(&key, source, &what);
                    continue;
                }
            }
            if tier == Tier::Profile && key == "ACTIVE_PROFILE" {
                self.warn(
                    &key,
                    source,
                    "a profile cannot select another profile; remove that line",
                );
                continue;
            }
            self.set(&key, value, source);
        }
        Ok(true)
    }
}

fn valid_profile_name(name: &str) -> bool {
    !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Resolve the configuration.
pub fn load(opts: &LoadOptions) -> Result<Config, ConfigError> {
    let env = match &opts.env {
        Some(vars) => EnvSrc::Given(vars),
        None => EnvSrc::Process,
    };
    let home = match &opts.home {
        Some(h) => Some(h.clone()),
        None => env.get("HOME").map(PathBuf::from),
    };
    let home_canon = home
        .as_ref()
        .map(|h| h.canonicalize().unwrap_or_else(|_| h.clone()));
    let exe_dir = match &opts.exe_dir {
        Some(d) => Some(d.clone()),
        None => std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf)),
    };
    let cwd = canonical_dir(&opts.cwd)?;
    let (project_root, git_root) = detect_roots(&cwd, home_canon.as_deref());

    let mut b = Builder::default();

    // 1. compiled defaults
    for spec in KEYS {
        if let Some(d) = spec.default {
            b.set(spec.name, d.to_string(), Source::tier(Tier::Default));
        }
    }
    let creds = match (env.get("CODEX_HOME"), &home) {
        (Some(codex_home), _) => Path::new(&codex_home).join("auth.json"),
        (None, Some(h)) => h.join(".codex").join("auth.json"),
        (None, None) => PathBuf::from("~/.codex/auth.json"),
    };
    b.set(
        "CODEX_CREDENTIALS_FILE",
        creds.display().to_string(),
        Source::tier(Tier::Default),
    );

    // 2. global, 3. user
    if let Some(dir) = &exe_dir {
        b.file(&dir.join("scorpiox-env.txt"), Tier::Global, None)?;
    }
    if let Some(h) = &home {
        for dir in [".claude", ".scorpiox"] {
            b.file(&h.join(dir).join("scorpiox-env.txt"), Tier::User, None)?;
        }
    }

    // Trust: TRUSTED_PROJECTS from default/global/user/env/override only.
    let trusted_list = last_override(opts, "TRUSTED_PROJECTS")
        .map(str::to_string)
        .or_else(|| env.get("TRUSTED_PROJECTS"))
        .or_else(|| b.values.get("TRUSTED_PROJECTS").map(|e| e.value.clone()));
    let trusted = trusted_list.is_some_and(|list| {
        list.split(':')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .any(|p| {
                let p = expand_tilde(p, home.as_deref());
                p == project_root || p.canonicalize().is_ok_and(|c| c == project_root)
            })
    });
    let guard = Guard {
        trusted,
        root: &project_root,
    };
    // The global/user places of `rel`, on canonical bases: a project path equal to one of them
    // (project root = home, say) keeps its own tier rather than becoming a project file.
    let exe_canon = exe_dir
        .as_ref()
        .map(|d| d.canonicalize().unwrap_or_else(|_| d.clone()));
    let own = |rel: &str| -> Vec<PathBuf> {
        let mut v = Vec::with_capacity(3);
        v.extend(exe_canon.iter().map(|d| d.join(rel)));
        if let Some(h) = &home_canon {
            v.push(h.join(".claude").join(rel));
            v.push(h.join(".scorpiox").join(rel));
        }
        v
    };

    // 4. project
    let own_files = own("scorpiox-env.txt");
    for path in [
        project_root.join("scorpiox-env.txt"),
        project_root.join(".scorpiox/scorpiox-env.txt"),
    ] {
        if !own_files.contains(&path) {
            b.file(&path, Tier::Project, Some(&guard))?;
        }
    }

    // 5. profile, named by ACTIVE_PROFILE from every other tier
    let active = match last_override(opts, "ACTIVE_PROFILE") {
        Some(v) => Some((v.to_string(), Source::tier(Tier::Override))),
        None => match env.get("ACTIVE_PROFILE") {
            Some(v) => Some((v, Source::tier(Tier::Env))),
            None => b
                .values
                .get("ACTIVE_PROFILE")
                .map(|e| (e.value.clone(), e.source.clone())),
        },
    };
    if let Some((name, source)) = active.filter(|(n, _)| !n.is_empty()) {
        if !valid_profile_name(&name) {
            return Err(ConfigError::InvalidValue {
                key: "ACTIVE_PROFILE".into(),
                value: name,
                allowed: "a name of letters, digits, _, . and - not starting with .".into(),
                source,
            });
        }
        let rel = format!("scorpiox-env/{name}.txt");
        let own_profiles = own(&rel);
        // (path, located in the project)
        let mut places: Vec<(PathBuf, bool)> = Vec::with_capacity(5);
        for path in [
            project_root.join(&rel),
            project_root.join(".scorpiox").join(&rel),
        ] {
            if !own_profiles.contains(&path) {
                places.push((path, true));
            }
        }
        if let Some(h) = &home {
            places.push((h.join(".scorpiox").join(&rel), false));
            places.push((h.join(".claude").join(&rel), false));
        }
        if let Some(dir) = &exe_dir {
            places.push((dir.join(&rel), false));
        }
        let mut found = false;
        for (path, in_project) in &places {
            if b.file(path, Tier::Profile, in_project.then_some(&guard))? {
                found = true;
                break;
            }
        }
        if !found {
            let searched = places.into_iter().map(|(p, _)| p).collect();
            return Err(ConfigError::ProfileNotFound { name, searched });
        }
    }

    // 6. environment: every known key and every key any file set, when non-empty
    let mut names: Vec<String> = KEYS
        .iter()
        .map(|s| s.name)
        .filter(|n| !b.values.contains_key(*n))
        .map(str::to_string)
        .collect();
    names.extend(b.values.keys().cloned());
    for name in names {
        if let Some(v) = env.get(&name) {
            b.set(&name, v, Source::tier(Tier::Env));
        }
    }

    // 7. command line, in order
    for (k, v) in &opts.overrides {
        b.set(k, v.clone(), Source::tier(Tier::Override));
    }

    // Validate the winning values of known keys (bools normalised to 0/1).
    for spec in KEYS {
        if let Some(e) = b.values.get_mut(spec.name) {
            match check_kind(spec.kind, &e.value) {
                Ok(None) => {}
                Ok(Some(normal)) => e.value = normal.to_string(),
                Err(allowed) => {
                    return Err(ConfigError::InvalidValue {
                        key: spec.name.to_string(),
                        value: e.value.clone(),
                        allowed,
                        source: e.source.clone(),
                    });
                }
            }
        }
    }

    let config = Config {
        values: b.values,
        cwd,
        project_root,
        git_root,
        home,
        trusted,
        warnings: b.warnings,
        files_read: b.files_read,
    };
    // Whatever error text later quotes one of these, it is masked (docs/reliability.md).
    crate::secrets::register_config(&config);
    Ok(config)
}

fn last_override<'a>(opts: &'a LoadOptions, key: &str) -> Option<&'a str> {
    opts.overrides
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
