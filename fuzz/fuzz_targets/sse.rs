//! The SSE decoder (crates/net/src/sse.rs): any bytes, cut anywhere, with a line limit small
//! enough to be reached. Invariant: one chunk or many, the same events and the same overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sxnet::sse::{SseDecoder, SseEvent};

fn decode(max_line: usize, chunks: &[&[u8]]) -> (Vec<(String, String, bool)>, bool, u64) {
    let mut d = SseDecoder::with_max_line(max_line);
    let mut out = Vec::new();
    let mut push = |e: SseEvent<'_>| -> Result<(), ()> {
        assert!(!e.data.is_empty(), "an event without data was dispatched");
        // Bytes that are not UTF-8 come out as U+FFFD (3 bytes for at least 1).
        let fffd = e.data.matches('\u{fffd}').count();
        assert!(
            e.data.len() - 2 * fffd <= max_line,
            "an event longer than the limit"
        );
        out.push((e.event.to_string(), e.data.to_string(), e.truncated));
        Ok(())
    };
    for c in chunks {
        d.feed(c, &mut push).unwrap();
    }
    d.finish(&mut push).unwrap();
    (out, d.overflowed(), d.bytes_seen())
}

fuzz_target!(|data: &[u8]| {
    let (seed, body) = sx_fuzz::seed_and_body(data);
    // Mostly the real limit; one input in four gets a limit of 1 to 64 bytes.
    let max_line = if seed & 0xc0 == 0xc0 {
        usize::from(seed % 64) + 1
    } else {
        sxnet::limits::MAX_SSE_LINE
    };
    let whole = decode(max_line, &[body]);
    let split = decode(max_line, &sx_fuzz::split(seed, body));
    assert_eq!(
        whole, split,
        "the same bytes cut differently decode differently"
    );
    assert_eq!(whole.2, body.len() as u64);
});
