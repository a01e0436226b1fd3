//! First run: no back-end to talk to and a person at the terminal. A short guided set-up —
//! pick a provider, sign in or paste a key — that writes a profile in the user tier
//! (`~/.scorpiox/scorpiox-env/<name>.txt`, made active in `~/.scorpiox/scorpiox-env.txt`) and
//! lets the start go on, instead of an error.

use std::path::{Path, PathBuf};

use crossterm::event::{Event, EventStream, KeyCode, KeyEventKind, KeyModifiers};
use futures_util::StreamExt;
use sx_config::Config;

use crate::editor::{Edit, Editor};
use crate::screen::Screen;
use crate::term::Terminal;
use crate::text::{Color, Line, Style};

struct Choice {
    label: &'static str,
    detail: &'static str,
    provider: &'static str,
    /// The key to ask for (`None`: sign in with a program instead).
    key: Option<&'static str>,
}

const CHOICES: &[Choice] = &[
    Choice {
        label: "ChatGPT subscription (Codex)",
        detail: "sign in with scorpiox-codex-login (a code to enter in the browser)",
        provider: "codex",
        key: None,
    },
    Choice {
        label: "Anthropic API key",
        detail: "paste a key from console.anthropic.com",
        provider: "anthropic",
        key: Some("ANTHROPIC_API_KEY"),
    },
    Choice {
        label: "Gemini API key",
        detail: "paste a key from aistudio.google.com",
        provider: "gemini",
        key: Some("GEMINI_API_KEY"),
    },
    Choice {
        label: "Claude Code subscription",
        detail: "uses the official claude CLI; sign in there by running `claude`",
        provider: "claude_code",
        key: None,
    },
    Choice {
        label: "A local or OpenAI-compatible server",
        detail: "llama.cpp, vLLM, Ollama, OpenRouter, OpenAI: give its URL",
        provider: "openai",
        key: Some("OPENAI_BASE_URL"),
    },
];

/// What the set-up did.
pub enum Outcome {
    /// A profile was written: start again.
    Configured,
    /// The user left.
    Left,
}

/// Run the set-up; `why` is the start's error (shown dimmed).
pub async fn run(term: &mut Terminal, config: &Config, why: &str) -> Result<Outcome, String> {
    let Some(home) = config.home().map(Path::to_path_buf) else {
        return Err("there is no home folder to keep the configuration in".into());
    };
    let (w, h) = term.size();
    let mut screen = Screen::new(crate::text::Palette::from_env(), w, h);
    let mut keys = EventStream::new();
    let mut selected = 0usize;
    let intro = [
        Line::styled("Welcome to sx.", Style::PLAIN.bold()),
        Line::styled(
            "No model provider is set up yet. Pick one (↑/↓ or 1–5, Enter; Esc leaves):",
            Style::PLAIN,
        ),
        Line::styled(format!("({why})"), Style::PLAIN.dim()),
    ];
    let intro: Vec<Line> = intro
        .iter()
        .flat_map(|l| l.wrap(w, &Line::plain(" ")))
        .collect();
    term.write(&screen.frame(&intro, &menu(selected, w), None));
    let choice = loop {
        let Some(Ok(ev)) = keys.next().await else {
            return Ok(Outcome::Left);
        };
        let Event::Key(k) = ev else { continue };
        if k.kind == KeyEventKind::Release {
            continue;
        }
        match k.code {
            KeyCode::Up => selected = selected.saturating_sub(1),
            KeyCode::Down => selected = (selected + 1).min(CHOICES.len() - 1),
            KeyCode::Char(c @ '1'..='5') => {
                selected = c as usize - '1' as usize;
                break &CHOICES[selected];
            }
            KeyCode::Enter => break &CHOICES[selected],
            KeyCode::Esc => return Ok(Outcome::Left),
            KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                return Ok(Outcome::Left);
            }
            _ => {}
        }
        term.write(&screen.frame(&[], &menu(selected, w), None));
    };
    let chosen = Line::styled("✓ ", Style::fg(Color::Green)).with(choice.label, Style::PLAIN);
    let value = match choice.key {
        Some(key) => {
            let secret = key != "OPENAI_BASE_URL";
            match ask(term, &mut screen, &mut keys, &chosen, key, secret).await? {
                Some(v) => Some((key, v)),
                None => return Ok(Outcome::Left),
            }
        }
        None => {
            term.write(&screen.frame(&[chosen], &[], None));
            None
        }
    };
    let profile = choice.provider.to_string();
    write_profile(&home, &profile, choice.provider, value)?;
    let mut done = vec![Line::styled(
        format!(
            "Saved as profile '{profile}' (~/.scorpiox/scorpiox-env/{profile}.txt) and made active."
        ),
        Style::PLAIN.dim(),
    )];
    if choice.key.is_none() {
        let how = if choice.provider == "codex" {
            "Now sign in: run `scorpiox-codex-login` in a shell, then start sx again."
        } else {
            "Now sign in: run `claude` once in a shell, then start sx again."
        };
        done.push(Line::styled(how, Style::fg(Color::Yellow)));
        term.write(&screen.finish(&done));
        return Ok(Outcome::Left);
    }
    term.write(&screen.finish(&done));
    Ok(Outcome::Configured)
}

