//! hyper 1.x's runtime traits (`hyper::rt`) filled with eddy's parts: I/O, executor, timer.
//!
//! hyper does no I/O, spawning or timing of its own; it asks its runtime through the traits
//! in `hyper::rt`:
//!
//! - [`HyperIo`]: `hyper::rt::Read` + `Write` over anything that implements `futures-io`'s
//!   `AsyncRead` + `AsyncWrite` — eddy's `TcpStream`, `UnixStream`, `Async<T>`.
//! - [`EddyExecutor`]: `hyper::rt::Executor`, spawning hyper's background futures (HTTP/2
//!   streams, client connection drivers) as eddy tasks.
//! - [`EddyTimer`]: `hyper::rt::Timer` on eddy's timer wheel, for header-read and
//!   keep-alive timeouts.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};

/// A `futures-io` stream seen through hyper's I/O traits.
///
/// Reads go straight into hyper's buffer: its unfilled part is zeroed
/// (`initialize_unfilled`; hyper reuses its buffers, so this is rare), then handed to
/// `poll_read` as a plain `&mut [u8]`. `poll_shutdown` is `poll_close`, which on eddy's
/// sockets shuts down the write half.
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// use eddy_compat::hyper_rt::HyperIo;
///
/// let stream = eddy::net::TcpStream::connect("127.0.0.1:8080").await?;
/// let (sender, connection) = hyper::client::conn::http1::handshake::<_, String>(HyperIo::new(stream))
///     .await
///     .map_err(std::io::Error::other)?;
/// # drop((sender, connection)); Ok(()) }
/// ```
#[derive(Debug)]
pub struct HyperIo<T> {
    inner: T,
}

impl<T> HyperIo<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        HyperIo { inner }
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

impl<T: AsyncRead + Unpin> hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let unfilled = buf.initialize_unfilled();
        let n = match Pin::new(&mut this.inner).poll_read(cx, unfilled) {
            Poll::Ready(Ok(n)) => n.min(unfilled.len()),
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        // SAFETY: `advance` requires the next `n` bytes to be initialised. The whole unfilled
        // part was initialised by `initialize_unfilled` above, and `n` is at most its length
        // (clamped above, so a stream that breaks `AsyncRead`'s contract cannot make it more).
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for HyperIo<T> {
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

    /// `true`: eddy's `TcpStream` and `UnixStream` write vectors with one `writev`, so hyper
    /// may hand over headers and body without copying them together. A stream whose
    /// `poll_write_vectored` is futures-io's default (first buffer only) stays correct,
    /// with one write per buffer.
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

/// Spawns hyper's background futures (HTTP/2 streams, client connection drivers) as eddy
/// tasks.
///
/// Holds a runtime handle, so it also works when hyper calls it from a thread outside the
/// runtime. The tasks are detached: they end with their connection, or when the runtime
/// shuts down.
#[derive(Clone, Debug)]
pub struct EddyExecutor(eddy::Handle);

impl EddyExecutor {
    /// An executor spawning onto the runtime of `handle`.
    pub fn new(handle: eddy::Handle) -> Self {
        EddyExecutor(handle)
    }

    /// The executor of the runtime this thread is in.
    ///
    /// # Panics
    ///
    /// Outside an eddy runtime; the message says how to enter one (see
    /// `eddy::Handle::current`). [`EddyExecutor::new`] takes a handle instead.
    #[track_caller]
    pub fn current() -> Self {
        EddyExecutor(eddy::Handle::current())
    }
}

impl<F> hyper::rt::Executor<F> for EddyExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    #[track_caller]
    fn execute(&self, future: F) {
        drop(self.0.spawn(future));
    }
}

/// hyper's timer on eddy's timer wheel. An `eddy::timer::Sleep` binds to the runtime that
/// first polls it, so one `EddyTimer` serves every runtime.
///
/// Like every eddy timer, it never fires early.
#[derive(Clone, Copy, Debug, Default)]
pub struct EddyTimer;

/// eddy's `Sleep` as a `hyper::rt::Sleep`; made by [`EddyTimer`].
#[derive(Debug)]
pub struct EddySleep(eddy::timer::Sleep);

impl Future for EddySleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().0).poll(cx)
    }
}

impl hyper::rt::Sleep for EddySleep {}

impl hyper::rt::Timer for EddyTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(EddySleep(eddy::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(EddySleep(eddy::sleep_until(deadline)))
    }

    /// Moves the existing timer instead of allocating a new one, when it is ours.
    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<EddySleep>() {
            Some(ours) => ours.get_mut().0.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}
