//! `<think>…</think>` at the start of `content` → thinking (docs/protocols/providers.md §4.5):
//! servers that do not parse reasoning themselves (llama.cpp `reasoning_format: none`, vLLM
//! without `--reasoning-parser`) leave the model's tags in the answer. The tags may be split
//! across chunks anywhere ("<thi", "nk>"), so a possible partial tag is held back until the
//! next piece decides it.
//!
//! Only an answer that *opens* with `<think>` (after whitespace) is split, once: a tag later
//! in an answer is the model talking about tags. Pieces are handed out as slices of the
//! delta where they can be (no copy); only a held-back partial tag is buffered.

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Piece {
    Text,
    Thinking,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    /// Nothing but whitespace yet: the answer may still open with `<think>`.
    #[default]
    Start,
    Thinking,
    /// Just after `</think>`: the whitespace that separates it from the answer is dropped.
    AfterThink,
    Text,
}

#[derive(Debug, Default)]
pub(super) struct ThinkSplitter {
    mode: Mode,
    /// Held back: leading whitespace or a partial `<think>` (Start), a partial `</think>`
    /// (Thinking).
    pending: String,
    /// Whether thinking text was handed out yet (its leading whitespace is dropped).
    thought: bool,
}

impl ThinkSplitter {
    /// One `content` delta; `out` gets its pieces in order.
    pub(super) fn feed(&mut self, delta: &str, out: &mut impl FnMut(Piece, &str)) {
        if delta.is_empty() {
            return;
        }
        if self.mode == Mode::Text {
            return out(Piece::Text, delta);
        }
        if self.pending.is_empty() {
            self.step(delta, out);
        } else {
            let mut joined = std::mem::take(&mut self.pending);
            joined.push_str(delta);
            self.step(&joined, out);
            if self.pending.is_empty() {
                // Keep the allocation for the next partial tag.
                joined.clear();
                self.pending = joined;
            }
        }
    }

    /// The end of the answer: whatever was held back goes out as what it turned out to be.
    pub(super) fn finish(&mut self, out: &mut impl FnMut(Piece, &str)) {
        let rest = std::mem::take(&mut self.pending);
        match self.mode {
            Mode::Start | Mode::Text | Mode::AfterThink => {
                if !rest.is_empty() {
                    out(Piece::Text, &rest);
                }
            }
            Mode::Thinking => self.emit_thinking(&rest, out),
        }
    }

    fn step(&mut self, s: &str, out: &mut impl FnMut(Piece, &str)) {
        match self.mode {
            Mode::Start => {
                let t = s.trim_start();
                if let Some(rest) = t.strip_prefix(OPEN) {
                    self.mode = Mode::Thinking;
                    self.step(rest, out);
                } else if t.is_empty() || OPEN.starts_with(t) {
                    self.pending.push_str(s);
                } else {
                    self.mode = Mode::Text;
                    out(Piece::Text, s);
                }
            }
            Mode::Thinking => match s.find(CLOSE) {
                Some(k) => {
                    self.emit_thinking(&s[..k], out);
                    self.mode = Mode::AfterThink;
                    self.step(&s[k + CLOSE.len()..], out);
                }
                None => {
                    let keep = partial_suffix(s, CLOSE);
                    let (now, later) = s.split_at(s.len() - keep);
                    self.emit_thinking(now, out);
                    self.pending.push_str(later);
                }
            },
            Mode::AfterThink => {
                let t = s.trim_start();
                if !t.is_empty() {
                    self.mode = Mode::Text;
                    out(Piece::Text, t);
                }
            }
            Mode::Text => out(Piece::Text, s),
        }
    }

    fn emit_thinking(&mut self, s: &str, out: &mut impl FnMut(Piece, &str)) {
        let s = if self.thought { s } else { s.trim_start() };
        if !s.is_empty() {
            self.thought = true;
            out(Piece::Thinking, s);
        }
    }
}

/// The length of the longest end of `s` that is a proper start of `tag` (a tag that may be
/// completed by the next piece).
fn partial_suffix(s: &str, tag: &str) -> usize {
    (1..tag.len())
        .rev()
        .find(|&n| {
            n <= s.len() && s.is_char_boundary(s.len() - n) && tag.starts_with(&s[s.len() - n..])
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pieces of `deltas`, adjacent pieces of one kind merged.
    fn split(deltas: &[&str]) -> Vec<(Piece, String)> {
        let mut s = ThinkSplitter::default();
        let mut got: Vec<(Piece, String)> = Vec::new();
        let mut out = |p: Piece, t: &str| match got.last_mut() {
            Some((q, acc)) if *q == p => acc.push_str(t),
            _ => got.push((p, t.to_string())),
        };
        for d in deltas {
            s.feed(d, &mut out);
        }
        s.finish(&mut out);
        got
    }

    fn both(thinking: &str, text: &str) -> Vec<(Piece, String)> {
        vec![
            (Piece::Thinking, thinking.to_string()),
            (Piece::Text, text.to_string()),
        ]
    }

    #[test]
    fn tags_split_anywhere_give_the_same_pieces() {
        let whole = "<think>\nThe user wants 2+2.\n</think>\n\nIt is 4.";
        assert_eq!(split(&[whole]), both("The user wants 2+2.\n", "It is 4."));
        // Every two-way and three-way split of the stream.
        for i in 0..=whole.len() {
            for j in i..=whole.len() {
                let parts = [&whole[..i], &whole[i..j], &whole[j..]];
                assert_eq!(
                    split(&parts),
                    both("The user wants 2+2.\n", "It is 4."),
                    "split at {i}, {j}: {parts:?}"
                );
            }
        }
    }

    #[test]
    fn one_byte_at_a_time_with_multibyte_text() {
        let whole = "  <think>café ☕ </thin</think>naïve";
        let chars: Vec<String> = whole.chars().map(String::from).collect();
        let refs: Vec<&str> = chars.iter().map(String::as_str).collect();
        assert_eq!(split(&refs), both("café ☕ </thin", "naïve"));
    }

    #[test]
    fn an_answer_without_tags_is_text_unchanged() {
        assert_eq!(
            split(&["\n", "Hello <think> is a tag", "</think>"]),
            vec![(Piece::Text, "\nHello <think> is a tag</think>".into())]
        );
        assert_eq!(
            split(&["<thi", "s is not"]),
            vec![(Piece::Text, "<this is not".into())]
        );
        // A chunk that opens with the tag after the answer began is still the answer.
        assert_eq!(
            split(&["Sure. ", "<think>not a thought</think>"]),
            vec![(Piece::Text, "Sure. <think>not a thought</think>".into())]
        );
        // A stream that ends inside a partial tag keeps it as text.
        assert_eq!(split(&["<thin"]), vec![(Piece::Text, "<thin".into())]);
    }

    #[test]
    fn unclosed_thinking_stays_thinking() {
        assert_eq!(
            split(&["<think>still going </thi"]),
            vec![(Piece::Thinking, "still going </thi".into())]
        );
        assert_eq!(
            split(&["<think>", "</think>", "answer"]),
            vec![(Piece::Text, "answer".into())]
        );
    }
}
