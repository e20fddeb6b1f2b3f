//! `UnixListener`: accepts Unix-domain stream connections.

use std::future::{Future, poll_fn};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll, ready};

use super::UnixStream;
use crate::accept::Starvation;
use crate::reactor::Handle;
use crate::{Async, socket};

/// A Unix-domain stream socket server.
///
/// # Running out of file descriptors
///
/// As for [`TcpListener`](crate::TcpListener): `accept` returns `EMFILE`/`ENFILE` to the
/// caller, then waits (without spinning) until an eddy fd closes or a new connection
/// arrives, and drains the backlog once descriptors free up.
#[derive(Debug)]
pub struct UnixListener {
    io: Async<std::os::unix::net::UnixListener>,
    /// Whether `accept` ran out of descriptors, and so what it waits for (`accept.rs`).
    starvation: Starvation,
}

impl UnixListener {
    /// Binds to the filesystem path `path` and listens, with the current reactor.
    ///
    /// # Errors
    ///
    /// The system's error (`AddrInUse` if the path exists).
    ///
    /// # Panics
    ///
    /// Outside a runtime (no reactor entered on this thread), saying how to enter one.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let handle = Handle::entered();
        let listener = std::os::unix::net::UnixListener::bind(path)?;
        Ok(UnixListener {
            io: Async::with_handle(listener, &handle)?,
            starvation: Starvation::new(),
        })
    }

    /// Wraps a std listener (made non-blocking here) with the current reactor.
    ///
    /// # Errors
    ///
    /// As for [`Async::new`].
    ///
    /// # Panics
    ///
    /// As for [`Async::new`].
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: Async::new(listener)?,
            starvation: Starvation::new(),
        })
    }

    /// Deregisters the listener and returns it as a std listener (still non-blocking).
    ///
    /// # Errors
    ///
    /// As for [`Async::into_inner`].
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        self.io.into_inner()
    }

    /// Accepts a connection.
    ///
    /// # Errors
    ///
    /// The system's `accept` error. `EMFILE`/`ENFILE` leave the listener usable; see the
    /// type's docs.
    #[track_caller]
    pub fn accept(&self) -> impl Future<Output = io::Result<(UnixStream, SocketAddr)>> {
        let fd = self.io.as_raw_fd();
        crate::wait::waits!(
            "UnixListener::accept",
            fd,
            poll_fn(|cx| self.poll_accept_quiet(cx))
        )
    }

    /// Polls for a connection; for one accepting task at a time.
    #[track_caller]
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        crate::wait::pending(
            self.poll_accept_quiet(cx),
            crate::wait::fd_op!("UnixListener::poll_accept"),
            self.io.as_raw_fd(),
            std::panic::Location::caller(),
        )
    }

    /// [`poll_accept`](Self::poll_accept) without a wait record.
    fn poll_accept_quiet(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let registration = self.io.registration();
        let listener = self.io.get_ref();
        let (stream, peer) = ready!(
            self.starvation
                .poll_accept(registration, cx, || listener.accept())
        )?;
        Poll::Ready(UnixStream::from_accepted(stream, registration.handle()).map(|s| (s, peer)))
    }

    socket::forward_to_std! {
        /// The address the listener is bound to.
        ///
        /// # Errors
        ///
        /// The system's error.
        pub fn local_addr(&self) -> io::Result<SocketAddr>;
    }
}

socket::impl_fd_traits!(UnixListener);
