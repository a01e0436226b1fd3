//! The CLI's recorded output (tests/fixtures/claude_code/) through the line state machine.

use pretty_assertions::assert_eq;

use super::*;
use crate::providers::claude_code::fast_line::value_end;

/// What the sink saw, one string per event.
fn show(ev: StreamEvent<'_>) -> String {
    match ev {
        StreamEvent::TextDelta(t) => format!("text {t}"),
        StreamEvent::ThinkingDelta(t) => format!("thinking {t}"),
        StreamEvent::RawThinkingDelta(t) => format!("raw {t}"),
        StreamEvent::ToolCallStarted { id, name } => format!("started {id} {name}"),
        StreamEvent::ToolCall(c) => format!("call {} {} {}", c.id, c.name, c.arguments),
        StreamEvent::ToolResult {
            id,
            name,
            output,
            is_error,
        } => format!("result {id} {name} {output:?} {is_error}"),
        StreamEvent::Usage(u) => format!(
            "usage in={} out={} read={} write={}",
            u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_tokens
        ),
        StreamEvent::Notice(n) => format!("notice {n}"),
        StreamEvent::RateLimits(_) | StreamEvent::Retry { .. } | StreamEvent::Thinking(_) => {
            "other".into()
        }
    }
}

/// Feed `text` (fixture syntax: `#stderr …` and `#exit N` lines are how the process ended).
fn feed(text: &str, show_thinking: bool) -> (Vec<String>, Result<Outcome, ProviderError>) {
    let mut out = CliOutput::new(show_thinking);
    let mut seen = Vec::new();
    let (mut stderr, mut exit) = (String::new(), "exited with status 0".to_string());
    for line in text.lines() {
        if let Some(s) = line.strip_prefix("#stderr ") {
            stderr.push_str(s);
            stderr.push('\n');
        } else if let Some(code) = line.strip_prefix("#exit ") {
            exit = format!("exited with status {code}");
        } else if let Err(e) = out.on_line(line, &mut |ev| seen.push(show(ev))) {
            return (seen, Err(e));
        }
    }
    (seen, out.finish(&exit, &stderr, "claude"))
}

fn fixture(name: &str) -> String {
    sx_testkit::fixture_str(&format!("claude_code/{name}"))
}

