//! Streaming Markdown: the answer arrives in pieces; every *complete* source line is rendered
//! and committed to the scrollback at once, the unfinished last line is shown live. Blocks are
//! read line by line (headings, lists, quotes, rules, fenced code with highlighting); inline
//! markup (`**bold**`, `*em*`, `` `code` ``, links) goes through pulldown-cmark.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::highlight;
use crate::text::{Color, Line, Style};

#[derive(Default)]
pub struct Markdown {
    /// Source not yet committed: the unfinished last line.
    pending: String,
    /// Inside a fenced code block: its fence (```` ``` ```` or `~~~`) and highlighter.
    code: Option<(String, highlight::Block)>,
}

impl Markdown {
    pub fn new() -> Markdown {
        Markdown::default()
    }

    pub fn push(&mut self, delta: &str) {
        self.pending.push_str(delta);
    }

    /// Whether nothing is waiting (neither a line nor an open code block).
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.code.is_none()
    }

    /// The complete lines received so far, rendered at `width`; the unfinished one stays.
    pub fn take_complete(&mut self, width: usize) -> Vec<Line> {
        let Some(last_nl) = self.pending.rfind('\n') else {
            return Vec::new();
        };
        let done: String = self.pending.drain(..=last_nl).collect();
        let mut out = Vec::new();
        for line in done.split_terminator('\n') {
            self.line(line.trim_end_matches('\r'), width, &mut out);
        }
        out
    }

    /// The unfinished last line as it would render now (shown live, not committed).
    pub fn preview(&self, width: usize) -> Vec<Line> {
        if self.pending.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        match &self.code {
            Some(_) => out.push(code_row(Line::styled(
                crate::text::expand_tabs(&self.pending).into_owned(),
                Style::fg(Color::Cyan),
            ))),
            None => out.extend(render_block_line(&self.pending, width)),
        }
        out.into_iter()
            .flat_map(|l| l.wrap(width, &Line::new()))
            .collect()
    }

    /// The end of the answer: everything left, rendered.
    pub fn finish(&mut self, width: usize) -> Vec<Line> {
        let mut out = self.take_complete(width);
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.line(&rest, width, &mut out);
        }
        self.code = None;
        out
    }

    fn line(&mut self, src: &str, width: usize, out: &mut Vec<Line>) {
        let trimmed = src.trim_start();
        if let Some((fence, hl)) = &mut self.code {
            if trimmed.starts_with(fence.as_str()) && trimmed.trim_end() == fence.as_str() {
                self.code = None;
                return;
            }
            let row = code_row(hl.line(&crate::text::expand_tabs(src)));
            // Code is not re-flowed: long lines are cut by the screen, not wrapped.
            out.push(row);
            return;
        }
        if let Some(fence) = ["```", "~~~"].iter().find(|f| trimmed.starts_with(**f)) {
            let lang = trimmed.trim_start_matches(['`', '~']).trim();
            let ticks: String = trimmed
                .chars()
                .take_while(|c| *c == fence.chars().next().unwrap_or('`'))
                .collect();
            self.code = Some((ticks, highlight::Block::new(lang)));
            return;
        }
        for l in render_block_line(src, width) {
            let indent = hanging_indent(&l);
            out.extend(l.wrap(width, &indent));
        }
    }
}

fn code_row(mut line: Line) -> Line {
    let mut row = Line::plain("  ");
    row.spans.append(&mut line.spans);
    row
}

/// A list item's or quote's continuation rows line up under its text.
fn hanging_indent(l: &Line) -> Line {
    let text = l.text();
    let body = text.trim_start();
    let lead = text.len() - body.len();
    let marker = if body.starts_with("• ") || body.starts_with("☐ ") || body.starts_with("☑ ")
    {
        2
    } else {
        let digits = body.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && body[digits..].starts_with(". ") {
            digits + 2
        } else if body.starts_with("│ ") {
            return Line::styled("│ ", Style::fg(Color::Gray));
        } else {
            return Line::new();
        }
    };
    Line::plain(" ".repeat(lead + marker))
}

/// One source line outside code: its block form, then its inline markup.
fn render_block_line(src: &str, width: usize) -> Vec<Line> {
    let trimmed = src.trim_start();
    let lead = src.len() - trimmed.len();
    if trimmed.is_empty() {
        return vec![Line::new()];
    }
    if is_rule(trimmed) {
        return vec![Line::styled(
            "─".repeat(width.min(80)),
            Style::fg(Color::Gray),
        )];
    }
    if let Some(level) = heading_level(trimmed) {
        let text = trimmed[level..].trim().trim_end_matches('#').trim();
        let style = if level == 1 {
            Style::fg(Color::Magenta).bold().underline()
        } else {
            Style::fg(Color::Magenta).bold()
        };
        return vec![inline(text, style)];
    }
    if let Some(rest) = trimmed
        .strip_prefix("> ")
        .or(trimmed.strip_prefix('>').filter(|r| r.is_empty()))
    {
        let mut l = Line::styled("│ ", Style::fg(Color::Gray));
        l.extend(inline(rest, Style::PLAIN.italic()));
        return vec![l];
    }
    let indent = " ".repeat(lead);
    for bullet in ["- ", "* ", "+ "] {
        if let Some(rest) = trimmed.strip_prefix(bullet) {
            let (mark, rest) = match rest.strip_prefix("[ ] ") {
                Some(r) => ("☐ ", r),
                None => match rest
                    .strip_prefix("[x] ")
                    .or_else(|| rest.strip_prefix("[X] "))
                {
                    Some(r) => ("☑ ", r),
                    None => ("• ", rest),
                },
            };
            let mut l = Line::plain(format!("{indent}{mark}"));
            l.extend(inline(rest, Style::PLAIN));
            return vec![l];
        }
    }
    let digits = trimmed.chars().take_while(char::is_ascii_digit).count();
    if digits > 0
        && let Some(rest) = trimmed[digits..]
            .strip_prefix(". ")
            .or_else(|| trimmed[digits..].strip_prefix(") "))
    {
        let mut l = Line::plain(format!("{indent}{}. ", &trimmed[..digits]));
        l.extend(inline(rest, Style::PLAIN));
        return vec![l];
    }
    let mut l = Line::plain(indent);
    l.extend(inline(trimmed, Style::PLAIN));
    vec![l]
}

