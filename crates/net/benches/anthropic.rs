//! Messages stream decode throughput on a large stream (`cargo bench -p sxnet --bench anthropic`).
//!
//! Prints MB/s for (1) SSE framing alone, (2) the full decode (framing + event JSON + the
//! state machine + the assembled message) and (3) the JSON layer's share, all fed in 16 KiB
//! chunks as a socket delivers them, plus ns per token (one `text_delta` event = one token).
//! The stream has the API's shapes (docs/protocols/providers.md §1.6): a thinking block with its
//! signature, then text deltas, a tool call whose input arrives in pieces, `ping`s.

use std::hint::black_box;
use std::time::Instant;

use sxnet::providers::anthropic::decode_body;
use sxnet::sse::SseDecoder;

fn push(s: &mut String, ty: &str, data: &str) {
    s.push_str("event: ");
    s.push_str(ty);
    s.push_str("\ndata: ");
    s.push_str(data);
    s.push_str("\n\n");
}

/// A stream of about `target_bytes`; returns it and its number of text deltas.
fn build_stream(target_bytes: usize) -> (Vec<u8>, u64) {
    let mut s = String::with_capacity(target_bytes + 4096);
    push(
        &mut s,
        "message_start",
        r#"{"type":"message_start","message":{"id":"msg_01Bench","type":"message","role":"assistant","model":"claude-sonnet-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12000,"cache_creation_input_tokens":0,"cache_read_input_tokens":9000,"output_tokens":1}}}"#,
    );
    push(
        &mut s,
        "content_block_start",
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
    );
    for i in 0..200 {
        push(
            &mut s,
            "content_block_delta",
            &format!(
                r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"thinking_delta","thinking":" thinking step {i}"}}}}"#
            ),
        );
    }
    push(
        &mut s,
        "content_block_delta",
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCkgIARABGAIiQLbenchSignature=="}}"#,
    );
    push(
        &mut s,
        "content_block_stop",
        r#"{"type":"content_block_stop","index":0}"#,
    );
    push(
        &mut s,
        "content_block_start",
        r#"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#,
    );
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
    let mut tokens = 0u64;
    while s.len() < target_bytes {
        let w = words[tokens as usize % words.len()];
        push(
            &mut s,
            "content_block_delta",
            &format!(
                r#"{{"type":"content_block_delta","index":1,"delta":{{"type":"text_delta","text":"{w}"}}}}"#
            ),
        );
        tokens += 1;
        if tokens.is_multiple_of(5000) {
            push(&mut s, "ping", r#"{"type": "ping"}"#);
        }
    }
    push(
        &mut s,
        "content_block_stop",
        r#"{"type":"content_block_stop","index":1}"#,
    );
    push(
        &mut s,
        "content_block_start",
        r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_bench","name":"bash","input":{}}}"#,
    );
    for piece in ["", r#"{\"comm"#, r#"and\": \"ls "#, r#"-la\"}"#] {
        push(
            &mut s,
            "content_block_delta",
            &format!(
                r#"{{"type":"content_block_delta","index":2,"delta":{{"type":"input_json_delta","partial_json":"{piece}"}}}}"#
            ),
        );
    }
    push(
        &mut s,
        "content_block_stop",
        r#"{"type":"content_block_stop","index":2}"#,
    );
    push(
        &mut s,
        "message_delta",
        r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":800}}"#,
    );
    push(&mut s, "message_stop", r#"{"type":"message_stop"}"#);
    (s.into_bytes(), tokens)
}

/// Best time of `rounds` in seconds.
fn best(rounds: u32, mut f: impl FnMut()) -> f64 {
    f(); // warm up
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

fn report(name: &str, bytes: usize, secs: f64) {
    println!(
        "{name:<38} {:>9.0} MB/s  ({:.1} ms for {:.1} MB)",
        bytes as f64 / secs / 1e6,
        secs * 1e3,
        bytes as f64 / 1e6
    );
}

fn main() {
    let (stream, tokens) = build_stream(64 << 20);
    let chunks: Vec<&[u8]> = stream.chunks(16 * 1024).collect();
    let rounds = 5;

    let mut data_bytes = 0u64;
    let framing = best(rounds, || {
        let mut d = SseDecoder::new();
        for c in &chunks {
            d.feed(c, |ev| -> Result<(), ()> {
                data_bytes += ev.data.len() as u64;
                Ok(())
            })
            .unwrap();
        }
        d.finish(|_| -> Result<(), ()> { Ok(()) }).unwrap();
    });
    black_box(data_bytes);
    report("sse framing (16 KiB reads)", stream.len(), framing);

    let mut text = 0usize;
    let full = best(rounds, || {
        let c = decode_body(chunks.iter().copied(), &mut |ev| {
            if let sxnet::StreamEvent::TextDelta(t) = ev {
                text += t.len();
            }
        })
        .expect("the bench stream is complete");
        black_box(c);
    });
    black_box(text);
    report("messages stream decode (framing+json)", stream.len(), full);
    println!(
        "{:<38} {:>9.0} ns per token ({tokens} text deltas); the JSON layer and state machine: {:.0} % of the decode",
        "",
        full * 1e9 / tokens as f64,
        (full - framing) / full * 100.0
    );
}
