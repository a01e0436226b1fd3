//! Claude Code's `stream-json` output (crates/net/src/providers/claude_code/output.rs, the
//! line reader of process.rs): bytes as the child's stdout, read in pieces the first byte
//! chooses. Invariants: however the pipe delivers them, the same events and the same end; and
//! the per-token fast path reads every line that is JSON as the JSON parser does.
#![no_main]

use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use libfuzzer_sys::fuzz_target;
use sx_fuzz::Record;
use sxnet::providers::claude_code::{decode_output, fast_line_agrees};
use tokio::io::{AsyncRead, ReadBuf};

/// A pipe that hands out its bytes in the given pieces.
struct Pieces<'a>(std::collections::VecDeque<&'a [u8]>);

impl AsyncRead for Pieces<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if let Some(piece) = self.0.pop_front() {
            let n = piece.len().min(buf.remaining());
            buf.put_slice(&piece[..n]);
            if n < piece.len() {
                self.0.push_front(&piece[n..]);
            }
        }
        Poll::Ready(Ok(()))
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
    })
}

fn run(pieces: Vec<&[u8]>, show_thinking: bool) -> Record {
    let mut rec = Record::default();
    let r = runtime().block_on(decode_output(
        Pieces(pieces.into()),
        show_thinking,
        &mut |ev| rec.push(ev),
    ));
    rec.end(&r);
    rec
}

fuzz_target!(|data: &[u8]| {
    let (seed, body) = sx_fuzz::seed_and_body(data);
    let show_thinking = seed & 1 == 1;
    let whole = run(vec![body], show_thinking);
    let split = run(sx_fuzz::split(seed, body), show_thinking);
    assert_eq!(
        whole, split,
        "the same output read in other pieces decodes differently"
    );
    for line in String::from_utf8_lossy(body).lines() {
        assert!(
            fast_line_agrees(line.trim()),
            "the fast path misreads {line:?}"
        );
    }
});
