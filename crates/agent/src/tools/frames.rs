//! What the command supervisor tells sx on its stdout: frames of one tag byte, a 4-byte
//! little-endian length and that many bytes. The command's own output travels inside `Stdout`
//! and `Stderr` frames, so nothing a command prints can pass for a frame of the supervisor.

use tokio::io::{AsyncRead, AsyncReadExt as _};

/// The largest frame the supervisor writes (its output chunks are smaller; lists are cut).
pub const MAX_FRAME: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// Bytes the command wrote to stdout.
    Stdout,
    /// Bytes the command wrote to stderr.
    Stderr,
    /// The command (the shell) ended: its raw wait status, 4 bytes little-endian.
    Exited,
    /// The command's output is in: the processes it left running in the background (one
    /// `pid name` line each). Nothing more comes for this call until the supervisor is told to
    /// stop them.
    Done,
    /// The supervisor stopped every process of the command (told to, or sx went away): what
    /// still runs, one `pid name` line each. The supervisor ends after it.
    Stopped,
    /// The command could not be started (or its sandbox not set up): why, in words. The
    /// supervisor ends after it.
    Failed,
}

impl Tag {
    fn byte(self) -> u8 {
        match self {
            Tag::Stdout => b'o',
            Tag::Stderr => b'e',
            Tag::Exited => b'x',
            Tag::Done => b'd',
            Tag::Stopped => b'k',
            Tag::Failed => b'f',
        }
    }

    fn from_byte(b: u8) -> Option<Tag> {
        Some(match b {
            b'o' => Tag::Stdout,
            b'e' => Tag::Stderr,
            b'x' => Tag::Exited,
            b'd' => Tag::Done,
            b'k' => Tag::Stopped,
            b'f' => Tag::Failed,
            _ => return None,
        })
    }
}

/// One frame, encoded.
pub fn encode(tag: Tag, payload: &[u8]) -> Vec<u8> {
    let payload = &payload[..payload.len().min(MAX_FRAME)];
    let mut out = Vec::with_capacity(5 + payload.len());
    out.push(tag.byte());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Frames out of a byte stream that arrives in pieces.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    /// The next whole frame in what arrived so far; `Ok(None)` when more bytes are needed.
    /// A malformed frame is an error.
    pub fn frame(&mut self) -> std::io::Result<Option<(Tag, Vec<u8>)>> {
        let bad = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
        let Some(&first) = self.buf.first() else {
            return Ok(None);
        };
        let tag =
            Tag::from_byte(first).ok_or_else(|| bad(format!("unknown frame tag {first:#04x}")))?;
        if self.buf.len() < 5 {
            return Ok(None);
        }
        let len = u32::from_le_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if len > MAX_FRAME {
            return Err(bad(format!("a frame of {len} bytes")));
        }
        if self.buf.len() < 5 + len {
            return Ok(None);
        }
        let payload = self.buf[5..5 + len].to_vec();
        self.buf.drain(..5 + len);
        Ok(Some((tag, payload)))
    }
}

/// Read the next frame; `Ok(None)` at the end of the stream (the supervisor ended), an error
/// for a malformed frame or a stream cut inside one. Cancel-safe: a call dropped while it
/// waits loses nothing (what was read stays in `dec`).
pub async fn read<R: AsyncRead + Unpin>(
    r: &mut R,
    dec: &mut Decoder,
) -> std::io::Result<Option<(Tag, Vec<u8>)>> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(f) = dec.frame()? {
            return Ok(Some(f));
        }
        let n = r.read(&mut chunk).await?;
        if n == 0 {
            return if dec.buf.is_empty() {
                Ok(None)
            } else {
                Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the stream ended inside a frame",
                ))
            };
        }
        dec.buf.extend_from_slice(&chunk[..n]);
    }
}

/// A process list as the supervisor sends it: `pid name` lines.
pub fn encode_procs(list: &[super::proc_tree::Proc]) -> Vec<u8> {
    let mut out = String::new();
    for p in list.iter().take(1000) {
        out.push_str(&format!("{} {}\n", p.pid, p.name));
    }
    out.into_bytes()
}

pub fn decode_procs(bytes: &[u8]) -> Vec<super::proc_tree::Proc> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter_map(|l| {
            let (pid, name) = l.split_once(' ')?;
            Some(super::proc_tree::Proc {
                pid: pid.parse().ok()?,
                name: name.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::proc_tree::Proc;
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_bad_ones_are_errors() {
        let procs = vec![
            Proc {
                pid: 7,
                name: "sleep".into(),
            },
            Proc {
                pid: 9,
                name: "my prog".into(),
            },
        ];
        let mut bytes = encode(Tag::Stdout, b"hello");
        bytes.extend(encode(Tag::Exited, &256i32.to_le_bytes()));
        bytes.extend(encode(Tag::Done, &encode_procs(&procs)));
        // Fed one byte at a time, as a pipe may deliver them.
        let mut r = tokio_test_reader(&bytes);
        let mut dec = Decoder::default();
        let f = read(&mut r, &mut dec).await.unwrap().unwrap();
        assert_eq!(f, (Tag::Stdout, b"hello".to_vec()));
        let f = read(&mut r, &mut dec).await.unwrap().unwrap();
        assert_eq!(f, (Tag::Exited, 256i32.to_le_bytes().to_vec()));
        let (tag, payload) = read(&mut r, &mut dec).await.unwrap().unwrap();
        assert_eq!(tag, Tag::Done);
        assert_eq!(decode_procs(&payload), procs);
        assert_eq!(read(&mut r, &mut dec).await.unwrap(), None);

        let bad = |bytes: &'static [u8]| async move {
            let mut r = bytes;
            read(&mut r, &mut Decoder::default()).await.is_err()
        };
        assert!(bad(b"z\0\0\0\0").await, "unknown tag");
        assert!(bad(b"o\x05\0\0\0he").await, "cut short");
        let mut huge = vec![b'o'];
        huge.extend((MAX_FRAME as u32 + 1).to_le_bytes());
        let mut r = &huge[..];
        assert!(
            read(&mut r, &mut Decoder::default()).await.is_err(),
            "too large"
        );
    }

    /// A reader that hands out one byte per read.
    fn tokio_test_reader(bytes: &[u8]) -> impl AsyncRead + Unpin + '_ {
        struct OneByte<'a>(&'a [u8]);
        impl AsyncRead for OneByte<'_> {
            fn poll_read(
                mut self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                if let Some((&b, rest)) = self.0.split_first() {
                    buf.put_slice(&[b]);
                    self.0 = rest;
                }
                std::task::Poll::Ready(Ok(()))
            }
        }
        OneByte(bytes)
    }
}
