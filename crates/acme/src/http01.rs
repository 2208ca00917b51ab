//! The HTTP-01 responder (RFC 8555 §8.3): a minimal HTTP/1.1 listener that
//! serves `GET /.well-known/acme-challenge/<token>` for the tokens of the
//! pending order and 404 for everything else.
//!
//! Hand-written rather than hyper: it answers one request per connection,
//! reads at most [`MAX_HEAD`] bytes of request line and headers within
//! [`REQUEST_TIMEOUT`], serves at most [`crate::accept::MAX_CONNECTIONS`] connections at
//! once, and exists only while an order is pending. A full HTTP stack would
//! add nothing but surface on a port open to the internet.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::{AcmeError, ChallengeKind};

/// Request line plus headers, at most.
pub(crate) const MAX_HEAD: usize = 8 * 1024;
/// Time for a client to send its request and read the answer.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What a lingering close reads and discards at most, and for how long.
const LINGER_BYTES: usize = 64 * 1024;
const LINGER_TIME: Duration = Duration::from_secs(1);

const PREFIX: &str = "/.well-known/acme-challenge/";

/// A listening HTTP-01 responder; stops listening when shut down or dropped.
pub(crate) struct Http01Responder {
    task: JoinHandle<()>,
    local_addr: SocketAddr,
}

impl Http01Responder {
    /// Binds `addr` and serves `tokens` (token → key authorization).
    pub(crate) async fn bind(
        addr: SocketAddr,
        tokens: HashMap<String, String>,
    ) -> Result<Self, AcmeError> {
        let bind_err = |source| AcmeError::Bind {
            kind: ChallengeKind::Http01,
            addr,
            source,
        };
        let listener = TcpListener::bind(addr).await.map_err(bind_err)?;
        let local_addr = listener.local_addr().map_err(bind_err)?;
        let tokens = Arc::new(tokens);
        let task = tokio::spawn(accept_loop(listener, tokens));
        Ok(Self { task, local_addr })
    }

    /// Where it listens (the bound port when 0 was asked for).
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops listening; returns once the socket is closed.
    pub(crate) async fn shutdown(mut self) {
        self.task.abort();
        // Aborted (or ended): either way the listener is dropped by now.
        let _ = (&mut self.task).await;
    }
}

impl Drop for Http01Responder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, tokens: Arc<HashMap<String, String>>) {
    crate::accept::accept_loop(listener, "http-01", REQUEST_TIMEOUT, move |stream| {
        let tokens = Arc::clone(&tokens);
        async move { serve(stream, &tokens).await }
    })
    .await;
}

/// Reads one request head and answers it.
async fn serve(mut stream: TcpStream, tokens: &HashMap<String, String>) -> std::io::Result<()> {
    let mut buf = vec![0u8; MAX_HEAD];
    let mut len = 0;
    let head_end = loop {
        if let Some(end) = find_head_end(&buf[..len]) {
            break end;
        }
        if len == MAX_HEAD {
            return respond(&mut stream, 431, "Request Header Fields Too Large", b"").await;
        }
        let n = stream.read(&mut buf[len..]).await?;
        if n == 0 {
            // Closed before a complete head: nothing to answer.
            return Ok(());
        }
        len += n;
    };
    let (status, reason, body) = answer(&buf[..head_end], tokens);
    respond(&mut stream, status, reason, body.as_bytes()).await
}

