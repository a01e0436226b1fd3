//! The OpenAI Chat Completions stream (crates/net/src/providers/openai/stream.rs): an SSE
//! body cut as the first byte says (its low bit: show thinking or not), and the same bytes as
//! a whole (`STREAMING=0`) answer. Invariant: one chunk or many, the same events and end.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sxnet::providers::openai::{ChatStream, decode_body};
use sxnet::runtime::WireStream;

fuzz_target!(|data: &[u8]| {
    let show_thinking = data.first().is_some_and(|s| s & 1 == 1);
    sx_fuzz::same_whole_and_split(data, |chunks, sink| {
        decode_body(chunks, show_thinking, sink)
    });
    let mut whole = ChatStream::new(show_thinking);
    let _ = whole.on_whole(sx_fuzz::seed_and_body(data).1, &mut |_| {});
    let _ = whole.finish();
});
