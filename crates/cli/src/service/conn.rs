//! The listening socket, guarded against clients that hold connections without using them
//! (docs/reliability.md, hole 7):
//!
//! - at most `max_connections` open at once; once half of them are taken, at most
//!   `per_client` from one address (a connection beyond that is closed as soon as it is
//!   accepted), so one address cannot take the rest while many callers behind one address
//!   (a NAT, a proxy) are not held back on a quiet server;
//! - a request's line and headers must arrive within `header_timeout` of the connection's
//!   start (or of the first byte of the next request on a kept-alive connection), however
//!   slowly they trickle;
//! - when every slot is taken, the connection that has waited longest for its request head
//!   (or a kept-alive one silent for 30 s) is closed to make room, so legitimate requests keep
//!   being served while the slow ones hold slots;
//! - a connection with no reads or writes for `idle` is closed.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// A kept-alive connection silent this long (or the header timeout, if longer) may be closed
/// to make room.
const KEPT_ALIVE_QUIET: Duration = Duration::from_secs(30);

/// How the listener bounds its connections.
#[derive(Debug, Clone, Copy)]
pub struct Guard {
    /// Connections open at once.
    pub max_connections: usize,
    /// Connections open at once from one client address, enforced once half of
    /// `max_connections` are taken; 0: no such limit.
    pub per_client: usize,
    /// From a request's first byte (or the connection's start) to the end of its headers.
    pub header_timeout: Duration,
    /// A connection with no reads or writes for this long is closed.
    pub idle: Duration,
}

/// A TCP listener that keeps the bounds of a [`Guard`].
pub struct LimitedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    guard: Guard,
    table: Arc<Table>,
    next_id: u64,
    refused: Notice,
    evicted: Notice,
}

impl LimitedListener {
    pub fn new(inner: TcpListener, guard: Guard) -> Self {
        LimitedListener {
            inner,
            permits: Arc::new(Semaphore::new(guard.max_connections)),
            guard,
            table: Arc::new(Table::default()),
            next_id: 0,
            refused: Notice::default(),
            evicted: Notice::default(),
        }
    }

    /// A slot, once one is free; when none is, close the connection that has waited longest
    /// for its request head and take its slot. While every connection is busy with a request,
    /// wait (the new client waits in the listen backlog meanwhile).
    async fn slot(&mut self) -> OwnedSemaphorePermit {
        loop {
            if let Ok(p) = Arc::clone(&self.permits).try_acquire_owned() {
                return p;
            }
            // A streamed answer is never silent this long (the router pings every 15 s).
            let quiet = self.guard.header_timeout.max(KEPT_ALIVE_QUIET);
            if self.table.evict_one(quiet) {
                self.evicted.note(|n| {
                    format!(
                        "all {} connections were taken: closed {n} that had not sent a whole \
                         request to make room",
                        self.guard.max_connections
                    )
                });
            }
            let wait = Arc::clone(&self.permits).acquire_owned();
            if let Ok(p) = tokio::time::timeout(Duration::from_millis(500), wait).await {
                return p.expect("the connection semaphore is never closed");
            }
        }
    }
}

