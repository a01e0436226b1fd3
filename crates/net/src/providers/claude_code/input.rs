//! What goes on the CLI's stdin: one `stream-json` user message,
//! `{"type":"user","message":{"role":"user","content":[…]}}`, with the user's text and images
//! as Messages content blocks (docs/providers.md, "claude_code").
//!
//! Claude Code keeps its own history, so a turn sends only the newest user message. When there
//! is no CLI session yet but sx's transcript has earlier messages (the session began on another
//! provider), a compact text summary of them goes first, in the same message, so the model
//! knows what came before. It is bounded the way compaction bounds its note
//! (`crates/agent/src/compact.rs`): long entries keep their head and tail, and when the whole
//! would be too long the first request and the latest entries are kept.

use serde_json::{Value, json};

use crate::error::ProviderError;
use crate::model::{Block, Image, Message, Request, Role};

/// Longest single entry of the summary, in characters.
const MAX_ENTRY: usize = 2_000;
/// Longest summary, in characters.
const MAX_SUMMARY: usize = 24_000;

/// The stdin line (with its newline) for the newest user message of `req`; `with_history`
/// adds the summary of what came before it.
pub fn user_line(req: &Request<'_>, with_history: bool) -> Result<Vec<u8>, ProviderError> {
    let Some((last, earlier)) = req
        .messages
        .split_last()
        .filter(|(m, _)| m.role == Role::User)
    else {
        return Err(ProviderError::Cli {
            message: "there is no new user message to send to Claude Code; type a prompt".into(),
        });
    };
    let mut content = Vec::new();
    if with_history && !earlier.is_empty() {
        content.push(json!({"type": "text", "text": summary(earlier)}));
    }
    for b in &last.content {
        match b {
            Block::Text { text, .. } => content.push(json!({"type": "text", "text": text})),
            Block::Image(img) => push_image(&mut content, img),
            // The newest message of a provider that runs its own tools is the user's input;
            // anything else in it is shown to the model as text.
            Block::ToolResult(r) => {
                content.push(json!({"type": "text", "text": r.output}));
                for img in &r.images {
                    push_image(&mut content, img);
                }
            }
            Block::Thinking(_) | Block::ToolCall(_) => {}
        }
    }
    let line = json!({
        "type": "user",
        "message": {"role": "user", "content": content},
        "parent_tool_use_id": null,
    });
    let mut bytes = serde_json::to_vec(&line).expect("a JSON value serializes");
    bytes.push(b'\n');
    Ok(bytes)
}

fn push_image(content: &mut Vec<Value>, img: &Image) {
    if let Some(name) = &img.name {
        // The model sees the file's name next to the image, as on the Messages wire.
        content.push(json!({"type": "text", "text": format!("[Image: {name}]")}));
    }
    content.push(json!({"type": "image", "source": {
        "type": "base64", "media_type": img.media_type, "data": img.data}}));
}

/// The earlier conversation as plain text, bounded.
pub fn summary(messages: &[Message]) -> String {
    let entries: Vec<String> = messages.iter().flat_map(entries_of).collect();
    let head = "[Earlier in this conversation, before it moved to Claude Code; for context, \
                Claude Code's tools did not take part in it]";
    let mut out = String::from(head);
    let total: usize = entries.iter().map(|e| e.chars().count() + 2).sum();
    if total + head.len() <= MAX_SUMMARY || entries.len() < 2 {
        for e in &entries {
            out.push_str("\n\n");
            out.push_str(e);
        }
        return out;
    }
    // The first entry (the original request) and as many of the latest as fit.
    let first = &entries[0];
    let mut room = MAX_SUMMARY.saturating_sub(head.len() + first.chars().count() + 80);
    let mut tail = Vec::new();
    for e in entries[1..].iter().rev() {
        let n = e.chars().count() + 2;
        if n > room {
            break;
        }
        room -= n;
        tail.push(e);
    }
    let left_out = entries.len() - 1 - tail.len();
    out.push_str("\n\n");
    out.push_str(first);
    out.push_str(&format!("\n\n[… {left_out} earlier entries left out …]"));
    for e in tail.iter().rev() {
        out.push_str("\n\n");
        out.push_str(e);
    }
    out
}

fn entries_of(m: &Message) -> Vec<String> {
    let who = match m.role {
        Role::User => "User",
        Role::Assistant => "Assistant",
    };
    let mut out = Vec::new();
    for b in &m.content {
        match b {
            Block::Text { text, .. } if !text.trim().is_empty() => {
                out.push(format!("{who}: {}", bounded(text)));
            }
            Block::Image(img) => out.push(format!(
                "{who}: [an image{}]",
                img.name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            )),
            Block::ToolCall(c) => out.push(format!(
                "Assistant called {} {}",
                c.name,
                bounded(&c.arguments)
            )),
            Block::ToolResult(r) => out.push(format!(
                "Result of {}{}: {}",
                if r.name.is_empty() {
                    &r.call_id
                } else {
                    &r.name
                },
                if r.is_error { " (error)" } else { "" },
                bounded(&r.output)
            )),
            Block::Text { .. } | Block::Thinking(_) => {}
        }
    }
    out
}

