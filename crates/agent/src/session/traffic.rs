//! The session's redacted wire log (docs/spec.md §7).
//!
//! A response is streamed to its file as it arrives, never held whole (docs/reliability.md):
//! memory stays at one chunk plus a short tail, whatever the server sends, and each file keeps
//! at most [`MAX_TRAFFIC_RESPONSE`] of its body, saying how much more came. The tail is the
//! last `longest secret − 1` bytes, held back until the next chunk shows whether a secret
//! continues there, so a secret split across chunks is still replaced by `***`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sxnet::http::TrafficLog;

use super::{Secrets, now};

/// The most of one response's body the log keeps (bytes, after redaction).
pub(crate) const MAX_TRAFFIC_RESPONSE: u64 = 32 * 1024 * 1024;

/// The `traffic/` folder: `NNNN-request.json` and `NNNN-response.txt` (status, headers, then
/// the body as received — SSE byte for byte), with secrets replaced by `***`.
pub(super) struct TrafficDir {
    pub(super) dir: PathBuf,
    pub(super) next: AtomicU64,
    pub(super) secrets: Arc<Secrets>,
    /// Responses being received, by id.
    pub(super) open: Mutex<Vec<(u64, OpenResponse)>>,
}

/// One response being written.
pub(super) struct OpenResponse {
    /// `None` when the file could not be created (the log never fails the run).
    file: Option<File>,
    /// The secrets to replace, longest first (taken when the response began).
    secrets: Vec<String>,
    /// Received bytes not written yet: a secret may continue in the next chunk.
    tail: Vec<u8>,
    /// Body bytes written.
    written: u64,
    /// Body bytes past [`MAX_TRAFFIC_RESPONSE`], not written.
    dropped: u64,
    cap: u64,
}

impl OpenResponse {
    fn new(file: Option<File>, secrets: Vec<String>, cap: u64) -> OpenResponse {
        OpenResponse {
            file,
            secrets,
            tail: Vec::new(),
            written: 0,
            dropped: 0,
            cap,
        }
    }

    fn chunk(&mut self, chunk: &[u8]) {
        if self.written >= self.cap {
            self.dropped += chunk.len() as u64;
            return;
        }
        self.tail.extend_from_slice(chunk);
        self.flush(false);
    }

    /// Write what can no longer be the start of a secret (everything with `all`).
    fn flush(&mut self, all: bool) {
        let longest = self.secrets.first().map_or(0, String::len);
        let buf = &self.tail;
        let mut cut = if all {
            buf.len()
        } else {
            buf.len().saturating_sub(longest.saturating_sub(1))
        };
        let mut out = Vec::with_capacity(cut);
        let mut i = 0;
        while i < cut {
            // The earliest secret that starts before the cut (a secret that straddles it is
            // whole in `buf`: one that is not starts at or after the cut).
            let mut first: Option<(usize, usize)> = None;
            for s in &self.secrets {
                if let Some(p) = memchr::memmem::find(&buf[i..], s.as_bytes()) {
                    let p = i + p;
                    if p < cut && first.is_none_or(|(q, _)| p < q) {
                        first = Some((p, s.len()));
                    }
                }
            }
            match first {
                Some((p, len)) => {
                    out.extend_from_slice(&buf[i..p]);
                    out.extend_from_slice(b"***");
                    i = p + len;
                    cut = cut.max(i);
                }
                None => {
                    out.extend_from_slice(&buf[i..cut]);
                    i = cut;
                }
            }
        }
        self.tail.drain(..cut);
        let room = self.cap.saturating_sub(self.written);
        let keep = out.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        self.dropped += (out.len() - keep) as u64;
        self.written += keep as u64;
        if self.written >= self.cap {
            self.dropped += self.tail.len() as u64;
            self.tail = Vec::new();
        }
        self.write(&out[..keep]);
    }

    fn write(&mut self, bytes: &[u8]) {
        if let Some(f) = &mut self.file
            && f.write_all(bytes).is_err()
        {
            // The traffic log is a diagnostic: failing to write it never fails the run.
            self.file = None;
        }
    }

