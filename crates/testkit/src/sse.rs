//! Server-sent-events framing, byte for byte as the real Responses server (and
//! `capture_server.py`) writes it: `event: <type>\ndata: <compact json>\n\n`.

use serde_json::Value;

/// Frame events the way the real server does: for each event,
/// `event: <type>\ndata: <compact json>\n\n`. Inside every JSON object `type` comes
/// first, like the real server; other keys keep the map's order.
pub fn encode(events: &[Value]) -> String {
    let mut out = String::new();
    for event in events {
        let name = event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("message");
        out.push_str("event: ");
        out.push_str(name);
        out.push_str("\ndata: ");
        write_compact(event, &mut out);
        out.push_str("\n\n");
    }
    out
}

/// Like [`encode`] without `event:` lines (`data: <json>\n\n` only), as some servers
/// send; a conforming parser must not depend on the event name.
pub fn encode_data_only(events: &[Value]) -> String {
    let mut out = String::new();
    for event in events {
        out.push_str("data: ");
        write_compact(event, &mut out);
        out.push_str("\n\n");
    }
    out
}

/// Compact JSON with `type` first in every object.
pub fn to_compact_json(value: &Value) -> String {
    let mut out = String::new();
    write_compact(value, &mut out);
    out
}

fn write_compact(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            out.push('{');
            let typed = map.get_key_value("type");
            let rest = map.iter().filter(|(key, _)| key.as_str() != "type");
            for (i, (key, value)) in typed.into_iter().chain(rest).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_compact(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_compact(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The line terminators SSE allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineEnding {
    /// `\n`
    Lf,
    /// `\r\n`
    CrLf,
    /// `\r`
    Cr,
}

impl LineEnding {
    /// The terminator's bytes.
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
            LineEnding::Cr => "\r",
        }
    }
}

/// Rewrite every line terminator of `sse` (`\n`, `\r\n` or a lone `\r`) as `ending`.
/// JSON payloads never contain raw CR or LF, so only framing changes.
pub fn with_line_endings(sse: &str, ending: LineEnding) -> String {
    let mut out = String::with_capacity(sse.len() + sse.len() / 16);
    let mut chars = sse.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str(ending.as_str());
            }
            '\n' => out.push_str(ending.as_str()),
            other => out.push(other),
        }
    }
    out
}

/// One dispatched SSE event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field, if any.
    pub name: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// A small spec-following SSE parser for test assertions: any line ending, `:`
/// comments, optional single space after the colon, multi-line `data`. Events without
/// data are not dispatched, and an event not terminated by a blank line at the end of
/// the text is dropped (as the SSE spec says).
pub fn parse(text: &str) -> Vec<Event> {
    let normalized = with_line_endings(text, LineEnding::Lf);
    let mut events = Vec::new();
    let mut name = None;
    let mut data: Option<String> = None;
    let mut lines = normalized.split('\n').peekable();
    while let Some(line) = lines.next() {
        if lines.peek().is_none() {
            // Text after the last terminator is an incomplete line.
            break;
        }
        if line.is_empty() {
            if let Some(data) = data.take() {
                events.push(Event {
                    name: name.take(),
                    data,
                });
            }
            name = None;
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "" => {} // comment
            "event" => name = Some(value.to_owned()),
            "data" => match &mut data {
                Some(buf) => {
                    buf.push('\n');
                    buf.push_str(value);
                }
                None => data = Some(value.to_owned()),
            },
            _ => {}
        }
    }
    events
}

/// [`parse`], then each event's data as JSON.
///
/// # Panics
/// On data that is not JSON, quoting it.
pub fn decode(text: &str) -> Vec<Value> {
    parse(text)
        .into_iter()
        .map(|event| {
            serde_json::from_str(&event.data)
                .unwrap_or_else(|err| panic!("sse data is not JSON ({err}): {:?}", event.data))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn encode_matches_the_real_framing() {
        let events = [
            // Keys in sorted order so the test holds with or without serde_json's
            // `preserve_order`.
            json!({"response": {"id": "r"}, "sequence_number": 0, "type": "response.created"}),
            json!({"delta": "a\nb", "type": "response.output_text.delta"}),
        ];
        assert_eq!(
            encode(&events),
            "event: response.created\n\
             data: {\"type\":\"response.created\",\"response\":{\"id\":\"r\"},\"sequence_number\":0}\n\n\
             event: response.output_text.delta\n\
             data: {\"type\":\"response.output_text.delta\",\"delta\":\"a\\nb\"}\n\n"
        );
        assert_eq!(decode(&encode(&events)), events);
        assert_eq!(decode(&encode_data_only(&events)), events);
    }

    #[test]
    fn type_comes_first_in_nested_objects() {
        let v = json!({"item": {"content": [{"text": "t", "type": "output_text"}], "id": "x", "type": "message"}});
        assert_eq!(
            to_compact_json(&v),
            r#"{"item":{"type":"message","content":[{"type":"output_text","text":"t"}],"id":"x"}}"#
        );
    }

    #[test]
    fn line_endings_are_rewritten() {
        let lf = "event: a\ndata: {}\n\n";
        assert_eq!(
            with_line_endings(lf, LineEnding::CrLf),
            "event: a\r\ndata: {}\r\n\r\n"
        );
        assert_eq!(
            with_line_endings(lf, LineEnding::Cr),
            "event: a\rdata: {}\r\r"
        );
        assert_eq!(with_line_endings(lf, LineEnding::Lf), lf);
        let mixed = "a\r\nb\rc\n\r\n";
        assert_eq!(with_line_endings(mixed, LineEnding::Lf), "a\nb\nc\n\n");
        assert_eq!(
            with_line_endings(&with_line_endings(lf, LineEnding::Cr), LineEnding::Lf),
            lf
        );
    }

    #[test]
    fn parse_handles_every_ending_comments_and_multiline_data() {
        let text = ": keep-alive\nevent: x\ndata: {\"a\":\ndata:1}\n\ndata: 2\n\n";
        for ending in [LineEnding::Lf, LineEnding::CrLf, LineEnding::Cr] {
            let events = parse(&with_line_endings(text, ending));
            assert_eq!(
                events,
                vec![
                    Event {
                        name: Some("x".into()),
                        data: "{\"a\":\n1}".into()
                    },
                    Event {
                        name: None,
                        data: "2".into()
                    },
                ]
            );
        }
    }

    #[test]
    fn parse_drops_an_unterminated_event() {
        assert_eq!(parse("data: 1\n\ndata: 2\n").len(), 1);
        assert_eq!(parse("data: 1\n\ndata: 2").len(), 1);
    }
}
