//! The saved sessions of a project (docs/sessions.md): listing them, their short ids, naming
//! them, choosing one by name, id or short id, and the first prompt shown for each.

use std::fs;
use std::path::{Path, PathBuf};

use sxnet::model::{Block, Message, Role};

use super::{Meta, Session, SessionError};

/// One saved session.
#[derive(Debug, Clone)]
pub struct Saved {
    pub dir: PathBuf,
    pub meta: Meta,
}

/// Characters in a short id.
pub const SHORT_LEN: usize = 8;

/// The most characters of the first prompt kept in `meta.json`.
const FIRST_PROMPT_CHARS: usize = 200;

/// A transcript larger than this is not read just to show the first prompt of a session saved
/// before `meta.json` kept it.
const FIRST_PROMPT_READ_LIMIT: u64 = 8 << 20;

/// Where short ids come from: an id's last `-` group. In a UUIDv7 that group is random, while
/// its first characters are a timestamp that sessions started close together share.
fn tail(id: &str) -> &str {
    id.rsplit('-').next().unwrap_or(id)
}

fn prefix(s: &str, chars: usize) -> &str {
    s.char_indices().nth(chars).map_or(s, |(i, _)| &s[..i])
}

/// An id's short form: the first 8 characters of its last group.
pub fn short_id(id: &str) -> &str {
    prefix(tail(id), SHORT_LEN)
}

/// The forms to show for `ids`: each one's short id, longer (within its last group) where two
/// would be the same, the whole id where even the whole group is shared.
pub fn display_ids(ids: &[&str]) -> Vec<String> {
    ids.iter()
        .map(|id| {
            let t = tail(id);
            let mut n = SHORT_LEN.min(t.chars().count());
            loop {
                let form = prefix(t, n);
                let shared = ids.iter().any(|o| o != id && tail(o).starts_with(form));
                if !shared {
                    return form.to_string();
                }
                if n >= t.chars().count() {
                    return (*id).to_string();
                }
                n += 1;
            }
        })
        .collect()
}

/// A session name must be typeable and fit on one line.
pub fn check_name(name: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "cannot name a session {name:?}: {why}; use letters, digits, spaces and punctuation, up to 64 characters"
        ))
    };
    if name.trim().is_empty() {
        return bad("the name is empty");
    }
    if name.trim() != name {
        return bad("it starts or ends with a space");
    }
    if name.chars().count() > 64 {
        return bad("it is longer than 64 characters");
    }
    if name.chars().any(char::is_control) {
        return bad("it holds a control character");
    }
    if name.starts_with('-') {
        return bad("it starts with '-'");
    }
    Ok(())
}

/// What the listing shows of a conversation's start: the first user text, its whitespace runs
/// made single spaces, at most 200 characters.
pub fn first_prompt(messages: &[Message]) -> Option<String> {
    let text = messages
        .iter()
        .filter(|m| m.role == Role::User)
        .flat_map(|m| m.content.iter())
        .find_map(|b| match b {
            Block::Text { text, .. } if !text.trim().is_empty() => Some(text.as_str()),
            _ => None,
        })?;
    let words: Vec<&str> = text.split_whitespace().collect();
    let one_line = words.join(" ");
    if one_line.chars().count() > FIRST_PROMPT_CHARS {
        Some(format!("{}…", prefix(&one_line, FIRST_PROMPT_CHARS - 1)))
    } else {
        Some(one_line)
    }
}

impl Saved {
    /// When the session was last saved (`updated_at`).
    pub fn updated(&self) -> Option<std::time::SystemTime> {
        humantime::parse_rfc3339_weak(&self.meta.updated_at).ok()
    }

    /// The first prompt: from `meta.json`, else (a session saved before it kept one) from the
    /// transcript when that is not too large to read.
    pub fn first_prompt(&self) -> Option<String> {
        if let Some(p) = &self.meta.first_prompt {
            return Some(p.clone());
        }
        let path = self.dir.join("conversation.json");
        if fs::metadata(&path).ok()?.len() > FIRST_PROMPT_READ_LIMIT {
            return None;
        }
        #[derive(serde::Deserialize)]
        struct Conversation {
            messages: Vec<Message>,
        }
        let c: Conversation = serde_json::from_slice(&fs::read(path).ok()?).ok()?;
        first_prompt(&c.messages)
    }
}