    fn end(mut self, error: Option<&str>) {
        self.flush(true);
        if self.dropped > 0 {
            let note = format!(
                "\n[sx: the traffic log keeps the first {} of a response; {} more bytes were received]\n",
                sxnet::limits::human_bytes(self.cap),
                self.dropped
            );
            self.write(note.as_bytes());
        }
        if let Some(e) = error {
            let line = format!("\n[sx: {e}]\n");
            self.write(redact_str(&self.secrets, &line).as_bytes());
        }
    }
}

/// A `NNNN-request.json`: when, what, the headers (already redacted) and the body.
#[derive(serde::Serialize)]
struct RequestDoc<'a> {
    time: String,
    method: &'a str,
    url: &'a str,
    headers: LoggedHeaders<'a>,
    body: LoggedBody<'a>,
}

struct LoggedHeaders<'a>(&'a [(String, String)]);

impl serde::Serialize for LoggedHeaders<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

#[derive(serde::Serialize)]
#[serde(untagged)]
enum LoggedBody<'a> {
    Json(&'a serde_json::value::RawValue),
    Text(std::borrow::Cow<'a, str>),
}

fn redact_str(secrets: &[String], text: &str) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "***");
        }
    }
    out
}

impl TrafficDir {
    fn file(&self, id: u64, kind: &str) -> PathBuf {
        self.dir.join(format!("{id:04}-{kind}"))
    }

    /// A link or FIFO put in the folder (a resumed session's folder comes from the project)
    /// is refused, never written through or waited on (docs/reliability.md, hole 3).
    fn create(path: &Path) -> Option<File> {
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
            .open(path)
            .ok()?;
        f.metadata().ok()?.is_file().then_some(f)
    }

    fn write(&self, path: &Path, text: &str) {
        if let Some(mut f) = Self::create(path) {
            let _ = f.write_all(sx_config::secrets::mask(text).as_bytes());
        }
    }

    /// Every secret the process knows, longest first.
    fn secret_values(&self) -> Vec<String> {
        let mut all = self.secrets.values();
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        all
    }

    fn take(&self, id: u64) -> Option<OpenResponse> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let pos = open.iter().position(|(i, _)| *i == id)?;
        Some(open.swap_remove(pos).1)
    }
}

impl TrafficLog for TrafficDir {
    fn request(&self, method: &str, url: &str, headers: &[(String, String)], body: &[u8]) -> u64 {
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        // The body goes in as it was sent (checked to be JSON, not parsed into a tree): a long
        // conversation's request is megabytes, and a tree of it cost several times that in
        // memory on the way to the first byte (docs/performance.md).
        let body = match serde_json::from_slice::<&serde_json::value::RawValue>(body) {
            Ok(json) => LoggedBody::Json(json),
            Err(_) => LoggedBody::Text(String::from_utf8_lossy(body)),
        };
        let doc = RequestDoc {
            time: now(),
            method,
            url,
            headers: LoggedHeaders(headers),
            body,
        };
        self.write(
            &self.file(id, "request.json"),
            &serde_json::to_string_pretty(&doc).expect("serializes"),
        );
        id
    }

