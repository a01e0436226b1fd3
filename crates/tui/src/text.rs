//! Styled text for the terminal: spans of one style, lines of spans, display widths that count
//! wide (CJK, emoji) and zero-width (combining) characters right, word wrapping by grapheme,
//! and the escape sequences that draw them (none for colour under `NO_COLOR`).

use std::fmt::Write as _;

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Red,
    Green,
    Yellow,
    Blue,
    Magenta,
    Cyan,
    Gray,
    /// 24-bit, for code highlighting (downgraded to the 256-colour cube unless the terminal
    /// says it has true colour).
    Rgb(u8, u8, u8),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    pub fg: Option<Color>,
    pub bg: Option<Color>,
    pub bold: bool,
    pub dim: bool,
    pub italic: bool,
    pub underline: bool,
    pub reverse: bool,
}

impl Style {
    pub const PLAIN: Style = Style {
        fg: None,
        bg: None,
        bold: false,
        dim: false,
        italic: false,
        underline: false,
        reverse: false,
    };

    pub fn fg(c: Color) -> Style {
        Style {
            fg: Some(c),
            ..Style::PLAIN
        }
    }
    pub fn bold(mut self) -> Style {
        self.bold = true;
        self
    }
    pub fn dim(mut self) -> Style {
        self.dim = true;
        self
    }
    pub fn italic(mut self) -> Style {
        self.italic = true;
        self
    }
    pub fn underline(mut self) -> Style {
        self.underline = true;
        self
    }
    pub fn reverse(mut self) -> Style {
        self.reverse = true;
        self
    }
    pub fn on(mut self, c: Color) -> Style {
        self.bg = Some(c);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub style: Style,
}

impl Span {
    pub fn new(text: impl Into<String>, style: Style) -> Span {
        Span {
            text: text.into(),
            style,
        }
    }
    pub fn plain(text: impl Into<String>) -> Span {
        Span::new(text, Style::PLAIN)
    }
}

/// One row of styled text (never containing a newline).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Line {
    pub spans: Vec<Span>,
}

impl Line {
    pub fn new() -> Line {
        Line::default()
    }

    pub fn plain(text: impl Into<String>) -> Line {
        Line::styled(text, Style::PLAIN)
    }

    pub fn styled(text: impl Into<String>, style: Style) -> Line {
        let text = text.into();
        if text.is_empty() {
            return Line::new();
        }
        Line {
            spans: vec![Span::new(text, style)],
        }
    }

    pub fn push(&mut self, text: impl Into<String>, style: Style) -> &mut Line {
        let text = text.into();
        if text.is_empty() {
            return self;
        }
        match self.spans.last_mut() {
            Some(last) if last.style == style => last.text.push_str(&text),
            _ => self.spans.push(Span::new(text, style)),
        }
        self
    }

    pub fn with(mut self, text: impl Into<String>, style: Style) -> Line {
        self.push(text, style);
        self
    }

    pub fn extend(&mut self, other: Line) {
        for s in other.spans {
            self.push(s.text, s.style);
        }
    }

    pub fn width(&self) -> usize {
        self.spans.iter().map(|s| width(&s.text)).sum()
    }

    pub fn text(&self) -> String {
        self.spans.iter().map(|s| s.text.as_str()).collect()
    }

