//! tokio's I/O traits over eddy's streams, for libraries written on `tokio::io`.
//!
//! `tokio::io::AsyncRead` and `AsyncWrite` are plain traits: they need no tokio runtime.
//! [`TokioIo`] implements them for anything with `futures-io`'s traits (eddy's `TcpStream`
//! and its halves, `UnixStream`, `Async<T>`), so tokio-util's codecs, `tokio::io::copy`
//! and friends run over eddy sockets on an eddy runtime.
//!
//! ```no_run
//! # async fn f() -> std::io::Result<()> {
//! use eddy_compat::tokio_io::TokioIo;
//! use tokio::io::AsyncWriteExt as _; // tokio's extension traits need its `io-util` feature
//!
//! let stream = eddy::net::TcpStream::connect("127.0.0.1:7000").await?;
//! let mut stream = TokioIo::new(stream);
//! # let _ = &mut stream; Ok(()) }
//! ```

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use tokio::io::ReadBuf;

/// A `futures-io` stream seen through `tokio::io::AsyncRead` / `AsyncWrite`.
///
/// Reads go into the unfilled part of tokio's `ReadBuf`, zeroed first if the caller did not
/// initialise it (tokio-util's codecs reuse their buffers, so this is rare); `poll_shutdown`
/// is `poll_close`, which on eddy's sockets shuts down the write half.
#[derive(Debug)]
pub struct TokioIo<T> {
    inner: T,
}

impl<T> TokioIo<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        TokioIo { inner }
    }

    /// The stream inside.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The stream inside, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead + Unpin> tokio::io::AsyncRead for TokioIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let unfilled = buf.initialize_unfilled();
        match Pin::new(&mut self.get_mut().inner).poll_read(cx, unfilled) {
            Poll::Ready(Ok(n)) => {
                // `advance` panics past the initialised part; a stream that claims more than
                // it was given breaks `AsyncRead`'s contract, and is clamped instead.
                let n = n.min(buf.remaining());
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite + Unpin> tokio::io::AsyncWrite for TokioIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    /// `true`: eddy's sockets write vectors with one `writev` (see
    /// [`HyperIo`](crate::hyper_rt::HyperIo)'s note for other streams).
    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}
