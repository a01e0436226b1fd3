//! Inline rendering that keeps the terminal's scrollback (docs/ui.md, "Rendering").
//!
//! The screen is two parts: *committed* rows — the transcript, printed once above everything
//! and left to the terminal's scrollback — and the *live region* at the bottom (the line being
//! streamed, the spinner, the input box, the status line), redrawn in place each frame. A frame
//! is one write wrapped in a synchronized update (no flicker): go back to the top of the live
//! region, clear to the end of the screen, print the new committed rows, print the live region,
//! put the cursor in the input box.
//!
//! Every row is laid out by us to fit the width (nothing soft-wraps), so after a resize the
//! rows the old live region occupies can be worked out: a terminal that reflows (tmux, VTE,
//! kitty, iTerm2, Windows Terminal) splits a row wider than the new width into several and
//! never joins hard-ended rows.

use std::fmt::Write as _;

use crate::text::{Line, Palette};

pub struct Screen {
    palette: Palette,
    width: usize,
    height: usize,
    /// Widths of the live rows as last drawn.
    drawn: Vec<usize>,
    /// Where the cursor was left: rows below the top of the live region, and its column.
    cursor_row: usize,
    cursor_col: usize,
}

impl Screen {
    pub fn new(palette: Palette, width: usize, height: usize) -> Screen {
        Screen {
            palette,
            width: width.max(1),
            height: height.max(2),
            drawn: Vec::new(),
            cursor_row: 0,
            cursor_col: 0,
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn palette(&self) -> Palette {
        self.palette
    }

    /// The most rows the live region may take (the rest of the screen keeps some transcript).
    pub fn max_live_rows(&self) -> usize {
        (self.height - 1).max(1)
    }

    /// The terminal was resized: work out where the old live region now starts.
    pub fn resize(&mut self, width: usize, height: usize) {
        let width = width.max(1);
        let rows = |w: usize| w.max(1).div_ceil(width);
        if width < self.width {
            let above: usize = self.drawn[..self.cursor_row.min(self.drawn.len())]
                .iter()
                .map(|w| rows(*w))
                .sum();
            let row_w = self.drawn.get(self.cursor_row).copied().unwrap_or(0);
            let within = (self.cursor_col / width).min(rows(row_w) - 1);
            self.cursor_row = above + within;
            self.cursor_col %= width;
        }
        self.width = width;
        self.height = height.max(2);
    }

    /// One frame: `committed` rows go into the scrollback above, `live` is redrawn, the cursor
    /// ends at `cursor` (row and column in `live`), or is hidden. Rows must fit the width
    /// (wider ones are cut). Returns the bytes to write in one go.
    pub fn frame(
        &mut self,
        committed: &[Line],
        live: &[Line],
        cursor: Option<(usize, usize)>,
    ) -> String {
        let mut out = String::new();
        out.push_str("\x1b[?2026h\x1b[?25l\r");
        if self.cursor_row > 0 {
            let _ = write!(out, "\x1b[{}A", self.cursor_row);
        }
        out.push_str("\x1b[J");
        for row in committed {
            self.row(row, &mut out);
            out.push_str("\r\n");
        }
        // The live region never fills the screen: moving back to its top must not be clamped.
        let max = self.max_live_rows();
        let skip = live.len().saturating_sub(max);
        let live = &live[skip..];
        let empty = [Line::new()];
        let live = if live.is_empty() { &empty[..] } else { live };
        self.drawn.clear();
        for (i, row) in live.iter().enumerate() {
            let w = self.row(row, &mut out);
            self.drawn.push(w);
            if i + 1 < live.len() {
                out.push_str("\r\n");
            }
        }
        let last = live.len() - 1;
        match cursor.and_then(|(r, c)| r.checked_sub(skip).map(|r| (r.min(last), c))) {
            Some((r, c)) => {
                if last > r {
                    let _ = write!(out, "\x1b[{}A", last - r);
                }
                out.push('\r');
                let c = c.min(self.width.saturating_sub(1));
                if c > 0 {
                    let _ = write!(out, "\x1b[{c}C");
                }
                out.push_str("\x1b[?25h");
                self.cursor_row = r;
                self.cursor_col = c;
            }
            None => {
                self.cursor_row = last;
                self.cursor_col = self.drawn[last];
            }
        }
        out.push_str("\x1b[?2026l");
        out
    }

    /// Leave the screen for the shell: the live region replaced by `last` rows, the cursor on
    /// a fresh line below them, shown.
    pub fn finish(&mut self, last: &[Line]) -> String {
        let mut out = String::new();
        out.push('\r');
        if self.cursor_row > 0 {
            let _ = write!(out, "\x1b[{}A", self.cursor_row);
        }
        out.push_str("\x1b[J");
        for row in last {
            self.row(row, &mut out);
            out.push_str("\r\n");
        }
        out.push_str("\x1b[?25h");
        self.drawn.clear();
        self.cursor_row = 0;
        self.cursor_col = 0;
        out
    }

    /// Forget the live region (after something else wrote to the terminal, e.g. `$EDITOR`):
    /// the next frame starts where the cursor is.
    pub fn detach(&mut self) {
        self.drawn.clear();
        self.cursor_row = 0;
        self.cursor_col = 0;
    }

    fn row(&self, row: &Line, out: &mut String) -> usize {
        if row.width() > self.width {
            let cut = row.truncated(self.width);
            self.palette.render(&cut, out);
            cut.width()
        } else {
            self.palette.render(row, out);
            row.width()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn screen(w: usize, h: usize) -> Screen {
        Screen::new(
            Palette {
                no_color: true,
                truecolor: false,
            },
            w,
            h,
        )
    }

    fn lines(v: &[&str]) -> Vec<Line> {
        v.iter().map(|s| Line::plain(*s)).collect()
    }

    #[test]
    fn a_frame_goes_back_to_the_live_regions_top_prints_and_places_the_cursor() {
        let mut s = screen(20, 10);
        let f = s.frame(&[], &lines(&["> hi", "status"]), Some((0, 4)));
        assert_eq!(
            f,
            "\x1b[?2026h\x1b[?25l\r\x1b[J> hi\r\nstatus\x1b[1A\r\x1b[4C\x1b[?25h\x1b[?2026l"
        );
        // The next frame starts by going back up to row 0 (the cursor is already on it).
        let f = s.frame(&lines(&["done"]), &lines(&["> ", "status"]), Some((0, 2)));
        assert!(
            f.starts_with("\x1b[?2026h\x1b[?25l\r\x1b[Jdone\r\n> \r\nstatus"),
            "{f:?}"
        );
        // Cursor hidden: left at the end of the last row, so the next frame goes up from there.
        s.frame(&[], &lines(&["a", "b", "c"]), None);
        let f = s.frame(&[], &lines(&["x"]), None);
        assert!(
            f.starts_with("\x1b[?2026h\x1b[?25l\r\x1b[2A\x1b[J"),
            "{f:?}"
        );
    }

    #[test]
    fn the_live_region_never_fills_the_screen() {
        let mut s = screen(20, 4);
        let f = s.frame(&[], &lines(&["1", "2", "3", "4", "5"]), Some((4, 0)));
        assert!(f.contains("3\r\n4\r\n5"), "{f:?}");
        assert!(!f.contains("2\r\n"), "{f:?}");
        let f = s.frame(&[], &lines(&["x"]), None);
        assert!(
            f.contains("\r\x1b[2A\x1b[J"),
            "back up over the 3 rows drawn: {f:?}"
        );
    }

    #[test]
    fn narrowing_accounts_for_rows_the_terminal_reflows() {
        let mut s = screen(20, 10);
        s.frame(
            &[],
            &lines(&["a line of 18 chars.", "> input", "status"]),
            Some((1, 7)),
        );
        s.resize(10, 10);
        // The first row now takes two rows; the cursor row is the third row of the region.
        let f = s.frame(&[], &lines(&["x"]), None);
        assert!(f.contains("\r\x1b[2A\x1b[J"), "{f:?}");
        // Widening joins nothing (every row ended with a hard line break).
        let mut s = screen(10, 10);
        s.frame(&[], &lines(&["0123456789", "> in"]), Some((1, 4)));
        s.resize(40, 10);
        let f = s.frame(&[], &lines(&["x"]), None);
        assert!(f.contains("\r\x1b[1A\x1b[J"), "{f:?}");
    }

    #[test]
    fn rows_wider_than_the_screen_are_cut_not_wrapped() {
        let mut s = screen(5, 10);
        let f = s.frame(&lines(&["abcdefgh"]), &lines(&["123456789"]), None);
        assert!(f.contains("abcd…\r\n1234…"), "{f:?}");
    }

    #[test]
    fn finishing_leaves_the_cursor_on_a_fresh_line() {
        let mut s = screen(20, 10);
        s.frame(&[], &lines(&["> x", "status"]), Some((0, 3)));
        let f = s.finish(&lines(&["bye"]));
        assert_eq!(f, "\r\x1b[Jbye\r\n\x1b[?25h");
    }
}
