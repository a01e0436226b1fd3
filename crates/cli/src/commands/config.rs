//! `scorpiox-config`: read and edit `scorpiox-env.txt` (docs/spec.md §1, §2). Headless `--get/--set/
//! --unset/--verbose/--dump/--json/--trust`, or the interactive editor on a terminal
//! (`sx_tui::config_editor`, docs/configuration.md).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::{Failure, clap_failure, main_with};
use clap::{ArgGroup, Parser, ValueEnum};
use serde_json::{Map, Value, json};
use sx_config::{
    Config, Entry, LoadOptions, check_value, display_value, find_roots, key_spec, load,
    parse_override, project_file, set_in_file, trust_project, trust_sensitive, unset_in_file,
    user_file, valid_key,
};

const BIN: &str = "scorpiox-config";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Level {
    User,
    Project,
}

/// Read and edit scorpiox-env.txt configuration (run without arguments on a terminal for the
/// interactive editor).
#[derive(Debug, Parser)]
#[command(name = "scorpiox-config", version)]
#[command(group(ArgGroup::new("action").args(["get", "set", "unset", "verbose", "dump", "trust", "completions"])))]
struct Args {
    /// Print the resolved value of KEY (exit 1 when it has none)
    #[arg(long, value_name = "KEY")]
    get: Option<String>,
    /// Write KEY=VALUE to the user file (or the project file with --level project)
    #[arg(long, num_args = 2, value_names = ["KEY", "VALUE"], allow_hyphen_values = true)]
    set: Option<Vec<String>>,
    /// Remove KEY from the user file (or the project file with --level project)
    #[arg(long, value_name = "KEY")]
    unset: Option<String>,
    /// Which file --set/--unset edit (default: user)
    #[arg(long, value_enum, value_name = "user|project")]
    level: Option<Level>,
    /// Every key with a value, the tier it came from and its file:line (secrets masked)
    #[arg(long)]
    verbose: bool,
    /// Resolved KEY=VALUE lines (secrets masked unless --show-secrets)
    #[arg(long)]
    dump: bool,
    /// JSON output for --get, --verbose, --dump (alone: --dump)
    #[arg(long, conflicts_with_all = ["set", "unset", "trust"])]
    json: bool,
    /// Show secret values in --dump/--verbose
    #[arg(long)]
    show_secrets: bool,
    /// Trust DIR's project (default: the working directory's), recorded in the user file
    #[arg(long, value_name = "DIR", num_args = 0..=1)]
    trust: Option<Option<PathBuf>>,
    /// Override a config key for this run; repeatable
    #[arg(short = 'e', value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Working directory (decides the project)
    #[arg(long, value_name = "DIR")]
    cwd: Option<PathBuf>,
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell) and exit
    #[arg(long, value_enum, value_name = "SHELL")]
    completions: Option<crate::completions::Shell>,
}

pub fn main() -> ExitCode {
    main_with(run)
}

fn run() -> Result<(), Failure> {
    let args = match Args::try_parse_from(crate::args()) {
        Ok(a) => a,
        Err(e) => return clap_failure(e, BIN),
    };
    if let Some(shell) = args.completions {
        return crate::completions::print(<Args as clap::CommandFactory>::command(), shell);
    }
    let cwd = match &args.cwd {
        Some(d) => d.clone(),
        None => std::env::current_dir()?,
    };
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    if args.level.is_some() && args.set.is_none() && args.unset.is_none() {
        return Err(Failure::usage(format!(
            "--level applies only to --set and --unset; see '{BIN} --help'"
        )));
    }
    let level = args.level.unwrap_or(Level::User);
    let mut opts = LoadOptions::new(cwd.clone());
    for arg in &args.overrides {
        opts.overrides.push(parse_override(arg)?);
    }

    if let Some(key) = &args.get {
        return get(&opts, key, args.json);
    }
    if let Some(kv) = &args.set {
        return set(&cwd, home.as_deref(), level, &kv[0], &kv[1]);
    }
    if let Some(key) = &args.unset {
        let path = target_file(&cwd, home.as_deref(), level)?;
        return if unset_in_file(&path, key)? {
            emit(&format!("unset {key} in {}\n", path.display()))
        } else {
            emit(&format!("{key} was not set in {}\n", path.display()))
        };
    }
    if let Some(dir) = &args.trust {
        let home = home.ok_or_else(no_home)?;
        let (root, _) = find_roots(dir.as_deref().unwrap_or(&cwd), Some(&home))?;
        trust_project(&home, &root)?;
        let file = user_file(&home);
        return emit(&format!(
            "trusted {} (recorded in {})\n",
            root.display(),
            file.display()
        ));
    }
    if args.verbose || args.dump || args.json {
        let cfg = load_config(&opts)?;
        let show = args.show_secrets;
        let text = match (args.json, args.verbose) {
            (true, _) => format!("{}\n", Value::Object(json_entries(&cfg, show))),
            (false, true) => verbose_text(&cfg, show),
            (false, false) => {
                let mut t = String::new();
                for (k, e) in cfg.entries() {
                    t.push_str(&format!("{k}={}\n", shown(k, &e.value, show)));
                }
                t
            }
        };
        return emit(&text);
    }
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        let cfg = load_config(&opts)?;
        return sx_tui::config_editor::run(opts, cfg).map_err(|e| {
            Failure::runtime(format!("the terminal failed: {e}; use --get/--set instead"))
        });
    }
    Err(Failure::usage(format!(
        "no action given and not on a terminal; use --get, --set, --unset, --verbose, --dump or \
         --trust (see '{BIN} --help')"
    )))
}

