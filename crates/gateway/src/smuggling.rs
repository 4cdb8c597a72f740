//! Request smuggling: a request head with both `Content-Length` and `Transfer-Encoding` is
//! answered 400. hyper accepts such a head (chunked wins, the length is dropped) and hides the
//! conflict from the service, so the connection's bytes are scanned on their way in: header
//! blocks (lines between blank lines) are checked as they pass. A body that itself carries such a
//! block (a request smuggled inside a request) is flagged too. Obsolete line folding is refused by
//! hyper's parser with 400 before any service sees it.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes of a line's start kept to recognise the two header names.
const PREFIX: usize = 18;

/// The line scanner: fed the connection's bytes in any chunking, it reports whether one block
/// carried both headers.
#[derive(Debug, Default)]
pub struct Scanner {
    line: [u8; PREFIX],
    len: usize,
    /// Bytes seen on the current line (saturating), to tell a blank line.
    line_bytes: usize,
    has_length: bool,
    has_chunked: bool,
    conflict: bool,
}

impl Scanner {
    /// Feeds bytes; returns true once a conflicting block has been seen.
    pub fn feed(&mut self, bytes: &[u8]) -> bool {
        for &b in bytes {
            if b == b'\n' {
                self.end_line();
                continue;
            }
            if b == b'\r' {
                continue;
            }
            if self.len < PREFIX {
                self.line[self.len] = b.to_ascii_lowercase();
                self.len += 1;
            }
            self.line_bytes = self.line_bytes.saturating_add(1);
        }
        self.conflict
    }

    fn end_line(&mut self) {
        if self.line_bytes == 0 {
            self.has_length = false;
            self.has_chunked = false;
        } else {
            let line = &self.line[..self.len];
            if line.starts_with(b"content-length:") || line.starts_with(b"content-length ") {
                self.has_length = true;
            }
            if line.starts_with(b"transfer-encoding") {
                self.has_chunked = true;
            }
            if self.has_length && self.has_chunked {
                self.conflict = true;
            }
        }
        self.len = 0;
        self.line_bytes = 0;
    }
}

/// A connection whose incoming bytes pass through a [`Scanner`]; the flag is shared with the
/// service, which refuses requests once it is up.
#[derive(Debug)]
pub struct Scanned<T> {
    inner: T,
    scanner: Scanner,
    flag: Arc<AtomicBool>,
}

impl<T> Scanned<T> {
    /// Wraps `inner`; `flag` turns true when a conflicting block is seen.
    pub fn new(inner: T, flag: Arc<AtomicBool>) -> Scanned<T> {
        Scanned {
            inner,
            scanner: Scanner::default(),
            flag,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Scanned<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result
            && this.scanner.feed(&buf.filled()[before..])
        {
            this.flag.store(true, Ordering::Release);
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Scanned<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMUGGLE: &[u8] = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";

    #[test]
    fn a_conflict_is_seen_in_any_chunking() {
        for split in 1..SMUGGLE.len() {
            let mut s = Scanner::default();
            let (a, b) = SMUGGLE.split_at(split);
            s.feed(a);
            assert!(s.feed(b), "split at {split}");
        }
    }

    #[test]
    fn separate_requests_do_not_add_up() {
        let mut s = Scanner::default();
        assert!(!s.feed(b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"));
        assert!(!s.feed(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
        assert!(
            !s.feed(b"GET / HTTP/1.1\r\nX-Content-Length: 1\r\nX-Transfer-Encoding: x\r\n\r\n")
        );
    }
}
