//! The configuration editor's state and what each key does; drawing is in `draw.rs`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sx_config::{
    Config, LoadOptions, display_value, load, set_in_file, trust_project, unset_in_file,
};

use super::model::{self, EditKind, Refusal, Row, Target, may_save, short_path, toggled};
use crate::editor::{Edit, Editor};
use crate::text::{Color, Line, Style};

pub(crate) enum Mode {
    Browse,
    /// Typing a value in place.
    Text(Editor),
    /// Picking one of an enum's values.
    Choice {
        values: &'static [&'static str],
        at: usize,
    },
    /// The target tier may not hold the selected key: what to do instead.
    Refused(Refusal),
}

/// The line under the list: what the last action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Note {
    Info(String),
    Done(String),
    Warn(String),
    Error(String),
}

pub(crate) struct App {
    opts: LoadOptions,
    pub cfg: Config,
    pub rows: Vec<Row>,
    pub sel: usize,
    /// The first list line shown (the list scrolls to keep the selection in view).
    pub top: usize,
    /// Every known key, not only those of the selected provider.
    pub all: bool,
    pub target: Target,
    pub mode: Mode,
    pub note: Option<Note>,
    /// Lines for the scrollback above the editor (each change made).
    pub committed: Vec<Line>,
    pub changes: usize,
    pub quit: bool,
}

impl App {
    pub fn new(opts: LoadOptions, cfg: Config) -> App {
        let rows = model::rows(&cfg, false);
        App {
            opts,
            cfg,
            rows,
            sel: 0,
            top: 0,
            all: false,
            target: Target::Project,
            mode: Mode::Browse,
            note: None,
            committed: Vec::new(),
            changes: 0,
            quit: false,
        }
    }

    pub fn selected(&self) -> Option<&Row> {
        self.rows.get(self.sel)
    }

    /// `path` with the home directory written `~`.
    pub fn short(&self, path: &std::path::Path) -> String {
        short_path(path, self.cfg.home())
    }

    /// `path` for the details line: inside the project (named in the title) relative to its
    /// root, else as [`App::short`].
    pub fn near(&self, path: &std::path::Path) -> String {
        match path.strip_prefix(self.cfg.project_root()) {
            Ok(rest) if self.cfg.home() != Some(self.cfg.project_root()) => {
                rest.display().to_string()
            }
            _ => self.short(path),
        }
    }

    pub fn key(&mut self, k: KeyEvent) {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        match std::mem::replace(&mut self.mode, Mode::Browse) {
            Mode::Browse => self.browse(k, ctrl),
            Mode::Text(editor) => self.text(editor, k, ctrl),
            Mode::Choice { values, at } => self.choice(values, at, k, ctrl),
            Mode::Refused(r) => self.refused(r, k),
        }
    }

    pub fn paste(&mut self, text: &str) {
        if let Mode::Text(editor) = &mut self.mode {
            editor.insert(text.trim_end_matches(['\r', '\n']));
        }
    }

    fn browse(&mut self, k: KeyEvent, ctrl: bool) {
        self.note = None;
        let last = self.rows.len().saturating_sub(1);
        match k.code {
            KeyCode::Char('c') if ctrl => self.quit = true,
            KeyCode::Char('q') | KeyCode::Esc => self.quit = true,
            KeyCode::Up | KeyCode::Char('k') => self.sel = self.sel.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => self.sel = (self.sel + 1).min(last),
            KeyCode::PageUp => self.sel = self.sel.saturating_sub(10),
            KeyCode::PageDown => self.sel = (self.sel + 10).min(last),
            KeyCode::Home => self.sel = 0,
            KeyCode::End => self.sel = last,
            KeyCode::Enter | KeyCode::Char(' ') => self.begin_edit(),
            KeyCode::Tab | KeyCode::BackTab => self.switch_target(),
            KeyCode::Char('d') | KeyCode::Delete | KeyCode::Backspace => self.remove(),
            KeyCode::Char('a') => {
                self.all = !self.all;
                self.rebuild();
                self.note = Some(Note::Info(if self.all {
                    "showing every key (a: only those of this provider)".into()
                } else {
                    "showing the keys of this provider (a: every key)".into()
                }));
            }
            _ => {}
        }
    }

