//! The CLI's failures → typed errors, each one line saying what to do (docs/providers.md,
//! "claude_code"). The words are the CLI's own (tests/fixtures/claude_code/: a signed-out
//! `claude` answers "Not logged in · Please run /login", a rejected key "Invalid API key · …",
//! API failures "API Error: 529 Overloaded…", with the kind in the synthetic message's
//! `error` and the HTTP status in the result's `api_error_status`).

use super::output::ResultLine;
use crate::auth::AuthError;
use crate::error::{EXIT_AUTH, ProviderError};

/// Words of the CLI (its result or its stderr) that mean it cannot sign in.
const SIGNED_OUT: &[&str] = &[
    "/login",
    "not logged in",
    "invalid api key",
    "oauth token has expired",
    "oauth token has been revoked",
    "authentication_error",
];

fn signed_out(text: &str) -> bool {
    let lower = text.to_lowercase();
    SIGNED_OUT.iter().any(|w| lower.contains(w))
}

/// Exit 3: the user signs `claude` in; sx never touches its credentials.
fn not_signed_in(words: &str) -> ProviderError {
    ProviderError::Auth(AuthError::Source {
        detail: format!(
            "Claude Code is not signed in ({words}); run `claude` and sign in with /login (or fix the API key in its environment), then try again"
        ),
        retryable: false,
        exit: EXIT_AUTH,
    })
}

/// A `result` that says the turn failed. `kind` is the synthetic message's `error`, `text` the
/// CLI's words.
pub(super) fn result_error(
    kind: Option<&str>,
    r: &ResultLine,
    text: &str,
    stderr: &str,
) -> ProviderError {
    let status = r.api_error_status;
    let message = format!("Claude Code: {text}");
    if kind == Some("authentication_failed")
        || matches!(status, Some(401))
        || signed_out(text)
        || (text.is_empty() && signed_out(stderr))
    {
        return not_signed_in(if text.is_empty() { stderr } else { text });
    }
    if r.terminal_reason.as_deref() == Some("prompt_too_long")
        || text.starts_with("Prompt is too long")
    {
        return ProviderError::ContextWindowExceeded { message };
    }
    match (kind, status) {
        (Some("rate_limit"), _) | (_, Some(429)) => {
            let lower = text.to_lowercase();
            if lower.contains("usage limit") || lower.contains("hit your") {
                ProviderError::UsageLimitReached {
                    message: format!(
                        "{message}; wait until the limit resets, or switch provider (/provider, --provider)"
                    ),
                    resets_at: None,
                }
            } else {
                ProviderError::RateLimited {
                    message,
                    retry_after: None,
                }
            }
        }
        (Some("billing_error"), _) => ProviderError::QuotaExceeded { message },
        (_, Some(529)) => ProviderError::Overloaded {
            status: 529,
            message,
            retry_after: None,
        },
        (_, Some(s)) if s >= 500 => ProviderError::Server {
            status: s,
            message,
            retry_after: None,
        },
        (Some("server_error"), None) => ProviderError::Server {
            status: 500,
            message,
            retry_after: None,
        },
        _ => {
            let what = if r.subtype.is_empty() || r.subtype == "success" {
                kind.unwrap_or("error")
            } else {
                r.subtype.as_str()
            };
            let words = if text.is_empty() {
                stderr_words(stderr)
            } else {
                text.to_string()
            };
            ProviderError::Cli {
                message: format!(
                    "Claude Code stopped with an error ({what}): {words}; run `claude` in this directory to look into it"
                ),
            }
        }
    }
}

/// The CLI ended without a `result` line: it failed to start, crashed, or was killed. `exit`
/// is how it ended ("exited with status 1"), `stderr` the tail of what it printed there.
pub(super) fn no_result(bin: &str, exit: &str, stderr: &str) -> ProviderError {
    if signed_out(stderr) {
        return not_signed_in(&stderr_words(stderr));
    }
    let words = stderr_words(stderr);
    let said = if words.is_empty() {
        " (it printed nothing on stderr)".to_string()
    } else {
        format!(": {words}")
    };
    let fix = if stderr.contains("cannot be used with root/sudo privileges") {
        "as root, Claude Code refuses to skip permission prompts: run sx as a normal user, or use APPROVAL=ask instead of --yolo/APPROVAL=auto".to_string()
    } else {
        format!("run `{bin} -p hi` in this directory to see what is wrong")
    };
    ProviderError::Cli {
        message: format!("Claude Code ({bin}) {exit} before it finished the turn{said}; {fix}"),
    }
}

/// The last few lines of stderr as one line, bounded.
pub(super) fn stderr_words(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = lines[lines.len().saturating_sub(3)..].join(" / ");
    if tail.is_empty() {
        return tail;
    }
    crate::error_body::snippet(tail.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(status: Option<u16>) -> ResultLine {
        ResultLine {
            subtype: "success".into(),
            is_error: true,
            api_error_status: status,
            ..ResultLine::default()
        }
    }

    #[test]
    fn each_failure_is_typed_with_its_exit_code() {
        let e = result_error(
            Some("authentication_failed"),
            &result(None),
            "Not logged in · Please run /login",
            "",
        );
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("run `claude` and sign in"), "{e}");
        let e = result_error(
            Some("rate_limit"),
            &result(Some(429)),
            "API Error: Request rejected (429)",
            "",
        );
        assert!(matches!(e, ProviderError::RateLimited { .. }), "{e:?}");
        let e = result_error(
            Some("rate_limit"),
            &result(None),
            "You've hit your monthly limit",
            "",
        );
        assert!(
            matches!(e, ProviderError::UsageLimitReached { .. }),
            "{e:?}"
        );
        let e = result_error(
            Some("server_error"),
            &result(Some(529)),
            "API Error: 529",
            "",
        );
        assert!(matches!(e, ProviderError::Overloaded { status: 529, .. }));
        let e = result_error(Some("server_error"), &result(Some(502)), "bad gateway", "");
        assert!(matches!(e, ProviderError::Server { status: 502, .. }));
        let e = result_error(Some("billing_error"), &result(None), "credit", "");
        assert!(matches!(e, ProviderError::QuotaExceeded { .. }));
        let e = result_error(
            Some("invalid_request"),
            &result(Some(400)),
            "Prompt is too long · x",
            "",
        );
        assert!(e.is_context_window_exceeded());
        let mut r = result(None);
        r.subtype = "error_max_turns".into();
        let e = result_error(None, &r, "", "boom\n");
        assert_eq!(e.exit_code(), 1);
        assert_eq!(
            e.to_string(),
            "Claude Code stopped with an error (error_max_turns): boom; run `claude` in this directory to look into it"
        );
    }

    #[test]
    fn an_early_exit_names_the_binary_and_its_stderr() {
        let e = no_result(
            "claude",
            "exited with status 2",
            "warming up\n\nTypeError: x is undefined\n",
        );
        assert_eq!(
            e.to_string(),
            "Claude Code (claude) exited with status 2 before it finished the turn: warming up / TypeError: x is undefined; run `claude -p hi` in this directory to see what is wrong"
        );
        let e = no_result("claude", "was killed by signal 9", "");
        assert!(
            e.to_string().contains("(it printed nothing on stderr)"),
            "{e}"
        );
        let e = no_result(
            "claude",
            "exited with status 1",
            "Invalid API key · Please run /login",
        );
        assert_eq!(e.exit_code(), 3);
    }
}
