//! `UnixDatagram`: Unix-domain datagram sockets.

use std::future::Future;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use crate::reactor::Handle;
use crate::{Async, socket};

/// A Unix-domain datagram socket. Every method takes `&self`; many tasks may use it at once.
#[derive(Debug)]
pub struct UnixDatagram {
    io: Async<std::os::unix::net::UnixDatagram>,
}

impl UnixDatagram {
    /// A socket bound to the filesystem path `path`.
    ///
    /// # Errors
    ///
    /// The system's error.
    ///
    /// # Panics
    ///
    /// Outside a runtime (no reactor entered on this thread), saying how to enter one.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::wrap(std::os::unix::net::UnixDatagram::bind(path)?)
    }

    /// A socket bound to no address (it can send, and receive replies on a pair).
    ///
    /// # Errors
    ///
    /// The system's error.
    ///
    /// # Panics
    ///
    /// Outside a runtime (no reactor entered on this thread), saying how to enter one.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::wrap(std::os::unix::net::UnixDatagram::unbound()?)
    }

    /// A connected pair of datagram sockets.
    ///
    /// # Errors
    ///
    /// The system's error.
    ///
    /// # Panics
    ///
    /// Outside a runtime (no reactor entered on this thread), saying how to enter one.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::wrap(a)?, UnixDatagram::wrap(b)?))
    }

    /// Wraps a std socket (made non-blocking here) with the current reactor.
    ///
    /// # Errors
    ///
    /// As for [`Async::new`].
    ///
    /// # Panics
    ///
    /// As for [`Async::new`].
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        UnixDatagram::wrap(socket)
    }

    fn wrap(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: Async::with_handle(socket, &Handle::entered())?,
        })
    }

    /// Deregisters the socket and returns it as a std socket (still non-blocking).
    ///
    /// # Errors
    ///
    /// As for [`Async::into_inner`].
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        self.io.into_inner()
    }

    socket::forward_to_std! {
        /// Sets the default peer.
        ///
        /// # Errors
        ///
        /// The system's error.
        pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()>;
    }

    /// Sends `buf` to the connected peer.
    ///
    /// # Errors
    ///
    /// The system's error.
    #[track_caller]
    pub fn send(&self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> {
        crate::wait::waits!("UnixDatagram::send", self.io.as_raw_fd(), async move {
            self.io.io_write(|s| s.send(buf)).await
        })
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Errors
    ///
    /// The system's error.
    #[track_caller]
    pub fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> {
        crate::wait::waits!("UnixDatagram::recv", self.io.as_raw_fd(), async move {
            self.io.io_read(|s| s.recv(buf)).await
        })
    }

    /// Sends `buf` to the socket at `path`.
    ///
    /// # Errors
    ///
    /// The system's error.
    #[track_caller]
    pub fn send_to(
        &self,
        buf: &[u8],
        path: impl AsRef<Path>,
    ) -> impl Future<Output = io::Result<usize>> {
        crate::wait::waits!("UnixDatagram::send_to", self.io.as_raw_fd(), async move {
            let path = path.as_ref();
            self.io.io_write(|s| s.send_to(buf, path)).await
        })
    }

    /// Receives one datagram and its sender's address.
    ///
    /// # Errors
    ///
    /// The system's error.
    #[track_caller]
    pub fn recv_from(
        &self,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> {
        crate::wait::waits!("UnixDatagram::recv_from", self.io.as_raw_fd(), async move {
            self.io.io_read(|s| s.recv_from(buf)).await
        })
    }

    socket::forward_to_std! {
        /// The local address.
        ///
        /// # Errors
        ///
        /// The system's error.
        pub fn local_addr(&self) -> io::Result<SocketAddr>;

        /// The connected peer's address.
        ///
        /// # Errors
        ///
        /// The system's error.
        pub fn peer_addr(&self) -> io::Result<SocketAddr>;
    }
}

socket::impl_fd_traits!(UnixDatagram);