    fn begin_edit(&mut self) {
        let Some(row) = self.selected().cloned() else {
            return;
        };
        if let Err(r) = may_save(&row.key, self.target, &self.cfg) {
            self.mode = Mode::Refused(r);
            return;
        }
        let current = row.value.as_ref().map(|(v, _)| v.as_str());
        match row.edit() {
            EditKind::Toggle => {
                self.save(&row.key, toggled(current));
            }
            EditKind::Choice(values) => {
                let at = current
                    .and_then(|c| values.iter().position(|v| *v == c))
                    .unwrap_or(0);
                self.mode = Mode::Choice { values, at };
            }
            EditKind::Text => {
                let mut editor = Editor::new(Vec::new());
                // A secret is never shown, not even to be edited: it is typed anew.
                if !row.secret() {
                    editor.set(current.unwrap_or(""));
                }
                self.mode = Mode::Text(editor);
            }
        }
    }

    fn text(&mut self, mut editor: Editor, k: KeyEvent, ctrl: bool) {
        let plain_enter = k.code == KeyCode::Enter && k.modifiers.is_empty();
        match k.code {
            KeyCode::Esc => self.note = Some(Note::Info("unchanged".into())),
            KeyCode::Char('c') if ctrl => self.note = Some(Note::Info("unchanged".into())),
            // Values are one line.
            KeyCode::Enter if !plain_enter => self.mode = Mode::Text(editor),
            KeyCode::Char('j') if ctrl => self.mode = Mode::Text(editor),
            _ => {
                if editor.key(k) != Edit::Submit {
                    self.mode = Mode::Text(editor);
                    return;
                }
                let Some(row) = self.selected().cloned() else {
                    return;
                };
                let value = editor.text().to_string();
                if row.secret() && value.is_empty() {
                    self.note = Some(Note::Info(format!(
                        "{} unchanged (d removes it from the {} file)",
                        row.key,
                        self.target.name()
                    )));
                    return;
                }
                if !self.save(&row.key, &value) {
                    self.mode = Mode::Text(editor);
                }
            }
        }
    }

