//! Cost per token of the event path (`cargo bench -p sx-agent --bench events`): a Codex SSE
//! stream of text deltas decoded by the provider, mapped to agent events, and delivered
//!
//! 1. to a borrowed sink on the same task (what one-shot `sx` does),
//! 2. through `sx_agent::channel` to a consumer on another thread (what an interactive front
//!    end on its own task does): owned events, deltas merged while the consumer is behind,
//! 3. as one owned event per token over a bounded `std::sync::mpsc::sync_channel(1024)` (the
//!    alternative the channel was chosen over).
//!
//! Prints nanoseconds per token (best of several rounds). See docs/performance.md.

use std::hint::black_box;
use std::time::Instant;

use sx_agent::AgentEvent;
use sx_agent::channel::{OwnedEvent, channel};
use sxnet::StreamEvent;
use sxnet::providers::codex::decode_body;

const TOKENS: usize = 200_000;

fn build_stream() -> Vec<u8> {
    let words = [
        "the ", "quick ", "brown ", "fox ", "jumps ", "café ", "`code` ",
    ];
    let mut s = String::new();
    s.push_str("event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_bench\",\"status\":\"in_progress\"}}\n\n");
    for i in 0..TOKENS {
        let w = words[i % words.len()];
        s.push_str(&format!(
            "event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"sequence_number\":{},\"item_id\":\"msg_bench0123456789\",\"output_index\":0,\"content_index\":0,\"delta\":\"{w}\",\"logprobs\":[],\"obfuscation\":\"aZ3kLm9Q\"}}\n\n",
            i + 1
        ));
    }
    s.push_str("event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"item\":{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"(long)\"}]}}\n\n");
    s.push_str("event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_bench\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n");
    s.into_bytes()
}

/// Decode the stream, turning each provider event into an agent event for `deliver` (the
/// mapping the agent loop does).
fn run(chunks: &[&[u8]], mut deliver: impl FnMut(AgentEvent<'_>) + Send) {
    let c = decode_body(chunks.iter().copied(), &mut |ev| match ev {
        StreamEvent::TextDelta(t) => deliver(AgentEvent::TextDelta(t)),
        StreamEvent::ThinkingDelta(t) => deliver(AgentEvent::ThinkingDelta(t)),
        _ => {}
    })
    .expect("the bench stream is complete");
    black_box(c);
}

fn measure(name: &str, rounds: u32, mut f: impl FnMut()) {
    f();
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{name:<46} {:>7.1} ns/token  ({:.1} ms for {TOKENS} tokens, best of {rounds})",
        best * 1e9 / TOKENS as f64,
        best * 1e3
    );
}

fn main() {
    let stream = build_stream();
    let chunks: Vec<&[u8]> = stream.chunks(16 * 1024).collect();

    measure("decode only (provider, no-op sink)", 5, || {
        let c = decode_body(chunks.iter().copied(), &mut |ev| {
            black_box(ev);
        })
        .unwrap();
        black_box(c);
    });

    let mut bytes = 0usize;
    measure("borrowed sink, same task (sx -p)", 5, || {
        run(&chunks, |ev| {
            if let AgentEvent::TextDelta(t) = ev {
                bytes += t.len();
            }
        });
    });
    black_box(bytes);

    measure("sx_agent::channel to another thread (merged)", 5, || {
        let (tx, mut rx) = channel();
        let consumer = std::thread::spawn(move || {
            // A front end's loop on its own runtime.
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut n = 0usize;
                while let Some(batch) = rx.recv_all().await {
                    for ev in batch {
                        if let OwnedEvent::TextDelta(t) = ev {
                            n += t.len();
                        }
                    }
                }
                n
            })
        });
        run(&chunks, |ev| tx.send(ev));
        drop(tx);
        black_box(consumer.join().unwrap());
    });

    measure("owned event per token, sync_channel(1024)", 5, || {
        let (tx, rx) = std::sync::mpsc::sync_channel::<OwnedEvent>(1024);
        let consumer = std::thread::spawn(move || {
            let mut n = 0usize;
            for ev in rx {
                if let OwnedEvent::TextDelta(t) = ev {
                    n += t.len();
                }
            }
            n
        });
        run(&chunks, |ev| {
            let _ = tx.send(OwnedEvent::from(ev));
        });
        drop(tx);
        black_box(consumer.join().unwrap());
    });
}
