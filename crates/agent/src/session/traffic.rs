//! The session's redacted wire log (docs/spec.md §7).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sxnet::http::TrafficLog;

use super::{Secrets, now};

/// The `traffic/` folder: `NNNN-request.json` and `NNNN-response.txt` (status, headers, then
/// the body as received — SSE byte for byte), with secrets replaced by `***`.
pub(super) struct TrafficDir {
    pub(super) dir: PathBuf,
    pub(super) next: AtomicU64,
    pub(super) secrets: Arc<Secrets>,
    /// Responses being received: (id, text so far). Written whole at the end so a secret is
    /// never split across writes (and so never escapes redaction).
    pub(super) open: Mutex<Vec<(u64, Vec<u8>)>>,
}

impl TrafficDir {
    fn file(&self, id: u64, kind: &str) -> PathBuf {
        self.dir.join(format!("{id:04}-{kind}"))
    }

    fn write(&self, path: &Path, text: &str) {
        // The traffic log is a diagnostic: failing to write it never fails the run.
        let _ = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .and_then(|mut f| f.write_all(self.secrets.redact(text).as_bytes()));
    }
}

impl TrafficLog for TrafficDir {
    fn request(&self, method: &str, url: &str, headers: &[(String, String)], body: &[u8]) -> u64 {
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let body_json: serde_json::Value = serde_json::from_slice(body).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(body).into_owned())
        });
        let headers: serde_json::Map<String, serde_json::Value> = headers
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let doc = serde_json::json!({"time": now(), "method": method, "url": url, "headers": headers, "body": body_json});
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
        self.open
            .lock()
            .expect("poisoned")
            .push((id, head.into_bytes()));
    }

    fn response_chunk(&self, id: u64, chunk: &[u8]) {
        if let Some((_, buf)) = self
            .open
            .lock()
            .expect("poisoned")
            .iter_mut()
            .find(|(i, _)| *i == id)
        {
            buf.extend_from_slice(chunk);
        }
    }

    fn response_end(&self, id: u64, error: Option<&str>) {
        let buf = {
            let mut open = self.open.lock().expect("poisoned");
            match open.iter().position(|(i, _)| *i == id) {
                Some(pos) => open.swap_remove(pos).1,
                None => Vec::new(),
            }
        };
        let mut text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(e) = error {
            text.push_str(&format!("\n[sx: {e}]\n"));
        }
        self.write(&self.file(id, "response.txt"), &text);
    }
}
