//! `TcpStream`: a connected TCP socket whose reads and writes wait instead of blocking.

use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::addr::{ToSocketAddrs, domain, resolve, sockaddr};
use crate::reactor::Handle;
use crate::{Async, io_util, sys};

/// A TCP connection.
///
/// Reads take `&mut self` (or go through a read half); writes never raise `SIGPIPE`: a
/// write to a closed peer returns `BrokenPipe` or `ConnectionReset`. Dropping the stream
/// deregisters it, then closes it.
#[derive(Debug)]
pub struct TcpStream {
    io: Async<std::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn, with the reactor entered on
    /// this thread. The connect itself is non-blocking: the task waits for the socket to
    /// turn writable, then reads `SO_ERROR`.
    ///
    /// # Errors
    ///
    /// The last address's error: [`ConnectionRefused`](io::ErrorKind::ConnectionRefused)
    /// when nothing listens, `HostUnreachable`/`NetworkUnreachable`, or a resolver error.
    ///
    /// # Panics
    ///
    /// When first polled outside a runtime (no reactor entered on the polling thread),
    /// saying how to enter one.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let handle = Handle::entered();
        let mut last = None;
        for addr in resolve(&addr, Some(&handle)).await? {
            match TcpStream::connect_one(addr, &handle).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("invariant: `resolve` returns at least one address"))
    }

    async fn connect_one(addr: SocketAddr, handle: &Handle) -> io::Result<TcpStream> {
        let fd: OwnedFd = sys::socket(domain(&addr), libc::SOCK_STREAM)?;
        sys::set_recv_inq(fd.as_raw_fd());
        sys::start_connect(&fd, &sockaddr(addr))?;
        let stream = TcpStream::from_new_socket(fd, handle)?;
        // Writable means the handshake finished, one way or the other.
        stream.io.writable().await?;
        if let Some(e) = stream.io.get_ref().take_error()? {
            return Err(e);
        }
        // Writable with no error but not connected (a spurious wake-up) cannot happen on
        // Linux; checking the peer turns it into a clear error anywhere else.
        stream.io.get_ref().peer_addr()?;
        Ok(stream)
    }

    /// Wraps a connected std stream (made non-blocking here) with the current reactor.
    ///
    /// # Errors
    ///
    /// As for [`Async::new`].
    ///
    /// # Panics
    ///
    /// As for [`Async::new`].
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        let handle = Handle::entered();
        sys::set_recv_inq(stream.as_raw_fd());
        TcpStream::from_accepted(stream, &handle)
    }

    /// Wraps a socket eddy created or accepted itself: already non-blocking, close-on-exec
    /// and (on macOS) `SO_NOSIGPIPE`.
    pub(crate) fn from_new_socket(fd: OwnedFd, handle: &Handle) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: Async::nonblocking_with_handle(std::net::TcpStream::from(fd), handle)?,
        })
    }

    pub(crate) fn from_accepted(
        stream: std::net::TcpStream,
        handle: &Handle,
    ) -> io::Result<TcpStream> {
        sys::set_nosigpipe(stream.as_raw_fd())?;
        Ok(TcpStream {
            io: Async::with_handle(stream, handle)?,
        })
    }

    /// Deregisters the stream and returns it as a std stream (still non-blocking).
    ///
    /// # Errors
    ///
    /// As for [`Async::into_inner`].
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        self.io.into_inner()
    }

    /// Reads into `buf`, waiting until data (or end-of-stream) is there. `Ok(0)` is
    /// end-of-stream, or an empty `buf` (returned at once, without waiting).
    ///
    /// # Errors
    ///
    /// The socket's error, for example [`ConnectionReset`](io::ErrorKind::ConnectionReset).
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read_priv(cx, buf)).await
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    ///
    /// [`UnexpectedEof`](io::ErrorKind::UnexpectedEof) if the stream ends first, or the
    /// socket's error.
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        io_util::read_exact(|cx, buf| self.poll_read_priv(cx, buf), buf).await
    }

    /// Writes some of `buf`, waiting until the socket can take data.
    ///
    /// # Errors
    ///
    /// The socket's error: [`BrokenPipe`](io::ErrorKind::BrokenPipe) or
    /// [`ConnectionReset`](io::ErrorKind::ConnectionReset) when the peer is gone.
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_write_priv(cx, buf)).await
    }

    /// Writes all of `buf`.
    ///
    /// # Errors
    ///
    /// As for [`write`](TcpStream::write); [`WriteZero`](io::ErrorKind::WriteZero) if the
    /// socket accepts nothing.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        io_util::write_all(|cx, buf| self.poll_write_priv(cx, buf), buf).await
    }

    /// Reads into `buf` without removing the data from the socket, waiting until data (or
    /// end-of-stream) is there. `Ok(0)` is end-of-stream, or an empty `buf` (at once).
    ///
    /// # Errors
    ///
    /// The socket's error.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.io.read_with(|s| s.peek(buf)).await
    }

    /// Waits until the socket is readable. Any number of tasks may wait at once.
    ///
    /// # Errors
    ///
    /// An error if the reactor has shut down.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.readable().await
    }

    /// Waits until the socket is writable. Any number of tasks may wait at once.
    ///
    /// # Errors
    ///
    /// An error if the reactor has shut down.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.writable().await
    }

    /// Shuts down the read half, the write half, or both. Shutting down writes sends FIN:
    /// the peer reads end-of-stream, and can still write back.
    ///
    /// # Errors
    ///
    /// The system's error, for example `NotConnected`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The system's `getsockname` error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` once the peer is gone, or another system error.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Whether Nagle's algorithm is off (`TCP_NODELAY`).
    ///
    /// # Errors
    ///
    /// The system's `getsockopt` error.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Turns Nagle's algorithm off (`true`) or on.
    ///
    /// # Errors
    ///
    /// The system's `setsockopt` error.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `SO_KEEPALIVE` is on.
    ///
    /// # Errors
    ///
    /// The system's `getsockopt` error.
    pub fn keepalive(&self) -> io::Result<bool> {
        sys::keepalive(self.io.get_ref())
    }

    /// Turns TCP keep-alive probes on or off (`SO_KEEPALIVE`; the probe timing is the
    /// system's).
    ///
    /// # Errors
    ///
    /// The system's `setsockopt` error.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        sys::set_keepalive(self.io.get_ref(), keepalive)
    }

    /// The IP time-to-live.
    ///
    /// # Errors
    ///
    /// The system's `getsockopt` error.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets the IP time-to-live.
    ///
    /// # Errors
    ///
    /// The system's `setsockopt` error.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// `SO_LINGER`: `Some(Duration::ZERO)` makes close send a reset instead of a FIN.
    ///
    /// # Errors
    ///
    /// The system's `setsockopt` error.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        let value = libc::linger {
            l_onoff: libc::c_int::from(linger.is_some()),
            l_linger: linger.map_or(0, |d| {
                libc::c_int::try_from(d.as_secs()).unwrap_or(libc::c_int::MAX)
            }),
        };
        nix::sys::socket::setsockopt(self, nix::sys::socket::sockopt::Linger, &value)
            .map_err(io::Error::from)
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    ///
    /// # Errors
    ///
    /// The system's `getsockopt` error.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    // The shared poll paths, used by the stream itself and by its halves.

    pub(crate) fn poll_read_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        // Nothing to fill, nothing to wait for: `Ok(0)` at once, as std's `read` gives.
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let fd = self.io.as_raw_fd();
        self.io.registration().poll_read_stream(cx, || {
            sys::recv_stream(fd, &mut [io::IoSliceMut::new(&mut *buf)])
        })
    }

    pub(crate) fn poll_read_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        if io_util::is_empty(bufs) {
            return Poll::Ready(Ok(0));
        }
        let fd = self.io.as_raw_fd();
        self.io
            .registration()
            .poll_read_stream(cx, || sys::recv_stream(fd, bufs))
    }

    pub(crate) fn poll_write_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_write_with(cx, |s| sys::send(s.as_raw_fd(), buf))
    }

    pub(crate) fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_write_with(cx, |s| sys::send_vectored(s.as_raw_fd(), bufs))
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

#[cfg(all(test, not(eddy_loom)))]
mod tests;

#[cfg(feature = "futures-io")]
mod futures_impls {
    use super::*;

    impl futures_io::AsyncRead for TcpStream {
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
            self.poll_read_vectored_priv(cx, bufs)
        }
    }

    impl futures_io::AsyncWrite for TcpStream {
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
            self.poll_write_vectored_priv(cx, bufs)
        }

        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            // TCP has no user-space buffer here: every write went to the kernel.
            Poll::Ready(Ok(()))
        }

        fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(self.shutdown(Shutdown::Write))
        }
    }

    /// Like std's `Read for &TcpStream`: one task may read through a shared reference
    /// while another writes through another.
    impl futures_io::AsyncRead for &TcpStream {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            self.poll_read_priv(cx, buf)
        }
    }

    impl futures_io::AsyncWrite for &TcpStream {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.poll_write_priv(cx, buf)
        }

        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(self.shutdown(Shutdown::Write))
        }
    }
}