/// Every readable session of the project, the most recently updated first (on a tie, the
/// larger id first).
pub fn saved(project_root: &Path) -> Vec<Saved> {
    let dir = Session::sessions_dir(project_root);
    let mut all: Vec<Saved> = fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter_map(|dir| {
                    let meta: Meta =
                        serde_json::from_slice(&fs::read(dir.join("meta.json")).ok()?).ok()?;
                    Some(Saved { dir, meta })
                })
                .collect()
        })
        .unwrap_or_default();
    all.sort_by(|a, b| {
        b.meta
            .updated_at
            .cmp(&a.meta.updated_at)
            .then_with(|| b.meta.id.cmp(&a.meta.id))
    });
    all
}

/// The session `selector` means (docs/sessions.md): `None` (or empty) the most recently
/// updated; else, in this order, an exact id, a name (the most recently updated session of
/// that name), or the unique session whose id or short id starts with it.
pub fn select(project_root: &Path, selector: Option<&str>) -> Result<Saved, SessionError> {
    let dir = Session::sessions_dir(project_root);
    let mut all = saved(project_root);
    if all.is_empty() {
        return Err(SessionError::NoneSaved { dir });
    }
    let Some(sel) = selector.filter(|s| !s.is_empty()) else {
        return Ok(all.swap_remove(0));
    };
    if let Some(i) = all.iter().position(|s| s.meta.id == sel) {
        return Ok(all.swap_remove(i));
    }
    // Newest first, so the first of a name is the one to continue.
    if let Some(i) = all.iter().position(|s| s.meta.name.as_deref() == Some(sel)) {
        return Ok(all.swap_remove(i));
    }
    let ids: Vec<&str> = all.iter().map(|s| s.meta.id.as_str()).collect();
    let forms = display_ids(&ids);
    let hits: Vec<usize> = (0..all.len())
        .filter(|&i| ids[i].starts_with(sel) || tail(ids[i]).starts_with(sel))
        .collect();
    match hits.as_slice() {
        [] => Err(SessionError::NotFound {
            selector: sel.to_string(),
            dir,
        }),
        [one] => Ok(all.swap_remove(*one)),
        many => {
            let mut shown: Vec<String> = many
                .iter()
                .take(5)
                .map(|&i| match &all[i].meta.name {
                    Some(n) => format!("{} \"{n}\"", forms[i]),
                    None => forms[i].clone(),
                })
                .collect();
            if many.len() > 5 {
                shown.push(format!("{} more", many.len() - 5));
            }
            Err(SessionError::Ambiguous {
                selector: sel.to_string(),
                candidates: shown.join(", "),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_come_from_the_random_end_and_grow_only_where_shared() {
        let a = "019a2b3c-4d5e-7f60-8123-a1b2c3d4e5f6";
        let b = "019a2b3c-4d5f-7f61-9123-a1b2c3d4ffff";
        let c = "019a2b3c-4d60-7f62-a123-0badc0ffee00";
        assert_eq!(short_id(a), "a1b2c3d4");
        assert_eq!(display_ids(&[a, c]), ["a1b2c3d4", "0badc0ff"]);
        assert_eq!(
            display_ids(&[a, b, c]),
            ["a1b2c3d4e", "a1b2c3d4f", "0badc0ff"]
        );
        // a whole shared group: the whole id
        let d = "019a2b3c-4d61-7f63-b123-a1b2c3d4e5f6";
        assert_eq!(display_ids(&[a, d])[0], a);
        // short or odd ids
        assert_eq!(short_id("0001"), "0001");
        assert_eq!(display_ids(&["019a-aaaa", "019a-bbbb"]), ["aaaa", "bbbb"]);
    }

    #[test]
    fn names_are_one_typeable_line() {
        assert!(check_name("auth refactor #2").is_ok());
        for bad in ["", "  ", " x", "x\ny", "-x", &"n".repeat(65)] {
            let e = check_name(bad).unwrap_err();
            assert!(
                e.starts_with("cannot name a session") && e.contains("; "),
                "{e}"
            );
        }
    }

    #[test]
    fn the_first_prompt_is_the_first_user_text_on_one_line() {
        let msgs = vec![
            Message {
                role: Role::User,
                content: vec![Block::text("  ")],
                usage: None,
            },
            Message::user_text("fix\n  the   test"),
            Message::user_text("later"),
        ];
        assert_eq!(first_prompt(&msgs).as_deref(), Some("fix the test"));
        let long = first_prompt(&[Message::user_text("é".repeat(300))]).unwrap();
        assert_eq!(long.chars().count(), 200);
        assert!(long.ends_with('…'));
        assert_eq!(first_prompt(&[]), None);
    }
}
