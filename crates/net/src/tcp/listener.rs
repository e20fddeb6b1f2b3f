//! `TcpListener`: accepts TCP connections without blocking the thread.

use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::task::{Context, Poll, ready};

use super::TcpStream;
use crate::accept::Starvation;
use crate::addr::{ToSocketAddrs, resolve};
use crate::reactor::Handle;
use crate::{Async, socket, sys};

/// A TCP socket server, listening for connections.
///
/// # Running out of file descriptors
///
/// When the process hits its descriptor limit, `accept` returns the error (`EMFILE`, or
/// `ENFILE` for the system-wide limit) to the caller and the pending connection stays in
/// the kernel's backlog. The next `accept` does not spin: it waits until an eddy socket or
/// `Async` closes (freeing a descriptor) or a new connection arrives, then tries again, so
/// a server loop that logs the error and calls `accept` again recovers on its own once
/// descriptors free up.
#[derive(Debug)]
pub struct TcpListener {
    io: Async<std::net::TcpListener>,
    /// Whether `accept` ran out of descriptors, and so what it waits for (`accept.rs`).
    starvation: Starvation,
    /// Whether each accepted socket needs `TCP_INQ` set on itself: true for a listener
    /// from [`TcpListener::from_std`], whose backlog may hold connections established
    /// before the listener got the option, which therefore did not inherit it (socket
    /// activation hands over exactly such a listener). One `setsockopt` per accept there;
    /// none for a listener eddy bound, whose every connection inherits it.
    set_inq_on_accept: bool,
}

impl TcpListener {
    /// Binds to `addr` (trying each resolved address in turn) and listens, with the
    /// reactor entered on this thread, with `SO_REUSEADDR` and a backlog of 1,024
    /// pending connections (std's `bind` uses 128, too few for a burst of clients).
    ///
    /// # Errors
    ///
    /// The last address's bind error, or a resolver error.
    ///
    /// # Panics
    ///
    /// When first polled outside a runtime (no reactor entered on the polling thread),
    /// saying how to enter one.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let handle = Handle::entered();
        let mut last = None;
        for addr in resolve(&addr, Some(&handle)).await? {
            match sys::tcp_listener(addr) {
                Ok(listener) => return TcpListener::from_std_with(listener, &handle, false),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("invariant: `resolve` returns at least one address"))
    }

    /// Wraps a listener from std (made non-blocking here) with the current reactor.
    ///
    /// # Errors
    ///
    /// As for [`Async::new`].
    ///
    /// # Panics
    ///
    /// As for [`Async::new`].
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        TcpListener::from_std_with(listener, &Handle::entered(), true)
    }

    fn from_std_with(
        listener: std::net::TcpListener,
        handle: &Handle,
        set_inq_on_accept: bool,
    ) -> io::Result<TcpListener> {
        // Accepted sockets inherit it: one call here spares a `WouldBlock` read per message
        // on every connection (see `sys::recv_stream`).
        sys::set_recv_inq(listener.as_raw_fd());
        Ok(TcpListener {
            io: Async::with_handle(listener, handle)?,
            starvation: Starvation::new(),
            set_inq_on_accept,
        })
    }

    /// Deregisters the listener and returns it as a std listener (still non-blocking).
    ///
    /// # Errors
    ///
    /// As for [`Async::into_inner`].
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        self.io.into_inner()
    }

    /// Accepts a connection: the stream (non-blocking, close-on-exec, registered with this
    /// listener's reactor) and the peer's address.
    ///
    /// # Errors
    ///
    /// The system's `accept` error. `EMFILE`/`ENFILE` leave the listener usable; see the
    /// type's docs.
    #[track_caller]
    pub fn accept(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> {
        let fd = self.io.as_raw_fd();
        crate::wait::waits!(
            "TcpListener::accept",
            fd,
            poll_fn(|cx| self.poll_accept_quiet(cx))
        )
    }

    /// Polls for a connection; for one accepting task at a time.
    #[track_caller]
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        crate::wait::pending(
            self.poll_accept_quiet(cx),
            crate::wait::fd_op!("TcpListener::poll_accept"),
            self.io.as_raw_fd(),
            std::panic::Location::caller(),
        )
    }

    /// [`poll_accept`](Self::poll_accept) without a wait record.
    fn poll_accept_quiet(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let registration = self.io.registration();
        let fd = self.io.as_raw_fd();
        let (fd, peer) = ready!(
            self.starvation
                .poll_accept(registration, cx, || sys::accept(fd))
        )?;
        if self.set_inq_on_accept {
            sys::set_recv_inq(fd.as_raw_fd());
        }
        Poll::Ready(TcpStream::from_new_socket(fd, registration.handle()).map(|s| (s, peer)))
    }

    /// A stream of incoming connections; `None` never comes.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    socket::forward_to_std! {
        /// The local address the listener is bound to.
        ///
        /// # Errors
        ///
        /// The system's `getsockname` error.
        pub fn local_addr(&self) -> io::Result<SocketAddr>;

        /// The IP time-to-live of accepted sockets.
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
}

/// The connections a [`TcpListener`] accepts, as a stream; from [`TcpListener::incoming`].
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Incoming<'_> {
    /// The next connection, or the accept error.
    ///
    /// # Errors
    ///
    /// As for [`TcpListener::accept`].
    #[track_caller]
    #[allow(clippy::should_implement_trait)] // An async `next`, as on any stream; not Iterator's.
    pub fn next(&mut self) -> impl Future<Output = io::Result<TcpStream>> {
        let accept = self.listener.accept();
        async move { accept.await.map(|(stream, _)| stream) }
    }
}

#[cfg(feature = "futures-io")]
impl futures_core::Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    #[track_caller]
    fn poll_next(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.listener
            .poll_accept(cx)
            .map(|r| Some(r.map(|(stream, _)| stream)))
    }
}

socket::impl_fd_traits!(TcpListener);
