//! The input box: a multi-line line editor with Emacs-style keys, history per project, and a
//! layout that places the cursor right among wide and combining characters.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use unicode_segmentation::UnicodeSegmentation;

use crate::text::{Line, Style, width};

/// What a key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// The text or the cursor changed (redraw).
    Changed,
    /// Enter: the text is ready.
    Submit,
    /// The editor does not handle this key.
    Ignored,
}

#[derive(Debug, Default)]
pub struct Editor {
    text: String,
    /// Byte offset, always on a grapheme boundary.
    cursor: usize,
    history: Vec<String>,
    /// Position while browsing history (`history.len()` = the draft).
    browsing: usize,
    draft: String,
}

impl Editor {
    pub fn new(history: Vec<String>) -> Editor {
        let browsing = history.len();
        Editor {
            history,
            browsing,
            ..Editor::default()
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// A copy showing `mask` for each character (a secret being typed), the cursor at the
    /// same place; no history.
    pub fn masked(&self, mask: char) -> Editor {
        let text: String = self.text.graphemes(true).map(|_| mask).collect();
        let before = self.text[..self.cursor].graphemes(true).count();
        Editor {
            cursor: text
                .char_indices()
                .nth(before)
                .map_or(text.len(), |(i, _)| i),
            text,
            ..Editor::default()
        }
    }

    pub fn set(&mut self, text: &str) {
        self.text = text.to_string();
        self.cursor = self.text.len();
    }

    /// Take the text (after Enter), remembering it in the history.
    pub fn take(&mut self) -> String {
        let text = std::mem::take(&mut self.text);
        self.cursor = 0;
        if !text.trim().is_empty() && self.history.last() != Some(&text) {
            self.history.push(text.clone());
        }
        self.browsing = self.history.len();
        self.draft.clear();
        text
    }

    pub fn insert(&mut self, s: &str) {
        let s = s.replace("\r\n", "\n").replace('\r', "\n");
        self.text.insert_str(self.cursor, &s);
        self.cursor += s.len();
    }

    pub fn key(&mut self, k: KeyEvent) -> Edit {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        let alt = k.modifiers.contains(KeyModifiers::ALT);
        let shift = k.modifiers.contains(KeyModifiers::SHIFT);
        match k.code {
            KeyCode::Enter if shift || alt => self.insert("\n"),
            KeyCode::Enter => {
                // A trailing backslash continues the input on a new line.
                if self.cursor == self.text.len() && self.text.ends_with('\\') {
                    self.text.pop();
                    self.cursor = self.text.len();
                    self.insert("\n");
                } else {
                    return Edit::Submit;
                }
            }
            KeyCode::Char('j') if ctrl => self.insert("\n"),
            KeyCode::Char('a') if ctrl => self.cursor = self.line_start(),
            KeyCode::Char('e') if ctrl => self.cursor = self.line_end(),
            KeyCode::Char('b') if ctrl => self.cursor = self.prev_boundary(),
            KeyCode::Char('f') if ctrl => self.cursor = self.next_boundary(),
            KeyCode::Char('b') if alt => self.cursor = self.word_left(),
            KeyCode::Char('f') if alt => self.cursor = self.word_right(),
            KeyCode::Char('u') if ctrl => {
                let start = self.line_start();
                self.text.replace_range(start..self.cursor, "");
                self.cursor = start;
            }
            KeyCode::Char('k') if ctrl => {
                let end = self.line_end();
                self.text.replace_range(self.cursor..end, "");
            }
            KeyCode::Char('w') if ctrl => self.delete_to(self.word_left()),
            KeyCode::Backspace if alt || ctrl => self.delete_to(self.word_left()),
            KeyCode::Char('d') if ctrl => {
                if self.text.is_empty() {
                    return Edit::Ignored;
                }
                let next = self.next_boundary();
                self.text.replace_range(self.cursor..next, "");
            }
            KeyCode::Char('p') if ctrl => return self.history_move(-1),
            KeyCode::Char('n') if ctrl => return self.history_move(1),
            KeyCode::Char(c) if !ctrl && !alt => {
                let mut b = [0u8; 4];
                self.insert(c.encode_utf8(&mut b));
            }
            KeyCode::Backspace => {
                if self.cursor == 0 {
                    return Edit::Changed;
                }
                self.delete_to(self.prev_boundary());
            }
            KeyCode::Delete => {
                let next = self.next_boundary();
                self.text.replace_range(self.cursor..next, "");
            }
            KeyCode::Left if ctrl || alt => self.cursor = self.word_left(),
            KeyCode::Right if ctrl || alt => self.cursor = self.word_right(),
            KeyCode::Left => self.cursor = self.prev_boundary(),
            KeyCode::Right => self.cursor = self.next_boundary(),
            KeyCode::Home => self.cursor = self.line_start(),
            KeyCode::End => self.cursor = self.line_end(),
            KeyCode::Up => {
                if !self.text[..self.cursor].contains('\n') {
                    return self.history_move(-1);
                }
                self.vertical(-1);
            }
            KeyCode::Down => {
                if !self.text[self.cursor..].contains('\n') {
                    return self.history_move(1);
                }
                self.vertical(1);
            }
            _ => return Edit::Ignored,
        }
        Edit::Changed
    }

    fn delete_to(&mut self, to: usize) {
        let (a, b) = (to.min(self.cursor), to.max(self.cursor));
        self.text.replace_range(a..b, "");
        self.cursor = a;
    }

    fn prev_boundary(&self) -> usize {
        self.text[..self.cursor]
            .grapheme_indices(true)
            .next_back()
            .map_or(0, |(i, _)| i)
    }

    fn next_boundary(&self) -> usize {
        self.text[self.cursor..]
            .graphemes(true)
            .next()
            .map_or(self.cursor, |g| self.cursor + g.len())
    }

    fn word_left(&self) -> usize {
        let before = &self.text[..self.cursor];
        let trimmed = before.trim_end_matches(|c: char| !c.is_alphanumeric());
        trimmed
            .rfind(|c: char| !c.is_alphanumeric())
            .map_or(0, |i| {
                i + trimmed[i..].chars().next().map_or(1, char::len_utf8)
            })
    }

    fn word_right(&self) -> usize {
        let after = &self.text[self.cursor..];
        let skip = after.len()
            - after
                .trim_start_matches(|c: char| !c.is_alphanumeric())
                .len();
        let rest = &after[skip..];
        let word = rest
            .find(|c: char| !c.is_alphanumeric())
            .unwrap_or(rest.len());
        self.cursor + skip + word
    }

    fn line_start(&self) -> usize {
        self.text[..self.cursor].rfind('\n').map_or(0, |i| i + 1)
    }

    fn line_end(&self) -> usize {
        self.text[self.cursor..]
            .find('\n')
            .map_or(self.text.len(), |i| self.cursor + i)
    }

    /// Up/down inside a multi-line text, keeping the column.
    fn vertical(&mut self, dir: i32) {
        let start = self.line_start();
        let col = width(&self.text[start..self.cursor]);
        let target_start = if dir < 0 {
            self.text[..start.saturating_sub(1)]
                .rfind('\n')
                .map_or(0, |i| i + 1)
        } else {
            self.line_end() + 1
        };
        let line_end = self.text[target_start..]
            .find('\n')
            .map_or(self.text.len(), |i| target_start + i);
        let mut pos = target_start;
        let mut w = 0;
        for (i, g) in self.text[target_start..line_end].grapheme_indices(true) {
            if w + width(g) > col {
                break;
            }
            w += width(g);
            pos = target_start + i + g.len();
        }
        self.cursor = pos;
    }

    fn history_move(&mut self, dir: i32) -> Edit {
        if self.history.is_empty() {
            return Edit::Changed;
        }
        if self.browsing == self.history.len() {
            self.draft = self.text.clone();
        }
        let next = if dir < 0 {
            self.browsing.saturating_sub(1)
        } else {
            (self.browsing + 1).min(self.history.len())
        };
        self.browsing = next;
        let text = if next == self.history.len() {
            self.draft.clone()
        } else {
            self.history[next].clone()
        };
        self.set(&text);
        Edit::Changed
    }

    /// The input laid out in rows of `width` columns after `prompt` (continuation rows are
    /// indented as wide as the prompt), and the cursor's row and column.
    pub fn layout(&self, width: usize, prompt: &Line, style: Style) -> (Vec<Line>, (usize, usize)) {
        let pw = prompt.width();
        let avail = width.saturating_sub(pw).max(1);
        let indent = " ".repeat(pw);
        let mut rows: Vec<Line> = Vec::new();
        let mut cur = prompt.clone();
        let mut col = 0;
        let mut cursor = None;
        let mut offset = 0;
        for g in self.text.graphemes(true) {
            if offset == self.cursor {
                cursor = Some((rows.len(), pw + col));
            }
            offset += g.len();
            if g == "\n" {
                rows.push(std::mem::replace(&mut cur, Line::plain(&indent)));
                col = 0;
                continue;
            }
            let g = if g == "\t" { "    " } else { g };
            let w = self::width(g);
            if col + w > avail && col > 0 {
                rows.push(std::mem::replace(&mut cur, Line::plain(&indent)));
                col = 0;
            }
            cur.push(crate::text::sanitize(g), style);
            col += w;
        }
        if cursor.is_none() {
            if col >= avail {
                rows.push(std::mem::replace(&mut cur, Line::plain(&indent)));
                col = 0;
            }
            cursor = Some((rows.len(), pw + col));
        }
        rows.push(cur);
        (rows, cursor.unwrap_or((0, pw)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }
    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }
    fn typed(e: &mut Editor, s: &str) {
        for c in s.chars() {
            e.key(key(KeyCode::Char(c)));
        }
    }

    #[test]
    fn editing_keys() {
        let mut e = Editor::new(vec![]);
        typed(&mut e, "hello world");
        e.key(ctrl('w'));
        assert_eq!(e.text(), "hello ");
        typed(&mut e, "there");
        e.key(ctrl('a'));
        typed(&mut e, ">");
        assert_eq!(e.text(), ">hello there");
        e.key(ctrl('k'));
        assert_eq!(e.text(), ">");
        e.key(key(KeyCode::Backspace));
        assert!(e.is_empty());
        typed(&mut e, "日本e\u{301}x");
        e.key(key(KeyCode::Left));
        e.key(key(KeyCode::Left));
        e.key(key(KeyCode::Backspace));
        assert_eq!(e.text(), "日e\u{301}x", "graphemes move and delete whole");
    }

    #[test]
    fn enter_submits_and_backslash_or_alt_enter_continue() {
        let mut e = Editor::new(vec![]);
        typed(&mut e, "line one\\");
        assert_eq!(e.key(key(KeyCode::Enter)), Edit::Changed);
        typed(&mut e, "line two");
        e.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT));
        typed(&mut e, "three");
        assert_eq!(e.text(), "line one\nline two\nthree");
        assert_eq!(e.key(key(KeyCode::Enter)), Edit::Submit);
        assert_eq!(e.take(), "line one\nline two\nthree");
        assert!(e.is_empty());
    }

    #[test]
    fn up_and_down_walk_history_and_keep_the_draft() {
        let mut e = Editor::new(vec!["first".into(), "second".into()]);
        typed(&mut e, "draft");
        e.key(key(KeyCode::Up));
        assert_eq!(e.text(), "second");
        e.key(key(KeyCode::Up));
        assert_eq!(e.text(), "first");
        e.key(key(KeyCode::Down));
        e.key(key(KeyCode::Down));
        assert_eq!(e.text(), "draft");
        // Inside a multi-line text, up moves between its lines.
        e.set("ab\ncd");
        e.key(key(KeyCode::Up));
        typed(&mut e, "X");
        assert_eq!(e.text(), "abX\ncd");
    }

    #[test]
    fn a_masked_copy_hides_the_text_and_keeps_the_cursor() {
        let mut e = Editor::new(vec!["old".into()]);
        typed(&mut e, "sk-日e\u{301}");
        e.key(key(KeyCode::Left));
        let m = e.masked('•');
        assert_eq!(m.text(), "•••••");
        let (rows, cur) = m.layout(20, &Line::plain("> "), Style::PLAIN);
        assert_eq!(rows[0].text(), "> •••••");
        assert_eq!(cur, (0, 6), "before the last (combined) character");
    }

    #[test]
    fn layout_wraps_and_places_the_cursor() {
        let mut e = Editor::new(vec![]);
        e.set("abcdefgh");
        let (rows, cur) = e.layout(6, &Line::plain("> "), Style::PLAIN);
        let t: Vec<String> = rows.iter().map(Line::text).collect();
        assert_eq!(t, ["> abcd", "  efgh", "  "]);
        assert_eq!(cur, (2, 2));
        e.set("ab日本\nxyz");
        e.key(key(KeyCode::Up));
        let (rows, cur) = e.layout(20, &Line::plain("> "), Style::PLAIN);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            cur,
            (0, 4),
            "column 3 is inside 日: the cursor stays before it"
        );
    }
}
