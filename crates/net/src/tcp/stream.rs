//! `TcpStream`: a connected TCP socket whose reads and writes wait instead of blocking.

use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use crate::addr::{ToSocketAddrs, domain, resolve};
use crate::reactor::Handle;
use crate::{Async, socket, stream, sys};

/// A TCP connection.
///
/// Reads take `&mut self` (or go through a read half); writes never raise `SIGPIPE`: a
/// write to a closed peer returns `BrokenPipe` or `ConnectionReset`. Dropping the stream
/// deregisters it, then closes it.
#[derive(Debug)]
pub struct TcpStream {
    /// Reached by the halves (`split.rs`), whose reads and writes are the stream's.
    pub(super) io: Async<std::net::TcpStream>,
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
    #[track_caller]
    pub fn connect(addr: impl ToSocketAddrs) -> impl Future<Output = io::Result<TcpStream>> {
        let site = std::panic::Location::caller();
        async move { TcpStream::connect_at(addr, site).await }
    }

    async fn connect_at(
        addr: impl ToSocketAddrs,
        site: &'static std::panic::Location<'static>,
    ) -> io::Result<TcpStream> {
        let handle = Handle::entered();
        let mut last = None;
        for addr in resolve(&addr, Some(&handle)).await? {
            match TcpStream::connect_one(addr, &handle, site).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("invariant: `resolve` returns at least one address"))
    }

    async fn connect_one(
        addr: SocketAddr,
        handle: &Handle,
        site: &'static std::panic::Location<'static>,
    ) -> io::Result<TcpStream> {
        let fd: OwnedFd = sys::socket(domain(&addr), libc::SOCK_STREAM)?;
        sys::set_recv_inq(fd.as_raw_fd());
        sys::start_connect(&fd, addr)?;
        let stream = TcpStream::from_new_socket(fd, handle)?;
        // Writable means the handshake finished, one way or the other.
        let op = crate::wait::fd_op!("TcpStream::connect");
        crate::wait::on(op, stream.io.as_raw_fd(), site, stream.io.ready_write()).await?;
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

    /// Reads into `buf` without removing the data from the socket, waiting until data (or
    /// end-of-stream) is there. `Ok(0)` is end-of-stream, or an empty `buf` (at once).
    ///
    /// # Errors
    ///
    /// The socket's error.
    #[track_caller]
    pub fn peek(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> {
        crate::wait::waits!("TcpStream::peek", self.io.as_raw_fd(), async move {
            if buf.is_empty() {
                return Ok(0);
            }
            self.io.io_read(|s| s.peek(buf)).await
        })
    }

    socket::forward_to_std! {
        /// Shuts down the read half, the write half, or both. Shutting down writes sends FIN:
        /// the peer reads end-of-stream, and can still write back.
        ///
        /// # Errors
        ///
        /// The system's error, for example `NotConnected`.
        pub fn shutdown(&self, how: Shutdown) -> io::Result<()>;

        /// The local address.
        ///
        /// # Errors
        ///
        /// The system's `getsockname` error.
        pub fn local_addr(&self) -> io::Result<SocketAddr>;

        /// The peer's address.
        ///
        /// # Errors
        ///
        /// `NotConnected` once the peer is gone, or another system error.
        pub fn peer_addr(&self) -> io::Result<SocketAddr>;

        /// Whether Nagle's algorithm is off (`TCP_NODELAY`).
        ///
        /// # Errors
        ///
        /// The system's `getsockopt` error.
        pub fn nodelay(&self) -> io::Result<bool>;

        /// Turns Nagle's algorithm off (`true`) or on.
        ///
        /// # Errors
        ///
        /// The system's `setsockopt` error.
        pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()>;
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

    socket::forward_to_std! {
        /// The IP time-to-live.
        ///
        /// # Errors
        ///
        /// The system's `getsockopt` error.
        pub fn ttl(&self) -> io::Result<u32>;

        /// Sets the IP time-to-live.
        ///
        /// # Errors
        ///
        /// The system's `setsockopt` error.
        pub fn set_ttl(&self, ttl: u32) -> io::Result<()>;
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

    socket::forward_to_std! {
        /// Takes the socket's pending error (`SO_ERROR`), if any.
        ///
        /// # Errors
        ///
        /// The system's `getsockopt` error.
        pub fn take_error(&self) -> io::Result<Option<io::Error>>;
    }
}

stream::stream_methods!(TcpStream as "TcpStream"; stream => &stream.io; read, write, readiness);

// Like std's `Read for &TcpStream`: one task may read through a shared reference while
// another writes through another.
stream::impl_futures_io!(AsyncRead for TcpStream, &TcpStream; stream => &stream.io);
stream::impl_futures_io!(AsyncWrite for TcpStream, &TcpStream; stream => &stream.io);

socket::impl_fd_traits!(TcpStream);

#[cfg(all(test, not(eddy_loom)))]
mod tests;
