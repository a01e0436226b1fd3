//! Decode throughput of the `claude` CLI's `stream-json` output (`cargo bench -p sxnet --bench
//! claude_code`).
//!
//! Prints MB/s for (1) line framing alone (`LineReader`, bounded lines over a 64 KiB-read
//! reader, as from the CLI's stdout pipe), (2) the full decode (framing + the line envelope +
//! the Messages event inside it + the state machine + the completion), ns per token (one
//! `stream_event` text delta line = one token), and the allocations a decode makes per token.
//! The output has the CLI's shapes (tests/fixtures/claude_code/text.jsonl, thinking.jsonl): every
//! line carries `session_id`, `parent_tool_use_id` and a `uuid`.

use std::hint::black_box;
use std::time::Instant;

use sxnet::providers::claude_code::{Limits, LineReader, decode_output};

#[path = "common/alloc_count.rs"]
mod alloc_count;

const SESSION: &str = "64c74e3f-2630-4888-9ab2-93193434711d";

fn stream_event(s: &mut String, n: u64, event: &str) {
    s.push_str(r#"{"type":"stream_event","event":"#);
    s.push_str(event);
    s.push_str(&format!(
        r#","session_id":"{SESSION}","parent_tool_use_id":null,"uuid":"961c781a-8bee-4ae6-93b2-{n:012x}"}}"#
    ));
    s.push('\n');
}

/// An output of about `target_bytes`; returns it and its number of text deltas.
fn build_output(target_bytes: usize) -> (Vec<u8>, u64) {
    let mut s = String::with_capacity(target_bytes + 8192);
    s.push_str(&format!(
        r#"{{"type":"system","subtype":"init","cwd":"/tmp/proj","session_id":"{SESSION}","tools":["Bash","Edit","Read"],"mcp_servers":[],"model":"claude-sonnet-5","permissionMode":"default","apiKeySource":"none","claude_code_version":"2.1.197"}}"#
    ));
    s.push('\n');
    let mut n = 0u64;
    stream_event(
        &mut s,
        n,
        r#"{"type":"message_start","message":{"id":"msg_01Bench","type":"message","role":"assistant","model":"claude-sonnet-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":42,"cache_creation_input_tokens":5,"cache_read_input_tokens":30,"output_tokens":1}}}"#,
    );
    stream_event(
        &mut s,
        n,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
    );
    for i in 0..200 {
        n += 1;
        stream_event(
            &mut s,
            n,
            &format!(
                r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"thinking_delta","thinking":" thinking step {i}"}}}}"#
            ),
        );
    }
    stream_event(&mut s, n, r#"{"type":"content_block_stop","index":0}"#);
    stream_event(
        &mut s,
        n,
        r#"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#,
    );
    let words = [
        "the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ", "`code` ", "café ",
    ];
    let mut tokens = 0u64;
    let mut answer = String::new();
    while s.len() < target_bytes {
        let w = words[tokens as usize % words.len()];
        n += 1;
        stream_event(
            &mut s,
            n,
            &format!(
                r#"{{"type":"content_block_delta","index":1,"delta":{{"type":"text_delta","text":"{w}"}}}}"#
            ),
        );
        answer.push_str(w);
        tokens += 1;
    }
    s.push_str(&serde_json::json!({"type": "assistant", "message": {"id": "msg_01Bench", "type": "message", "role": "assistant", "model": "claude-sonnet-5", "content": [{"type": "text", "text": answer}]}, "parent_tool_use_id": null, "session_id": SESSION}).to_string());
    s.push('\n');
    stream_event(&mut s, n, r#"{"type":"content_block_stop","index":1}"#);
    stream_event(
        &mut s,
        n,
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":800}}"#,
    );
    stream_event(&mut s, n, r#"{"type":"message_stop"}"#);
    s.push_str(&format!(
        r#"{{"type":"result","subtype":"success","is_error":false,"num_turns":1,"result":"…","stop_reason":"end_turn","session_id":"{SESSION}","total_cost_usd":0.0,"usage":{{"input_tokens":42,"cache_creation_input_tokens":5,"cache_read_input_tokens":30,"output_tokens":800}},"permission_denials":[]}}"#
    ));
    s.push('\n');
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
        "{name:<40} {:>9.0} MB/s  ({:.1} ms for {:.1} MB)",
        bytes as f64 / secs / 1e6,
        secs * 1e3,
        bytes as f64 / 1e6
    );
}

fn main() {
    let (output, tokens) = build_output(64 << 20);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let rounds = 5;

    let mut line_bytes = 0u64;
    let framing = best(rounds, || {
        rt.block_on(async {
            let mut r = LineReader::new(output.as_slice(), Limits::default());
            while let Some(l) = r.next_line().await.unwrap() {
                line_bytes += l.len() as u64;
            }
        })
    });
    black_box(line_bytes);
    report("line framing (64 KiB reads)", output.len(), framing);

    let mut text = 0usize;
    let mut decode = || {
        rt.block_on(async {
            let c = decode_output(output.as_slice(), true, &mut |ev| {
                if let sxnet::StreamEvent::TextDelta(t) = ev {
                    text += t.len();
                }
            })
            .await
            .expect("the bench output is complete");
            black_box(c);
        })
    };
    let full = best(rounds, &mut decode);
    report("stream-json decode (lines+json+events)", output.len(), full);
    println!(
        "{:<40} {:>9.0} ns per token ({tokens} text deltas); the JSON layer and state machine: {:.0} % of the decode",
        "",
        full * 1e9 / tokens as f64,
        (full - framing) / full * 100.0
    );
    let before = alloc_count::allocations();
    decode();
    let n = alloc_count::allocations() - before;
    println!(
        "allocations decoding {tokens} tokens: {n} ({:.4} per token; the answer's growth and the final assistant line)",
        n as f64 / tokens as f64
    );
    black_box(text);
}
