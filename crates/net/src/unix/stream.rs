//! `UnixStream`: a connected Unix-domain stream socket.

use std::future::poll_fn;
use std::io::{self, Read};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::reactor::Handle;
use crate::{Async, io_util, sys};

/// A Unix-domain stream connection. Writes never raise `SIGPIPE`.
#[derive(Debug)]
pub struct UnixStream {
    io: Async<std::os::unix::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`.
    ///
    /// # Errors
    ///
    /// The system's error: `NotFound` if nothing is bound there, `ConnectionRefused` if
    /// nobody listens, `WouldBlock` if the listener's backlog is full.
    ///
    /// # Panics
    ///
    /// When first polled outside a runtime (no reactor entered on the polling thread),
    /// saying how to enter one.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let handle = Handle::entered();
        let addr = nix::sys::socket::UnixAddr::new(path.as_ref()).map_err(io::Error::from)?;
        let fd: OwnedFd = sys::socket(libc::AF_UNIX, libc::SOCK_STREAM)?;
        sys::start_connect(&fd, &addr)?;
        let stream = UnixStream::from_accepted(std::os::unix::net::UnixStream::from(fd), &handle)?;
        stream.io.writable().await?;
        if let Some(e) = stream.io.get_ref().take_error()? {
            return Err(e);
        }
        Ok(stream)
    }

    /// A connected pair of sockets, both registered with the current reactor.
    ///
    /// # Errors
    ///
    /// The system's `socketpair` error.
    ///
    /// # Panics
    ///
    /// Outside a runtime (no reactor entered on this thread), saying how to enter one.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let handle = Handle::entered();
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((
            UnixStream::from_accepted(a, &handle)?,
            UnixStream::from_accepted(b, &handle)?,
        ))
    }

    /// Wraps a std stream (made non-blocking here) with the current reactor.
    ///
    /// # Errors
    ///
    /// As for [`Async::new`].
    ///
    /// # Panics
    ///
    /// As for [`Async::new`].
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        UnixStream::from_accepted(stream, &Handle::entered())
    }

    pub(crate) fn from_accepted(
        stream: std::os::unix::net::UnixStream,
        handle: &Handle,
    ) -> io::Result<UnixStream> {
        sys::set_nosigpipe(stream.as_raw_fd())?;
        Ok(UnixStream {
            io: Async::with_handle(stream, handle)?,
        })
    }

    /// Deregisters the stream and returns it as a std stream (still non-blocking).
    ///
    /// # Errors
    ///
    /// As for [`Async::into_inner`].
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        self.io.into_inner()
    }

    /// Reads into `buf`, waiting until data (or end-of-stream) is there. `Ok(0)` is
    /// end-of-stream, or an empty `buf` (returned at once, without waiting).
    ///
    /// A read may return fewer bytes than are queued: the kernel ends it at a message that
    /// carries file descriptors or credentials, and at an out-of-band mark. The next read
    /// returns the rest at once (eddy waits for the next edge only after the kernel said
    /// `WouldBlock`).
    ///
    /// # Errors
    ///
    /// The socket's error.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read_priv(cx, buf)).await
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends first, or the socket's error.
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        io_util::read_exact(|cx, buf| self.poll_read_priv(cx, buf), buf).await
    }

    /// Writes some of `buf`.
    ///
    /// # Errors
    ///
    /// The socket's error; `BrokenPipe` when the peer is gone.
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_write_priv(cx, buf)).await
    }

    /// Writes all of `buf`.
    ///
    /// # Errors
    ///
    /// As for `write`, or `WriteZero`.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        io_util::write_all(|cx, buf| self.poll_write_priv(cx, buf), buf).await
    }

    /// Waits until the socket is readable; any number of tasks may wait.
    ///
    /// # Errors
    ///
    /// An error if the reactor has shut down.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.readable().await
    }

    /// Waits until the socket is writable; any number of tasks may wait.
    ///
    /// # Errors
    ///
    /// An error if the reactor has shut down.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.writable().await
    }

    /// Shuts down the read half, the write half, or both.
    ///
    /// # Errors
    ///
    /// The system's error.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The system's error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// The system's error.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Takes the socket's pending error, if any.
    ///
    /// # Errors
    ///
    /// The system's error.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // The plain rule, readiness cleared only on `WouldBlock`: a Unix stream has no count
        // of what is left, and its reads end short of what is queued (docs/net.md).
        self.io.poll_read_with(cx, |mut s| s.read(buf))
    }

    fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_write_with(cx, |s| sys::send(s.as_raw_fd(), buf))
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

#[cfg(feature = "futures-io")]
impl futures_io::AsyncRead for UnixStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_priv(cx, buf)
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        if io_util::is_empty(bufs) {
            return Poll::Ready(Ok(0));
        }
        // std's `read_vectored` passes at most `IOV_MAX` buffers, so more is a short read.
        self.io.poll_read_with(cx, |mut s| s.read_vectored(bufs))
    }
}

#[cfg(feature = "futures-io")]
impl futures_io::AsyncWrite for UnixStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_priv(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_write_with(cx, |s| sys::send_vectored(s.as_raw_fd(), bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(Shutdown::Write))
    }
}
