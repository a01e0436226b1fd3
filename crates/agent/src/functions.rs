//! User-defined functions (docs/spec.md §5.3): `--functions FILE` and `.scorpiox/functions/*.json`, each
//! a JSON array of `{"name", "description", "parameters", "command"?}`. The model calls them
//! like tools. With `command`, sx runs it with the arguments as JSON on stdin and returns its
//! stdout; without, the run stops and the call goes back to the calling program.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use sxnet::model::ToolSpec;

use crate::tools::command::{Event, Running, Spec};
use crate::tools::{ToolContext, ToolOutput};

/// Where a function was defined: the command line is the user; a project file is the
/// repository, whose commands need approval like any other command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag(PathBuf),
    Project(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub name: String,
    pub description: String,
    pub parameters: Value,
    pub command: Option<String>,
    pub origin: Origin,
}

impl Function {
    pub fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: self.name.clone(),
            description: self.description.clone(),
            parameters: self.parameters.clone(),
        }
    }
}

/// Load the functions of `--functions FILE` (if any) and of `<project_root>/.scorpiox/functions/`
/// (sorted by file name). `reserved` are names already taken (the built-in tools). Errors name
/// the file and the entry; they are configuration errors (exit 2).
pub fn load(
    flag_file: Option<&Path>,
    project_root: &Path,
    reserved: &[&str],
) -> Result<Vec<Function>, String> {
    let mut out: Vec<Function> = Vec::new();
    if let Some(f) = flag_file {
        load_file(f, Origin::Flag(f.to_path_buf()), &mut out, reserved)?;
    }
    let dir = project_root.join(".scorpiox").join("functions");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for f in files {
            load_file(&f, Origin::Project(f.clone()), &mut out, reserved)?;
        }
    }
    Ok(out)
}

fn load_file(
    path: &Path,
    origin: Origin,
    out: &mut Vec<Function>,
    reserved: &[&str],
) -> Result<(), String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read functions file {shown}: {e}; check the path"))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "functions file {shown} is not valid JSON (line {}, column {}: {e}); fix the file",
            e.line(),
            e.column()
        )
    })?;
    let Value::Array(items) = v else {
        return Err(format!(
            "functions file {shown} must hold a JSON array of functions; wrap the object(s) in [ ]"
        ));
    };
    for (i, item) in items.into_iter().enumerate() {
        let f = parse_function(item, origin.clone()).map_err(|why| {
            format!(
                "functions file {shown}, entry {}: {why}; fix the entry",
                i + 1
            )
        })?;
        if reserved.contains(&f.name.as_str()) {
            return Err(format!(
                "functions file {shown}, entry {}: '{}' is the name of a built-in tool; rename the function",
                i + 1,
                f.name
            ));
        }
        if let Some(prev) = out.iter().find(|p| p.name == f.name) {
            let prev_file = match &prev.origin {
                Origin::Flag(p) | Origin::Project(p) => p.display().to_string(),
            };
            return Err(format!(
                "functions file {shown}, entry {}: '{}' is already defined in {prev_file}; function names must be unique",
                i + 1,
                f.name
            ));
        }
        out.push(f);
    }
    Ok(())
}

