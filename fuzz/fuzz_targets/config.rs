//! The `scorpiox-env.txt` parser (crates/config/src/parse.rs) and the typed check of each value
//! (crates/config/src/load.rs). Invariants: a file with CRLF line breaks reads as with LF, and
//! every pair it yields is a valid key whose `KEY=VALUE` also parses as a `-e` override.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = sx_config::parse_text(data);
    if let Ok(pairs) = &parsed {
        for (key, value, line) in pairs {
            assert!(
                sx_config::valid_key(key),
                "an invalid key was read: {key:?}"
            );
            assert!(*line >= 1);
            let _ = sx_config::check_value(key, value);
            let _ = sx_config::display_value(key, value);
        }
    }
    if !data.contains(&b'\r') {
        let crlf: Vec<u8> = data
            .iter()
            .flat_map(|&b| {
                if b == b'\n' {
                    vec![b'\r', b'\n']
                } else {
                    vec![b]
                }
            })
            .collect();
        assert_eq!(
            format!("{parsed:?}"),
            format!("{:?}", sx_config::parse_text(&crlf)),
            "CRLF line breaks read differently"
        );
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sx_config::parse_override(text);
    }
});
