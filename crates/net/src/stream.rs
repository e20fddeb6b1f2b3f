//! The read and write paths of a connected stream socket, written once for `TcpStream`,
//! `UnixStream` and the TCP halves.
//!
//! Three pieces: [`StreamSocket`], the one place where the stream types differ (the read's
//! system call, and so when a read may clear readiness); the `poll_*` functions, the
//! single-reader and single-writer paths every stream and half runs, with the empty-buffer
//! shortcuts; and two macros that write the public async methods
//! ([`stream_methods!`](stream_methods)) and the futures-io impls
//! ([`impl_futures_io!`](impl_futures_io)) on top of them, with one doc comment each.

use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd};
use std::task::{Context, Poll};

use crate::{Async, io_util, sys};

/// A connected stream socket, as a std type: how its read is made, which decides when a read
/// may clear readiness (docs/net.md, "When a read may clear readiness").
///
/// Called on the single-reader path with a buffer that has room: the empty-buffer shortcut
/// is [`poll_read`]'s and [`poll_read_vectored`]'s.
pub(crate) trait StreamSocket: AsFd + Sized {
    /// Reads into `buf`, waiting for readiness as needed.
    fn poll_recv(io: &Async<Self>, cx: &mut Context<'_>, buf: &mut [u8])
    -> Poll<io::Result<usize>>;

    /// Reads into `bufs`, waiting for readiness as needed; at most `IOV_MAX` of them are
    /// passed to the kernel, so more make a short read.
    fn poll_recv_vectored(
        io: &Async<Self>,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>>;
}

/// TCP reads with `recvmsg`, whose `TCP_CM_INQ` count may say the read emptied the receive
/// queue; readiness is then cleared at once (`Registration::poll_read_stream`).
impl StreamSocket for std::net::TcpStream {
    fn poll_recv(
        io: &Async<Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Self::poll_recv_vectored(io, cx, &mut [io::IoSliceMut::new(buf)])
    }

    fn poll_recv_vectored(
        io: &Async<Self>,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let fd = io.as_raw_fd();
        // `sys::recv_stream` caps the buffers at `IOV_MAX`.
        io.registration()
            .poll_read_stream(cx, || sys::recv_stream(fd, bufs))
    }
}

/// The plain rule, readiness cleared only on `WouldBlock`: a Unix stream has no count of
/// what is left, and its reads end short of what is queued (at a message that carries fds
/// or credentials, at an out-of-band mark). std's `read` is used, not `recvmsg`, so that fds
/// a peer passes are discarded by the kernel instead of landing in this process.
impl StreamSocket for std::os::unix::net::UnixStream {
    fn poll_recv(
        io: &Async<Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        io.poll_read_with(cx, |mut s| s.read(buf))
    }

    fn poll_recv_vectored(
        io: &Async<Self>,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        // std's `read_vectored` passes at most `IOV_MAX` buffers, so more is a short read.
        io.poll_read_with(cx, |mut s| s.read_vectored(bufs))
    }
}

/// The stream read on the single-reader path: one task at a time.
pub(crate) fn poll_read<T: StreamSocket>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    // Nothing to fill, nothing to wait for: `Ok(0)` at once, as std's `read` gives.
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    T::poll_recv(io, cx, buf)
}

/// [`poll_read`] into several buffers.
pub(crate) fn poll_read_vectored<T: StreamSocket>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    bufs: &mut [io::IoSliceMut<'_>],
) -> Poll<io::Result<usize>> {
    if io_util::is_empty(bufs) {
        return Poll::Ready(Ok(0));
    }
    T::poll_recv_vectored(io, cx, bufs)
}

/// The stream write on the single-writer path: one task at a time. `send` never raises
/// `SIGPIPE`.
pub(crate) fn poll_write<T: StreamSocket>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>> {
    io.poll_write_with(cx, |s| sys::send(s.as_fd().as_raw_fd(), buf))
}

/// [`poll_write`] from several buffers, at most `IOV_MAX` of them (more make a short write).
pub(crate) fn poll_write_vectored<T: StreamSocket>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    bufs: &[io::IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    io.poll_write_with(cx, |s| sys::send_vectored(s.as_fd().as_raw_fd(), bufs))
}

/// Writes a stream type's public async methods, each with its one doc comment, on top of the
/// `poll_*` functions above.
///
/// `Type as "Name"; s => io; parts`: inside each method `s` is `&Type` and `io` the
/// `&Async<_>` of its socket; `"Name"` names the operations in task dumps
/// (`"TcpStream::read"`, `crate::wait`). The parts, in any order:
/// - `read`: `read` and `read_exact`. Doc lines written before `read` are added to
///   `read`'s doc as a paragraph of the type's own.
/// - `write`: `write` and `write_all`.
/// - `readiness`: `readable` and `writable`, the multi-waiter readiness futures.
macro_rules! stream_methods {
    ($ty:ty as $name:literal; $s:ident => $io:expr; $( $(#[$note:meta])* $part:ident ),+ $(,)?) => {
        impl $ty {
            $( $crate::stream::stream_methods!(@$part $name ($s => $io) $(#[$note])*); )+
        }
    };

    (@read $name:literal ($s:ident => $io:expr) $( $(#[$note:meta])+ )?) => {
        /// Reads into `buf`, waiting until data (or end-of-stream) is there. `Ok(0)` is
        /// end-of-stream, or an empty `buf` (returned at once, without waiting).
        $( #[doc = ""] $(#[$note])+ )?
        ///
        /// # Errors
        ///
        /// The socket's error, for example
        /// [`ConnectionReset`](std::io::ErrorKind::ConnectionReset).
        #[track_caller]
        pub fn read(
            &mut self,
            buf: &mut [u8],
        ) -> impl ::std::future::Future<Output = ::std::io::Result<usize>> {
            let $s = &*self;
            let fd = ::std::os::fd::AsRawFd::as_raw_fd($io);
            let op = $crate::wait::fd_op!(concat!($name, "::read"));
            let site = ::std::panic::Location::caller();
            ::std::future::poll_fn(move |cx| {
                $crate::wait::pending($crate::stream::poll_read($io, cx, buf), op, fd, site)
            })
        }

        /// Reads exactly `buf.len()` bytes.
        ///
        /// # Errors
        ///
        /// [`UnexpectedEof`](std::io::ErrorKind::UnexpectedEof) if the stream ends first, or
        /// the socket's error.
        #[track_caller]
        pub fn read_exact(
            &mut self,
            buf: &mut [u8],
        ) -> impl ::std::future::Future<Output = ::std::io::Result<()>> {
            let $s = &*self;
            let fd = ::std::os::fd::AsRawFd::as_raw_fd($io);
            let op = $crate::wait::fd_op!(concat!($name, "::read_exact"));
            $crate::wait::on(
                op,
                fd,
                ::std::panic::Location::caller(),
                $crate::io_util::read_exact(
                    move |cx, buf| $crate::stream::poll_read($io, cx, buf),
                    buf,
                ),
            )
        }
    };

    (@write $name:literal ($s:ident => $io:expr)) => {
        /// Writes some of `buf`, waiting until the socket can take data.
        ///
        /// # Errors
        ///
        /// The socket's error: [`BrokenPipe`](std::io::ErrorKind::BrokenPipe) when the peer
        /// is gone (on TCP, or [`ConnectionReset`](std::io::ErrorKind::ConnectionReset)).
        #[track_caller]
        pub fn write(
            &mut self,
            buf: &[u8],
        ) -> impl ::std::future::Future<Output = ::std::io::Result<usize>> {
            let $s = &*self;
            let fd = ::std::os::fd::AsRawFd::as_raw_fd($io);
            let op = $crate::wait::fd_op!(concat!($name, "::write"));
            let site = ::std::panic::Location::caller();
            ::std::future::poll_fn(move |cx| {
                $crate::wait::pending($crate::stream::poll_write($io, cx, buf), op, fd, site)
            })
        }

        /// Writes all of `buf`.
        ///
        /// # Errors
        ///
        /// As for [`write`](Self::write); [`WriteZero`](std::io::ErrorKind::WriteZero) if the
        /// socket accepts nothing.
        #[track_caller]
        pub fn write_all(
            &mut self,
            buf: &[u8],
        ) -> impl ::std::future::Future<Output = ::std::io::Result<()>> {
            let $s = &*self;
            let fd = ::std::os::fd::AsRawFd::as_raw_fd($io);
            let op = $crate::wait::fd_op!(concat!($name, "::write_all"));
            $crate::wait::on(
                op,
                fd,
                ::std::panic::Location::caller(),
                $crate::io_util::write_all(
                    move |cx, buf| $crate::stream::poll_write($io, cx, buf),
                    buf,
                ),
            )
        }
    };

    (@readiness $name:literal ($s:ident => $io:expr)) => {
        /// Waits until the socket is readable. Any number of tasks may wait at once.
        ///
        /// # Errors
        ///
        /// An error if the reactor has shut down.
        #[track_caller]
        pub fn readable(&self) -> impl ::std::future::Future<Output = ::std::io::Result<()>> {
            let $s = self;
            $crate::wait::on(
                $crate::wait::fd_op!(concat!($name, "::readable")),
                ::std::os::fd::AsRawFd::as_raw_fd($io),
                ::std::panic::Location::caller(),
                $io.ready_read(),
            )
        }

        /// Waits until the socket is writable. Any number of tasks may wait at once.
        ///
        /// # Errors
        ///
        /// An error if the reactor has shut down.
        #[track_caller]
        pub fn writable(&self) -> impl ::std::future::Future<Output = ::std::io::Result<()>> {
            let $s = self;
            $crate::wait::on(
                $crate::wait::fd_op!(concat!($name, "::writable")),
                ::std::os::fd::AsRawFd::as_raw_fd($io),
                ::std::panic::Location::caller(),
                $io.ready_write(),
            )
        }
    };
}
pub(crate) use stream_methods;

/// Implements `futures_io::AsyncRead` or `AsyncWrite` (with the `futures-io` feature) for
/// each type listed, on top of the `poll_*` functions above: `AsyncRead for A, B; s => io`,
/// with `s` and `io` as in [`stream_methods!`](stream_methods).
///
/// Both take the vectored paths; flushing has nothing to do (every write went to the
/// kernel, there is no user-space buffer), and closing shuts the write direction down, so
/// the peer reads end-of-stream.
macro_rules! impl_futures_io {
    (AsyncRead for $($ty:ty),+; $s:ident => $io:expr) => {$(
        #[cfg(feature = "futures-io")]
        impl ::futures_io::AsyncRead for $ty {
            $crate::stream::impl_futures_io!(@poll $s => $io; "AsyncRead"; poll_read(buf: &mut [u8]));
            $crate::stream::impl_futures_io!(
                @poll $s => $io; "AsyncRead"; poll_read_vectored(bufs: &mut [::std::io::IoSliceMut<'_>])
            );
        }
    )+};

    (AsyncWrite for $($ty:ty),+; $s:ident => $io:expr) => {$(
        #[cfg(feature = "futures-io")]
        impl ::futures_io::AsyncWrite for $ty {
            $crate::stream::impl_futures_io!(@poll $s => $io; "AsyncWrite"; poll_write(buf: &[u8]));
            $crate::stream::impl_futures_io!(
                @poll $s => $io; "AsyncWrite"; poll_write_vectored(bufs: &[::std::io::IoSlice<'_>])
            );

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                let $s = &*self;
                ::std::task::Poll::Ready($io.get_ref().shutdown(::std::net::Shutdown::Write))
            }
        }
    )+};

    // One read or write method, handed to the function of the same name above.
    (@poll $s:ident => $io:expr; $trait:literal; $name:ident($bufs:ident: $bufs_ty:ty)) => {
        #[track_caller]
        fn $name(
            self: ::std::pin::Pin<&mut Self>,
            cx: &mut ::std::task::Context<'_>,
            $bufs: $bufs_ty,
        ) -> ::std::task::Poll<::std::io::Result<usize>> {
            let $s = &*self;
            $crate::wait::pending(
                $crate::stream::$name($io, cx, $bufs),
                $crate::wait::fd_op!(concat!($trait, "::", stringify!($name))),
                ::std::os::fd::AsRawFd::as_raw_fd($io),
                ::std::panic::Location::caller(),
            )
        }
    };
}
pub(crate) use impl_futures_io;