/// `s`, or its head and tail around a marker when longer than [`MAX_ENTRY`].
fn bounded(s: &str) -> String {
    if s.chars().count() <= MAX_ENTRY {
        return s.to_string();
    }
    let head: String = s.chars().take(MAX_ENTRY / 2).collect();
    let mut tail: Vec<char> = s.chars().rev().take(MAX_ENTRY / 2).collect();
    tail.reverse();
    let tail: String = tail.into_iter().collect();
    format!("{head}\n[… middle elided …]\n{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ToolCall, ToolResult};

    fn req(messages: &[Message]) -> Request<'_> {
        Request {
            model: "m",
            system: "sx's own prompt",
            messages,
            tools: &[],
            effort: None,
            thinking: true,
            session_id: "s",
            turn_id: "t",
            max_output_tokens: None,
            provider_session: None,
        }
    }

    fn parse(line: &[u8]) -> Value {
        assert_eq!(line.last(), Some(&b'\n'));
        assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1, "one line");
        serde_json::from_slice(line).unwrap()
    }

    #[test]
    fn the_newest_message_goes_as_text_and_base64_images() {
        let msgs = [Message {
            role: Role::User,
            content: vec![
                Block::text("what is this?"),
                Block::Image(Image {
                    media_type: "image/png".into(),
                    data: "iVBORw0KGgo=".into(),
                    name: Some("shot.png".into()),
                }),
            ],
            usage: None,
        }];
        let v = parse(&user_line(&req(&msgs), true).unwrap());
        assert_eq!(
            v,
            json!({"type": "user", "parent_tool_use_id": null, "message": {"role": "user", "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "text", "text": "[Image: shot.png]"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            ]}})
        );
        assert!(
            !String::from_utf8_lossy(&user_line(&req(&msgs), true).unwrap())
                .contains("sx's own prompt")
        );
    }

    #[test]
    fn earlier_history_is_summarised_only_without_a_cli_session() {
        let msgs = [
            Message::user_text("list the files"),
            Message {
                role: Role::Assistant,
                content: vec![Block::ToolCall(ToolCall::function(
                    "c1",
                    "bash",
                    r#"{"command":"ls"}"#,
                ))],
                usage: None,
            },
            Message {
                role: Role::User,
                content: vec![Block::ToolResult(ToolResult {
                    call_id: "c1".into(),
                    name: "bash".into(),
                    output: "a.txt".into(),
                    is_error: false,
                    images: vec![],
                })],
                usage: None,
            },
            Message {
                role: Role::Assistant,
                content: vec![Block::text("There is a.txt.")],
                usage: None,
            },
            Message::user_text("and now?"),
        ];
        let v = parse(&user_line(&req(&msgs), true).unwrap());
        let content = v["message"]["content"].as_array().unwrap();
        assert_eq!(content.len(), 2);
        let s = content[0]["text"].as_str().unwrap();
        assert!(s.starts_with("[Earlier in this conversation"), "{s}");
        assert!(
            s.ends_with(
                "User: list the files\n\nAssistant called bash {\"command\":\"ls\"}\n\nResult of bash: a.txt\n\nAssistant: There is a.txt."
            ),
            "{s}"
        );
        assert_eq!(content[1]["text"], "and now?");
        let v = parse(&user_line(&req(&msgs), false).unwrap());
        assert_eq!(
            v["message"]["content"],
            json!([{"type": "text", "text": "and now?"}])
        );
    }

    #[test]
    fn a_long_history_keeps_the_first_request_and_the_latest_entries() {
        let mut msgs = vec![Message::user_text("the original request")];
        for i in 0..100 {
            msgs.push(Message::user_text(format!(
                "step {i} {}",
                "x".repeat(5_000)
            )));
        }
        let s = summary(&msgs);
        assert!(s.chars().count() <= MAX_SUMMARY, "{}", s.chars().count());
        assert!(s.contains("User: the original request\n\n[… "));
        assert!(s.contains("earlier entries left out …]"));
        assert!(s.contains("step 99 "));
        assert!(!s.contains("step 0 "));
        assert!(
            s.contains("[… middle elided …]"),
            "long entries keep head and tail"
        );
    }

    #[test]
    fn an_assistant_message_last_is_not_sent() {
        let msgs = [Message {
            role: Role::Assistant,
            content: vec![Block::text("hi")],
            usage: None,
        }];
        let e = user_line(&req(&msgs), true).unwrap_err();
        assert!(e.to_string().contains("no new user message"), "{e}");
    }
}
