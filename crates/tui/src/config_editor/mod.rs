//! `scorpiox-config` on a terminal: an editor of the configuration cascade in the same inline
//! style as interactive sx (the live region over the scrollback, `crate::screen`): the keys by
//! section, only those that apply to the selected provider, each with its value and the tier
//! it comes from; edits validated, written to the project file (or the user file), secrets
//! masked, the trust rule kept (docs/configuration.md, "The interactive editor").

mod app;
mod draw;
pub mod model;
#[cfg(test)]
mod testfx;

use crossterm::event::{self, Event, KeyEventKind};
use sx_config::{Config, LoadOptions};

use crate::screen::Screen;
use crate::term::Terminal;
use crate::text::{Line, Palette, Style};

/// Run the editor until the user leaves. `cfg` is `opts` loaded (the caller reports its
/// warnings and errors); every change reloads with `opts`.
pub fn run(opts: LoadOptions, cfg: Config) -> std::io::Result<()> {
    let mut term = Terminal::enter()?;
    let (width, height) = term.size();
    let mut screen = Screen::new(Palette::from_env(), width, height);
    let mut app = app::App::new(opts, cfg);
    while !app.quit {
        let (live, cursor) = draw::live(&mut app, screen.width(), screen.max_live_rows());
        let committed = std::mem::take(&mut app.committed);
        term.write(&screen.frame(&committed, &live, cursor));
        match event::read()? {
            Event::Key(k) if k.kind != KeyEventKind::Release => app.key(k),
            Event::Paste(text) => app.paste(&text),
            Event::Resize(w, h) => screen.resize(w as usize, h as usize),
            _ => {}
        }
    }
    let mut last = std::mem::take(&mut app.committed);
    let bye = match app.changes {
        0 => "scorpiox-config: no changes".to_string(),
        1 => "scorpiox-config: 1 change saved".to_string(),
        n => format!("scorpiox-config: {n} changes saved"),
    };
    last.push(Line::styled(bye, Style::PLAIN.dim()));
    term.write(&screen.finish(&last));
    Ok(())
}
