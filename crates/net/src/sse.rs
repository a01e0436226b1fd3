//! Server-Sent Events: bytes in, events out (docs/protocols/providers.md §0.3).
//!
//! The decoder works on bytes and is fed network chunks as they arrive; how the input is split
//! across reads never changes the events produced. Lines end in LF, CRLF or a lone CR (mixed
//! freely); a CR at the end of one chunk followed by LF at the start of the next is one line
//! break, not two. `:` lines are comments; several `data:` lines are joined with `\n`; an event
//! whose data is empty is not dispatched. Event data is handed out as `&str` borrowed from the
//! decoder, so the common case (whole lines inside one chunk) costs one copy of the data bytes.
//!
//! The decoder knows nothing about JSON or about which event ends a stream: the protocol layer
//! receives `(event, data)` and decides whether the stream completed.
//!
//! Memory is bounded (docs/reliability.md): a line longer than the limit (16 MiB,
//! [`crate::limits::MAX_SSE_LINE`]), or an event whose data lines add up to more, is not
//! buffered: the decoder drops what it holds, ignores the rest of the input and reports it
//! through [`SseDecoder::overflowed`], which the caller turns into an error.

use std::borrow::Cow;

/// One dispatched event. `event` is empty when the stream sent no `event:` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEvent<'a> {
    pub event: &'a str,
    pub data: &'a str,
    /// True only for an event flushed by [`SseDecoder::finish`]: its data arrived but the blank
    /// line that ends an event never did (the connection closed mid-event).
    pub truncated: bool,
}

#[derive(Debug)]
pub struct SseDecoder {
    /// Bytes of a line whose terminator has not arrived yet.
    partial: Vec<u8>,
    /// The previous chunk ended with CR: a LF opening the next chunk belongs to that line break.
    skip_lf: bool,
    event: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    /// Scratch for data that is not valid UTF-8 (replaced lossily, never an error).
    lossy: String,
    bytes_seen: u64,
    /// The longest line, and the most data one event may gather.
    max_line: usize,
    /// A line or an event went past `max_line`: everything after it is ignored.
    overflow: bool,
}

impl Default for SseDecoder {
    fn default() -> Self {
        SseDecoder::with_max_line(crate::limits::MAX_SSE_LINE)
    }
}

impl SseDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder whose lines (and events' data) may be at most `max_line` bytes long.
    pub fn with_max_line(max_line: usize) -> Self {
        SseDecoder {
            partial: Vec::new(),
            skip_lf: false,
            event: Vec::new(),
            data: Vec::new(),
            has_data: false,
            lossy: String::new(),
            bytes_seen: 0,
            max_line,
            overflow: false,
        }
    }

    /// Whether a line or an event's data went past the limit; the decoder then holds nothing
    /// and ignores its input. The caller ends the stream with an error.
    pub fn overflowed(&self) -> bool {
        self.overflow
    }

    /// The limit this decoder enforces, in bytes.
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    fn set_overflow(&mut self) {
        self.overflow = true;
        self.partial = Vec::new();
        self.data = Vec::new();
        self.event = Vec::new();
        self.has_data = false;
        self.skip_lf = false;
    }

    /// Total bytes fed so far.
    pub fn bytes_seen(&self) -> u64 {
        self.bytes_seen
    }

    /// Feed one chunk; `on_event` is called for every event completed by it, in order.
    /// An error returned by `on_event` stops decoding and is returned (the rest of the chunk is
    /// dropped: the caller is abandoning the stream).
    pub fn feed<E>(
        &mut self,
        chunk: &[u8],
        mut on_event: impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.bytes_seen += chunk.len() as u64;
        if self.overflow {
            return Ok(());
        }
        let mut pos = 0;
        if self.skip_lf && !chunk.is_empty() {
            self.skip_lf = false;
            if chunk[0] == b'\n' {
                pos = 1;
            }
        }
        while pos < chunk.len() {
            let Some(off) = memchr::memchr2(b'\n', b'\r', &chunk[pos..]) else {
                if self.partial.len() + (chunk.len() - pos) > self.max_line {
                    self.set_overflow();
                    return Ok(());
                }
                self.partial.extend_from_slice(&chunk[pos..]);
                break;
            };
            let end = pos + off;
            if self.partial.len() + off > self.max_line {
                self.set_overflow();
                return Ok(());
            }
            if self.partial.is_empty() {
                self.line(&chunk[pos..end], &mut on_event)?;
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&chunk[pos..end]);
                let r = self.line(&line, &mut on_event);
                line.clear();
                self.partial = line; // keep the allocation
                r?;
            }
            if self.overflow {
                return Ok(());
            }
            pos = end + 1;
            if chunk[end] == b'\r' {
                if pos == chunk.len() {
                    self.skip_lf = true;
                } else if chunk[pos] == b'\n' {
                    pos += 1;
                }
            }
        }
        Ok(())
    }

    /// End of input. A final line without a terminator is processed; an event that has data
    /// but never got its closing blank line is dispatched with `truncated: true`.
    pub fn finish<E>(
        &mut self,
        mut on_event: impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.skip_lf = false;
        if self.overflow {
            return Ok(());
        }
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, &mut on_event)?;
        }
        if self.has_data && !self.data.is_empty() {
            let r = dispatch(
                &self.event,
                &self.data,
                true,
                &mut self.lossy,
                &mut on_event,
            );
            self.reset_event();
            r?;
        }
        self.reset_event();
        Ok(())
    }

    fn line<E>(
        &mut self,
        line: &[u8],
        on_event: &mut impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if line.is_empty() {
            if self.has_data && !self.data.is_empty() {
                let r = dispatch(&self.event, &self.data, false, &mut self.lossy, on_event);
                self.reset_event();
                return r;
            }
            self.reset_event();
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(());
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.data.len() + value.len() + 1 > self.max_line {
                    self.set_overflow();
                    return Ok(());
                }
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => {
                self.event.clear();
                self.event.extend_from_slice(value);
            }
            // `id` and `retry` steer browser reconnection; no provider here resumes streams.
            _ => {}
        }
        Ok(())
    }

    fn reset_event(&mut self) {
        self.event.clear();
        self.data.clear();
        self.has_data = false;
    }
}

