//! The interactive loop: terminal keys, the agent's events, approval questions and a spinner
//! tick, one `select!`; every change ends in a frame (at most one per 16 ms).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures_util::StreamExt;
use sx_agent::channel::{self, OwnedEvent};
use sx_agent::startup::{self, Resume, StartError, StartOptions};
use sx_config::Config;
use sxnet::auth::AuthError;
use sxnet::model::{Block, Effort, Usage};
use sxnet::{ProviderError, ProviderId, RateLimits};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::driver::{self, Answer, Approval, Command, Reply, State, UiAsker};
use crate::editor::{Edit, Editor};
use crate::screen::Screen;
use crate::slash::{self, Slash};
use crate::status;
use crate::term::Terminal;
use crate::text::{Color, Line, Palette, Style};
use crate::view::{self, View};

/// Reload the configuration with extra overrides (`/provider`, `/use`, `/profile`).
pub type Reload = Box<dyn Fn(Vec<(String, String)>) -> Result<Config, String> + Send>;

/// What the binary hands the UI.
pub struct Launch {
    pub config: Config,
    pub reload: Reload,
    pub resume: Option<Resume>,
    pub functions_file: Option<PathBuf>,
    pub yolo: bool,
    pub max_turns: Option<u32>,
    /// `--name`: the session's name.
    pub name: Option<String>,
    /// `--append-system-prompt`, `--add-dir`, `--allowed-tools`, `--disallowed-tools`.
    pub flags: sx_agent::startup::SessionFlags,
}

/// How the UI ended, for the exit code.
#[derive(Debug)]
pub enum Ended {
    /// The user left (exit code 0).
    Left,
    /// The start failed: the exit code and one line.
    Failed(u8, String),
}

const FRAME: Duration = Duration::from_millis(16);
const TICK: Duration = Duration::from_millis(100);
const EXIT_WINDOW: Duration = Duration::from_secs(2);

struct Turn {
    started: Instant,
    cancel: CancellationToken,
}

struct App {
    view: View,
    editor: Editor,
    screen: Screen,
    state: State,
    usage: Usage,
    limits: Option<RateLimits>,
    turn: Option<Turn>,
    queued: Vec<String>,
    approval: Option<Approval>,
    /// A transient line above the input (completion candidates, "Ctrl-C again to exit").
    hint: Option<Line>,
    completions: Vec<String>,
    completion_at: usize,
    exit_armed: Option<Instant>,
    frame: usize,
    config: Config,
    overrides: Vec<(String, String)>,
    history_file: Option<PathBuf>,
    quit: bool,
}

