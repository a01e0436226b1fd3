//! Where a one-shot run's time goes (docs/performance.md, "Where the time goes"): with
//! `SX_PHASES=1` in the environment, `sx` notes the moment each step of a run ends and prints
//! them on stderr as it exits (`sx-phase <ms since start> <step>`), for `bench/phases`.
//!
//! Off, a mark costs one relaxed atomic load: the variable is read once, at the first mark.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

const UNKNOWN: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);
static MARKS: Mutex<Vec<(&'static str, Instant)>> = Mutex::new(Vec::new());
/// A long answer marks every text write: keep the first ones only (a one-shot run has ~20).
const MAX_MARKS: usize = 4096;

fn on() -> bool {
    match STATE.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => {
            let on = std::env::var_os("SX_PHASES").is_some_and(|v| v == "1");
            STATE.store(if on { ON } else { OFF }, Ordering::Relaxed);
            on
        }
    }
}

/// Note that `step` has just ended.
pub fn mark(step: &'static str) {
    if on() {
        let now = Instant::now();
        let mut marks = MARKS.lock().unwrap_or_else(|e| e.into_inner());
        if marks.len() < MAX_MARKS || step == "exit" {
            marks.push((step, now));
        }
    }
}

/// Print the marks (milliseconds since the first one) on stderr; nothing when off.
pub fn report() {
    if !on() {
        return;
    }
    let marks = MARKS.lock().unwrap_or_else(|e| e.into_inner());
    let Some(&(_, start)) = marks.first() else {
        return;
    };
    let mut out = String::new();
    for (step, at) in marks.iter() {
        out.push_str(&format!(
            "sx-phase {:.3} {step}\n",
            at.duration_since(start).as_secs_f64() * 1e3
        ));
    }
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(out.as_bytes());
}

#[cfg(test)]
mod tests {
    #[test]
    fn marks_are_reported_in_order_only_when_asked() {
        // The state is read once per process: force it for this test.
        super::STATE.store(super::ON, std::sync::atomic::Ordering::Relaxed);
        super::mark("a");
        super::mark("b");
        let marks = super::MARKS.lock().unwrap();
        let names: Vec<_> = marks.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(marks[0].1 <= marks[1].1);
        drop(marks);
        // Bounded, but the exit is always kept.
        for _ in 0..2 * super::MAX_MARKS {
            super::mark("text written");
        }
        super::mark("exit");
        let marks = super::MARKS.lock().unwrap();
        assert_eq!(marks.len(), super::MAX_MARKS + 1);
        assert_eq!(marks.last().unwrap().0, "exit");
    }
}
