//! The per-token line of the CLI's output, a `stream_event`, taken apart without serde
//! (docs/performance.md, "claude_code"): serde skips a nested value with a scratch stack that
//! allocates once per parse, and a text delta arrives as a whole line each.

/// A `stream_event` line as the CLI writes it — `{"type":"stream_event","event":{…}` then flat
/// fields — taken apart without serde: skipping the nested event with serde costs an
/// allocation per line (its scratch stack for nested values), and this is the per-token path.
/// `None` for any other line, or one in another shape: the general path reads those.
pub(super) struct FastEvent<'a> {
    pub event: &'a str,
    pub top: bool,
    pub session_id: Option<&'a str>,
}

pub(super) fn fast_stream_event(line: &str) -> Option<FastEvent<'_>> {
    let rest = line.strip_prefix(r#"{"type":"stream_event","event":"#)?;
    let end = value_end(rest.as_bytes())?;
    let (event, mut tail) = rest.split_at(end);
    if !event.starts_with('{') {
        return None;
    }
    let (mut top, mut session_id) = (true, None);
    // The flat fields after the event: `,"key":value` … `}`.
    loop {
        if tail == "}" {
            return Some(FastEvent {
                event,
                top,
                session_id,
            });
        }
        let after = tail.strip_prefix(",\"")?;
        let q = after.find('"')?;
        let (key, value_on) = (&after[..q], after[q + 1..].strip_prefix(':')?);
        let n = value_end(value_on.as_bytes())?;
        let value = &value_on[..n];
        match key {
            // JSON allows blanks around a value: `null ` is null too (found by fuzzing,
            // docs/reliability.md).
            "parent_tool_use_id" => top = value.trim() == "null",
            "session_id" => {
                let id = value.strip_prefix('"')?.strip_suffix('"')?;
                if id.contains('\\') {
                    return None;
                }
                session_id = Some(id);
            }
            _ if key.contains('\\') => return None,
            _ => {}
        }
        tail = &value_on[n..];
    }
}

/// Where the JSON value at the start of `s` ends. No validation beyond nesting and strings:
/// the event is parsed properly after.
pub(super) fn value_end(s: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0;
    loop {
        match *s.get(i)? {
            b'"' => {
                i += 1;
                loop {
                    match *s.get(i)? {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                i += 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            b'{' | b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                i += 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ if depth == 0 => {
                let len = s[i..]
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']'))
                    .unwrap_or(s.len() - i);
                return (len > 0).then_some(i + len);
            }
            _ => i += 1,
        }
    }
}
