use pretty_assertions::assert_eq;

use super::*;

fn bash(code: i32, body: &str) -> String {
    format!("Exit code: {code}\nWall time: 0.3 seconds\nOutput:\n{body}")
}

#[test]
fn a_command_shows_its_status_and_the_last_lines() {
    let body: String = (1..=12).map(|i| format!("line {i}\n")).collect();
    assert_eq!(
        result_lines(&bash(1, &body), false, true, 200),
        [
            "  ⎿ exit 1 · 0.3s · 12 lines",
            "    … 7 earlier lines",
            "    line 8",
            "    line 9",
            "    line 10",
            "    line 11",
            "    line 12",
        ]
    );
    assert_eq!(
        result_lines(&bash(0, ""), false, true, 200),
        ["  ⎿ exit 0 · 0.3s · no output"]
    );
    assert_eq!(
        result_lines(&bash(0, "ok\n"), false, true, 200),
        ["  ⎿ exit 0 · 0.3s · 1 line", "    ok"]
    );
    // A function's command: stdout only.
    assert_eq!(result_lines("shipped\n", false, true, 200), ["  ⎿ shipped"]);
    assert_eq!(
        result_lines(
            "function 'f' failed (exit status: 3)\nstdout:\nout\nstderr:\nit broke\n",
            true,
            true,
            200
        ),
        [
            "  ✗ function 'f' failed (exit status: 3) · 3 lines",
            "    out",
            "    stderr:",
            "    it broke"
        ]
    );
    let timeout =
        "Command timed out after 1s; it was killed.\nOutput before the timeout:\nstarting\n";
    assert_eq!(
        result_lines(timeout, true, true, 200),
        [
            "  ✗ Command timed out after 1s; it was killed. · 1 line",
            "    starting"
        ]
    );
}

#[test]
fn other_tools_and_messages_for_the_model_show_their_first_line() {
    let refused = "'bash' was not run: it needs approval.\nIt may only read.";
    assert_eq!(
        result_lines(refused, true, true, 200),
        ["  ✗ 'bash' was not run: it needs approval."]
    );
    assert_eq!(
        result_lines("     1\tfn main() {}\n     2\t", false, false, 200),
        ["  ⎿      1    fn main() {}"]
    );
    assert_eq!(result_lines("", false, false, 200), ["  ⎿ (no output)"]);
}

#[test]
fn lines_are_cut_to_the_width_and_made_safe() {
    let long = "x".repeat(300);
    let lines = result_lines(&bash(0, &long), false, true, 40);
    assert_eq!(lines[1].chars().count(), 40, "{lines:?}");
    assert!(lines[1].ends_with('…'));
    // Wide characters count twice.
    let lines = result_lines(&bash(0, &"界".repeat(50)), false, true, 24);
    assert_eq!(sx_tui::text::width(&lines[1]), 23, "{lines:?}");

    assert_eq!(clean("\u{1b}[31mred\u{1b}[0m plain"), "red plain");
    assert_eq!(clean("\u{1b}]52;c;c2VjcmV0\u{7}after"), "after");
    assert_eq!(clean("\u{1b}]0;title\u{1b}\\x"), "x");
    assert_eq!(clean("10%\r50%\r100% done\r"), "100% done");
    assert_eq!(clean("a\u{7}b\u{0}c\u{1b}(Bd"), "abcd");
    assert_eq!(clean("\u{9b}2Jgone"), "gone");
}