pub async fn run(launch: Launch) -> Ended {
    crate::highlight::warm_up();
    let (approvals_tx, mut approvals) = mpsc::channel::<Approval>(4);
    let always = Arc::new(Mutex::new(Default::default()));
    let mut term = match Terminal::enter() {
        Ok(t) => t,
        Err(e) => return Ended::Failed(1, format!("cannot set up the terminal: {e}")),
    };
    let mut config = launch.config.clone();
    let mut set_up = false;
    let started = loop {
        let asker = UiAsker {
            requests: approvals_tx.clone(),
            always: always.clone(),
        };
        match startup::start(
            &config,
            StartOptions {
                resume: launch.resume.clone(),
                functions_file: launch.functions_file.as_deref(),
                yolo: launch.yolo,
                max_turns: launch.max_turns,
                asker: Some(Box::new(asker)),
                name: launch.name.as_deref(),
                flags: launch.flags.clone(),
                ..Default::default()
            },
        ) {
            Ok(s) => break s,
            // First run: nothing to talk to yet, and a person here to fix that.
            Err(StartError::Provider(ProviderError::Auth(AuthError::NoBackend { detail })))
                if !set_up =>
            {
                set_up = true;
                match crate::setup::run(&mut term, &config, &detail).await {
                    Ok(crate::setup::Outcome::Configured) => match (launch.reload)(Vec::new()) {
                        Ok(c) => config = c,
                        Err(e) => return Ended::Failed(2, e),
                    },
                    Ok(crate::setup::Outcome::Left) => return Ended::Left,
                    Err(e) => return Ended::Failed(1, e),
                }
            }
            Err(e) => return Ended::Failed(e.exit_code(), e.to_string()),
        }
    };
    let (width, height) = term.size();
    let history_file = crate::history::file(&config);
    let history = history_file
        .as_deref()
        .map(crate::history::load)
        .unwrap_or_default();
    let resumed = launch.resume.is_some();
    let mut app = App {
        view: View::new(),
        editor: Editor::new(history),
        screen: Screen::new(Palette::from_env(), width, height),
        state: State::default(),
        usage: Usage::default(),
        limits: None,
        turn: None,
        queued: Vec::new(),
        approval: None,
        hint: None,
        completions: Vec::new(),
        completion_at: 0,
        exit_armed: None,
        frame: 0,
        config: config.clone(),
        overrides: Vec::new(),
        history_file,
        quit: false,
    };
    for w in &started.warnings {
        app.view.notice(&format!("warning: {w}"), width);
    }
    if resumed {
        app.view.notice(
            &format!(
                "resumed session {} ({} messages)",
                started.agent.session_id,
                started.agent.messages().len()
            ),
            width,
        );
    }
    let (events_tx, mut events) = channel::channel();
    let (cmd_tx, cmd_rx) = mpsc::channel::<(Command, CancellationToken)>(8);
    let (reply_tx, mut replies) = mpsc::unbounded_channel::<Reply>();
    let driver = tokio::spawn(driver::drive(
        started.agent,
        config.clone(),
        started.handles,
        cmd_rx,
        events_tx,
        reply_tx,
    ));

    let mut keys = EventStream::new();
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while !app.quit {
        if dirty && last_draw.elapsed() >= FRAME {
            app.draw(&mut term);
            last_draw = Instant::now();
            dirty = false;
        }
        let next_draw = tokio::time::Instant::from_std(last_draw + FRAME);
        tokio::select! {
            ev = keys.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                    app.key(k, &cmd_tx, &launch.reload).await;
                }
                Some(Ok(Event::Paste(text))) => {
                    if app.approval.is_none() {
                        app.editor.insert(&text);
                    }
                }
                Some(Ok(Event::Resize(w, h))) => {
                    app.screen.resize(w as usize, h as usize);
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => app.quit = true,
            },
            batch = events.recv_all() => match batch {
                Some(batch) => {
                    let w = app.screen.width();
                    for ev in batch {
                        app.event(ev, w);
                    }
                }
                None => app.quit = true,
            },
            Some(reply) = replies.recv() => app.reply(reply, &cmd_tx).await,
            Some(req) = approvals.recv() => app.approval = Some(req),
            _ = tick.tick(), if app.turn.is_some() || app.exit_armed.is_some() => {
                app.frame += 1;
                if app.exit_armed.is_some_and(|t| t.elapsed() > EXIT_WINDOW) {
                    app.exit_armed = None;
                    app.hint = None;
                }
            }
            _ = tokio::time::sleep_until(next_draw), if dirty => {}
        }
        dirty = true;
    }
    if let Some(t) = &app.turn {
        t.cancel.cancel();
    }
    drop(cmd_tx);
    let short = sx_agent::session::list::short_id(&app.state.session_id);
    let bye = format!("session {short} — continue it with: sx --resume {short}");
    let mut rows = app.view.take_pending();
    rows.push(Line::styled(bye, Style::PLAIN.dim()));
    let out = app.screen.finish(&rows);
    term.write(&out);
    drop(term);
    driver.abort();
    Ended::Left
}

impl App {
    fn width(&self) -> usize {
        self.screen.width()
    }

