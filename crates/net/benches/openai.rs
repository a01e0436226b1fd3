//! Chat Completions decode throughput on a large stream (`cargo bench -p sxnet --bench openai`).
//!
//! Prints MB/s for (1) SSE framing alone and (2) the full openai decode (framing, chunk JSON,
//! thinking, text and tool-call assembly, events), fed in 16 KiB reads as a socket would
//! deliver them, and ns per token (one `data:` chunk is one token). The stream has the shapes
//! of docs/protocols/providers.md §4.4 and tests/fixtures/openai/: OpenAI's chunk envelope
//! (`id`, `object`, `created`, `model`, `system_fingerprint`, `logprobs`, `usage: null`,
//! `obfuscation`), `reasoning_content` deltas, text deltas with escapes and multi-byte
//! characters, a tool call whose arguments arrive in many fragments, the finish chunk, the
//! usage chunk and `[DONE]`.

use std::hint::black_box;
use std::time::Instant;

use sxnet::StreamEvent;
use sxnet::providers::openai::decode_body;
use sxnet::sse::SseDecoder;

#[path = "common/alloc_count.rs"]
mod alloc_count;

const ENVELOPE: &str = r#""id":"chatcmpl-bench0123456789","object":"chat.completion.chunk","created":1767225600,"model":"gpt-5.4-mini","system_fingerprint":"fp_bench""#;

fn chunk(s: &mut String, delta: &str, finish: &str) {
    s.push_str("data: {");
    s.push_str(ENVELOPE);
    s.push_str(r#","choices":[{"index":0,"delta":"#);
    s.push_str(delta);
    s.push_str(r#","logprobs":null,"finish_reason":"#);
    s.push_str(finish);
    s.push_str(r#"}],"usage":null,"obfuscation":"aZ3kLm9Q"}"#);
    s.push_str("\n\n");
}

/// The stream and how many token chunks it holds.
fn build_stream(target_bytes: usize) -> (Vec<u8>, u64) {
    let mut s = String::with_capacity(target_bytes + 4096);
    let mut tokens = 0u64;
    chunk(&mut s, r#"{"role":"assistant","content":""}"#, "null");
    for i in 0..2000 {
        chunk(
            &mut s,
            &format!(r#"{{"reasoning_content":" thinking step {i}"}}"#),
            "null",
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
    while s.len() < target_bytes * 9 / 10 {
        chunk(
            &mut s,
            &format!(r#"{{"content":"{}"}}"#, words[i % words.len()]),
            "null",
        );
        tokens += 1;
        i += 1;
    }
    chunk(
        &mut s,
        r#"{"tool_calls":[{"index":0,"id":"call_bench","type":"function","function":{"name":"write_file","arguments":""}}]}"#,
        "null",
    );
    chunk(
        &mut s,
        r#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"path\":\"out.txt\",\"content\":\""}}]}"#,
        "null",
    );
    while s.len() < target_bytes {
        chunk(
            &mut s,
            r#"{"tool_calls":[{"index":0,"function":{"arguments":"line of text\\n"}}]}"#,
            "null",
        );
        tokens += 1;
    }
    chunk(
        &mut s,
        r#"{"tool_calls":[{"index":0,"function":{"arguments":"\"}"}}]}"#,
        "null",
    );
    chunk(&mut s, "{}", r#""tool_calls""#);
    s.push_str("data: {");
    s.push_str(ENVELOPE);
    s.push_str(r#","choices":[],"usage":{"prompt_tokens":12000,"completion_tokens":800,"total_tokens":12800,"prompt_tokens_details":{"cached_tokens":9000},"completion_tokens_details":{"reasoning_tokens":512}}}"#);
    s.push_str("\n\ndata: [DONE]\n\n");
    (s.into_bytes(), tokens)
}

/// Best wall time of `rounds` runs, in seconds.
fn best_of(rounds: u32, mut f: impl FnMut()) -> f64 {
    f(); // warm up
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

fn report(name: &str, bytes: usize, tokens: u64, secs: f64) {
    println!(
        "{name:<36} {:>7.0} MB/s  {:>6.0} ns/token  ({:.1} ms for {:.1} MB, {tokens} tokens)",
        bytes as f64 / secs / 1e6,
        secs * 1e9 / tokens as f64,
        secs * 1e3,
        bytes as f64 / 1e6
    );
}

fn main() {
    let (stream, tokens) = build_stream(64 << 20);
    let chunks: Vec<&[u8]> = stream.chunks(16 * 1024).collect();
    let mut sum = 0u64;
    let framing = best_of(5, || {
        let mut d = SseDecoder::new();
        for c in &chunks {
            d.feed(c, |ev| -> Result<(), ()> {
                sum += ev.data.len() as u64;
                Ok(())
            })
            .unwrap();
        }
        d.finish(|_| -> Result<(), ()> { Ok(()) }).unwrap();
    });
    black_box(sum);
    report("sse framing (16 KiB reads)", stream.len(), tokens, framing);

    let mut text = 0usize;
    let full = best_of(5, || {
        let c = decode_body(chunks.iter().copied(), true, &mut |ev| match ev {
            StreamEvent::TextDelta(t) | StreamEvent::ThinkingDelta(t) => text += t.len(),
            _ => {}
        })
        .expect("the bench stream is complete");
        assert_eq!(c.message.tool_calls().count(), 1);
        black_box(c);
    });
    black_box(text);
    report(
        "openai decode (framing+json+calls)",
        stream.len(),
        tokens,
        full,
    );
    println!(
        "{:<36} {:>7.0} ns/token (the JSON layer and assembly: full − framing)",
        "",
        (full - framing) * 1e9 / tokens as f64
    );
    let before = alloc_count::allocations();
    let c = decode_body(chunks.iter().copied(), true, &mut |_| {}).expect("complete");
    let allocations = alloc_count::allocations() - before;
    black_box(c);
    println!(
        "{:<36} {:>7.3} allocations/token (escaped strings go to a reused buffer)",
        "",
        allocations as f64 / tokens as f64
    );
}
