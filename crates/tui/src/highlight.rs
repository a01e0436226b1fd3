//! Code highlighting with syntect, loaded on a background thread when the UI starts (about
//! 20 ms of work a one-shot run never pays) and used line by line as a code block streams.

use std::sync::OnceLock;

use syntect::easy::HighlightLines;
use syntect::highlighting::{Theme, ThemeSet};
use syntect::parsing::SyntaxSet;

use crate::text::{Color, Line, Style};

struct Assets {
    syntaxes: SyntaxSet,
    theme: Theme,
}

static ASSETS: OnceLock<Assets> = OnceLock::new();

fn load() -> Assets {
    let syntaxes = SyntaxSet::load_defaults_newlines();
    let mut themes = ThemeSet::load_defaults();
    let theme = themes
        .themes
        .remove("base16-ocean.dark")
        .unwrap_or_default();
    Assets { syntaxes, theme }
}

fn assets() -> &'static Assets {
    ASSETS.get_or_init(load)
}

/// Start loading in the background (the first code block then rarely waits).
pub fn warm_up() {
    let _ = std::thread::Builder::new()
        .name("sx-highlight".into())
        .spawn(|| {
            assets();
        });
}

/// A code block being highlighted, one line at a time (the state carries across lines:
/// strings and comments that span them).
pub struct Block {
    lines: Option<HighlightLines<'static>>,
}

impl Block {
    /// `lang` is the fence's info string (`rust`, `py`, `sh`, …); unknown → plain text.
    pub fn new(lang: &str) -> Block {
        let lang = lang.split([' ', ',', '{']).next().unwrap_or("").trim();
        if lang.is_empty() {
            return Block { lines: None };
        }
        let a = assets();
        let syntax = a
            .syntaxes
            .find_syntax_by_token(lang)
            .or_else(|| a.syntaxes.find_syntax_by_extension(lang));
        Block {
            lines: syntax.map(|s| HighlightLines::new(s, &a.theme)),
        }
    }

    /// One source line (without its newline) as styled text.
    pub fn line(&mut self, text: &str) -> Line {
        let Some(h) = self.lines.as_mut() else {
            return Line::styled(text, Style::fg(Color::Cyan));
        };
        let with_nl = format!("{text}\n");
        match h.highlight_line(&with_nl, &assets().syntaxes) {
            Ok(ranges) => {
                let mut line = Line::new();
                for (st, piece) in ranges {
                    let piece = piece.trim_end_matches('\n');
                    let c = st.foreground;
                    let mut style = Style::fg(Color::Rgb(c.r, c.g, c.b));
                    if st
                        .font_style
                        .contains(syntect::highlighting::FontStyle::BOLD)
                    {
                        style = style.bold();
                    }
                    line.push(piece, style);
                }
                line
            }
            Err(_) => Line::plain(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_languages_are_coloured_unknown_ones_plain_cyan() {
        let mut b = Block::new("rust");
        let l = b.line("fn main() { let s = \"x\"; }");
        assert_eq!(l.text(), "fn main() { let s = \"x\"; }");
        assert!(l.spans.len() > 3, "several styles: {l:?}");
        let mut p = Block::new("no-such-language");
        let l = p.line("whatever");
        assert_eq!(l.spans.len(), 1);
        assert_eq!(l.spans[0].style.fg, Some(Color::Cyan));
        // State carries across lines: the second line is still inside the comment.
        let mut c = Block::new("c");
        c.line("/* start");
        let inside = c.line("still comment */ int x;");
        assert!(inside.spans.len() >= 2, "{inside:?}");
    }
}
