//! One provider, two listeners to its traffic: the session's log and an observer (`sx
//! --verbose` prints a line per request and response). Each listener keeps its own request
//! ids; this maps ours onto theirs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sxnet::http::TrafficLog;

pub struct Both {
    first: Arc<dyn TrafficLog>,
    second: Arc<dyn TrafficLog>,
    next: AtomicU64,
    ids: Mutex<HashMap<u64, (u64, u64)>>,
}

impl Both {
    pub fn new(first: Arc<dyn TrafficLog>, second: Arc<dyn TrafficLog>) -> Both {
        Both {
            first,
            second,
            next: AtomicU64::new(1),
            ids: Mutex::default(),
        }
    }

    fn ids(&self, id: u64) -> Option<(u64, u64)> {
        self.ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .copied()
    }
}

impl TrafficLog for Both {
    fn request(&self, method: &str, url: &str, headers: &[(String, String)], body: &[u8]) -> u64 {
        let pair = (
            self.first.request(method, url, headers, body),
            self.second.request(method, url, headers, body),
        );
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, pair);
        id
    }

    fn response_head(&self, id: u64, status: u16, headers: &[(String, String)]) {
        if let Some((a, b)) = self.ids(id) {
            self.first.response_head(a, status, headers);
            self.second.response_head(b, status, headers);
        }
    }

    fn response_chunk(&self, id: u64, chunk: &[u8]) {
        if let Some((a, b)) = self.ids(id) {
            self.first.response_chunk(a, chunk);
            self.second.response_chunk(b, chunk);
        }
    }

    fn response_end(&self, id: u64, error: Option<&str>) {
        let pair = self
            .ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        if let Some((a, b)) = pair {
            self.first.response_end(a, error);
            self.second.response_end(b, error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Rec {
        base: u64,
        seen: Mutex<Vec<String>>,
    }
    impl TrafficLog for Rec {
        fn request(&self, method: &str, url: &str, _: &[(String, String)], _: &[u8]) -> u64 {
            let mut s = self.seen.lock().unwrap();
            s.push(format!("{method} {url}"));
            self.base + s.len() as u64
        }
        fn response_head(&self, id: u64, status: u16, _: &[(String, String)]) {
            self.seen.lock().unwrap().push(format!("{id} {status}"));
        }
        fn response_chunk(&self, id: u64, chunk: &[u8]) {
            self.seen
                .lock()
                .unwrap()
                .push(format!("{id} {}", chunk.len()));
        }
        fn response_end(&self, id: u64, error: Option<&str>) {
            self.seen
                .lock()
                .unwrap()
                .push(format!("{id} end {error:?}"));
        }
    }

    #[test]
    fn each_listener_hears_everything_under_its_own_ids() {
        let (a, b) = (
            Arc::new(Rec {
                base: 100,
                ..Default::default()
            }),
            Arc::new(Rec {
                base: 7,
                ..Default::default()
            }),
        );
        let both = Both::new(a.clone(), b.clone());
        let id = both.request("POST", "u", &[], b"{}");
        both.response_head(id, 200, &[]);
        both.response_chunk(id, b"abc");
        both.response_end(id, None);
        both.response_end(id, None); // once only
        assert_eq!(
            *a.seen.lock().unwrap(),
            ["POST u", "101 200", "101 3", "101 end None"]
        );
        assert_eq!(
            *b.seen.lock().unwrap(),
            ["POST u", "8 200", "8 3", "8 end None"]
        );
    }
}