    fn response_head(&self, id: u64, status: u16, headers: &[(String, String)]) {
        let mut head = format!("HTTP {status}\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\n"));
        }
        head.push('\n');
        let secrets = self.secret_values();
        let mut response = OpenResponse::new(
            Self::create(&self.file(id, "response.txt")),
            secrets,
            MAX_TRAFFIC_RESPONSE,
        );
        response.write(redact_str(&response.secrets, &head).as_bytes());
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((id, response));
    }

    fn response_chunk(&self, id: u64, chunk: &[u8]) {
        if let Some((_, r)) = self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter_mut()
            .find(|(i, _)| *i == id)
        {
            r.chunk(chunk);
        }
    }

    fn response_end(&self, id: u64, error: Option<&str>) {
        match self.take(id) {
            Some(r) => r.end(error),
            // No response head: the request failed before the server answered.
            None => {
                let text = error.map(|e| format!("\n[sx: {e}]\n")).unwrap_or_default();
                self.write(&self.file(id, "response.txt"), &text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(secrets: &[&str], chunks: &[&[u8]], cap: u64) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.txt");
        let mut secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let mut r = OpenResponse::new(TrafficDir::create(&path), secrets, cap);
        for c in chunks {
            r.chunk(c);
            assert!(r.tail.len() <= c.len() + 64, "the tail stays short");
        }
        r.end(None);
        std::fs::read_to_string(&path).unwrap()
    }

    #[test]
    fn secrets_split_anywhere_are_replaced() {
        let text = b"a SECRET-ONE b SECRET-TWO-LONGER c SECRET-ONE";
        let want = "a *** b *** c ***";
        for i in 0..=text.len() {
            for j in i..=text.len() {
                let got = run(
                    &["SECRET-ONE", "SECRET-TWO-LONGER"],
                    &[&text[..i], &text[i..j], &text[j..]],
                    1024,
                );
                assert_eq!(got, want, "split at {i},{j}");
            }
        }
        // Byte by byte, and with no secrets at all.
        let chunks: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(
            run(&["SECRET-ONE", "SECRET-TWO-LONGER"], &chunks, 1024),
            want
        );
        assert_eq!(
            run(&[], &chunks, 1024),
            String::from_utf8_lossy(text).into_owned()
        );
    }

    #[test]
    fn a_request_is_logged_with_its_headers_and_its_body_as_sent() {
        let d = tempfile::tempdir().unwrap();
        let traffic = TrafficDir {
            dir: d.path().to_path_buf(),
            next: AtomicU64::new(0),
            secrets: Arc::new(Secrets::default()),
            open: Mutex::new(Vec::new()),
        };
        let headers = [("accept".to_string(), "text/event-stream".to_string())];
        let body = br#"{"model":"m","input":[{"type":"message","content":"hi \"there\""}]}"#;
        assert_eq!(traffic.request("POST", "http://x/r", &headers, body), 1);
        assert_eq!(
            traffic.request("POST", "http://x/r", &[], b"\xffnot json"),
            2
        );
        let read = |name: &str| -> serde_json::Value {
            serde_json::from_str(&std::fs::read_to_string(d.path().join(name)).unwrap()).unwrap()
        };
        let first = read("0001-request.json");
        assert_eq!(first["method"], "POST");
        assert_eq!(first["url"], "http://x/r");
        assert_eq!(first["headers"]["accept"], "text/event-stream");
        let sent: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(first["body"], sent, "the body is the JSON that was sent");
        assert!(first["time"].is_string());
        // A body that is not JSON is kept as text.
        assert_eq!(read("0002-request.json")["body"], "\u{fffd}not json");
    }

    #[test]
    fn a_link_or_fifo_at_a_traffic_file_name_is_refused() {
        // A resumed session's folder comes from the project, which may plant either.
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, "mine").unwrap();
        let link = d.path().join("0001-request.json");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(TrafficDir::create(&link).is_none());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "mine");
        let fifo = d.path().join("0001-response.txt");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert!(TrafficDir::create(&fifo).is_none(), "not waited on either");
        assert!(TrafficDir::create(&d.path().join("0002-request.json")).is_some());
    }

    #[test]
    fn a_response_past_the_cap_is_cut_with_a_note() {
        let chunk = [b'x'; 100];
        let chunks: Vec<&[u8]> = std::iter::repeat_n(&chunk[..], 50).collect();
        let got = run(&["SECRET-ONE"], &chunks, 1000);
        assert!(got.starts_with(&"x".repeat(1000)), "{got}");
        assert!(!got.contains(&"x".repeat(1001)));
        assert!(
            got.ends_with("[sx: the traffic log keeps the first 1000 bytes of a response; 4000 more bytes were received]\n"),
            "{got}"
        );
    }
}