    fn draw(&mut self, term: &mut Terminal) {
        let w = self.width();
        let committed = self.view.take_pending();
        let mut live = self.view.live(w, self.frame);
        if let Some(t) = &self.turn {
            let label = if self.approval.is_some() {
                "Waiting for your answer"
            } else if self.view.thinking() {
                "Thinking…"
            } else if self.view.tool_running() {
                "Running…"
            } else {
                "Working…"
            };
            live.push(
                Line::styled(
                    format!("{} ", view::spinner(self.frame)),
                    Style::fg(Color::Cyan),
                )
                .with(label, Style::PLAIN)
                .with(
                    format!(" {} · Esc to cancel", view::elapsed(t.started.elapsed())),
                    Style::PLAIN.dim(),
                )
                .truncated(w),
            );
        }
        for q in &self.queued {
            let first = q.lines().next().unwrap_or("");
            live.push(Line::styled(format!("⏵ queued: {first}"), Style::PLAIN.dim()).truncated(w));
        }
        if let Some(a) = &self.approval {
            live.extend(approval_rows(a, w));
        }
        if let Some(h) = &self.hint {
            live.push(h.truncated(w));
        }
        live.push(Line::styled("─".repeat(w), Style::fg(Color::Gray)));
        let prompt = if self.turn.is_some() {
            Line::styled("… ", Style::fg(Color::Gray))
        } else {
            Line::styled("› ", Style::fg(Color::Cyan).bold())
        };
        let (rows, (cr, cc)) = self.editor.layout(w, &prompt, Style::PLAIN);
        let cursor_row = live.len() + cr;
        live.extend(rows);
        live.push(status::line(
            &self.state,
            &self.usage,
            self.limits.as_ref(),
            w,
        ));
        let cursor = self.approval.is_none().then_some((cursor_row, cc));
        let out = self.screen.frame(&committed, &live, cursor);
        term.write(&out);
    }

    fn event(&mut self, ev: OwnedEvent, w: usize) {
        match &ev {
            OwnedEvent::Usage(u) => self.usage.add(u),
            OwnedEvent::RateLimits(l) => self.limits = Some(l.clone()),
            OwnedEvent::Session {
                id,
                provider,
                model,
                ..
            } => {
                self.state.session_id = id.clone();
                self.state.provider = provider.clone();
                self.state.model = model.clone();
            }
            _ => {}
        }
        self.view.event(ev, w);
    }

    async fn reply(&mut self, reply: Reply, cmd: &mpsc::Sender<(Command, CancellationToken)>) {
        let w = self.width();
        match reply {
            Reply::State(s) => self.state = s,
            Reply::Info(text) if text.is_empty() => {}
            Reply::Info(text) => self.view.notice(&text, w),
            Reply::Failed(text) => self.view.error(&text, w),
            Reply::TurnEnded => {
                self.turn = None;
                self.approval = None;
                if !self.queued.is_empty() {
                    let next = self.queued.remove(0);
                    self.submit(next, cmd).await;
                }
            }
        }
    }

