//! What went wrong on the network, in a few words: the HTTP library wraps a cause in several
//! layers ("error sending request for url (…): client error (Connect): tcp connect error:
//! Connection refused (os error 111)"), each repeating the URL or saying nothing. Callers name
//! the URL themselves; this gives them the cause alone ("connection refused").

use std::error::Error;

/// The cause of `e` for a user: a known network failure in plain words, else the causes that
/// say something, joined by ": ", without the library's wrappers and without repeats.
pub fn describe(e: &(dyn Error + 'static)) -> String {
    let chain: Vec<&(dyn Error + 'static)> =
        std::iter::successors(Some(e), |e: &&(dyn Error + 'static)| (*e).source()).collect();
    if let Some(known) = known_cause(&chain) {
        return known;
    }
    let mut out = String::new();
    for msg in chain.iter().map(ToString::to_string) {
        let msg = strip_os_code(&msg);
        if is_wrapper(msg) || out.contains(msg) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(msg);
    }
    if out.is_empty() {
        // Nothing but wrappers: the outermost, which at least says what was being done.
        out = strip_os_code(&e.to_string()).to_string();
    }
    out
}

/// A failure with a well-known meaning anywhere in the chain.
fn known_cause(chain: &[&(dyn Error + 'static)]) -> Option<String> {
    use std::io::ErrorKind;
    // TLS first: rustls reports inside an I/O error.
    for e in chain {
        if let Some(tls) = find_tls(*e) {
            return Some(format!("the TLS handshake failed ({tls})"));
        }
    }
    let messages: Vec<String> = chain.iter().map(ToString::to_string).collect();
    if messages.iter().any(|m| m == "dns error") {
        let why = messages
            .last()
            .map_or("", |m| m.rsplit(": ").next().unwrap_or(m).trim());
        return Some(format!("cannot resolve the host name ({why})"));
    }
    if chain.iter().any(|e| {
        e.downcast_ref::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_timeout)
    }) {
        return Some("timed out".to_string());
    }
    for e in chain.iter().rev() {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            let plain = match io.kind() {
                ErrorKind::ConnectionRefused => "connection refused",
                ErrorKind::ConnectionReset => "the connection was reset",
                ErrorKind::ConnectionAborted => "the connection was aborted",
                ErrorKind::TimedOut => "timed out",
                ErrorKind::HostUnreachable => "the host is unreachable",
                ErrorKind::NetworkUnreachable => "the network is unreachable",
                ErrorKind::NetworkDown => "the network is down",
                ErrorKind::AddrNotAvailable => "the address is not available",
                ErrorKind::BrokenPipe => "the connection was closed while sending",
                _ => continue,
            };
            return Some(plain.to_string());
        }
    }
    if messages
        .iter()
        .any(|m| m == "connection closed before message completed")
    {
        return Some("the server closed the connection without answering".to_string());
    }
    None
}

/// A TLS error at `e` or wrapped in I/O errors inside it (rustls reports through `io::Error`,
/// which the connector wraps in another).
fn find_tls<'e>(e: &'e (dyn Error + 'static)) -> Option<&'e rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let mut io = e.downcast_ref::<std::io::Error>()?;
    loop {
        let inner = io.get_ref()?;
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        io = inner.downcast_ref::<std::io::Error>()?;
    }
}

/// The HTTP library's layers that add nothing but the URL or the layer's name.
fn is_wrapper(msg: &str) -> bool {
    const PREFIXES: [&str; 6] = [
        "error sending request",
        "error decoding response body",
        "request or response body error",
        "client error (",
        "error trying to connect",
        "error following redirect",
    ];
    PREFIXES.iter().any(|p| msg.starts_with(p))
        || matches!(
            msg,
            "tcp connect error" | "dns error" | "error resolving DNS" | "operation was canceled"
        )
}

/// "Connection refused (os error 111)" → "Connection refused".
fn strip_os_code(msg: &str) -> &str {
    match msg.rfind(" (os error ") {
        Some(i) if msg.ends_with(')') => &msg[..i],
        _ => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A chain of plain messages, outermost first.
    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);
    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl Error for Layer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|l| l as &(dyn Error + 'static))
        }
    }
    fn layers(msgs: &[&'static str]) -> Layer {
        let mut it = msgs.iter().rev();
        let mut l = Layer(it.next().unwrap(), None);
        for m in it {
            l = Layer(m, Some(Box::new(l)));
        }
        l
    }

    fn client() -> reqwest::Client {
        crate::http::client(&crate::http::ClientIdentity::new("test")).unwrap()
    }

    /// A loopback server that answers every connection with `reply` and closes it.
    async fn serve(reply: &'static [u8]) -> std::net::SocketAddr {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(reply).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn real_failures_in_a_few_words_without_the_url() {
        let closed = sx_testkit::ClosedPort::bind();
        let url = format!("{}/v1/x", closed.url());
        let e = client().post(&url).send().await.unwrap_err();
        assert_eq!(describe(&e), "connection refused");

        // TLS spoken to a plain HTTP server.
        let plain = serve(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
        let e = client()
            .post(format!("https://{plain}/x"))
            .send()
            .await
            .unwrap_err();
        let d = describe(&e);
        assert!(d.starts_with("the TLS handshake failed ("), "{d}");

        // A server that accepts and hangs up.
        let rude = serve(b"").await;
        let e = client()
            .post(format!("http://{rude}/x"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            describe(&e),
            "the server closed the connection without answering"
        );

        // A body cut short: the cause, not "error decoding response body for url (…)".
        let cut = serve(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc").await;
        let url = format!("http://{cut}/x");
        let e = client()
            .post(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap_err();
        let d = describe(&e);
        assert!(!d.contains(&url) && !d.contains("decoding"), "{d}");
        assert!(d.contains("end of file"), "{d}");
    }

    #[test]
    fn dns_failures_and_unknown_chains() {
        let dns = layers(&[
            "error sending request for url (http://nowhere.invalid/x)",
            "client error (Connect)",
            "dns error",
            "error resolving DNS",
            "failed to lookup address information: Name or service not known",
        ]);
        assert_eq!(
            describe(&dns),
            "cannot resolve the host name (Name or service not known)"
        );
        let other = layers(&[
            "error sending request for url (http://h/x)",
            "client error (SendRequest)",
            "something odd (os error 99)",
        ]);
        assert_eq!(describe(&other), "something odd");
        // Not the HTTP library's: kept whole, repeats dropped.
        let plain = layers(&["reading the file", "reading the file", "disk on fire"]);
        assert_eq!(describe(&plain), "reading the file: disk on fire");
        let only = layers(&["error sending request for url (http://h/x)"]);
        assert_eq!(
            describe(&only),
            "error sending request for url (http://h/x)"
        );
    }
}
