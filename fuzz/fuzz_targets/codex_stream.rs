//! The Codex Responses stream (crates/net/src/providers/codex/stream.rs): an SSE body cut as
//! the first byte says, and the same bytes as a whole (`STREAMING=0`) answer. Invariant: one
//! chunk or many, the same events and the same end.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sxnet::providers::codex::{ResponsesStream, decode_body};
use sxnet::runtime::WireStream;

fuzz_target!(|data: &[u8]| {
    sx_fuzz::same_whole_and_split(data, |chunks, sink| decode_body(chunks, sink));
    let mut whole = ResponsesStream::default();
    let _ = whole.on_whole(sx_fuzz::seed_and_body(data).1, &mut |_| {});
    let _ = whole.finish();
});
