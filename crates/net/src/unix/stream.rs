//! `UnixStream`: a connected Unix-domain stream socket.

use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

use crate::reactor::Handle;
use crate::{Async, socket, stream, sys};

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
    #[track_caller]
    pub fn connect(path: impl AsRef<Path>) -> impl Future<Output = io::Result<UnixStream>> {
        let site = std::panic::Location::caller();
        async move { UnixStream::connect_at(path, site).await }
    }

    async fn connect_at(
        path: impl AsRef<Path>,
        site: &'static std::panic::Location<'static>,
    ) -> io::Result<UnixStream> {
        let handle = Handle::entered();
        let addr = nix::sys::socket::UnixAddr::new(path.as_ref()).map_err(io::Error::from)?;
        let fd: OwnedFd = sys::socket(libc::AF_UNIX, libc::SOCK_STREAM)?;
        sys::start_connect_unix(&fd, &addr)?;
        let stream = UnixStream::from_accepted(std::os::unix::net::UnixStream::from(fd), &handle)?;
        let op = crate::wait::fd_op!("UnixStream::connect");
        crate::wait::on(op, stream.io.as_raw_fd(), site, stream.io.ready_write()).await?;
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

    socket::forward_to_std! {
        /// Shuts down the read half, the write half, or both.
        ///
        /// # Errors
        ///
        /// The system's error.
        pub fn shutdown(&self, how: Shutdown) -> io::Result<()>;

        /// The local address.
        ///
        /// # Errors
        ///
        /// The system's error.
        pub fn local_addr(&self) -> io::Result<SocketAddr>;

        /// The peer's address.
        ///
        /// # Errors
        ///
        /// The system's error.
        pub fn peer_addr(&self) -> io::Result<SocketAddr>;

        /// Takes the socket's pending error, if any.
        ///
        /// # Errors
        ///
        /// The system's error.
        pub fn take_error(&self) -> io::Result<Option<io::Error>>;
    }
}

stream::stream_methods! {
    UnixStream as "UnixStream"; stream => &stream.io;
    /// A read may return fewer bytes than are queued: the kernel ends it at a message
    /// that carries file descriptors or credentials, and at an out-of-band mark. The next
    /// read returns the rest at once (eddy waits for the next edge only after the kernel
    /// said `WouldBlock`).
    read,
    write,
    readiness,
}

stream::impl_futures_io!(AsyncRead for UnixStream; stream => &stream.io);
stream::impl_futures_io!(AsyncWrite for UnixStream; stream => &stream.io);

socket::impl_fd_traits!(UnixStream);