/// Write to stdout; a closed pipe (`| head`) is not an error.
fn emit(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::runtime(format!(
            "cannot write to standard output: {e}; check where it goes"
        ))),
        _ => Ok(()),
    }
}

fn no_home() -> Failure {
    Failure::usage("the home directory is unknown (HOME is not set); set HOME")
}

/// Load and print the warnings (ignored project lines), one line each on stderr.
fn load_config(opts: &LoadOptions) -> Result<Config, Failure> {
    let cfg = load(opts)?;
    for w in cfg.warnings() {
        eprintln!("warning: {w}");
    }
    Ok(cfg)
}

fn shown(key: &str, value: &str, show_secrets: bool) -> String {
    if show_secrets {
        value.to_string()
    } else {
        display_value(key, value)
    }
}

fn entry_json(e: &Entry, value: String) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("value".into(), Value::String(value));
    m.insert("tier".into(), Value::String(e.source.tier.to_string()));
    let path = e.source.path.as_ref().map(|p| p.display().to_string());
    m.insert("path".into(), json!(path));
    m.insert("line".into(), json!(e.source.line));
    m
}

fn json_entries(cfg: &Config, show_secrets: bool) -> Map<String, Value> {
    cfg.entries()
        .into_iter()
        .map(|(k, e)| {
            (
                k.to_string(),
                Value::Object(entry_json(e, shown(k, &e.value, show_secrets))),
            )
        })
        .collect()
}

fn get(opts: &LoadOptions, key: &str, as_json: bool) -> Result<(), Failure> {
    let cfg = load_config(opts)?;
    let Some(e) = cfg.entry(key) else {
        return Err(Failure::runtime(format!(
            "{key} has no value; set it with '{BIN} --set {key} VALUE'"
        )));
    };
    if as_json {
        let mut m = Map::new();
        m.insert("key".into(), Value::String(key.to_string()));
        m.extend(entry_json(e, e.value.clone()));
        emit(&format!("{}\n", Value::Object(m)))
    } else {
        emit(&format!("{}\n", e.value))
    }
}

fn verbose_text(cfg: &Config, show_secrets: bool) -> String {
    let rows: Vec<(String, String, String)> = cfg
        .entries()
        .into_iter()
        .map(|(k, e)| {
            let loc = match &e.source.path {
                Some(_) => e.source.location(),
                None => String::new(),
            };
            (
                format!("{k}={}", shown(k, &e.value, show_secrets)),
                e.source.tier.to_string(),
                loc,
            )
        })
        .collect();
    let w1 = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let w2 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (kv, tier, loc) in rows {
        let line = format!("{kv:<w1$}  {tier:<w2$}  {loc}");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A value `--set` refuses, said as what was asked ("cannot set KEY to …"), not as a value
/// read from somewhere; a secret's value is not repeated.
fn set_refused(key: &str, value: &str, e: sx_config::ConfigError) -> Failure {
    match e {
        sx_config::ConfigError::InvalidValue { allowed, .. } => {
            let shown = if sx_config::is_secret(key) {
                "that value".to_string()
            } else {
                format!("{value:?}")
            };
            Failure::usage(format!(
                "cannot set {key} to {shown}: it is not a valid value; allowed: {allowed} (nothing was written)"
            ))
        }
        other => other.into(),
    }
}

/// The file `--set`/`--unset` edit.
fn target_file(cwd: &Path, home: Option<&Path>, level: Level) -> Result<PathBuf, Failure> {
    match level {
        Level::User => Ok(user_file(home.ok_or_else(no_home)?)),
        Level::Project => Ok(project_file(&find_roots(cwd, home)?.0)),
    }
}

fn set(
    cwd: &Path,
    home: Option<&Path>,
    level: Level,
    key: &str,
    value: &str,
) -> Result<(), Failure> {
    if !valid_key(key) {
        return Err(sx_config::ConfigError::BadKey {
            key: key.to_string(),
        }
        .into());
    }
    check_value(key, value).map_err(|e| set_refused(key, value, e))?;
    if level == Level::Project && key == "TRUSTED_PROJECTS" {
        return Err(Failure::usage(format!(
            "a project file may never set TRUSTED_PROJECTS; use '{BIN} --trust DIR' instead"
        )));
    }
    if key_spec(key).is_none() {
        eprintln!("warning: {key} is not a key sx knows; writing it anyway");
    }
    let path = target_file(cwd, home, level)?;
    set_in_file(&path, key, value)?;
    emit(&format!("set {key} in {}\n", path.display()))?;
    if level == Level::Project && trust_sensitive(key) {
        let mut opts = LoadOptions::new(cwd.to_path_buf());
        opts.home = home.map(Path::to_path_buf);
        if let Ok(cfg) = load(&opts)
            && !cfg.project_trusted()
        {
            eprintln!(
                "warning: {key} in {} is ignored until you trust this project; run '{BIN} --trust {}'",
                path.display(),
                cfg.project_root().display()
            );
        }
    }
    Ok(())
}