fn menu(selected: usize, w: usize) -> Vec<Line> {
    CHOICES
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mark = if i == selected { "› " } else { "  " };
            let style = if i == selected {
                Style::fg(Color::Cyan).bold()
            } else {
                Style::PLAIN
            };
            Line::styled(format!("{mark}{}. {}", i + 1, c.label), style)
                .with(format!("  {}", c.detail), Style::PLAIN.dim())
                .truncated(w)
        })
        .collect()
}

/// Ask for one value; a secret shows as dots. `None` when the user leaves.
async fn ask(
    term: &mut Terminal,
    screen: &mut Screen,
    keys: &mut EventStream,
    chosen: &Line,
    key: &str,
    secret: bool,
) -> Result<Option<String>, String> {
    let mut editor = Editor::new(Vec::new());
    let prompt = Line::styled(format!("{key}: "), Style::fg(Color::Cyan));
    let mut committed = vec![chosen.clone()];
    loop {
        let w = screen.width();
        let shown = if secret {
            "•".repeat(editor.text().chars().count())
        } else {
            editor.text().to_string()
        };
        let mut view = Editor::new(Vec::new());
        view.set(&shown);
        let (mut rows, cursor) = view.layout(w, &prompt, Style::PLAIN);
        rows.push(Line::styled(
            "Enter saves · Esc leaves · the value goes to your user configuration only",
            Style::PLAIN.dim(),
        ));
        term.write(&screen.frame(&committed, &rows, Some(cursor)));
        committed.clear();
        let Some(Ok(ev)) = keys.next().await else {
            return Ok(None);
        };
        match ev {
            Event::Key(k) if k.kind != KeyEventKind::Release => match k.code {
                KeyCode::Esc => return Ok(None),
                KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                    return Ok(None);
                }
                _ => {
                    if editor.key(k) == Edit::Submit {
                        let v = editor.text().trim().to_string();
                        if !v.is_empty() {
                            return Ok(Some(v));
                        }
                    }
                }
            },
            Event::Paste(p) => editor.insert(p.trim()),
            Event::Resize(w, h) => screen.resize(w as usize, h as usize),
            _ => {}
        }
    }
}

fn profile_file(home: &Path, name: &str) -> PathBuf {
    home.join(".scorpiox")
        .join("scorpiox-env")
        .join(format!("{name}.txt"))
}

fn write_profile(
    home: &Path,
    name: &str,
    provider: &str,
    value: Option<(&str, String)>,
) -> Result<(), String> {
    let file = profile_file(home, name);
    sx_config::set_in_file(&file, "PROVIDER", provider).map_err(|e| e.to_string())?;
    if let Some((key, v)) = value {
        sx_config::set_in_file(&file, key, &v).map_err(|e| e.to_string())?;
    }
    sx_config::set_in_file(&sx_config::user_file(home), "ACTIVE_PROFILE", name)
        .map_err(|e| e.to_string())
}
