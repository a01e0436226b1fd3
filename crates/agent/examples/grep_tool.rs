//! Run the agent's `grep` tool from the command line and print exactly what the model would
//! read (used by `bench/grep` to compare with ripgrep).
//!
//!     cargo run --release -p sx-agent --example grep_tool -- [-i] [-g GLOB] PATTERN [PATH]
//!
//! PATH is resolved against the current directory, like the tool's `path` argument. Exits 1
//! when the tool reports an error.

use std::process::ExitCode;

use serde_json::{Map, Value};
use sx_agent::tools::{ToolContext, builtin};
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let mut input = Map::new();
    let mut positional = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-i" => {
                input.insert("case_insensitive".into(), Value::Bool(true));
            }
            "-g" => match args.next() {
                Some(glob) => {
                    input.insert("glob".into(), Value::String(glob));
                }
                None => return usage(),
            },
            _ => positional.push(arg),
        }
    }
    match positional.as_slice() {
        [pattern] => {
            input.insert("pattern".into(), Value::String(pattern.clone()));
        }
        [pattern, path] => {
            input.insert("pattern".into(), Value::String(pattern.clone()));
            input.insert("path".into(), Value::String(path.clone()));
        }
        _ => return usage(),
    }
    let Ok(cwd) = std::env::current_dir() else {
        eprintln!("error: cannot read the current directory");
        return ExitCode::FAILURE;
    };
    let ctx = ToolContext {
        project_root: cwd.clone(),
        extra_roots: Vec::new(),
        cwd,
        cancel: CancellationToken::new(),
    };
    let Some(tool) = builtin().into_iter().find(|t| t.name() == "grep") else {
        eprintln!("error: no grep tool");
        return ExitCode::FAILURE;
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let out = runtime.block_on(tool.run(Value::Object(input), &ctx));
    println!("{}", out.text);
    if out.is_error {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: grep_tool [-i] [-g GLOB] PATTERN [PATH]");
    ExitCode::from(2)
}