fn dispatch<E>(
    event: &[u8],
    data: &[u8],
    truncated: bool,
    lossy: &mut String,
    on_event: &mut impl FnMut(SseEvent<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let event = std::str::from_utf8(event).unwrap_or_default();
    let data = match std::str::from_utf8(data) {
        Ok(s) => s,
        Err(_) => {
            lossy.clear();
            if let Cow::Owned(s) = String::from_utf8_lossy(data) {
                *lossy = s;
            }
            lossy.as_str()
        }
    };
    on_event(SseEvent {
        event,
        data,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[derive(Debug, PartialEq, Eq, Clone)]
    struct Ev {
        event: String,
        data: String,
        truncated: bool,
    }

    fn decode_chunks(chunks: &[&[u8]]) -> Vec<Ev> {
        let mut d = SseDecoder::new();
        let mut out = Vec::new();
        let mut push = |e: SseEvent<'_>| -> Result<(), ()> {
            out.push(Ev {
                event: e.event.into(),
                data: e.data.into(),
                truncated: e.truncated,
            });
            Ok(())
        };
        for c in chunks {
            d.feed(c, &mut push).unwrap();
        }
        d.finish(&mut push).unwrap();
        out
    }

    fn decode(input: &[u8]) -> Vec<Ev> {
        decode_chunks(&[input])
    }

    fn ev(event: &str, data: &str) -> Ev {
        Ev {
            event: event.into(),
            data: data.into(),
            truncated: false,
        }
    }

    const SAMPLE: &str = "event: response.created\ndata: {\"type\":\"response.created\"}\n\n\
: keep-alive comment\n\
event: response.output_text.delta\ndata: {\"delta\":\"h\u{e9}llo \u{1F600}\"}\n\n\
data: line one\ndata: line two\n\n\
data:no-space\n\n\
event: ping\n\n\
data: {\"type\":\"response.completed\"}\n\n";

    fn sample_events() -> Vec<Ev> {
        vec![
            ev("response.created", "{\"type\":\"response.created\"}"),
            ev(
                "response.output_text.delta",
                "{\"delta\":\"h\u{e9}llo \u{1F600}\"}",
            ),
            ev("", "line one\nline two"),
            ev("", "no-space"),
            ev("", "{\"type\":\"response.completed\"}"),
        ]
    }

    #[test]
    fn decodes_fields_comments_multiline_and_empty_events() {
        assert_eq!(decode(SAMPLE.as_bytes()), sample_events());
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let bytes = SAMPLE.as_bytes();
        for i in 0..=bytes.len() {
            for j in i..=bytes.len() {
                let got = decode_chunks(&[&bytes[..i], &bytes[i..j], &bytes[j..]]);
                assert_eq!(got, sample_events(), "split at {i},{j}");
            }
        }
    }

    #[test]
    fn one_byte_at_a_time() {
        let bytes = SAMPLE.as_bytes();
        let chunks: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(decode_chunks(&chunks), sample_events());
    }

    #[test]
    fn crlf_cr_and_mixed_line_endings() {
        for ending in ["\r\n", "\r"] {
            let converted = SAMPLE.replace('\n', ending);
            let bytes = converted.as_bytes();
            assert_eq!(decode(bytes), sample_events(), "ending {ending:?}");
            for i in 0..=bytes.len() {
                assert_eq!(
                    decode_chunks(&[&bytes[..i], &bytes[i..]]),
                    sample_events(),
                    "ending {ending:?} split {i}"
                );
            }
        }
        // Mixed separators seen in the wild: "\n\r\n" and "\r\n\n" end events.
        let mixed = b"data: a\n\r\ndata: b\r\n\ndata: c\r\r";
        assert_eq!(decode(mixed), vec![ev("", "a"), ev("", "b"), ev("", "c")]);
    }

    #[test]
    fn cr_at_chunk_end_then_lf_is_one_line_break() {
        // If "\r" and "\n" were counted as two breaks, the event would be split in two.
        let got = decode_chunks(&[b"event: x\r", b"\ndata: 1\r", b"\n\r", b"\n"]);
        assert_eq!(got, vec![ev("x", "1")]);
    }

    #[test]
    fn blank_line_between_event_and_data_is_not_an_empty_event() {
        let got = decode(b"event: message_start\n\ndata: {\"a\":1}\n\n");
        assert_eq!(got, vec![ev("", "{\"a\":1}")]);
    }

    #[test]
    fn empty_data_is_not_dispatched_but_blank_lines_inside_data_are_kept() {
        assert_eq!(decode(b"data:\n\n"), vec![]);
        assert_eq!(decode(b"data\n\n"), vec![]);
        assert_eq!(decode(b"data:\ndata:\n\n"), vec![ev("", "\n")]);
    }

    #[test]
    fn at_most_one_space_is_stripped() {
        assert_eq!(decode(b"data:  two\n\n"), vec![ev("", " two")]);
    }

    #[test]
    fn unknown_fields_and_id_retry_are_ignored() {
        assert_eq!(
            decode(b"id: 7\nretry: 100\nfoo: bar\ndata: x\n\n"),
            vec![ev("", "x")]
        );
    }

    #[test]
    fn multibyte_utf8_split_across_chunks() {
        let s = "data: \u{1F600}\u{e9}\n\n".as_bytes();
        for i in 0..=s.len() {
            assert_eq!(
                decode_chunks(&[&s[..i], &s[i..]]),
                vec![ev("", "\u{1F600}\u{e9}")]
            );
        }
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(decode(b"data: a\xffb\n\n"), vec![ev("", "a\u{FFFD}b")]);
    }

    #[test]
    fn unterminated_event_at_eof_is_flagged_truncated() {
        let got = decode(b"data: {\"complete\":1}\n\ndata: {\"partial\"");
        assert_eq!(
            got,
            vec![
                ev("", "{\"complete\":1}"),
                Ev {
                    event: String::new(),
                    data: "{\"partial\"".into(),
                    truncated: true
                }
            ]
        );
        let got = decode(b"event: e\ndata: x\n");
        assert_eq!(
            got,
            vec![Ev {
                event: "e".into(),
                data: "x".into(),
                truncated: true
            }]
        );
    }

    #[test]
    fn callback_error_stops_decoding() {
        let mut d = SseDecoder::new();
        let mut n = 0;
        let r = d.feed(b"data: 1\n\ndata: 2\n\n", |_| {
            n += 1;
            Err("stop")
        });
        assert_eq!(r, Err("stop"));
        assert_eq!(n, 1);
    }

    #[test]
    fn a_line_past_the_limit_is_dropped_not_buffered() {
        // One line that never ends, fed in pieces: the decoder never holds more than the limit.
        let mut d = SseDecoder::with_max_line(64);
        let mut events = 0;
        let mut count = |_: SseEvent<'_>| -> Result<(), ()> {
            events += 1;
            Ok(())
        };
        d.feed(b"data: ok\n\ndata: ", &mut count).unwrap();
        for _ in 0..100 {
            d.feed(&[b'x'; 10], &mut count).unwrap();
            assert!(d.partial.len() <= 64);
        }
        assert!(d.overflowed());
        d.feed(b"\n\ndata: late\n\n", &mut count).unwrap();
        d.finish(&mut count).unwrap();
        assert_eq!(events, 1, "nothing after the overflow is dispatched");

        // A whole long line inside one chunk, and data lines that add up past the limit.
        for input in [
            format!("data: {}\n\n", "y".repeat(100)),
            "data: 0123456789\n".repeat(10) + "\n",
        ] {
            let mut d = SseDecoder::with_max_line(64);
            let mut n = 0;
            d.feed(input.as_bytes(), |_| -> Result<(), ()> {
                n += 1;
                Ok(())
            })
            .unwrap();
            assert!(d.overflowed(), "{input}");
            assert_eq!(n, 0);
        }
        // At the limit exactly is fine.
        let line = format!("data: {}\n\n", "z".repeat(58));
        let mut d = SseDecoder::with_max_line(64);
        let mut n = 0;
        d.feed(line.as_bytes(), |_| -> Result<(), ()> {
            n += 1;
            Ok(())
        })
        .unwrap();
        assert!(!d.overflowed());
        assert_eq!(n, 1);
    }

    #[test]
    fn pseudo_random_splits_of_a_long_stream() {
        let mut s = String::new();
        let mut want = Vec::new();
        for i in 0..200 {
            let data =
                format!("{{\"type\":\"response.output_text.delta\",\"delta\":\"tok{i} \u{e9}\"}}");
            s.push_str(&format!(
                "event: response.output_text.delta\r\ndata: {data}\r\n\r\n"
            ));
            want.push(ev("response.output_text.delta", &data));
        }
        let bytes = s.as_bytes();
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..50 {
            let mut chunks = Vec::new();
            let mut pos = 0;
            while pos < bytes.len() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let n = 1 + (seed % 97) as usize;
                let end = (pos + n).min(bytes.len());
                chunks.push(&bytes[pos..end]);
                pos = end;
            }
            assert_eq!(decode_chunks(&chunks), want);
        }
    }
}
