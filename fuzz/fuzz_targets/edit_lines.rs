//! The `edit_lines` tool's block parser and its edit (crates/agent/src/tools/edit_lines.rs): the
//! input is the blocks, a NUL byte, then the file's text. Invariant: one block replacing every
//! line of the file with the same lines (none of them a header), when accepted, leaves the file as it was (its final
//! newline, or its absence, included).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sx_agent::tools::edit_lines_text;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (blocks, file) = text.split_once('\0').unwrap_or((text, ""));
    let _ = edit_lines_text(blocks, file);

    // (A line of the file that reads as a `LINE` header would end the block: not the same edit.)
    let headers = file.lines().any(|l| l.trim_start().starts_with("LINE"));
    if !file.is_empty() && !file.contains('\r') && !headers {
        let body = file.strip_suffix('\n').unwrap_or(file);
        let lines = body.split('\n').count();
        let same = format!("LINE 1-{lines}\n{body}\nEND\n");
        if let Ok(out) = edit_lines_text(&same, file) {
            assert_eq!(
                out, file,
                "replacing every line with itself changed the file"
            );
        }
    }
});
