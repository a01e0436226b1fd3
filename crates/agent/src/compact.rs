//! Context compaction, the C original's way: when the conversation no longer fits (the
//! provider says so, or the last request used more than the threshold), sx starts a fresh
//! session whose first message points at the old transcript and carries what the model needs
//! to go on — the original request, the files changed, the last answer and the latest tool
//! results. No extra model call is made (so compaction cannot itself fail for lack of room),
//! and nothing is lost: the old transcript stays on disk and the model can read it.

use std::path::Path;

use sxnet::model::{Block, Message, Role};

const MAX_SECTION: usize = 4_000;

/// The first message of the continuation session. `old_transcript`: where the full
/// conversation is saved (when sessions are on disk).
pub fn continuation(messages: &[Message], old_id: &str, old_transcript: Option<&Path>) -> Message {
    let mut note = String::from("[Context compacted] ");
    note.push_str(&format!(
        "This conversation continues session {old_id}, whose transcript no longer fit in the model's context window."
    ));
    match old_transcript {
        Some(p) => note.push_str(&format!(
            " The full transcript is saved at {} (JSON); read parts of it with read_file (offset/limit) or grep if you need earlier details.",
            p.display()
        )),
        None => note.push_str(" The earlier transcript is not available."),
    }
    let first = messages
        .iter()
        .position(|m| m.role == Role::User && has_text(m));
    if let Some(i) = first {
        section(&mut note, "Original request", &messages[i].text());
    }
    let changed = changed_files(messages);
    if !changed.is_empty() {
        section(&mut note, "Files changed so far", &changed.join("\n"));
    }
    if let Some(last) = messages
        .iter()
        .rev()
        .find(|m| m.role == Role::Assistant && has_text(m))
    {
        section(&mut note, "Your last message", &last.text());
    }
    // The latest user input: a new request, or the tool results the model has not seen yet.
    let mut images = Vec::new();
    let last_index = messages.len().checked_sub(1);
    if let Some(last) = messages.last().filter(|m| m.role == Role::User) {
        // When the latest input is the original request itself, its text is already above.
        let repeat = last_index == first;
        let mut latest = String::new();
        for b in &last.content {
            match b {
                Block::Text { text, .. } if !repeat => latest.push_str(text),
                Block::Text { .. } => {}
                Block::ToolResult(r) => {
                    latest.push_str(&format!(
                        "[result of call {}{}]\n{}\n",
                        r.call_id,
                        if r.is_error { ", error" } else { "" },
                        r.output
                    ));
                    images.extend(r.images.iter().cloned().map(Block::Image));
                }
                Block::Image(i) => images.push(Block::Image(i.clone())),
                Block::Thinking(_) | Block::ToolCall(_) => {}
            }
        }
        if !latest.is_empty() {
            section(&mut note, "Latest input (continue from here)", &latest);
        }
    }
    let mut content = vec![Block::text(note)];
    content.extend(images);
    Message {
        role: Role::User,
        content,
        usage: None,
    }
}

fn has_text(m: &Message) -> bool {
    m.content
        .iter()
        .any(|b| matches!(b, Block::Text { text, .. } if !text.trim().is_empty()))
}

fn section(note: &mut String, title: &str, body: &str) {
    note.push_str(&format!("\n\n## {title}\n"));
    if body.chars().count() > MAX_SECTION {
        let head: String = body.chars().take(MAX_SECTION / 2).collect();
        let tail: String = body
            .chars()
            .rev()
            .take(MAX_SECTION / 2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        note.push_str(&format!("{head}\n[… middle elided …]\n{tail}"));
    } else {
        note.push_str(body);
    }
}

/// Paths the file tools wrote, in first-touched order.
fn changed_files(messages: &[Message]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for call in messages.iter().flat_map(|m| m.tool_calls()) {
        if matches!(
            call.name.as_str(),
            "write_file" | "edit_file" | "edit_lines"
        ) && let Ok(v) = call.input()
            && let Some(p) = v.get("path").and_then(|p| p.as_str())
            && !out.iter().any(|o| o == p)
        {
            out.push(p.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sxnet::model::{ToolCall, ToolResult};

    #[test]
    fn note_carries_request_files_answer_and_latest_results() {
        let messages = vec![
            Message::user_text("fix the failing test"),
            Message {
                role: Role::Assistant,
                content: vec![
                    Block::text("Editing now."),
                    Block::ToolCall(ToolCall::function(
                        "c1",
                        "edit_file",
                        r#"{"path":"src/lib.rs","old_string":"a","new_string":"b"}"#,
                    )),
                ],
                usage: None,
            },
            Message {
                role: Role::User,
                content: vec![Block::ToolResult(ToolResult {
                    call_id: "c1".into(),
                    name: "edit_file".into(),
                    output: "edited src/lib.rs".into(),
                    is_error: false,
                    images: vec![],
                })],
                usage: None,
            },
        ];
        let m = continuation(
            &messages,
            "019a-old",
            Some(Path::new(
                "/p/.scorpiox/sessions/019a-old/conversation.json",
            )),
        );
        let t = m.text();
        assert!(t.starts_with("[Context compacted] This conversation continues session 019a-old"));
        assert!(t.contains("/p/.scorpiox/sessions/019a-old/conversation.json"));
        assert!(t.contains("## Original request\nfix the failing test"));
        assert!(t.contains("## Files changed so far\nsrc/lib.rs"));
        assert!(t.contains("## Your last message\nEditing now."));
        assert!(t.contains("[result of call c1]\nedited src/lib.rs"));
    }

    #[test]
    fn long_sections_are_elided_in_the_middle() {
        let long = "x".repeat(10_000) + "END";
        let m = continuation(&[Message::user_text(long)], "s", None);
        let t = m.text();
        assert!(t.contains("[… middle elided …]") && t.ends_with("END"));
        assert!(t.len() < 6_000);
    }
}