    /// The line cut to `max` columns, with `…` when something was cut.
    pub fn truncated(&self, max: usize) -> Line {
        if self.width() <= max {
            return self.clone();
        }
        let mut out = Line::new();
        let mut used = 0;
        let limit = max.saturating_sub(1);
        'outer: for s in &self.spans {
            for g in s.text.graphemes(true) {
                let w = width(g);
                if used + w > limit {
                    break 'outer;
                }
                out.push(g, s.style);
                used += w;
            }
        }
        if max > 0 {
            out.push("…", Style::PLAIN);
        }
        out
    }

    /// Word-wrapped to `width` columns (at least 1): breaks after spaces where it can, inside
    /// a word when it must. `indent` starts every row after the first.
    pub fn wrap(&self, width: usize, indent: &Line) -> Vec<Line> {
        let width = width.max(1);
        let indent_w = indent.width().min(width.saturating_sub(1));
        // Graphemes with their style, then greedy filling with a remembered break point.
        let mut cells: Vec<(&str, Style, usize)> = Vec::new();
        for s in &self.spans {
            for g in s.text.graphemes(true) {
                cells.push((g, s.style, self::width(g)));
            }
        }
        let mut rows = Vec::new();
        let mut start = 0;
        let mut first = true;
        while start < cells.len() {
            let avail = if first { width } else { width - indent_w };
            let mut used = 0;
            let mut end = start;
            let mut last_break = None;
            while end < cells.len() && used + cells[end].2 <= avail {
                used += cells[end].2;
                if cells[end].0 == " " {
                    last_break = Some(end + 1);
                }
                end += 1;
            }
            let broke = end < cells.len();
            if broke && cells[end].0 != " " {
                if let Some(b) = last_break.filter(|b| *b > start) {
                    end = b;
                } else if end == start {
                    // A grapheme wider than the row: place it anyway.
                    end = start + 1;
                }
            }
            let mut row = if first { Line::new() } else { indent.clone() };
            let mut seg_end = end;
            // Spaces at a break are not carried to the row's end.
            while seg_end > start && end < cells.len() && cells[seg_end - 1].0 == " " {
                seg_end -= 1;
            }
            for (g, st, _) in &cells[start..seg_end] {
                row.push(*g, *st);
            }
            rows.push(row);
            start = end;
            // The spaces a row broke at do not start the next one.
            while broke && start < cells.len() && cells[start].0 == " " {
                start += 1;
            }
            first = false;
        }
        if rows.is_empty() {
            rows.push(Line::new());
        }
        rows
    }
}

/// Display width in terminal columns.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// How escape sequences are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    /// `NO_COLOR` is set: attributes only.
    pub no_color: bool,
    /// The terminal takes 24-bit colour (`COLORTERM=truecolor|24bit`).
    pub truecolor: bool,
}

impl Palette {
    pub fn from_env() -> Palette {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let truecolor = std::env::var("COLORTERM")
            .map(|v| v == "truecolor" || v == "24bit")
            .unwrap_or(false);
        Palette {
            no_color,
            truecolor,
        }
    }

    /// `line` as bytes for the terminal (ending in the default style).
    pub fn render(&self, line: &Line, out: &mut String) {
        for span in &line.spans {
            let sgr = self.sgr(span.style);
            if sgr.is_empty() {
                out.push_str(&sanitize(&span.text));
            } else {
                let _ = write!(out, "\x1b[{sgr}m{}\x1b[0m", sanitize(&span.text));
            }
        }
    }

    fn sgr(&self, st: Style) -> String {
        let mut codes: Vec<String> = Vec::new();
        if st.bold {
            codes.push("1".into());
        }
        if st.dim {
            codes.push("2".into());
        }
        if st.italic {
            codes.push("3".into());
        }
        if st.underline {
            codes.push("4".into());
        }
        if st.reverse {
            codes.push("7".into());
        }
        if !self.no_color {
            if let Some(c) = st.fg {
                codes.push(self.color(c, false));
            }
            if let Some(c) = st.bg {
                codes.push(self.color(c, true));
            }
        }
        codes.join(";")
    }

    fn color(&self, c: Color, bg: bool) -> String {
        let base = if bg { 40 } else { 30 };
        let ext = if bg { 48 } else { 38 };
        match c {
            Color::Red => (base + 1).to_string(),
            Color::Green => (base + 2).to_string(),
            Color::Yellow => (base + 3).to_string(),
            Color::Blue => (base + 4).to_string(),
            Color::Magenta => (base + 5).to_string(),
            Color::Cyan => (base + 6).to_string(),
            Color::Gray => format!("{ext};5;244"),
            Color::Rgb(r, g, b) if self.truecolor => format!("{ext};2;{r};{g};{b}"),
            Color::Rgb(r, g, b) => format!("{ext};5;{}", ansi256(r, g, b)),
        }
    }
}