fn parse_function(item: Value, origin: Origin) -> Result<Function, String> {
    let Value::Object(mut obj) = item else {
        return Err("not a JSON object".into());
    };
    for key in obj.keys() {
        if !["name", "description", "parameters", "command"].contains(&key.as_str()) {
            return Err(format!(
                "unknown field '{key}' (allowed: name, description, parameters, command)"
            ));
        }
    }
    let name = match obj.remove("name") {
        Some(Value::String(s)) if valid_name(&s) => s,
        Some(Value::String(s)) => {
            return Err(format!(
                "name '{s}' is not valid (letters, digits, _ and -, starting with a letter or _, at most 64)"
            ));
        }
        _ => return Err("missing \"name\" (a string)".into()),
    };
    let description = match obj.remove("description") {
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        _ => {
            return Err(format!(
                "'{name}' needs a non-empty \"description\" (the model reads it)"
            ));
        }
    };
    let parameters = match obj.remove("parameters") {
        Some(p @ Value::Object(_)) => p,
        Some(_) => {
            return Err(format!(
                "'{name}': \"parameters\" must be a JSON Schema object"
            ));
        }
        None => {
            return Err(format!(
                "'{name}' needs \"parameters\" (a JSON Schema of type object)"
            ));
        }
    };
    check_schema(&parameters, "parameters").map_err(|why| format!("'{name}': {why}"))?;
    if parameters.get("type").and_then(Value::as_str) != Some("object") {
        return Err(format!(
            "'{name}': \"parameters\" must have \"type\": \"object\""
        ));
    }
    let command = match obj.remove("command") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
        Some(_) => return Err(format!("'{name}': \"command\" must be a non-empty string")),
    };
    Ok(Function {
        name,
        description,
        parameters,
        command,
        origin,
    })
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && s.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A structural check of the JSON Schema subset every provider accepts: known `type`s,
/// `properties` an object of schemas, `required` an array of strings naming properties,
/// `items` a schema, `enum` an array.
fn check_schema(s: &Value, at: &str) -> Result<(), String> {
    let Value::Object(o) = s else {
        return Err(format!("{at} is not a schema object"));
    };
    if let Some(t) = o.get("type") {
        let ok = |t: &str| {
            [
                "object", "string", "number", "integer", "boolean", "array", "null",
            ]
            .contains(&t)
        };
        let valid = match t {
            Value::String(t) => ok(t),
            Value::Array(ts) => ts.iter().all(|t| t.as_str().is_some_and(ok)),
            _ => false,
        };
        if !valid {
            return Err(format!("{at}.type {t} is not a JSON Schema type"));
        }
    }
    if let Some(p) = o.get("properties") {
        let Value::Object(props) = p else {
            return Err(format!("{at}.properties must be an object"));
        };
        for (k, v) in props {
            check_schema(v, &format!("{at}.properties.{k}"))?;
        }
        if let Some(r) = o.get("required") {
            let Value::Array(req) = r else {
                return Err(format!("{at}.required must be an array"));
            };
            for name in req {
                match name.as_str() {
                    Some(n) if props.contains_key(n) => {}
                    Some(n) => {
                        return Err(format!(
                            "{at}.required names '{n}', which is not in properties"
                        ));
                    }
                    None => return Err(format!("{at}.required must hold strings")),
                }
            }
        }
    }
    if let Some(items) = o.get("items") {
        check_schema(items, &format!("{at}.items"))?;
    }
    if let Some(e) = o.get("enum")
        && !e.is_array()
    {
        return Err(format!("{at}.enum must be an array"));
    }
    Ok(())
}

/// Run a function's command: `sh -c COMMAND` in the working directory with the arguments as
/// JSON on stdin and `SX_FUNCTION=<name>` in its environment; stdout is the result. A non-zero
/// exit, a timeout or a cancel is an error result that includes stderr.
pub async fn run_command(f: &Function, args: &Value, ctx: &ToolContext) -> ToolOutput {
    run_command_until(f, args, ctx, tokio::time::sleep(COMMAND_TIMEOUT)).await
}

/// [`run_command`] with the [`COMMAND_TIMEOUT`] expiring when `timed_out` completes (tests end
/// it on an event instead of waiting two minutes).
async fn run_command_until(
    f: &Function,
    args: &Value,
    ctx: &ToolContext,
    timed_out: impl std::future::Future<Output = ()>,
) -> ToolOutput {
    let Some(command) = &f.command else {
        return ToolOutput::error(format!("function '{}' has no command", f.name));
    };
    let spec = Spec {
        program: "sh",
        fallback: None,
        args: vec!["-c".into(), command.into()],
        dir: &ctx.cwd,
        env: &[("SX_FUNCTION", &f.name)],
        input: Some(serde_json::to_vec(args).expect("serializes")),
    };
    let mut run = match Running::start(spec, ctx).await {
        Ok(r) => r,
        Err(e) => {
            return ToolOutput::error(format!(
                "function '{}': cannot start its command: {e}",
                f.name
            ));
        }
    };
    let (mut o, mut e, mut status) = (Vec::new(), Vec::new(), None);
    let io = async {
        loop {
            match run.next().await {
                Ok(Some(Event::Stdout(b))) => o.extend_from_slice(&b),
                Ok(Some(Event::Stderr(b))) => e.extend_from_slice(&b),
                Ok(Some(Event::Exited(s))) => status = Some(s),
                Ok(Some(Event::Done(left))) => return Ok(left),
                Ok(None) => return Err("lost track of the command".to_string()),
                Err(why) => return Err(why),
            }
        }
    };
    tokio::pin!(timed_out);
    let stopped = tokio::select! {
        _ = ctx.cancel.cancelled() => "was cancelled by the user".to_string(),
        () = &mut timed_out => format!("timed out after {}s", COMMAND_TIMEOUT.as_secs()),
        done = io => {
            let left = match done {
                Ok(left) => left,
                Err(why) => return ToolOutput::error(format!("function '{}': {why}", f.name)),
            };
            if !left.is_empty() {
                run.keep();
            }
            let stdout = cap(&String::from_utf8_lossy(&o));
            return match status {
                Some(st) if st.success() => ToolOutput::ok(stdout),
                Some(st) => ToolOutput::error(format!(
                    "function '{}' failed ({st})\nstdout:\n{stdout}\nstderr:\n{}",
                    f.name,
                    cap(&String::from_utf8_lossy(&e))
                )),
                None => ToolOutput::error(format!("function '{}': its command's exit status was lost", f.name)),
            };
        }
    };
    let killed = crate::tools::command::killed(run.stop().await);
    ToolOutput::error(format!("function '{}' {stopped}; {killed}", f.name))
}

