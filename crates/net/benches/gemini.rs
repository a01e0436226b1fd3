//! Gemini stream decode speed (`cargo bench -p sxnet --bench gemini`).
//!
//! A 64 MiB `streamGenerateContent?alt=sse` body in Google's framing (`data: <json>` + CRLF,
//! no event names; docs/protocols/providers.md §3.8) with the response shape of
//! docs/protocols/providers.md §3.7 — thought-summary chunks, then answer text chunks each with
//! `modelVersion`/`responseId`, a signed function call, the finish reason and usage — fed in
//! 16 KiB reads. Prints MB/s for (1) SSE framing alone and (2) the full decode (framing, JSON
//! and dispatch into the sink), and ns per token (one chunk = one token here; Gemini sends a
//! few tokens per chunk, so this is the worst case); then the allocations a decode makes per
//! token.

use std::hint::black_box;
use std::time::Instant;

use sxnet::providers::gemini::decode_body;
use sxnet::sse::SseDecoder;

#[path = "common/alloc_count.rs"]
mod alloc_count;

fn build_stream(target_bytes: usize) -> (Vec<u8>, u64) {
    let mut s = String::with_capacity(target_bytes + 4096);
    let mut tokens = 0u64;
    let push = |s: &mut String, parts: &str| {
        s.push_str(r#"data: {"candidates":[{"content":{"parts":["#);
        s.push_str(parts);
        s.push_str(r#"],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":12000,"totalTokenCount":12000},"modelVersion":"gemini-3.8-flash","responseId":"gm-bench-0123456789"}"#);
        s.push_str("\r\n\r\n");
    };
    for i in 0..200 {
        push(
            &mut s,
            &format!(r#"{{"text":" thinking step {i}","thought":true}}"#),
        );
        tokens += 1;
    }
    let words = [
        "the ",
        "quick ",
        "brown ",
        "fox ",
        "jumps ",
        "over ",
        "lazy ",
        "dog\\n",
        "`code` ",
        "\\\"quoted\\\" ",
        "café ",
        "naïve ",
    ];
    let mut i = 0usize;
    while s.len() < target_bytes {
        push(
            &mut s,
            &format!(r#"{{"text":"{}"}}"#, words[i % words.len()]),
        );
        tokens += 1;
        i += 1;
    }
    push(
        &mut s,
        r#"{"functionCall":{"id":"call_1","name":"bash","args":{"command":"cargo test"}},"thoughtSignature":"CtwBAdHtim9iZW5jaA=="}"#,
    );
    s.push_str(r#"data: {"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12000,"cachedContentTokenCount":9000,"candidatesTokenCount":800,"thoughtsTokenCount":512,"totalTokenCount":13312},"modelVersion":"gemini-3.8-flash","responseId":"gm-bench-0123456789"}"#);
    s.push_str("\r\n\r\n");
    (s.into_bytes(), tokens)
}

fn measure(name: &str, bytes: usize, tokens: u64, rounds: u32, mut f: impl FnMut()) {
    f(); // warm up
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    let mbps = bytes as f64 / best / 1e6;
    let ns = best * 1e9 / tokens as f64;
    println!(
        "{name:<36} {mbps:>9.0} MB/s  {ns:>6.0} ns/token  ({:.1} ms for {:.1} MB, best of {rounds})",
        best * 1e3,
        bytes as f64 / 1e6
    );
}

fn main() {
    let (stream, tokens) = build_stream(64 << 20);
    let chunks: Vec<&[u8]> = stream.chunks(16 * 1024).collect();
    let mut seen = 0u64;
    measure(
        "sse framing (16 KiB reads)",
        stream.len(),
        tokens,
        5,
        || {
            let mut d = SseDecoder::new();
            for c in &chunks {
                d.feed(c, |ev| -> Result<(), ()> {
                    seen += ev.data.len() as u64;
                    Ok(())
                })
                .unwrap();
            }
            d.finish(|_| -> Result<(), ()> { Ok(()) }).unwrap();
        },
    );
    black_box(seen);
    let mut text = 0usize;
    measure(
        "gemini stream decode (framing+json)",
        stream.len(),
        tokens,
        5,
        || {
            let c = decode_body(chunks.iter().copied(), &mut |ev| {
                if let sxnet::StreamEvent::TextDelta(t) = ev {
                    text += t.len();
                }
            })
            .expect("the bench stream is complete");
            assert_eq!(c.message.tool_calls().count(), 1);
            black_box(c);
        },
    );
    black_box(text);

    // Allocations while decoding a stream whose tokens need no unescaping: the answer's text
    // grows by doubling, everything else borrows.
    let (plain, plain_tokens) = build_plain(8 << 20);
    let chunks: Vec<&[u8]> = plain.chunks(16 * 1024).collect();
    let before = alloc_count::allocations();
    let c = decode_body(chunks.iter().copied(), &mut |ev| {
        black_box(ev);
    })
    .expect("the plain stream is complete");
    let n = alloc_count::allocations() - before;
    black_box(c);
    println!(
        "allocations decoding {plain_tokens} unescaped tokens: {n} ({:.4} per token)",
        n as f64 / plain_tokens as f64
    );
}

/// Like [`build_stream`] with plain words only (no JSON escapes), each chunk with the nested
/// `safetyRatings` and usage details real chunks carry.
fn build_plain(target_bytes: usize) -> (Vec<u8>, u64) {
    let mut s = String::with_capacity(target_bytes + 1024);
    let mut tokens = 0u64;
    while s.len() < target_bytes {
        s.push_str(r#"data: {"candidates":[{"content":{"parts":[{"text":"word "}],"role":"model"},"index":0,"safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"NEGLIGIBLE"}]}],"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9,"promptTokensDetails":[{"modality":"TEXT","tokenCount":9}]},"modelVersion":"gemini-3.8-flash","responseId":"gm-bench"}"#);
        s.push_str("\r\n\r\n");
        tokens += 1;
    }
    s.push_str(
        r#"data: {"candidates":[{"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1}}"#,
    );
    s.push_str("\r\n\r\n");
    (s.into_bytes(), tokens)
}
