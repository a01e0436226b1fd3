//! SSE decode throughput on a large Responses stream (`cargo bench -p sxnet --bench sse`).
//!
//! Prints MB/s for (1) SSE framing alone and (2) the full Codex stream decode (framing + event
//! JSON + authoritative items), fed in 16 KiB chunks as a socket would deliver them. The
//! stream is built from the real event shapes (tests/fixtures/captures/capture_server.py, docs/protocols/codex.md §C.5):
//! reasoning summary deltas, then text deltas with `sequence_number`/`item_id`/`obfuscation`.

use std::hint::black_box;
use std::time::Instant;

use sxnet::providers::codex::decode_body;
use sxnet::sse::SseDecoder;

fn build_stream(target_bytes: usize) -> Vec<u8> {
    let mut s = String::with_capacity(target_bytes + 4096);
    let mut seq = 0u64;
    let push = |s: &mut String, ty: &str, data: String| {
        s.push_str("event: ");
        s.push_str(ty);
        s.push_str("\ndata: ");
        s.push_str(&data);
        s.push_str("\n\n");
    };
    push(
        &mut s,
        "response.created",
        format!(
            r#"{{"type":"response.created","sequence_number":{seq},"response":{{"id":"resp_bench","object":"response","created_at":1767225600,"model":"gpt-5.5","status":"in_progress","output":[]}}}}"#
        ),
    );
    seq += 1;
    push(
        &mut s,
        "response.output_item.added",
        format!(
            r#"{{"type":"response.output_item.added","sequence_number":{seq},"output_index":0,"item":{{"type":"reasoning","id":"rs_bench","summary":[]}}}}"#
        ),
    );
    for i in 0..200 {
        seq += 1;
        push(
            &mut s,
            "response.reasoning_summary_text.delta",
            format!(
                r#"{{"type":"response.reasoning_summary_text.delta","sequence_number":{seq},"item_id":"rs_bench","output_index":0,"summary_index":0,"delta":" thinking step {i}","obfuscation":"x9Kq2"}}"#
            ),
        );
    }
    seq += 1;
    push(
        &mut s,
        "response.output_item.done",
        format!(
            r#"{{"type":"response.output_item.done","sequence_number":{seq},"output_index":0,"item":{{"type":"reasoning","id":"rs_bench","summary":[{{"type":"summary_text","text":"thinking"}}],"encrypted_content":"gAAAAABpZ3JlYXQ="}}}}"#
        ),
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
    let mut i = 0usize;
    while s.len() < target_bytes {
        seq += 1;
        let w = words[i % words.len()];
        push(
            &mut s,
            "response.output_text.delta",
            format!(
                r#"{{"type":"response.output_text.delta","sequence_number":{seq},"item_id":"msg_bench0123456789","output_index":1,"content_index":0,"delta":"{w}","logprobs":[],"obfuscation":"aZ3kLm9Q"}}"#
            ),
        );
        i += 1;
    }
    seq += 1;
    push(
        &mut s,
        "response.output_item.done",
        format!(
            r#"{{"type":"response.output_item.done","sequence_number":{seq},"output_index":1,"item":{{"type":"message","id":"msg_bench0123456789","role":"assistant","status":"completed","content":[{{"type":"output_text","text":"(long)","annotations":[]}}]}}}}"#
        ),
    );
    seq += 1;
    push(
        &mut s,
        "response.completed",
        format!(
            r#"{{"type":"response.completed","sequence_number":{seq},"response":{{"id":"resp_bench","usage":{{"input_tokens":12000,"input_tokens_details":{{"cached_tokens":9000}},"output_tokens":800,"output_tokens_details":{{"reasoning_tokens":512}},"total_tokens":12800}}}}}}"#
        ),
    );
    s.into_bytes()
}

fn measure(name: &str, bytes: usize, rounds: u32, mut f: impl FnMut()) {
    f(); // warm up
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    let mbps = bytes as f64 / best / 1e6;
    println!(
        "{name:<34} {mbps:>9.0} MB/s  ({:.1} ms for {:.1} MB, best of {rounds})",
        best * 1e3,
        bytes as f64 / 1e6
    );
}

fn main() {
    let stream = build_stream(64 << 20);
    let chunks: Vec<&[u8]> = stream.chunks(16 * 1024).collect();
    let mut events = 0u64;
    measure("sse framing (16 KiB reads)", stream.len(), 5, || {
        let mut d = SseDecoder::new();
        for c in &chunks {
            d.feed(c, |ev| -> Result<(), ()> {
                events += ev.data.len() as u64;
                Ok(())
            })
            .unwrap();
        }
        d.finish(|_| -> Result<(), ()> { Ok(()) }).unwrap();
    });
    black_box(events);
    let mut text = 0usize;
    measure(
        "codex stream decode (framing+json)",
        stream.len(),
        5,
        || {
            let c = decode_body(chunks.iter().copied(), &mut |ev| {
                if let sxnet::StreamEvent::TextDelta(t) = ev {
                    text += t.len();
                }
            })
            .expect("the bench stream is complete");
            black_box(c);
        },
    );
    black_box(text);
}
