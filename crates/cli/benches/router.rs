//! The router's answer path on a large stream (`cargo bench -p sx-cli --bench router`).
//!
//! A Codex Responses stream of 200 000 text deltas (plus reasoning and a call) is decoded by the
//! library (1) alone and (2) with every event written as Messages SSE by the router's
//! `SseWriter`, the buffer drained every 64 events as the response body does. Prints MB/s of
//! input and ns per token for both; the difference is what the router adds per token.

use std::hint::black_box;
use std::time::Instant;

use sx_cli::router::reply::SseWriter;
use sx_testkit::{responses, sse};
use sxnet::ProviderId;
use sxnet::providers::codex::decode_body;

const TOKENS: usize = 200_000;

fn stream() -> Vec<u8> {
    let words = [
        "the ",
        "quick ",
        "brown ",
        "fox ",
        "café ",
        "\"quoted\" ",
        "dog\n",
    ];
    let text: String = (0..TOKENS).map(|i| words[i % words.len()]).collect();
    let mut ev = vec![responses::created(responses::RESP_ID)];
    ev.extend(responses::reasoning_events(
        responses::REASONING_ID,
        "Plan the answer.",
        responses::ENCRYPTED_CONTENT,
    ));
    // One delta per word, as the back-end streams tokens.
    ev.push(responses::message_added(responses::MSG_ID));
    ev.push(responses::content_part_added(responses::MSG_ID));
    for i in 0..TOKENS {
        ev.push(responses::output_text_delta(
            responses::MSG_ID,
            words[i % words.len()],
        ));
    }
    ev.push(responses::output_text_done(responses::MSG_ID, &text));
    ev.push(responses::content_part_done(responses::MSG_ID, &text));
    ev.push(responses::message_done(responses::MSG_ID, &text, None));
    ev.extend(responses::function_call_events(
        responses::FUNCTION_CALL_ID,
        "call_1",
        "read_file",
        r#"{"path":"notes.txt"}"#,
    ));
    ev.push(responses::completed(responses::RESP_ID, Default::default()));
    sse::encode(&responses::finalize(ev)).into_bytes()
}

/// Best time of `rounds` in seconds.
fn best(rounds: u32, mut f: impl FnMut()) -> f64 {
    f();
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

fn main() {
    let body = stream();
    let chunks: Vec<&[u8]> = body.chunks(16 * 1024).collect();
    let mb = body.len() as f64 / 1e6;
    let decode = best(5, || {
        let c = decode_body(chunks.iter().copied(), &mut |e| {
            black_box(e);
        })
        .unwrap();
        black_box(c);
    });
    let mut out_bytes = 0usize;
    let relay = best(5, || {
        let mut w = SseWriter::new(ProviderId::Codex);
        w.start("msg_bench", "claude-sonnet-5", 1000);
        let mut n = 0u32;
        let mut sent = 0usize;
        let c = decode_body(chunks.iter().copied(), &mut |e| {
            w.on_event(e);
            n += 1;
            if n.is_multiple_of(64) {
                sent += black_box(w.take()).len();
            }
        })
        .unwrap();
        w.finish(&c);
        sent += w.take().len();
        out_bytes = sent;
    });
    let ns = |secs: f64| secs * 1e9 / TOKENS as f64;
    println!(
        "codex stream: {mb:.1} MB in, {TOKENS} tokens; Messages SSE out: {:.1} MB",
        out_bytes as f64 / 1e6
    );
    println!(
        "decode alone:        {:>8.1} MB/s  {:>6.0} ns/token",
        mb / decode,
        ns(decode)
    );
    println!(
        "decode + SSE writer: {:>8.1} MB/s  {:>6.0} ns/token  (the router adds {:.0} ns/token)",
        mb / relay,
        ns(relay),
        ns(relay) - ns(decode)
    );
}