fn is_rule(s: &str) -> bool {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    s.len() >= 3
        && (s.chars().all(|c| c == '-')
            || s.chars().all(|c| c == '*')
            || s.chars().all(|c| c == '_'))
}

fn heading_level(s: &str) -> Option<usize> {
    let n = s.chars().take_while(|c| *c == '#').count();
    ((1..=6).contains(&n) && s[n..].starts_with(' ')).then_some(n)
}

/// Inline markup of one line, on top of `base`.
fn inline(text: &str, base: Style) -> Line {
    let mut line = Line::new();
    let mut stack: Vec<Style> = vec![base];
    let mut link: Option<String> = None;
    let opts = Options::ENABLE_STRIKETHROUGH;
    for ev in Parser::new_ext(text, opts) {
        let cur = *stack.last().unwrap_or(&base);
        match ev {
            Event::Text(t) => {
                line.push(crate::text::expand_tabs(&t).into_owned(), cur);
            }
            Event::Code(t) => {
                line.push(t.to_string(), Style::fg(Color::Cyan));
            }
            Event::Start(Tag::Strong) => stack.push(cur.bold()),
            Event::Start(Tag::Emphasis) => stack.push(cur.italic()),
            Event::Start(Tag::Strikethrough) => stack.push(cur.dim()),
            Event::Start(Tag::Link { dest_url, .. }) => {
                stack.push(Style::fg(Color::Blue).underline());
                link = Some(dest_url.to_string());
            }
            Event::End(TagEnd::Link) => {
                stack.pop();
                if let Some(url) = link.take() {
                    let shown = line.text();
                    if !shown.ends_with(url.as_str()) {
                        line.push(format!(" ({url})"), Style::fg(Color::Gray));
                    }
                }
            }
            Event::End(TagEnd::Strong | TagEnd::Emphasis | TagEnd::Strikethrough) => {
                stack.pop();
            }
            Event::SoftBreak | Event::HardBreak => {
                line.push(" ", cur);
            }
            Event::Html(t) | Event::InlineHtml(t) => {
                line.push(t.to_string(), cur);
            }
            _ => {}
        }
    }
    if line.spans.is_empty() && !text.is_empty() {
        line.push(text, base);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn texts(v: &[Line]) -> Vec<String> {
        v.iter().map(Line::text).collect()
    }

    #[test]
    fn only_complete_lines_are_committed_and_the_rest_is_previewed() {
        let mut m = Markdown::new();
        m.push("Hello **wor");
        assert!(m.take_complete(40).is_empty());
        assert_eq!(texts(&m.preview(40)), ["Hello **wor"]);
        m.push("ld**!\nNext");
        let done = m.take_complete(40);
        assert_eq!(texts(&done), ["Hello world!"]);
        assert!(
            done[0]
                .spans
                .iter()
                .any(|s| s.style.bold && s.text == "world")
        );
        assert_eq!(texts(&m.finish(40)), ["Next"]);
        assert!(m.is_idle());
    }

    #[test]
    fn blocks_lists_quotes_rules_and_headings() {
        let mut m = Markdown::new();
        m.push(
            "# Title\n- one\n- [x] done\n2. two\n> quoted\n---\nplain `code` [site](https://x.y)\n",
        );
        let out = texts(&m.take_complete(30));
        assert_eq!(
            out,
            [
                "Title",
                "• one",
                "☑ done",
                "2. two",
                "│ quoted",
                &"─".repeat(30),
                "plain code site (https://x.y)"
            ]
        );
    }

    #[test]
    fn list_items_wrap_under_their_text() {
        let mut m = Markdown::new();
        m.push("- a list item that is long enough to wrap\n");
        let out = texts(&m.take_complete(20));
        assert_eq!(out, ["• a list item that", "  is long enough to", "  wrap"]);
    }

    #[test]
    fn code_fences_stream_line_by_line_highlighted_and_indented() {
        let mut m = Markdown::new();
        m.push("```rust\nfn main() {\n");
        let out = m.take_complete(40);
        assert_eq!(texts(&out), ["  fn main() {"]);
        assert!(out[0].spans.len() > 2, "highlighted: {:?}", out[0]);
        m.push("    let x = 1;\n```\nafter\n");
        assert_eq!(texts(&m.take_complete(40)), ["      let x = 1;", "after"]);
        // A fence that never closes ends with the answer.
        m.push("```\nraw");
        assert_eq!(texts(&m.finish(40)), ["  raw"]);
    }

    #[test]
    fn long_paragraphs_wrap_at_words() {
        let mut m = Markdown::new();
        m.push("one two three four five six\n");
        assert_eq!(
            texts(&m.take_complete(10)),
            ["one two", "three four", "five six"]
        );
    }
}