fn cap(s: &str) -> String {
    if s.len() <= OUTPUT_CAP {
        return s.to_string();
    }
    let mut end = OUTPUT_CAP;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[output truncated: {} of {} bytes shown (cap {OUTPUT_CAP})]",
        &s[..end],
        end,
        s.len()
    )
}

/// How long a function's command may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// Output kept from a function's command.
pub const OUTPUT_CAP: usize = 30_000;

#[cfg(test)]
#[path = "functions_tests.rs"]
mod run_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(dir: &Path, name: &str, v: &Value) -> PathBuf {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, v.to_string()).unwrap();
        p
    }

    #[test]
    fn loads_flag_and_project_files() {
        let d = tempfile::tempdir().unwrap();
        let flag = write(
            d.path(),
            "fns.json",
            &json!([{"name":"deploy","description":"Deploy it","parameters":{"type":"object","properties":{"env":{"type":"string","enum":["prod","dev"]}},"required":["env"]},"command":"echo deployed"}]),
        );
        write(
            d.path(),
            ".scorpiox/functions/b.json",
            &json!([{"name":"ask_human","description":"Ask","parameters":{"type":"object","properties":{}}}]),
        );
        let fs = load(Some(&flag), d.path(), &["bash"]).unwrap();
        assert_eq!(fs.len(), 2);
        assert_eq!(fs[0].command.as_deref(), Some("echo deployed"));
        assert_eq!(fs[0].origin, Origin::Flag(flag));
        assert!(fs[1].command.is_none());
        assert!(matches!(fs[1].origin, Origin::Project(_)));
    }

    #[test]
    fn errors_name_the_file_and_entry() {
        let d = tempfile::tempdir().unwrap();
        let cases = [
            (json!({"name":"x"}), "must hold a JSON array"),
            (
                json!([{"name":"1bad","description":"d","parameters":{"type":"object"}}]),
                "entry 1: name '1bad' is not valid",
            ),
            (
                json!([{"name":"f","parameters":{"type":"object"}}]),
                "needs a non-empty \"description\"",
            ),
            (
                json!([{"name":"f","description":"d"}]),
                "needs \"parameters\"",
            ),
            (
                json!([{"name":"f","description":"d","parameters":{"type":"string"}}]),
                "must have \"type\": \"object\"",
            ),
            (
                json!([{"name":"f","description":"d","parameters":{"type":"object","properties":{"a":{"type":"strin"}}}}]),
                "parameters.properties.a.type",
            ),
            (
                json!([{"name":"f","description":"d","parameters":{"type":"object","properties":{},"required":["zz"]}}]),
                "required names 'zz'",
            ),
            (
                json!([{"name":"f","description":"d","parameters":{"type":"object"},"comand":"x"}]),
                "unknown field 'comand'",
            ),
            (
                json!([{"name":"bash","description":"d","parameters":{"type":"object"}}]),
                "built-in tool",
            ),
            (
                json!([{"name":"f","description":"d","parameters":{"type":"object"}},{"name":"f","description":"d","parameters":{"type":"object"}}]),
                "entry 2: 'f' is already defined",
            ),
        ];
        for (v, want) in cases {
            let p = write(d.path(), "f.json", &v);
            let e = load(Some(&p), d.path(), &["bash"]).unwrap_err();
            assert!(e.contains("f.json") && e.contains(want), "{e}");
        }
        std::fs::write(d.path().join("f.json"), "[{").unwrap();
        let e = load(Some(&d.path().join("f.json")), d.path(), &[]).unwrap_err();
        assert!(e.contains("not valid JSON (line 1"), "{e}");
        let e = load(Some(&d.path().join("missing.json")), d.path(), &[]).unwrap_err();
        assert!(e.contains("cannot read functions file"), "{e}");
    }
}