    fn choice(&mut self, values: &'static [&'static str], at: usize, k: KeyEvent, ctrl: bool) {
        let n = values.len();
        let at = match k.code {
            KeyCode::Esc | KeyCode::Char('q') => {
                self.note = Some(Note::Info("unchanged".into()));
                return;
            }
            KeyCode::Char('c') if ctrl => return,
            KeyCode::Enter => {
                if let Some(key) = self.selected().map(|r| r.key.clone())
                    && !self.save(&key, values[at])
                {
                    self.mode = Mode::Choice { values, at };
                }
                return;
            }
            KeyCode::Left | KeyCode::Up | KeyCode::BackTab | KeyCode::Char('h' | 'k') => {
                (at + n - 1) % n
            }
            KeyCode::Right | KeyCode::Down | KeyCode::Tab | KeyCode::Char(' ' | 'l' | 'j') => {
                (at + 1) % n
            }
            _ => at,
        };
        self.mode = Mode::Choice { values, at };
    }

    fn refused(&mut self, r: Refusal, k: KeyEvent) {
        match (k.code, r) {
            (KeyCode::Char('u'), Refusal::Untrusted | Refusal::NeverInProject) => {
                self.target = Target::User;
                self.begin_edit();
            }
            (KeyCode::Char('t'), Refusal::Untrusted) => {
                let root = self.cfg.project_root().to_path_buf();
                let Some(home) = self.cfg.home().map(std::path::Path::to_path_buf) else {
                    self.note = Some(Note::Error("there is no user file: HOME is not set".into()));
                    return;
                };
                match trust_project(&home, &root) {
                    Ok(()) => {
                        let line = format!(
                            "trusted {} (recorded in {})",
                            root.display(),
                            self.short(&sx_config::user_file(&home))
                        );
                        self.commit(Style::fg(Color::Green), "✓ ", &line);
                        self.changes += 1;
                        self.reload();
                        self.begin_edit();
                    }
                    Err(e) => self.note = Some(Note::Error(e.to_string())),
                }
            }
            (KeyCode::Esc | KeyCode::Char('n' | 'q'), _) => {
                self.note = Some(Note::Info("unchanged".into()));
            }
            _ => self.mode = Mode::Refused(r),
        }
    }

    fn switch_target(&mut self) {
        let next = self.target.other();
        match next.file(&self.cfg) {
            Some(file) => {
                self.target = next;
                self.note = Some(Note::Info(format!(
                    "changes now go to the {} file, {}",
                    next.name(),
                    self.short(&file)
                )));
            }
            None => {
                self.note = Some(Note::Error("there is no user file: HOME is not set".into()));
            }
        }
    }

    /// Validate and write `key=value` to the target file, then reload. `false` when refused
    /// (the note says why; nothing was written).
    fn save(&mut self, key: &str, value: &str) -> bool {
        if let Err(why) = model::validate(key, value) {
            self.note = Some(Note::Error(format!("not saved: {why}")));
            return false;
        }
        if let Err(r) = may_save(key, self.target, &self.cfg) {
            self.mode = Mode::Refused(r);
            return false;
        }
        // The whole configuration must still load with it (e.g. ACTIVE_PROFILE must name a
        // profile that exists).
        let mut probe = self.opts.clone();
        probe.overrides.push((key.to_string(), value.to_string()));
        if let Err(e) = load(&probe) {
            self.note = Some(Note::Error(format!("not saved: {e}")));
            return false;
        }
        let Some(path) = self.target.file(&self.cfg) else {
            self.mode = Mode::Refused(Refusal::NoHome);
            return false;
        };
        if let Err(e) = set_in_file(&path, key, value) {
            self.note = Some(Note::Error(format!("not saved: {e}")));
            return false;
        }
        let shown = match display_value(key, value) {
            v if v.is_empty() => "(empty)".to_string(),
            v => v,
        };
        let done = format!("set {key}={shown} in {}", self.short(&path));
        self.commit(Style::fg(Color::Green), "✓ ", &done);
        self.changes += 1;
        self.note = None;
        self.reload();
        self.shadow_check(key, &path, done);
        true
    }

    fn remove(&mut self) {
        let Some(key) = self.selected().map(|r| r.key.clone()) else {
            return;
        };
        let Some(path) = self.target.file(&self.cfg) else {
            self.note = Some(Note::Error("there is no user file: HOME is not set".into()));
            return;
        };
        match unset_in_file(&path, &key) {
            Ok(true) => {
                let done = format!("removed {key} from {}", self.short(&path));
                self.commit(Style::fg(Color::Green), "✓ ", &done);
                self.changes += 1;
                self.reload();
                self.note.get_or_insert(Note::Done(done));
            }
            Ok(false) => {
                self.note = Some(Note::Info(format!(
                    "{key} is not set in {} (Tab: the {} file)",
                    self.short(&path),
                    self.target.other().name()
                )));
            }
            Err(e) => self.note = Some(Note::Error(e.to_string())),
        }
    }

    /// After a save: say so, or that a higher tier still wins over the file just written.
    fn shadow_check(&mut self, key: &str, path: &std::path::Path, done: String) {
        if self.note.is_some() {
            return;
        }
        let entry = self.cfg.entry(key);
        self.note = Some(match entry {
            Some(e) if e.source.path.as_deref() != Some(path) => {
                let why = format!(
                    "{done}, but the value from {} ({}) still wins",
                    e.source.tier,
                    e.source
                        .path
                        .as_deref()
                        .map_or_else(|| e.source.location(), |p| self.short(p))
                );
                self.commit(Style::fg(Color::Yellow), "! ", &why);
                Note::Warn(why)
            }
            _ if sx_config::is_secret(key) && self.target == Target::Project => {
                Note::Warn(format!(
                    "{done} (a project file can end up in the repository; Tab: your user file)"
                ))
            }
            _ => Note::Done(done),
        });
    }

    fn commit(&mut self, style: Style, mark: &str, text: &str) {
        self.committed
            .push(Line::styled(mark, style).with(text, Style::PLAIN));
    }

    fn reload(&mut self) {
        match load(&self.opts) {
            Ok(cfg) => {
                self.cfg = cfg;
                self.rebuild();
            }
            Err(e) => {
                self.note = Some(Note::Error(format!(
                    "the configuration no longer loads: {e}"
                )));
            }
        }
    }

    /// Rows again (the provider may have changed), keeping the selected key when it is still
    /// listed.
    fn rebuild(&mut self) {
        let key = self.selected().map(|r| r.key.clone());
        self.rows = model::rows(&self.cfg, self.all);
        self.sel = key
            .and_then(|k| self.rows.iter().position(|r| r.key == k))
            .unwrap_or(self.sel)
            .min(self.rows.len().saturating_sub(1));
    }
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
