//! What the fuzz targets share (docs/reliability.md, "Fuzzing"): cutting an input into network
//! chunks the fuzzer chooses, and recording what a decoder streams so that two runs over the
//! same bytes can be compared.

use sxnet::{EventSink, StreamEvent};

/// The first byte of an input steers how the rest is cut; the rest is the body.
pub fn seed_and_body(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((&seed, body)) => (seed, body),
        None => (0, &[]),
    }
}

/// `body` cut into chunks whose sizes follow from `seed` (1 to 64 bytes each, a small
/// generator seeded by it): the same bytes as the network would split them on a bad day.
pub fn split(seed: u8, body: &[u8]) -> Vec<&[u8]> {
    let mut state = u32::from(seed).wrapping_mul(2_654_435_761).wrapping_add(1);
    let max = usize::from(seed % 64) + 1;
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (state as usize % max + 1).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        out.push(chunk);
        rest = tail;
    }
    out
}

/// What a stream produced: each event as its `Debug` text, then the completion or error.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Record {
    pub events: Vec<String>,
    pub outcome: String,
}

impl Record {
    pub fn push(&mut self, ev: StreamEvent<'_>) {
        self.events.push(normalize(&format!("{ev:?}")));
    }

    pub fn end<T: std::fmt::Debug, E: std::fmt::Debug>(&mut self, r: &Result<T, E>) {
        self.outcome = normalize(&format!("{r:?}"));
    }
}

/// Ids a decoder makes up from a random value (Gemini's calls, Chat Completions calls sent
/// without an id) differ between two runs: their random part is blanked before comparing.
pub fn normalize(s: &str) -> String {
    let mut out = s.to_string();
    for (prefix, len) in [("sx-gemini-", 12), ("call_", 16)] {
        let mut from = 0;
        while let Some(at) = out[from..].find(prefix) {
            let start = from + at + prefix.len();
            let hex = out[start..]
                .bytes()
                .take(len)
                .take_while(u8::is_ascii_hexdigit)
                .count();
            out.replace_range(start..start + hex, &"#".repeat(hex));
            from = start + hex;
        }
    }
    out
}

/// Decode `body` twice — in one chunk, and cut as `seed` says — and check that both runs
/// stream the same events and end the same way: how the network splits a stream never
/// changes what sx sees (docs/protocols/providers.md §0.3).
pub fn same_whole_and_split<R: std::fmt::Debug, E: std::fmt::Debug>(
    data: &[u8],
    decode: impl Fn(Vec<&[u8]>, &mut EventSink<'_>) -> Result<R, E>,
) {
    let (seed, body) = seed_and_body(data);
    let run = |chunks: Vec<&[u8]>| {
        let mut rec = Record::default();
        let r = decode(chunks, &mut |ev| rec.push(ev));
        rec.end(&r);
        rec
    };
    let whole = run(vec![body]);
    let split = run(split(seed, body));
    assert_eq!(
        whole, split,
        "the same bytes cut differently decode differently"
    );
}