fn done(r: Result<Outcome, ProviderError>) -> Completion {
    match r {
        Ok(Outcome::Done(c)) => c,
        Ok(Outcome::StaleSession) => panic!("stale session"),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_text_turn_streams_its_deltas_and_ends_with_usage_cost_and_the_session() {
    let (seen, r) = feed(&fixture("text.jsonl"), true);
    assert_eq!(
        seen,
        [
            "text Hello ",
            "text from the mock.",
            "usage in=77 out=7 read=30 write=5",
            "notice Claude Code: this turn cost $0.0003 at API prices (1 model call)",
        ]
    );
    let c = done(r);
    assert_eq!(c.message.content, [Block::text("Hello from the mock.")]);
    assert_eq!(c.stop, StopReason::EndTurn);
    assert_eq!(c.usage.input_tokens, 77);
    assert_eq!(c.message.usage, Some(c.usage));
    assert_eq!(
        c.provider_session.as_deref(),
        Some("64c74e3f-2630-4888-9ab2-93193434711d")
    );
}

#[test]
fn thinking_streams_when_shown_and_is_kept_with_its_source() {
    let (seen, r) = feed(&fixture("thinking.jsonl"), true);
    assert_eq!(
        &seen[..4],
        [
            "thinking The user",
            "thinking  wants a greeting.",
            "text Hello ",
            "text from the mock."
        ]
    );
    let c = done(r);
    let Block::Thinking(t) = &c.message.content[0] else {
        panic!("{:?}", c.message.content);
    };
    assert_eq!(t.text, "The user wants a greeting.");
    assert_eq!(t.source, Some(ProviderId::ClaudeCode));
    assert_eq!(
        t.signature.as_deref(),
        Some("EqQBCkgIARABGAIiQLmockSignature0001+/==")
    );
    assert_eq!(c.message.content[1], Block::text("Hello from the mock."));
    // THINKING=0: not shown, still kept.
    let (seen, r) = feed(&fixture("thinking.jsonl"), false);
    assert!(seen.iter().all(|s| !s.starts_with("thinking")), "{seen:?}");
    assert_eq!(done(r).message.content.len(), 2);
}

#[test]
fn the_clis_tool_calls_and_results_are_activity_and_only_the_last_answer_is_kept() {
    let (seen, r) = feed(&fixture("tools.jsonl"), true);
    assert_eq!(
        seen,
        [
            "text Let me",
            "text  look.",
            "started toolu_01MockBash0001 Bash",
            r#"call toolu_01MockBash0001 Bash {"command":"cat notes.txt","description":"Show notes"}"#,
            r#"result toolu_01MockBash0001 Bash "hello" false"#,
            "text The fi",
            "text le says hello.",
            "usage in=154 out=39 read=60 write=10",
            "notice Claude Code: this turn cost $0.0009 at API prices (2 model calls)",
        ]
    );
    let c = done(r);
    assert_eq!(c.message.content, [Block::text("The file says hello.")]);
    assert_eq!(
        c.stop,
        StopReason::EndTurn,
        "never ToolUse: nothing is left to run"
    );
}

#[test]
fn refused_calls_are_a_notice_naming_the_fix() {
    let (seen, r) = feed(&fixture("denied.jsonl"), true);
    assert!(
        seen.iter().any(
            |s| s.starts_with("result toolu_01MockBash0001 Bash \"rm in") && s.ends_with("true")
        ),
        "{seen:?}"
    );
    assert!(
        seen.contains(&"notice Claude Code refused 1 tool call that needed permission (Bash): sx cannot answer its permission prompts; allow them with --yolo or APPROVAL=auto".to_string()),
        "{seen:?}"
    );
    done(r);
}

#[test]
fn a_signed_out_cli_is_exit_3_and_its_words_are_not_the_answer() {
    for name in ["not_logged_in.jsonl", "invalid_api_key.jsonl"] {
        let (seen, r) = feed(&fixture(name), true);
        assert!(seen.iter().all(|s| !s.starts_with("text")), "{seen:?}");
        let Err(e) = r else {
            panic!("{name} succeeded")
        };
        assert_eq!(e.exit_code(), 3, "{name}: {e}");
        let msg = e.to_string();
        assert!(msg.starts_with("Claude Code is not signed in ("), "{msg}");
        assert!(
            msg.contains("run `claude` and sign in with /login"),
            "{msg}"
        );
    }
}

#[test]
fn api_failures_keep_their_type() {
    let err = |name: &str| match feed(&fixture(name), true).1 {
        Err(e) => e,
        Ok(_) => panic!("{name} succeeded"),
    };
    let e = err("rate_limited.jsonl");
    assert!(matches!(e, ProviderError::RateLimited { .. }), "{e:?}");
    assert!(e.to_string().contains("per-minute rate limit"), "{e}");
    let e = err("overloaded.jsonl");
    assert!(
        matches!(e, ProviderError::Overloaded { status: 529, .. }),
        "{e:?}"
    );
    let e = err("prompt_too_long.jsonl");
    assert!(e.is_context_window_exceeded(), "{e:?}");
}

#[test]
fn a_resume_id_the_cli_does_not_know_is_a_stale_session() {
    let (_, r) = feed(&fixture("resume_missing.jsonl"), true);
    assert!(matches!(r, Ok(Outcome::StaleSession)));
}

#[test]
fn an_early_exit_without_a_result_quotes_stderr() {
    let (_, r) = feed(&fixture("root_bypass.jsonl"), true);
    let Err(e) = r else { panic!("succeeded") };
    assert_eq!(e.exit_code(), 1);
    assert_eq!(
        e.to_string(),
        "Claude Code (claude) exited with status 1 before it finished the turn: --dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons; as root, Claude Code refuses to skip permission prompts: run sx as a normal user, or use APPROVAL=ask instead of --yolo/APPROVAL=auto"
    );
}

#[test]
fn a_line_that_is_not_json_is_a_protocol_error() {
    let (_, r) = feed(
        "{\"type\":\"system\",\"subtype\":\"init\"}\nWarning: something\n",
        true,
    );
    let Err(e) = r else { panic!("succeeded") };
    assert!(matches!(e, ProviderError::Protocol { .. }), "{e:?}");
    assert!(e.to_string().contains("Warning: something"), "{e}");
}

#[test]
fn messages_that_were_not_streamed_are_shown_from_their_assistant_lines() {
    let text = concat!(
        r#"{"type":"system","subtype":"init","session_id":"s1"}"#,
        "\n",
        r#"{"type":"assistant","message":{"id":"m1","content":[{"type":"thinking","thinking":"hmm","signature":""},{"type":"text","text":"Done."}]},"parent_tool_use_id":null,"session_id":"s1"}"#,
        "\n",
        r#"{"type":"result","subtype":"success","is_error":false,"result":"Done.","session_id":"s1","total_cost_usd":0}"#,
    );
    let (seen, r) = feed(text, true);
    assert_eq!(
        seen,
        [
            "thinking hmm",
            "text Done.",
            "usage in=0 out=0 read=0 write=0"
        ]
    );
    assert_eq!(done(r).provider_session.as_deref(), Some("s1"));
}

#[test]
fn a_sub_agents_lines_add_only_tool_activity() {
    let text = concat!(
        r#"{"type":"stream_event","event":{"type":"message_start","message":{"id":"sub1"}},"parent_tool_use_id":"toolu_task"}"#,
        "\n",
        r#"{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"sub text"}},"parent_tool_use_id":"toolu_task"}"#,
        "\n",
        r#"{"type":"assistant","message":{"id":"sub1","content":[{"type":"text","text":"sub text"},{"type":"tool_use","id":"t2","name":"Grep","input":{"pattern":"x"}}]},"parent_tool_use_id":"toolu_task"}"#,
        "\n",
        r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t2","content":[{"type":"text","text":"a.rs"},{"type":"image"}]}]},"parent_tool_use_id":"toolu_task"}"#,
        "\n",
        r#"{"type":"system","subtype":"compact_boundary"}"#,
        "\n",
        r#"{"type":"result","subtype":"success","is_error":false,"result":"Found it.","session_id":"s2"}"#,
    );
    let (seen, r) = feed(text, true);
    assert_eq!(
        seen,
        [
            r#"call t2 Grep {"pattern":"x"}"#,
            "result t2 Grep \"a.rs\\n[image]\" false",
            "notice Claude Code compacted its conversation to fit the model's context window",
            "usage in=0 out=0 read=0 write=0",
        ]
    );
    // No top-level text reached sx: the result's words are the answer.
    assert_eq!(done(r).message.content, [Block::text("Found it.")]);
}

#[test]
fn output_that_ends_without_a_result_is_an_error() {
    let (_, r) = feed(
        &fixture("text.jsonl")
            .lines()
            .take(5)
            .collect::<Vec<_>>()
            .join("\n"),
        true,
    );
    let Err(e) = r else { panic!("succeeded") };
    assert!(
        e.to_string()
            .contains("before it finished the turn (it printed nothing on stderr)"),
        "{e}"
    );
}

/// The same lines with `type` and `event` not first: the general path.
fn reordered(text: &str) -> String {
    text.lines()
        .map(|l| {
            let Ok(Value::Object(m)) = serde_json::from_str::<Value>(l) else {
                return l.to_string();
            };
            let mut v: Vec<(String, Value)> = m.into_iter().collect();
            v.reverse();
            let inner: Vec<String> = v
                .iter()
                .map(|(k, v)| format!("{}:{v}", Value::String(k.clone())))
                .collect();
            format!("{{{}}}", inner.join(","))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_fast_path_for_stream_events_reads_what_the_general_path_reads() {
    for name in ["text.jsonl", "thinking.jsonl", "tools.jsonl"] {
        let text = fixture(name);
        let again = reordered(&text);
        assert!(!again.contains(r#"{"type":"stream_event","event""#));
        let (fast, a) = feed(&text, true);
        let (general, b) = feed(&again, true);
        assert_eq!(fast, general, "{name}");
        let (a, b) = (done(a), done(b));
        assert_eq!(a.message, b.message);
        assert_eq!(a.provider_session, b.provider_session);
    }
}

#[test]
fn the_fast_path_takes_strings_escapes_and_sub_agents_apart() {
    let line = r#"{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a } \" ] {"}},"session_id":"s9","parent_tool_use_id":null,"uuid":"u","ttft_ms":14}"#;
    let f = fast_stream_event(line).unwrap();
    assert!(f.event.ends_with(r#""a } \" ] {"}}"#), "{}", f.event);
    assert!(f.top);
    assert_eq!(f.session_id, Some("s9"));
    let sub = line.replace(
        r#""parent_tool_use_id":null"#,
        r#""parent_tool_use_id":"toolu_1""#,
    );
    assert!(!fast_stream_event(&sub).unwrap().top);
    // Another shape: left to the general path.
    assert!(fast_stream_event(r#"{"type":"stream_event","event":{"a":1},"x":1"#).is_none());
    assert!(fast_stream_event(r#"{"type":"assistant","message":{}}"#).is_none());
    assert_eq!(value_end(b"123,"), Some(3));
    assert_eq!(value_end(br#""a\"b"x"#), Some(6));
    assert_eq!(value_end(b"[1,[2],{}]x"), Some(10));
    assert_eq!(value_end(b"{"), None);
    // A sub-agent's deltas never reach the answer.
    let (seen, _) = feed(&sub, true);
    assert!(seen.is_empty(), "{seen:?}");
}

/// Found by fuzzing (docs/reliability.md, "Fuzzing"; the input is
/// tests/fixtures/fuzz/claude_code_lines/blank_after_null): blanks around the parent's `null`
/// made the fast path take a top-level delta for a sub-agent's and drop it.
#[test]
fn blanks_around_the_parents_null_keep_a_delta_top_level() {
    let text = fixture("text.jsonl");
    assert!(text.contains(r#""parent_tool_use_id":null,"#));
    let (want, _) = feed(&text, true);
    assert!(want.iter().any(|e| e.starts_with("text ")), "{want:?}");
    for blank in ["null ", " null", " null\t"] {
        let spaced = text.replace(
            r#""parent_tool_use_id":null,"#,
            &format!(r#""parent_tool_use_id":{blank},"#),
        );
        for line in spaced.lines() {
            assert!(fast_line_agrees(line), "{line}");
        }
        let (seen, _) = feed(&spaced, true);
        assert_eq!(seen, want, "{blank:?}");
    }
    let found = sx_testkit::fixture_str("fuzz/claude_code_lines/blank_after_null");
    for line in found.lines() {
        assert!(fast_line_agrees(line.trim()), "{line}");
    }
}