    async fn key(
        &mut self,
        k: KeyEvent,
        cmd: &mpsc::Sender<(Command, CancellationToken)>,
        reload: &Reload,
    ) {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        if !(ctrl && k.code == KeyCode::Char('c')) && self.exit_armed.take().is_some() {
            self.hint = None;
        }
        if let Some(a) = self.approval.take() {
            let answer = match k.code {
                KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => Some(Answer::Yes),
                KeyCode::Char('a') | KeyCode::Char('A') if a.outside.is_none() => {
                    Some(Answer::Always)
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Some(Answer::No),
                KeyCode::Char('c') if ctrl => Some(Answer::No),
                _ => None,
            };
            match answer {
                Some(ans) => {
                    let w = self.width();
                    let verb = match ans {
                        Answer::Yes => "allowed",
                        Answer::Always => "allowed for this session",
                        Answer::No => "declined",
                    };
                    self.view.notice(&format!("{} {verb}", a.tool), w);
                    let _ = a.reply.send(ans);
                }
                None => self.approval = Some(a),
            }
            if !(ctrl && k.code == KeyCode::Char('c')) {
                return;
            }
        }
        match k.code {
            KeyCode::Char('c') if ctrl => {
                if let Some(t) = &self.turn {
                    t.cancel.cancel();
                }
                if self.exit_armed.is_some() {
                    self.quit = true;
                } else {
                    self.editor.set("");
                    self.exit_armed = Some(Instant::now());
                    self.hint = Some(Line::styled(
                        "Press Ctrl-C again to exit",
                        Style::fg(Color::Yellow),
                    ));
                }
                return;
            }
            KeyCode::Char('d') if ctrl && self.editor.is_empty() => {
                self.quit = true;
                return;
            }
            KeyCode::Esc => {
                if let Some(t) = &self.turn {
                    t.cancel.cancel();
                } else {
                    self.hint = None;
                    self.completions.clear();
                }
                return;
            }
            KeyCode::Char('t') if ctrl => {
                self.view.show_thinking = !self.view.show_thinking;
                let state = if self.view.show_thinking {
                    "shown in full"
                } else {
                    "summarised"
                };
                self.hint = Some(Line::styled(
                    format!("thinking: {state} (Ctrl-T)"),
                    Style::PLAIN.dim(),
                ));
                return;
            }
            KeyCode::Char('x') if ctrl => {
                self.external_editor();
                return;
            }
            KeyCode::Tab => {
                self.complete();
                return;
            }
            _ => {}
        }
        self.completions.clear();
        if self.hint.is_some() && self.exit_armed.is_none() {
            self.hint = None;
        }
        if self.editor.key(k) == Edit::Submit {
            let text = self.editor.take();
            if text.trim().is_empty() {
                return;
            }
            if let Some(f) = &self.history_file {
                crate::history::append(f, &text);
            }
            if self.turn.is_some() {
                if slash::parse(&text).is_some() {
                    self.view.notice(
                        "wait for the turn to end (or Esc) before running a command",
                        self.width(),
                    );
                    self.editor.set(&text);
                } else {
                    self.queued.push(text);
                }
                return;
            }
            match slash::parse(&text) {
                Some(s) => self.slash(s, cmd, reload).await,
                None => self.submit(text, cmd).await,
            }
        }
    }

    async fn submit(&mut self, text: String, cmd: &mpsc::Sender<(Command, CancellationToken)>) {
        let w = self.width();
        if let Some(line) = text.strip_prefix('!') {
            self.view.user(&text, w);
            self.shell(line);
            return;
        }
        self.view.user(&text, w);
        let cancel = CancellationToken::new();
        self.turn = Some(Turn {
            started: Instant::now(),
            cancel: cancel.clone(),
        });
        let _ = cmd
            .send((Command::Prompt(vec![Block::text(text)]), cancel))
            .await;
    }

    /// `!cmd`: a shell line, its output into the transcript (not sent to the model).
    fn shell(&mut self, line: &str) {
        let w = self.width();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(line)
            .current_dir(&self.state.cwd)
            .stdin(std::process::Stdio::null())
            .output();
        match out {
            Ok(o) => {
                let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
                text.push_str(&String::from_utf8_lossy(&o.stderr));
                let lines: Vec<&str> = text.lines().collect();
                let shown = lines.len().min(200);
                for l in &lines[..shown] {
                    self.view.commit(
                        Line::styled(format!("  {l}"), Style::PLAIN.dim())
                            .wrap(w, &Line::plain("  ")),
                    );
                }
                if lines.len() > shown {
                    self.view
                        .notice(&format!("… {} more lines", lines.len() - shown), w);
                }
                if !o.status.success() {
                    self.view.error(&format!("exit status {}", o.status), w);
                }
            }
            Err(e) => self.view.error(&format!("cannot run sh: {e}"), w),
        }
    }

    async fn slash(
        &mut self,
        s: Slash,
        cmd: &mpsc::Sender<(Command, CancellationToken)>,
        reload: &Reload,
    ) {
        let w = self.width();
        let send = |c: Command| {
            let cmd = cmd.clone();
            async move {
                let _ = cmd.send((c, CancellationToken::new())).await;
            }
        };
        match s {
            Slash::Help => {
                let mut rows = vec![Line::styled("Commands", Style::PLAIN.bold())];
                for (name, help) in slash::COMMANDS {
                    rows.push(
                        Line::styled(format!("  {name:<18}"), Style::fg(Color::Cyan))
                            .with(*help, Style::PLAIN.dim()),
                    );
                }
                rows.push(Line::styled("Keys", Style::PLAIN.bold()));
                for (k, what) in [
                    ("Enter", "send (while busy: queue)"),
                    ("Alt-Enter, \\ Enter", "new line"),
                    ("Esc", "cancel the running turn"),
                    ("Ctrl-C twice", "exit"),
                    ("Tab", "complete commands and their arguments"),
                    ("Up / Down", "history"),
                    ("Ctrl-X", "edit the prompt in $EDITOR"),
                    ("Ctrl-T", "show or summarise thinking"),
                    ("!cmd", "run a shell line"),
                ] {
                    rows.push(
                        Line::styled(format!("  {k:<18}"), Style::fg(Color::Cyan))
                            .with(what, Style::PLAIN.dim()),
                    );
                }
                self.view
                    .commit(rows.into_iter().flat_map(|r| r.wrap(w, &Line::plain("  "))));
            }
            Slash::Model(None) => self.view.notice(&format!("model: {}", self.state.model), w),
            Slash::Model(Some(m)) => {
                let id = ProviderId::parse(&self.state.provider).unwrap_or(ProviderId::Codex);
                let model = sxnet::models::resolve_alias(id, &m).to_string();
                send(Command::SetModel(model)).await;
            }
            Slash::Provider(None) => {
                self.view.notice(
                    &format!(
                        "provider: {} (one of {})",
                        self.state.provider,
                        sxnet::providers::PROVIDERS.join(", ")
                    ),
                    w,
                );
            }
            Slash::Provider(Some(p)) => {
                self.switch(
                    vec![("PROVIDER".into(), p.clone())],
                    format!("/provider {p}"),
                    cmd,
                    reload,
                )
                .await;
            }
            Slash::Use(name) => {
                let value = match name.as_deref() {
                    None => {
                        self.view.notice(
                            &format!(
                                "profile: {}",
                                self.config.get_nonempty("ACTIVE_PROFILE").unwrap_or("none")
                            ),
                            w,
                        );
                        return;
                    }
                    Some("off") => String::new(),
                    Some(n) => n.to_string(),
                };
                self.switch(
                    vec![("ACTIVE_PROFILE".into(), value)],
                    format!("/use {}", name.unwrap_or_default()),
                    cmd,
                    reload,
                )
                .await;
            }
            Slash::Profile(name) => self.profile(name, cmd, reload).await,
            Slash::Effort(None) => self.view.notice(
                &format!(
                    "reasoning effort: {}",
                    self.state
                        .effort
                        .map_or("the model's default", Effort::as_str)
                ),
                w,
            ),
            Slash::Effort(Some(e)) if e == "default" => send(Command::SetEffort(None)).await,
            Slash::Effort(Some(e)) => match Effort::parse(&e) {
                Some(eff) => send(Command::SetEffort(Some(eff))).await,
                None => self.view.error(
                    &format!("unknown effort '{e}'; one of {}", slash::EFFORTS.join(", ")),
                    w,
                ),
            },
            Slash::Clear => {
                self.usage = Usage::default();
                send(Command::Clear).await;
            }
            Slash::Compact => send(Command::Compact).await,
            Slash::Resume(which) => {
                let r = match which {
                    None => Resume::Latest,
                    Some(s) => Resume::Select(s),
                };
                self.usage = Usage::default();
                send(Command::Resume(r)).await;
            }
            Slash::Usage => self.usage_report(),
            Slash::Config => self.config_report(),
            Slash::Cd(None) => self.view.notice(
                &format!("working directory: {}", self.state.cwd.display()),
                w,
            ),
            Slash::Cd(Some(d)) => {
                let dir = if d.starts_with('/') {
                    PathBuf::from(d)
                } else {
                    self.state.cwd.join(d)
                };
                send(Command::Cd(dir)).await;
            }
            Slash::Exit => self.quit = true,
            Slash::Unknown(name) => self
                .view
                .error(&format!("unknown command /{name}; /help lists them"), w),
        }
    }

    /// Reload the configuration with `extra` on top of this session's overrides and switch
    /// to its provider; on failure nothing changes. Returns whether it switched.
    async fn switch(
        &mut self,
        extra: Vec<(String, String)>,
        label: String,
        cmd: &mpsc::Sender<(Command, CancellationToken)>,
        reload: &Reload,
    ) -> bool {
        let w = self.width();
        let mut overrides = self.overrides.clone();
        for (k, v) in extra {
            overrides.retain(|(key, _)| *key != k);
            overrides.push((k, v));
        }
        let config = match reload(overrides.clone()) {
            Ok(c) => c,
            Err(e) => {
                self.view
                    .error(&format!("{label} failed, nothing changed: {e}"), w);
                return false;
            }
        };
        let (done, outcome) = tokio::sync::oneshot::channel();
        let sent = cmd
            .send((
                Command::Switch {
                    config: config.clone(),
                    done,
                },
                CancellationToken::new(),
            ))
            .await;
        let outcome = match sent {
            Ok(()) => outcome
                .await
                .unwrap_or_else(|_| Err("the agent has stopped".into())),
            Err(_) => Err("the agent has stopped".into()),
        };
        match outcome {
            Ok(what) => {
                self.overrides = overrides;
                self.config = config;
                self.view.notice(&format!("{label}: {what}"), w);
                true
            }
            Err(e) => {
                self.view
                    .error(&format!("{label} failed, nothing changed: {e}"), w);
                false
            }
        }
    }

    /// `/profile NAME|off`: remembered in the user tier, then switched to.
    async fn profile(
        &mut self,
        name: Option<String>,
        cmd: &mpsc::Sender<(Command, CancellationToken)>,
        reload: &Reload,
    ) {
        let w = self.width();
        let Some(name) = name else {
            self.view.notice(
                &format!(
                    "profile: {}",
                    self.config.get_nonempty("ACTIVE_PROFILE").unwrap_or("none")
                ),
                w,
            );
            return;
        };
        let Some(home) = self.config.home().map(PathBuf::from) else {
            self.view
                .error("no home folder to remember the profile in", w);
            return;
        };
        let file = sx_config::user_file(&home);
        let value = if name == "off" { "" } else { name.as_str() };
        let written = if value.is_empty() {
            sx_config::unset_in_file(&file, "ACTIVE_PROFILE").map(|_| ())
        } else {
            sx_config::set_in_file(&file, "ACTIVE_PROFILE", value)
        };
        if let Err(e) = written {
            self.view.error(&format!("/profile {name}: {e}"), w);
            return;
        }
        // A session-level `/use` would hide what was just remembered.
        self.overrides.retain(|(k, _)| k != "ACTIVE_PROFILE");
        let previous = self.config.clone();
        if !self
            .switch(Vec::new(), format!("/profile {name}"), cmd, reload)
            .await
        {
            let restore = match previous.entry("ACTIVE_PROFILE") {
                Some(e) if e.source.tier == sx_config::Tier::User => {
                    sx_config::set_in_file(&file, "ACTIVE_PROFILE", &e.value)
                }
                _ => sx_config::unset_in_file(&file, "ACTIVE_PROFILE").map(|_| ()),
            };
            if let Err(e) = restore {
                self.view
                    .error(&format!("could not restore {}: {e}", file.display()), w);
            }
        } else {
            self.view
                .notice(&format!("remembered in {}", file.display()), w);
        }
    }

    fn usage_report(&mut self) {
        let w = self.width();
        let u = &self.usage;
        let mut rows = vec![Line::styled("Usage this session", Style::PLAIN.bold())];
        rows.push(Line::plain(format!(
            "  input {} (cache reads {}, cache writes {}) · output {} (reasoning {})",
            u.input_tokens,
            u.cache_read_tokens,
            u.cache_write_tokens,
            u.output_tokens,
            u.reasoning_tokens
        )));
        if let (Some(win), last) = (self.state.context_window, self.state.last_tokens) {
            rows.push(Line::plain(format!(
                "  context: {last} of {win} tokens ({}%)",
                last * 100 / win.max(1)
            )));
        }
        match &self.limits {
            Some(l) => {
                for (name, win) in [("primary", &l.primary), ("secondary", &l.secondary)] {
                    if let Some(win) = win {
                        rows.push(Line::plain(format!("  {}", status::window_text(name, win))));
                    }
                }
            }
            None => rows.push(Line::styled(
                "  the provider has not reported usage windows",
                Style::PLAIN.dim(),
            )),
        }
        self.view.commit(
            rows.into_iter()
                .flat_map(|r| r.wrap(w, &Line::plain("    "))),
        );
    }

    fn config_report(&mut self) {
        let w = self.width();
        let mut rows = vec![Line::styled("Configuration in effect", Style::PLAIN.bold())];
        for (key, e) in self.config.entries() {
            if e.source.tier == sx_config::Tier::Default {
                continue;
            }
            rows.push(
                Line::plain(format!(
                    "  {key}={}",
                    sx_config::display_value(key, &e.value)
                ))
                .with(format!("   {}", e.source), Style::PLAIN.dim()),
            );
        }
        rows.push(Line::styled(
            "  (defaults not shown; scorpiox-config --verbose lists every key)",
            Style::PLAIN.dim(),
        ));
        self.view.commit(
            rows.into_iter()
                .flat_map(|r| r.wrap(w, &Line::plain("    "))),
        );
    }

    fn complete(&mut self) {
        if self.completions.is_empty() {
            let provider = ProviderId::parse(&self.state.provider).unwrap_or(ProviderId::Codex);
            let mut models: Vec<String> = sxnet::models::known_models(provider)
                .iter()
                .map(|m| (*m).to_string())
                .collect();
            models.extend(["opus", "sonnet", "haiku"].map(String::from));
            let c = slash::Candidates {
                models,
                providers: sxnet::providers::PROVIDERS
                    .iter()
                    .map(|p| (*p).to_string())
                    .collect(),
                profiles: crate::history::profiles(&self.config),
                sessions: crate::history::sessions(&self.config),
            };
            self.completions = slash::complete(self.editor.text(), &c);
            self.completion_at = 0;
            if self.completions.is_empty() {
                return;
            }
        } else {
            self.completion_at = (self.completion_at + 1) % self.completions.len();
        }
        let pick = self.completions[self.completion_at].clone();
        self.editor.set(&pick);
        if self.completions.len() > 1 {
            let names: Vec<&str> = self
                .completions
                .iter()
                .map(|c| c.rsplit(' ').find(|s| !s.is_empty()).unwrap_or(c))
                .collect();
            self.hint = Some(Line::styled(names.join("  "), Style::PLAIN.dim()));
        } else {
            self.completions.clear();
            self.hint = None;
        }
    }

    fn external_editor(&mut self) {
        let w = self.width();
        match crate::term::edit_externally(self.editor.text()) {
            Ok(text) => self.editor.set(text.trim_end_matches('\n')),
            Err(e) => self.view.error(&format!("cannot open the editor: {e}"), w),
        }
    }
}

fn approval_rows(a: &Approval, w: usize) -> Vec<Line> {
    let title = match &a.outside {
        Some(_) => format!("Allow {} outside the project?", a.tool),
        None => format!("Allow {}?", a.tool),
    };
    let mut rows =
        vec![Line::styled("? ", Style::fg(Color::Yellow).bold()).with(title, Style::PLAIN.bold())];
    if let Some(path) = &a.outside {
        rows.extend(
            Line::styled(
                format!(
                    "  {} is outside the project and the --add-dir folders",
                    path.display()
                ),
                Style::fg(Color::Red),
            )
            .wrap(w, &Line::plain("  ")),
        );
    }
    let detail = view::summarize(&a.tool, &a.input);
    for l in detail.lines().take(6) {
        rows.extend(
            Line::styled(format!("  {l}"), Style::fg(Color::Cyan)).wrap(w, &Line::plain("  ")),
        );
    }
    let answers = Line::styled("  [y]", Style::fg(Color::Green).bold())
        .with(" yes  ", Style::PLAIN)
        .with("[n]", Style::fg(Color::Red).bold())
        .with(" no  ", Style::PLAIN);
    rows.push(match a.outside {
        // Asked each time: no "always".
        Some(_) => answers,
        None => answers.with("[a]", Style::fg(Color::Yellow).bold()).with(
            format!(" always allow {} this session", a.tool),
            Style::PLAIN,
        ),
    });
    rows.into_iter().map(|r| r.truncated(w)).collect()
}
