//! Files under the repository's `tests/fixtures/`.

use std::path::PathBuf;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/");

/// The repository's `tests/fixtures` directory.
pub fn fixtures_dir() -> PathBuf {
    let dir = PathBuf::from(FIXTURES);
    dir.canonicalize().unwrap_or(dir)
}

/// The bytes of `tests/fixtures/<rel>`, e.g. `fixture("codex/text.sse")`.
///
/// # Panics
/// With the full path when the file cannot be read.
pub fn fixture(rel: &str) -> Vec<u8> {
    let path = fixtures_dir().join(rel);
    std::fs::read(&path).unwrap_or_else(|err| panic!("fixture {}: {err}", path.display()))
}

/// [`fixture`] as UTF-8 text.
///
/// # Panics
/// When the file cannot be read or is not UTF-8.
pub fn fixture_str(rel: &str) -> String {
    String::from_utf8(fixture(rel))
        .unwrap_or_else(|err| panic!("fixture {rel} is not UTF-8: {err}"))
}

/// [`fixture`] parsed as JSON.
///
/// # Panics
/// When the file cannot be read or is not JSON.
pub fn fixture_json(rel: &str) -> serde_json::Value {
    serde_json::from_slice(&fixture(rel))
        .unwrap_or_else(|err| panic!("fixture {rel} is not JSON: {err}"))
}
