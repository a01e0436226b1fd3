//! Text on its way to a person's terminal (docs/reliability.md, "Leftovers"): a model's answer,
//! an error body quoted in a message, a tool's output line can carry terminal control bytes —
//! `ESC [ … m` that recolours the screen, `ESC ] 52 ; c ; …` (OSC 52) that writes the
//! clipboard, a BEL, a C1 CSI. On a terminal they are removed (line breaks and tabs stay);
//! into a pipe or a file the text goes exactly as it came (`stream-json` stays byte-exact).

use std::borrow::Cow;
use std::io::IsTerminal;
use std::sync::OnceLock;

/// `s` without control characters other than `\n` and `\t`: C0 (ESC, BEL, CR, …), DEL and
/// C1 (U+0080–U+009F). Borrowed when there is nothing to remove.
pub fn strip_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().filter(|c| !is_unsafe(*c)).collect())
}

fn is_unsafe(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// Whether stdout is a terminal (asked once).
pub fn stdout_is_terminal() -> bool {
    static T: OnceLock<bool> = OnceLock::new();
    *T.get_or_init(|| std::io::stdout().is_terminal())
}

/// Whether stderr is a terminal (asked once).
pub fn stderr_is_terminal() -> bool {
    static T: OnceLock<bool> = OnceLock::new();
    *T.get_or_init(|| std::io::stderr().is_terminal())
}

/// A line for stderr: known secrets masked, control characters removed on a terminal.
pub fn stderr_text(s: &str) -> Cow<'_, str> {
    let masked = sx_config::secrets::mask(s);
    if !stderr_is_terminal() {
        return masked;
    }
    match masked {
        Cow::Borrowed(b) => strip_controls(b),
        Cow::Owned(o) => Cow::Owned(strip_controls(&o).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_osc52_bel_cr_and_c1_go_newlines_and_tabs_stay() {
        let hostile = "red \x1b[31mtext\x1b[0m\x1b]52;c;aGk=\x07 \u{9b}2J\rover\x7f\n\tnext";
        assert_eq!(
            strip_controls(hostile),
            "red [31mtext[0m]52;c;aGk= 2Jover\n\tnext"
        );
        assert!(matches!(
            strip_controls("plain ünïcode\n"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_panic_line_holding_a_secret_is_masked() {
        // The panic hook prints through `stderr_line`, which passes the line through here
        // (docs/reliability.md, secrets audit: panic paths).
        let secret = "sk-panic-path-secret-0123456789";
        sx_config::secrets::register(secret);
        let line = crate::internal_error_line(&format!("unwrap on {secret}"), " at x.rs:1");
        let shown = stderr_text(&line);
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains("unwrap on ***"), "{shown}");
    }
}