/// The nearest colour of the xterm 256-colour cube (or its grey ramp).
fn ansi256(r: u8, g: u8, b: u8) -> u8 {
    let level = |v: u8| -> u8 {
        if v < 48 {
            0
        } else if v < 115 {
            1
        } else {
            (v - 35) / 40
        }
    };
    if r.abs_diff(g) < 10 && g.abs_diff(b) < 10 {
        let avg = (u16::from(r) + u16::from(g) + u16::from(b)) / 3;
        if avg < 8 {
            return 16;
        }
        if avg > 238 {
            return 231;
        }
        return 232 + ((avg - 8) / 10) as u8;
    }
    16 + 36 * level(r) + 6 * level(g) + level(b)
}

/// Text as the terminal must see it: control characters (a model's or a tool's stray escape
/// sequences, tabs, carriage returns) replaced, so output can never move the cursor or change
/// the terminal's state.
pub fn sanitize(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c.is_control()) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .map(|c| match c {
                '\t' => ' ',
                c if c.is_control() => '\u{FFFD}',
                c => c,
            })
            .collect(),
    )
}

/// Expand tabs to spaces (4 columns) so widths are right.
pub fn expand_tabs(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\t') {
        std::borrow::Cow::Owned(s.replace('\t', "    "))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn texts(rows: &[Line]) -> Vec<String> {
        rows.iter().map(Line::text).collect()
    }

    #[test]
    fn widths_count_wide_and_combining_characters() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("日本"), 4);
        assert_eq!(width("e\u{301}"), 1, "e + combining acute is one column");
        assert_eq!(width("👍"), 2);
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_inside_long_words() {
        let l = Line::plain("the quick brown fox jumps");
        assert_eq!(
            texts(&l.wrap(10, &Line::new())),
            ["the quick", "brown fox", "jumps"]
        );
        let l = Line::plain("abcdefghijkl");
        assert_eq!(texts(&l.wrap(5, &Line::new())), ["abcde", "fghij", "kl"]);
        let l = Line::plain("日本語のテキスト");
        let rows = l.wrap(5, &Line::new());
        assert!(rows.iter().all(|r| r.width() <= 5), "{:?}", texts(&rows));
        assert_eq!(
            rows.iter().map(Line::text).collect::<String>(),
            "日本語のテキスト"
        );
        let l = Line::plain("e\u{301}e\u{301}e\u{301}");
        assert_eq!(
            texts(&l.wrap(2, &Line::new())),
            ["e\u{301}e\u{301}", "e\u{301}"]
        );
        let l = Line::plain("one two three");
        assert_eq!(
            texts(&l.wrap(7, &Line::plain("  "))),
            ["one two", "  three"]
        );
        assert_eq!(texts(&Line::new().wrap(10, &Line::new())), [""]);
    }

    #[test]
    fn truncation_marks_the_cut() {
        let l = Line::plain("hello world");
        assert_eq!(l.truncated(8).text(), "hello w…");
        assert_eq!(l.truncated(20).text(), "hello world");
        assert_eq!(Line::plain("日本語").truncated(4).text(), "日…");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let p = Palette {
            no_color: false,
            truecolor: false,
        };
        let mut out = String::new();
        p.render(&Line::plain("a\x1b[2Jb\rc"), &mut out);
        assert_eq!(out, "a\u{FFFD}[2Jb\u{FFFD}c");
    }

    #[test]
    fn no_color_keeps_attributes_and_drops_colours() {
        let line = Line::styled("x", Style::fg(Color::Red).bold());
        let mut colored = String::new();
        Palette {
            no_color: false,
            truecolor: false,
        }
        .render(&line, &mut colored);
        assert_eq!(colored, "\x1b[1;31mx\x1b[0m");
        let mut plain = String::new();
        Palette {
            no_color: true,
            truecolor: false,
        }
        .render(&line, &mut plain);
        assert_eq!(plain, "\x1b[1mx\x1b[0m");
        let mut rgb = String::new();
        Palette {
            no_color: false,
            truecolor: false,
        }
        .render(
            &Line::styled("x", Style::fg(Color::Rgb(255, 0, 0))),
            &mut rgb,
        );
        assert_eq!(rgb, "\x1b[38;5;196mx\x1b[0m");
    }
}