impl Listener for LimitedListener {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        loop {
            let (stream, peer) = match self.inner.accept().await {
                Ok(accepted) => accepted,
                // The client gave up before we accepted: nothing to do.
                Err(e) if is_connection_error(&e) => continue,
                // Out of file descriptors and the like: back off instead of spinning.
                Err(e) => {
                    eprintln!("warning: accepting a connection failed: {e}; retrying in 1s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let ip = peer.ip();
            let per_client = self.guard.per_client;
            let taken = self.guard.max_connections - self.permits.available_permits();
            if per_client > 0
                && taken * 2 >= self.guard.max_connections
                && self.table.count(ip) >= per_client
            {
                drop(stream);
                self.refused.note(|n| {
                    format!(
                        "refused {n} connection(s) from an address that already had {per_client} \
                         open (last: {ip}); raise --max-connections-per-client if that is a proxy"
                    )
                });
                continue;
            }
            let permit = self.slot().await;
            let _ = stream.set_nodelay(true);
            self.next_id += 1;
            let slot = self.table.insert(self.next_id, ip);
            let conn = Conn::new(stream, permit, &self.guard, Arc::clone(&self.table), slot);
            return (conn, peer);
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// A warning for the operator, at most once a minute, counting the events since the last one.
#[derive(Default)]
struct Notice {
    count: u64,
    last: Option<Instant>,
}

impl Notice {
    fn note(&mut self, line: impl FnOnce(u64) -> String) {
        self.count += 1;
        if self
            .last
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(60))
        {
            eprintln!("warning: {}", line(self.count));
            self.count = 0;
            self.last = Some(Instant::now());
        }
    }
}

/// The peer address, as the access log shows it.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, LimitedListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, LimitedListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// Where a connection is in its request/response cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for, or reading, a request head (since the connection opened, or since the
    /// first byte of the next request).
    Head,
    /// The head is complete: the request is being handled.
    Busy,
    /// An answer is (being) written; the connection may be kept alive for the next request.
    Answered,
}

/// What the listener knows of one open connection.
struct Slot {
    ip: IpAddr,
    state: Mutex<SlotState>,
}

struct SlotState {
    phase: Phase,
    /// When the phase began (`Head`), or the last traffic (`Answered`).
    since: Instant,
    /// Closed to make room: the next read fails.
    evicted: bool,
    /// The task reading the connection, woken when it is evicted.
    waker: Option<Waker>,
}

/// The open connections, by id, and how many each address holds.
#[derive(Default)]
struct Table {
    inner: Mutex<TableInner>,
}

#[derive(Default)]
struct TableInner {
    slots: HashMap<u64, Arc<Slot>>,
    per_ip: HashMap<IpAddr, usize>,
}

impl Table {
    fn count(&self, ip: IpAddr) -> usize {
        let t = self.inner.lock().expect("poisoned");
        t.per_ip.get(&ip).copied().unwrap_or(0)
    }

    fn insert(&self, id: u64, ip: IpAddr) -> (u64, Arc<Slot>) {
        let slot = Arc::new(Slot {
            ip,
            state: Mutex::new(SlotState {
                phase: Phase::Head,
                since: Instant::now(),
                evicted: false,
                waker: None,
            }),
        });
        let mut t = self.inner.lock().expect("poisoned");
        t.slots.insert(id, Arc::clone(&slot));
        *t.per_ip.entry(ip).or_insert(0) += 1;
        (id, slot)
    }

    fn remove(&self, id: u64) {
        let mut t = self.inner.lock().expect("poisoned");
        if let Some(slot) = t.slots.remove(&id)
            && let Some(n) = t.per_ip.get_mut(&slot.ip)
        {
            *n -= 1;
            if *n == 0 {
                t.per_ip.remove(&slot.ip);
            }
        }
    }

    /// Close the connection that has waited longest for a request head; failing that, one
    /// kept alive (or stalled) without traffic for `quiet` or more. Never one whose request is
    /// being handled. Whether one was found.
    fn evict_one(&self, quiet: Duration) -> bool {
        let t = self.inner.lock().expect("poisoned");
        let now = Instant::now();
        let mut best: Option<(u8, Instant, &Arc<Slot>)> = None;
        for slot in t.slots.values() {
            let s = slot.state.lock().expect("poisoned");
            let rank = match s.phase {
                _ if s.evicted => continue,
                Phase::Head => 0,
                Phase::Answered if now.duration_since(s.since) >= quiet => 1,
                Phase::Answered | Phase::Busy => continue,
            };
            if best.is_none_or(|(r, since, _)| (rank, s.since) < (r, since)) {
                best = Some((rank, s.since, slot));
            }
        }
        let Some((_, _, slot)) = best else {
            return false;
        };
        let mut s = slot.state.lock().expect("poisoned");
        s.evicted = true;
        if let Some(w) = s.waker.take() {
            w.wake();
        }
        true
    }
}

/// Finds the end of a request head (an empty line; blank lines before the request line are
/// skipped, as HTTP/1.1 parsers do), fed the bytes as they arrive.
#[derive(Default)]
struct HeadEnd {
    line_len: usize,
    started: bool,
}

impl HeadEnd {
    /// Whether `bytes` complete the head.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        for &b in bytes {
            match b {
                b'\n' if self.line_len == 0 && self.started => return true,
                b'\n' => {
                    self.started |= self.line_len > 0;
                    self.line_len = 0;
                }
                b'\r' => {}
                _ => self.line_len += 1,
            }
        }
        false
    }
}

/// An accepted connection. It holds its slot in the listener until dropped, and fails with
/// `TimedOut` when its request head takes longer than the header timeout or neither a read
/// nor a write made progress for `idle`, and with `ConnectionAborted` once evicted.
pub struct Conn {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
    table: Arc<Table>,
    id: u64,
    slot: Arc<Slot>,
    /// A copy of the slot's phase (the slot is locked only when it changes).
    phase: Phase,
    head: HeadEnd,
    header_timeout: Duration,
    head_deadline: Pin<Box<Sleep>>,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl Conn {
    fn new(
        stream: TcpStream,
        permit: OwnedSemaphorePermit,
        guard: &Guard,
        table: Arc<Table>,
        (id, slot): (u64, Arc<Slot>),
    ) -> Self {
        Conn {
            stream,
            _permit: permit,
            table,
            id,
            slot,
            phase: Phase::Head,
            head: HeadEnd::default(),
            header_timeout: guard.header_timeout,
            head_deadline: Box::pin(tokio::time::sleep(guard.header_timeout)),
            idle: guard.idle,
            deadline: Box::pin(tokio::time::sleep(guard.idle)),
        }
    }

    fn progress(&mut self) {
        let next = Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }

    fn set_phase(&mut self, phase: Phase) {
        self.phase = phase;
        let mut s = self.slot.state.lock().expect("poisoned");
        s.phase = phase;
        s.since = Instant::now();
    }

    /// Bytes were read: a request head may begin or end.
    fn on_read(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.phase == Phase::Answered {
            // The next request on a kept-alive connection: its head has the same deadline.
            self.set_phase(Phase::Head);
            self.head = HeadEnd::default();
            let next = Instant::now() + self.header_timeout;
            self.head_deadline.as_mut().reset(next);
        }
        if self.phase == Phase::Head && self.head.feed(bytes) {
            self.set_phase(Phase::Busy);
        }
    }

    /// Bytes were written: an answer (other than `100 Continue`) has begun.
    fn on_write(&mut self, bytes: &[u8]) {
        match self.phase {
            Phase::Busy if !bytes.starts_with(b"HTTP/1.1 100 ") => self.set_phase(Phase::Answered),
            Phase::Answered => self.slot.state.lock().expect("poisoned").since = Instant::now(),
            _ => {}
        }
    }

    /// Evicted to make room (checked before every read).
    fn evicted(&self, cx: &mut Context<'_>) -> bool {
        let mut s = self.slot.state.lock().expect("poisoned");
        if !s.evicted {
            s.waker = Some(cx.waker().clone());
        }
        s.evicted
    }

    /// Called when the stream is not ready: has the head, or the silence, taken too long?
    fn check_deadlines(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        if self.phase == Phase::Head && self.head_deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request head took too long to arrive",
            ));
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                "the connection was idle too long",
            )),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.table.remove(self.id);
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.evicted(cx) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "closed to make room for other clients",
            )));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.progress();
                if r.is_ok() {
                    this.on_read(&buf.filled()[before..]);
                }
                Poll::Ready(r)
            }
            Poll::Pending => this.check_deadlines(cx).map(Err),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.progress();
                if let Ok(n) = r {
                    this.on_write(&buf[..n]);
                }
                Poll::Ready(r)
            }
            Poll::Pending => this.check_deadlines(cx).map(Err),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_write_vectored(cx, bufs) {
            Poll::Ready(r) => {
                this.progress();
                if let Ok(n) = r {
                    let first = bufs
                        .iter()
                        .find(|b| !b.is_empty())
                        .map_or(&[][..], |b| &b[..]);
                    this.on_write(&first[..n.min(first.len())]);
                }
                Poll::Ready(r)
            }
            Poll::Pending => this.check_deadlines(cx).map(Err),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_made_by_closing_a_head_waiter_first_then_a_long_silent_kept_alive_one() {
        let table = Table::default();
        let ip: IpAddr = std::net::Ipv4Addr::LOCALHOST.into();
        let long_ago = Instant::now().checked_sub(Duration::from_secs(60)).unwrap();
        let mut slots = Vec::new();
        for (id, phase, since) in [
            (1, Phase::Busy, long_ago),
            (2, Phase::Answered, long_ago),
            (3, Phase::Head, Instant::now()),
            (4, Phase::Answered, Instant::now()),
        ] {
            let (_, slot) = table.insert(id, ip);
            let mut s = slot.state.lock().unwrap();
            s.phase = phase;
            s.since = since;
            drop(s);
            slots.push(slot);
        }
        assert_eq!(table.count(ip), 4);
        let evicted = || {
            slots
                .iter()
                .map(|s| s.state.lock().unwrap().evicted)
                .collect::<Vec<_>>()
        };
        assert!(table.evict_one(Duration::from_secs(30)));
        assert_eq!(evicted(), [false, false, true, false], "the head waiter");
        assert!(table.evict_one(Duration::from_secs(30)));
        assert_eq!(evicted(), [false, true, true, false], "then the silent one");
        assert!(
            !table.evict_one(Duration::from_secs(30)),
            "never a request in progress, nor a connection recently active"
        );
        table.remove(3);
        assert_eq!(table.count(ip), 3);
    }

    #[test]
    fn the_head_ends_at_the_first_empty_line_however_it_is_split() {
        let head = b"\r\nGET /codex HTTP/1.1\r\nHost: x\r\n\r\nbody\r\n\r\n";
        for split in 0..head.len() {
            let mut h = HeadEnd::default();
            let (a, b) = head.split_at(split);
            let end = h.feed(a) || h.feed(b);
            assert!(end, "split at {split}");
        }
        let mut h = HeadEnd::default();
        assert!(!h.feed(b"GET / HTTP/1.1\r\nHost: x\r\n"));
        assert!(!h.feed(b"X-Slow: 1\r\n"));
        assert!(h.feed(b"\n"), "a bare LF ends it too");
        assert!(
            !HeadEnd::default().feed(b"\r\n\r\n\r\n"),
            "blank lines before the request"
        );
    }
}
