//! Counters, gauges and latency histograms in the Prometheus text format (`GET /metrics`).
//!
//! A service names its families once (name, help, kind) under its prefix
//! (`scorpiox_router_`); values are kept per label set. Label values are escaped; callers keep
//! them few (paths are counted by name or as `other`, providers and error types are closed
//! sets).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// What a family holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One family: `name` (without the service prefix), its help text and kind.
pub type Family = (&'static str, &'static str, Kind);

/// Latency buckets, in seconds (a model stream takes seconds to minutes).
const BUCKETS: &[f64] = &[
    0.005, 0.05, 0.25, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

#[derive(Default, Clone)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Values {
    numbers: BTreeMap<(&'static str, String), f64>,
    histograms: BTreeMap<(&'static str, String), Histogram>,
}

pub struct Metrics {
    prefix: &'static str,
    families: &'static [Family],
    values: Mutex<Values>,
}

impl Metrics {
    /// Every family a service reports; the shared ones (`requests_total`,
    /// `request_duration_seconds`) must be among them.
    pub fn new(prefix: &'static str, families: &'static [Family]) -> Metrics {
        Metrics {
            prefix,
            families,
            values: Mutex::new(Values::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Values> {
        self.values.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn family(&self, name: &str) -> &'static str {
        self.families
            .iter()
            .find(|f| f.0 == name)
            .map(|f| f.0)
            .unwrap_or_else(|| panic!("metric family {name} is not declared"))
    }

    /// Add 1 to a counter.
    pub fn inc(&self, name: &str, labels: &[(&str, &str)]) {
        self.add(name, labels, 1.0);
    }

    /// Add `v` (negative for a gauge going down).
    pub fn add(&self, name: &str, labels: &[(&str, &str)], v: f64) {
        let key = (self.family(name), label_text(labels));
        *self.lock().numbers.entry(key).or_default() += v;
    }

    /// One observation of a histogram, in seconds.
    pub fn observe(&self, name: &str, labels: &[(&str, &str)], seconds: f64) {
        let key = (self.family(name), label_text(labels));
        let mut v = self.lock();
        let h = v.histograms.entry(key).or_insert_with(|| Histogram {
            counts: vec![0; BUCKETS.len()],
            ..Histogram::default()
        });
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    /// The current value of a counter or gauge (tests, readiness).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let key = (self.family(name), label_text(labels));
        self.lock().numbers.get(&key).copied().unwrap_or(0.0)
    }

    /// Every family with its help and type lines, then its samples.
    pub fn render(&self) -> String {
        let v = self.lock();
        let mut out = String::new();
        for (name, help, kind) in self.families {
            let full = format!("{}{name}", self.prefix);
            let ty = match kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram => "histogram",
            };
            let _ = writeln!(out, "# HELP {full} {help}\n# TYPE {full} {ty}");
            match kind {
                Kind::Counter | Kind::Gauge => {
                    for ((n, labels), value) in &v.numbers {
                        if n == name {
                            let _ = writeln!(out, "{full}{} {value}", braces(labels));
                        }
                    }
                }
                Kind::Histogram => {
                    for ((n, labels), h) in &v.histograms {
                        if n != name {
                            continue;
                        }
                        let sep = if labels.is_empty() { "" } else { "," };
                        for (b, c) in BUCKETS.iter().zip(&h.counts) {
                            let _ = writeln!(out, "{full}_bucket{{{labels}{sep}le=\"{b}\"}} {c}");
                        }
                        let _ =
                            writeln!(out, "{full}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", h.count);
                        let _ = writeln!(out, "{full}_sum{} {}", braces(labels), h.sum);
                        let _ = writeln!(out, "{full}_count{} {}", braces(labels), h.count);
                    }
                }
            }
        }
        out
    }
}

fn braces(labels: &str) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    }
}

/// `a="x",b="y"` with values escaped as the text format requires.
fn label_text(labels: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAMILIES: &[Family] = &[
        ("requests_total", "Requests answered.", Kind::Counter),
        ("open", "Open things.", Kind::Gauge),
        ("request_duration_seconds", "Latency.", Kind::Histogram),
    ];

    #[test]
    fn renders_the_text_format() {
        let m = Metrics::new("x_", FAMILIES);
        m.inc("requests_total", &[("path", "/a"), ("status", "200")]);
        m.inc("requests_total", &[("path", "/a"), ("status", "200")]);
        m.inc("requests_total", &[("path", "q\"\\\n"), ("status", "500")]);
        m.add("open", &[], 2.0);
        m.add("open", &[], -1.0);
        m.observe("request_duration_seconds", &[("path", "/a")], 0.2);
        let text = m.render();
        assert!(text.contains("# TYPE x_requests_total counter\n"), "{text}");
        assert!(
            text.contains("x_requests_total{path=\"/a\",status=\"200\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains(r#"x_requests_total{path="q\"\\\n",status="500"} 1"#),
            "{text}"
        );
        assert!(text.contains("x_open 1\n"), "{text}");
        assert!(
            text.contains("x_request_duration_seconds_bucket{path=\"/a\",le=\"0.05\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("x_request_duration_seconds_bucket{path=\"/a\",le=\"0.25\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("x_request_duration_seconds_bucket{path=\"/a\",le=\"+Inf\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("x_request_duration_seconds_count{path=\"/a\"} 1\n"),
            "{text}"
        );
        assert_eq!(m.value("open", &[]), 1.0);
    }
}
