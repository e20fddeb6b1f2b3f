//! `Async<T>`: readiness-driven async I/O for any fd — pipes, ttys, eventfds, sockets.

use std::future::Future;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use eddy_selector::Interest;

use crate::reactor::scheduled_io::Direction;
use crate::reactor::{Handle, Ready};
use crate::registration::Registration;

/// Wraps any fd-backed I/O object `T` so it can be awaited: the fd is put in non-blocking
/// mode and registered with the current reactor for readability and writability.
///
/// Two ways to use it:
/// - `readable().await` / `writable().await`, or the `read_with` / `write_with` helpers that
///   retry a closure until it stops returning `WouldBlock`. These take `&self`, and any
///   number of tasks may wait on one `Async` at once.
/// - `futures_io::AsyncRead` / `AsyncWrite` (with the default `futures-io` feature) when `T`
///   implements `Read` / `Write`: one reading task and one writing task.
///
/// Dropping an `Async<T>` deregisters the fd, then drops `T` (which closes it).
///
/// ```
/// use std::io::{Read, Write};
///
/// let mut reactor = eddy_net::Reactor::new()?;
/// let _guard = reactor.handle().enter();
/// let (reader, mut writer) = std::io::pipe()?;
/// let reader = eddy_net::Async::new(reader)?;
/// writer.write_all(b"ping")?;
///
/// // A one-future executor: poll, and turn the reactor while it is pending.
/// let mut buf = [0u8; 4];
/// let n = {
///     let mut read = std::pin::pin!(reader.read_with(|mut r| r.read(&mut buf)));
///     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
///     loop {
///         if let std::task::Poll::Ready(n) = read.as_mut().poll(&mut cx) {
///             break n?;
///         }
///         reactor.turn(None)?;
///     }
/// };
/// assert_eq!(&buf[..n], b"ping");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Async<T: AsFd> {
    registration: Registration,
    /// `None` only after `into_inner` took it.
    io: Option<T>,
}

/// Writes the single-waiter poll methods of one direction, which differ only in it: the one
/// that lends `op` a `&T`, with the doc given, and its `&mut T` twin.
macro_rules! poll_with {
    ($(
        $(#[$doc:meta])*
        $name:ident, $name_mut:ident, $direction:expr;
    )+) => {$(
        $(#[$doc])*
        pub fn $name<R>(
            &self,
            cx: &mut Context<'_>,
            mut op: impl FnMut(&T) -> io::Result<R>,
        ) -> Poll<io::Result<R>> {
            self.registration
                .poll_io(cx, $direction, || op(self.get_ref()))
        }

        #[doc = concat!(
            "Like [`", stringify!($name), "`](Async::", stringify!($name), "), with `&mut T`."
        )]
        pub fn $name_mut<R>(
            &mut self,
            cx: &mut Context<'_>,
            mut op: impl FnMut(&mut T) -> io::Result<R>,
        ) -> Poll<io::Result<R>> {
            let Async { registration, io } = self;
            let io = io
                .as_mut()
                .expect("invariant: `io` is present until `into_inner`");
            registration.poll_io(cx, $direction, || op(io))
        }
    )+};
}

impl<T: AsFd> Async<T> {
    /// Registers `io` with the reactor entered on this thread, for reads and writes.
    ///
    /// # Errors
    ///
    /// - [`InvalidInput`](io::ErrorKind::InvalidInput) if the fd is not open (closed, or a
    ///   number that never was one: `EBADF`), or cannot be polled (a regular file on Linux).
    ///   Never undefined behaviour: a bad fd only ever reaches system calls, which refuse it.
    /// - The system's error from setting `O_NONBLOCK` or registering.
    ///
    /// # Panics
    ///
    /// Outside a runtime (no reactor entered on this thread), saying how to enter one;
    /// [`Async::with_handle`] takes the reactor explicitly instead.
    pub fn new(io: T) -> io::Result<Async<T>> {
        Async::with_handle(io, &Handle::entered())
    }

    /// Like [`Async::new`], with an explicit reactor.
    ///
    /// # Errors
    ///
    /// As for [`Async::new`].
    pub fn with_handle(io: T, handle: &Handle) -> io::Result<Async<T>> {
        set_nonblocking(io.as_fd().as_raw_fd())?;
        Async::nonblocking_with_handle(io, handle)
    }

    /// Registers `io`, whose fd the caller made non-blocking already (eddy's own sockets
    /// are created that way), saving the two `fcntl` calls of [`Async::with_handle`].
    pub(crate) fn nonblocking_with_handle(io: T, handle: &Handle) -> io::Result<Async<T>> {
        let registration = Registration::new(
            io.as_fd().as_raw_fd(),
            Interest::READABLE | Interest::WRITABLE,
            handle,
        )?;
        Ok(Async {
            registration,
            io: Some(io),
        })
    }

    /// Makes `io` non-blocking and registers it for reads only, assumed writable until a
    /// write returns `WouldBlock` (`Registration::write_on_demand`): for datagram sockets,
    /// whose every send would otherwise raise a writable event.
    pub(crate) fn write_on_demand(io: T, handle: &Handle) -> io::Result<Async<T>> {
        set_nonblocking(io.as_fd().as_raw_fd())?;
        let registration = Registration::write_on_demand(io.as_fd().as_raw_fd(), handle)?;
        Ok(Async {
            registration,
            io: Some(io),
        })
    }

    /// The wrapped I/O object.
    pub fn get_ref(&self) -> &T {
        self.io
            .as_ref()
            .expect("invariant: `io` is taken only by `into_inner`, which consumes self")
    }

