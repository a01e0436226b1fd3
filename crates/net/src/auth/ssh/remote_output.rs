//! What the remote commands said, turned into a token or one clear error line.

use crate::auth::{CodexToken, parse_token_document};
use crate::error::{EXIT_AUTH, EXIT_CONFIG, EXIT_RUNTIME};

/// A remote command's output beyond this is dropped (a token document is a few KiB).
const MAX_OUTPUT: usize = 1 << 20;
/// Remote text quoted in a message is cut to this many characters.
const MAX_QUOTE: usize = 300;

/// `(detail, retryable, exit code)` of an `AuthError::Source`.
pub(super) type Failure = (String, bool, u8);

/// One remote command's result.
#[derive(Debug, Default)]
pub(super) struct Output {
    pub(super) status: Option<u32>,
    pub(super) signal: Option<String>,
    pub(super) stdout: Vec<u8>,
    pub(super) stderr: Vec<u8>,
}

pub(super) fn push_capped(buf: &mut Vec<u8>, data: &[u8]) {
    let room = MAX_OUTPUT.saturating_sub(buf.len());
    buf.extend_from_slice(&data[..data.len().min(room)]);
}

impl Output {
    /// The shell did not find `scorpiox-codex-fetchtoken` (exit 127, or a "not found" message
    /// from a shell that exits otherwise).
    pub(super) fn command_not_found(&self) -> bool {
        if self.status == Some(127) {
            return true;
        }
        if self.status == Some(0) || error_line(&self.stderr).is_some() {
            return false;
        }
        let err = String::from_utf8_lossy(&self.stderr);
        err.contains("scorpiox-codex-fetchtoken") && err.contains("not found")
    }
}

/// The result of `scorpiox-codex-fetchtoken --source local` on `host`.
pub(super) fn interpret_fetch(host: &str, out: &Output) -> Result<CodexToken, Failure> {
    match (out.status, &out.signal) {
        (Some(0), _) => parse_output(&out.stdout).map_err(|why| {
            (
                format!(
                    "scorpiox-codex-fetchtoken on {host} printed something that is not a token ({why}); check the scorpiox version installed there"
                ),
                false,
                EXIT_RUNTIME,
            )
        }),
        (Some(code), _) => match error_line(&out.stderr) {
            Some(line) => {
                let exit = match code {
                    2 => EXIT_CONFIG,
                    3 => EXIT_AUTH,
                    _ => EXIT_RUNTIME,
                };
                Err((
                    format!("the Codex token on {host} could not be fetched: {line}"),
                    code == 1,
                    exit,
                ))
            }
            None => Err((
                format!(
                    "scorpiox-codex-fetchtoken on {host} failed with exit status {code}{}; run it there to see why",
                    quoted_tail(&out.stderr)
                ),
                false,
                EXIT_RUNTIME,
            )),
        },
        (None, Some(signal)) => Err((
            format!("scorpiox-codex-fetchtoken on {host} was killed by signal {signal}; try again"),
            true,
            EXIT_RUNTIME,
        )),
        (None, None) => Err((
            format!(
                "the ssh session to {host} ended before scorpiox-codex-fetchtoken reported how it went; try again"
            ),
            true,
            EXIT_RUNTIME,
        )),
    }
}

/// The result of `cat ~/.codex/auth.json` on `host`. Nothing on that host refreshes this
/// login, so an expired token is an error rather than something to send.
pub(super) fn interpret_fallback(
    host: &str,
    out: &Output,
    now: u64,
) -> Result<CodexToken, Failure> {
    if out.status != Some(0) {
        return Err((
            format!(
                "no Codex login found on {host}: scorpiox-codex-fetchtoken is not installed there and ~/.codex/auth.json could not be read{}; sign in on {host} (scorpiox-codex-login or codex login), or install scorpiox-codex-fetchtoken there",
                quoted_tail(&out.stderr)
            ),
            false,
            EXIT_AUTH,
        ));
    }
    let token = parse_output(&out.stdout).map_err(|why| {
        (
            format!(
                "~/.codex/auth.json on {host} is not a usable Codex login ({why}); sign in again on {host} (scorpiox-codex-login or codex login)"
            ),
            false,
            EXIT_AUTH,
        )
    })?;
    if token.expires_at.is_some_and(|e| e <= now) {
        return Err((
            format!(
                "the Codex token in ~/.codex/auth.json on {host} has expired, and nothing there refreshes it (scorpiox-codex-fetchtoken is not installed on {host}); install scorpiox-codex-fetchtoken on {host}, or sign in there again"
            ),
            false,
            EXIT_AUTH,
        ));
    }
    Ok(token)
}

/// The whole output as a token document, else its last line that looks like one (a login
/// script may print a banner first).
fn parse_output(stdout: &[u8]) -> Result<CodexToken, String> {
    parse_token_document(stdout, "ssh").or_else(|why| {
        let text = String::from_utf8_lossy(stdout);
        let last = text
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .filter(|l| l.starts_with('{') && l.len() < text.trim().len());
        match last {
            Some(line) => parse_token_document(line.as_bytes(), "ssh").map_err(|_| why),
            None => Err(why),
        }
    })
}

/// The last `error: …` line of a remote scorpiox command, without its prefix, made safe to
/// print.
pub(super) fn error_line(stderr: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stderr);
    text.lines()
        .rev()
        .find_map(|l| l.trim_end().strip_prefix("error: "))
        .map(sanitize)
}

/// ` (last line of stderr)`, or nothing.
fn quoted_tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    match text.lines().map(str::trim).rfind(|l| !l.is_empty()) {
        Some(l) => format!(" ({})", sanitize(l)),
        None => String::new(),
    }
}

/// Remote text as printable single-line text: control characters (terminal escapes) become
/// `?`, and it is cut to a sane length.
pub(super) fn sanitize(s: &str) -> String {
    let s = s.trim();
    let mut out: String = s
        .chars()
        .take(MAX_QUOTE)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().count() > MAX_QUOTE {
        out.push('…');
    }
    out
}
