//! Standard input of a one-shot run (docs/agent.md "Piped input"): the prompt when none is
//! given, else context sent with the prompt, as `codex exec` does (`cat log | sx -p
//! "explain"`). Read only when it is not a terminal, and never more than [`CAP`] bytes.

use std::io::{IsTerminal, Read};

use crate::Failure;

/// The most sx reads from standard input: 1 MiB, about 250 000 tokens — as much as the largest
/// context windows hold, so more could not be sent anyway; reading stops there, so an endless
/// stream (`yes | sx -p …`) cannot hang the run.
pub const CAP: usize = 1 << 20;

/// What was read.
#[derive(Debug, PartialEq, Eq)]
pub struct Piped {
    pub text: String,
    /// More followed the first [`CAP`] bytes, which is all that was read.
    pub cut: bool,
}

/// Read at most [`CAP`] bytes of UTF-8 text (a leading byte-order mark dropped; a character
/// split by the cap dropped whole). Not UTF-8 is an error naming the offset of the bad byte.
pub fn read_bounded(input: impl Read) -> Result<Piped, String> {
    let mut bytes = Vec::new();
    input
        .take(CAP as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    let cut = bytes.len() > CAP;
    bytes.truncate(CAP);
    let body = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(&bytes);
    let text = match std::str::from_utf8(body) {
        Ok(s) => s,
        // Only the cap cut this character: keep what comes before it.
        Err(e) if cut && e.error_len().is_none() => {
            std::str::from_utf8(&body[..e.valid_up_to()]).expect("valid up to here")
        }
        Err(e) => {
            return Err(format!(
                "standard input is not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            ));
        }
    };
    Ok(Piped {
        text: text.to_string(),
        cut,
    })
}

/// Standard input when it is not a terminal (`None` on a terminal: nothing is read). A cut is
/// reported on stderr, one line.
pub fn read_piped() -> Result<Option<Piped>, Failure> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    let piped = read_bounded(stdin.lock()).map_err(|why| {
        Failure::usage(format!(
            "{why}; pipe UTF-8 text (convert with iconv -t UTF-8), or pass the prompt as an argument"
        ))
    })?;
    if piped.cut {
        crate::stderr_line(format_args!("sx: {}", cut_note()));
    }
    Ok(Some(piped))
}

/// The prompt with piped context after it, in `codex exec`'s shape: the prompt, a blank line,
/// then the input between `<stdin>` and `</stdin>` (with a closing line saying so when it was
/// cut). Empty or blank input adds nothing.
pub fn with_context(prompt: String, piped: &Piped) -> String {
    if piped.text.trim().is_empty() {
        return prompt;
    }
    let mut out = String::with_capacity(prompt.len() + piped.text.len() + 96);
    out.push_str(&prompt);
    out.push_str("\n\n<stdin>\n");
    out.push_str(&piped.text);
    if !piped.text.ends_with('\n') {
        out.push('\n');
    }
    if piped.cut {
        out.push_str(CUT_LINE);
        out.push('\n');
    }
    out.push_str("</stdin>");
    out
}

/// The line that ends cut context, for the model.
pub const CUT_LINE: &str = "[standard input was cut here: only its first 1 MiB was read]";

/// The stderr note for cut input (without the `sx: ` prefix).
pub fn cut_note() -> String {
    "standard input is longer than 1 MiB; only its first 1 MiB is used \
     (to send another part, pipe just that part, e.g. tail -c 1000000 FILE | sx -p …)"
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_everything_up_to_the_cap() {
        let p = read_bounded(&b"\xEF\xBB\xBFline 1\nline 2\n"[..]).unwrap();
        assert_eq!(p.text, "line 1\nline 2\n");
        assert!(!p.cut);
        let exact = vec![b'a'; CAP];
        let p = read_bounded(exact.as_slice()).unwrap();
        assert_eq!((p.text.len(), p.cut), (CAP, false));
    }

    #[test]
    fn stops_at_the_cap_and_drops_a_split_character() {
        let mut long = vec![b'a'; CAP - 1];
        long.extend_from_slice("é and more".as_bytes());
        let p = read_bounded(long.as_slice()).unwrap();
        assert!(p.cut);
        assert_eq!(p.text.len(), CAP - 1, "the split é is dropped whole");
        // an endless reader ends too
        let p = read_bounded(std::io::repeat(b'y')).unwrap();
        assert_eq!((p.text.len(), p.cut), (CAP, true));
    }

    #[test]
    fn not_utf8_is_an_error_naming_the_offset() {
        let e = read_bounded(&b"ok\xFFno"[..]).unwrap_err();
        assert_eq!(
            e,
            "standard input is not UTF-8 text (invalid byte at offset 2)"
        );
    }

    #[test]
    fn context_follows_the_prompt_in_a_stdin_block() {
        let piped = |text: &str, cut| Piped {
            text: text.into(),
            cut,
        };
        assert_eq!(
            with_context("explain".into(), &piped("E1\nE2", false)),
            "explain\n\n<stdin>\nE1\nE2\n</stdin>"
        );
        assert_eq!(
            with_context("explain".into(), &piped("E1\n", true)),
            format!("explain\n\n<stdin>\nE1\n{CUT_LINE}\n</stdin>")
        );
        assert_eq!(
            with_context("explain".into(), &piped(" \n", false)),
            "explain"
        );
    }
}