    /// The wrapped I/O object, mutably. Do not close or replace its fd.
    pub fn get_mut(&mut self) -> &mut T {
        self.io
            .as_mut()
            .expect("invariant: `io` is taken only by `into_inner`, which consumes self")
    }

    /// Deregisters the fd and returns the I/O object (still in non-blocking mode).
    ///
    /// # Errors
    ///
    /// The selector's error if deregistration fails; the object is dropped then.
    pub fn into_inner(mut self) -> io::Result<T> {
        let io = self
            .io
            .take()
            .expect("invariant: `io` is present until `into_inner`");
        self.registration.deregister(io.as_fd().as_raw_fd())?;
        Ok(io)
    }

    /// Waits until the fd is readable (or at end-of-stream, or has an error).
    ///
    /// # Errors
    ///
    /// An error if the reactor has shut down.
    #[track_caller]
    pub fn readable(&self) -> impl Future<Output = io::Result<()>> {
        crate::wait::waits!("Async::readable", self.as_raw_fd(), self.ready_read())
    }

    /// [`readable`](Self::readable) without a wait record, for the socket types' own
    /// operations (which record under their own names).
    pub(crate) async fn ready_read(&self) -> io::Result<()> {
        self.registration.ready(Ready::READ_SIDE).await.map(drop)
    }

    /// Waits until the fd is writable (or closed for writing, or has an error).
    ///
    /// # Errors
    ///
    /// An error if the reactor has shut down.
    #[track_caller]
    pub fn writable(&self) -> impl Future<Output = io::Result<()>> {
        crate::wait::waits!("Async::writable", self.as_raw_fd(), self.ready_write())
    }

    /// [`writable`](Self::writable) without a wait record (as `ready_read`).
    pub(crate) async fn ready_write(&self) -> io::Result<()> {
        self.registration.ready(Ready::WRITE_SIDE).await.map(drop)
    }

    /// Waits for readability and runs `op` until it returns something other than
    /// `WouldBlock`.
    ///
    /// # Errors
    ///
    /// `op`'s error, or an error if the reactor has shut down.
    #[track_caller]
    pub fn read_with<R>(
        &self,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> impl Future<Output = io::Result<R>> {
        crate::wait::waits!("Async::read_with", self.as_raw_fd(), self.io_read(op))
    }

    /// [`read_with`](Self::read_with) without a wait record (as `ready_read`).
    pub(crate) async fn io_read<R>(
        &self,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.registration
            .io(Ready::READ_SIDE, || op(self.get_ref()))
            .await
    }

    /// Waits for writability and runs `op` until it returns something other than
    /// `WouldBlock`.
    ///
    /// # Errors
    ///
    /// `op`'s error, or an error if the reactor has shut down.
    #[track_caller]
    pub fn write_with<R>(
        &self,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> impl Future<Output = io::Result<R>> {
        crate::wait::waits!("Async::write_with", self.as_raw_fd(), self.io_write(op))
    }

    /// [`write_with`](Self::write_with) without a wait record (as `ready_read`).
    pub(crate) async fn io_write<R>(
        &self,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.registration
            .io(Ready::WRITE_SIDE, || op(self.get_ref()))
            .await
    }

    poll_with! {
        /// Polls for readability on the single-reader path, running `op` until it does not
        /// return `WouldBlock`. Only one task at a time may use the read path.
        poll_read_with, poll_read_with_mut, Direction::Read;

        /// Polls for writability on the single-writer path, running `op` until it does not
        /// return `WouldBlock`. Only one task at a time may use the write path.
        poll_write_with, poll_write_with_mut, Direction::Write;
    }

    pub(crate) fn registration(&self) -> &Registration {
        &self.registration
    }
}

impl<T: AsFd> Drop for Async<T> {
    fn drop(&mut self) {
        if let Some(io) = self.io.take() {
            // Deregister while the fd is still open, so the kernel's registration can never
            // outlive it and follow the fd number to its next owner. An error here means the
            // reactor is already gone, which is fine.
            let _ = self.registration.deregister(io.as_fd().as_raw_fd());
            drop(io);
            self.registration.handle().fd_closed();
        }
    }
}

// `Async` never pins `T`: it is only ever reached through `&`/`&mut`.
impl<T: AsFd> Unpin for Async<T> {}

impl<T: AsFd> AsFd for Async<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: AsFd> AsRawFd for Async<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_fd().as_raw_fd()
    }
}

/// Puts `fd` in non-blocking mode.
pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFL takes no argument and only reads the fd's status flags; an invalid fd
    // is reported as EBADF.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags == -1 {
        let err = io::Error::last_os_error();
        // std leaves EBADF uncategorized; say it as the selector does, with a kind a
        // caller can match on.
        if err.raw_os_error() == Some(libc::EBADF) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("fd {fd} is not an open file descriptor ({err})"),
            ));
        }
        return Err(err);
    }
    if flags & libc::O_NONBLOCK != 0 {
        return Ok(());
    }
    // SAFETY: F_SETFL takes an int of flags; we add O_NONBLOCK to the fd's own flags.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(feature = "futures-io")]
impl<T: AsFd + Read> futures_io::AsyncRead for Async<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        // As `Read::read` promises: nothing to fill, nothing to wait for.
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.get_mut().poll_read_with_mut(cx, |io| io.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        if crate::io_util::is_empty(bufs) {
            return Poll::Ready(Ok(0));
        }
        self.get_mut()
            .poll_read_with_mut(cx, |io| io.read_vectored(bufs))
    }
}

#[cfg(feature = "futures-io")]
impl<T: AsFd + Write> futures_io::AsyncWrite for Async<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_with_mut(cx, |io| io.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_write_with_mut(cx, |io| io.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_write_with_mut(cx, |io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