/// Where the head ends (after the blank line), if it has.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// The answer to a request head: status, reason, body.
pub(crate) fn answer<'a>(
    head: &[u8],
    tokens: &'a HashMap<String, String>,
) -> (u16, &'static str, &'a str) {
    const NOT_FOUND: (u16, &str, &str) = (404, "Not Found", "");
    let Some(line_end) = head.windows(2).position(|w| w == b"\r\n") else {
        return (400, "Bad Request", "");
    };
    let Ok(line) = std::str::from_utf8(&head[..line_end]) else {
        return (400, "Bad Request", "");
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return (400, "Bad Request", "");
    };
    if !version.starts_with("HTTP/1.") {
        return (400, "Bad Request", "");
    }
    if method != "GET" {
        return NOT_FOUND;
    }
    let Some(token) = target.strip_prefix(PREFIX) else {
        return NOT_FOUND;
    };
    match tokens.get(token) {
        Some(key_authorization) => (200, "OK", key_authorization.as_str()),
        None => NOT_FOUND,
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    reason: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    stream.write_all(&out).await?;
    stream.shutdown().await?;
    // Lingering close: closing with unread input would send a reset that
    // can destroy our answer before the client reads it (a 431 to a client
    // still sending). Discard what is left, bounded in bytes and time.
    let mut sink = [0u8; 4096];
    let drain = async {
        for _ in 0..(LINGER_BYTES / sink.len()) {
            if stream.read(&mut sink).await? == 0 {
                break;
            }
        }
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> HashMap<String, String> {
        HashMap::from([("tok-1_A".to_owned(), "tok-1_A.thumbprint".to_owned())])
    }

    async fn request(addr: SocketAddr, raw: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        // The server may answer and close before all of an oversized
        // request is written; that is the point of those tests.
        let _ = s.write_all(raw).await;
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
            .await
            .expect("answer within 5 s")
            .unwrap_or_default();
        String::from_utf8(out).unwrap()
    }

    async fn responder() -> Http01Responder {
        Http01Responder::bind("127.0.0.1:0".parse().unwrap(), tokens())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn answers_a_pending_token_with_its_key_authorization() {
        let r = responder().await;
        let rsp = request(
            r.local_addr(),
            b"GET /.well-known/acme-challenge/tok-1_A HTTP/1.1\r\nHost: sbc.test\r\nAccept: */*\r\n\r\n",
        )
        .await;
        assert!(rsp.starts_with("HTTP/1.1 200 OK\r\n"), "{rsp}");
        assert!(
            rsp.contains("\r\nContent-Type: application/octet-stream\r\n"),
            "{rsp}"
        );
        assert!(rsp.contains("\r\nContent-Length: 18\r\n"), "{rsp}");
        assert!(rsp.ends_with("\r\n\r\ntok-1_A.thumbprint"), "{rsp}");
    }

    #[tokio::test]
    async fn unknown_tokens_and_other_paths_are_404() {
        let r = responder().await;
        for raw in [
            &b"GET /.well-known/acme-challenge/other HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /.well-known/acme-challenge/ HTTP/1.1\r\n\r\n",
            b"GET /.well-known/acme-challenge/tok-1_A/ HTTP/1.1\r\n\r\n",
            b"POST /.well-known/acme-challenge/tok-1_A HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        ] {
            let rsp = request(r.local_addr(), raw).await;
            assert!(rsp.starts_with("HTTP/1.1 404 Not Found\r\n"), "{rsp}");
            assert!(!rsp.contains("thumbprint"), "{rsp}");
        }
    }

    #[tokio::test]
    async fn malformed_request_lines_are_400() {
        let r = responder().await;
        for raw in [
            &b"GET\r\n\r\n"[..],
            b"GET /.well-known/acme-challenge/tok-1_A SIP/2.0\r\n\r\n",
            b"GET  /x HTTP/1.1\r\n\r\n",
            b"\xff\xfe HTTP/1.1\r\n\r\n",
        ] {
            let rsp = request(r.local_addr(), raw).await;
            assert!(rsp.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{rsp}");
        }
    }

    #[tokio::test]
    async fn a_head_over_8_kib_is_refused_without_reading_more() {
        let r = responder().await;
        let mut raw = b"GET /.well-known/acme-challenge/tok-1_A HTTP/1.1\r\nX-Big: ".to_vec();
        raw.resize(MAX_HEAD + 1024, b'a');
        raw.extend_from_slice(b"\r\n\r\n");
        let rsp = request(r.local_addr(), &raw).await;
        assert!(rsp.starts_with("HTTP/1.1 431 "), "{rsp}");
        assert!(!rsp.contains("thumbprint"), "{rsp}");
        // A head of exactly the limit is still served.
        let mut raw = b"GET /.well-known/acme-challenge/tok-1_A HTTP/1.1\r\nX-Big: ".to_vec();
        raw.resize(MAX_HEAD - 4, b'a');
        raw.extend_from_slice(b"\r\n\r\n");
        let rsp = request(r.local_addr(), &raw).await;
        assert!(rsp.starts_with("HTTP/1.1 200 OK\r\n"), "{rsp}");
    }

    #[tokio::test]
    async fn a_request_split_across_segments_is_read_whole() {
        let r = responder().await;
        let mut s = TcpStream::connect(r.local_addr()).await.unwrap();
        s.write_all(b"GET /.well-known/acme-chall").await.unwrap();
        s.flush().await.unwrap();
        tokio::task::yield_now().await;
        s.write_all(b"enge/tok-1_A HTTP/1.1\r\n\r").await.unwrap();
        s.write_all(b"\n").await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        assert!(out.ends_with("tok-1_A.thumbprint"), "{out}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_client_is_dropped_after_the_timeout() {
        let r = responder().await;
        let mut s = TcpStream::connect(r.local_addr()).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let mut out = Vec::new();
        // With the clock paused, the runtime jumps to the responder's
        // deadline once everything is idle.
        let n = tokio::time::timeout(REQUEST_TIMEOUT * 2, s.read_to_end(&mut out))
            .await
            .expect("closed by the responder's deadline")
            .unwrap_or(0);
        assert_eq!(n, 0, "no answer to an incomplete request");
    }

    #[tokio::test]
    async fn after_shutdown_nothing_listens() {
        let r = responder().await;
        let addr = r.local_addr();
        r.shutdown().await;
        assert!(TcpStream::connect(addr).await.is_err());
    }

    #[tokio::test]
    async fn a_taken_port_is_a_bind_error_naming_the_address() {
        let r = responder().await;
        let Err(e) = Http01Responder::bind(r.local_addr(), tokens()).await else {
            panic!("bound a port already in use");
        };
        let text = e.to_string();
        assert!(
            text.contains(&r.local_addr().to_string()) && text.contains("http-01"),
            "{text}"
        );
    }
}
