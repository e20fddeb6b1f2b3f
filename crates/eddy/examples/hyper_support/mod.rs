//! hyper 1.x on eddy: the three seams hyper leaves to its runtime, filled with eddy's parts.
//!
//! hyper does no I/O, spawning or timing of its own; it asks for them through the traits in
//! `hyper::rt`. This module is the whole adapter, meant to be copied into a project (it is
//! shared by `examples/hyper_server.rs` and eddy's compatibility tests through `#[path]`):
//!
//! - [`EddyIo`]: `hyper::rt::Read` + `Write` over anything that implements `futures-io`'s
//!   `AsyncRead` + `AsyncWrite` — eddy's `TcpStream` and `UnixStream`.
//! - [`EddyExecutor`]: `hyper::rt::Executor`, spawning on an eddy runtime (hyper needs one
//!   for HTTP/2 and for client connection tasks).
//! - [`EddyTimer`]: `hyper::rt::Timer` on eddy's timer wheel, for header-read and
//!   keep-alive timeouts.
//!
//! ```ignore
//! let (stream, _) = listener.accept().await?;
//! hyper::server::conn::http1::Builder::new()
//!     .timer(EddyTimer)
//!     .serve_connection(EddyIo::new(stream), hyper::service::service_fn(handle))
//!     .await?;
//! ```
//!
//! Needs `hyper = { version = "1.12", features = ["http1", "server"] }` (add `"client"` for
//! the client side); no tokio and no hyper-util.

// Each file that includes this module uses a different part of it.
#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::io::{AsyncRead, AsyncWrite};

/// A `futures-io` stream seen through hyper's I/O traits.
///
/// Reads go straight into hyper's buffer: the unfilled part is zeroed once
/// (`initialize_unfilled`; hyper reuses its buffers, so this is rare), then handed to
/// `poll_read` as a plain `&mut [u8]`.
#[derive(Debug)]
pub(crate) struct EddyIo<T> {
    inner: T,
}

impl<T> EddyIo<T> {
    pub(crate) fn new(inner: T) -> Self {
        EddyIo { inner }
    }

    pub(crate) fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead + Unpin> hyper::rt::Read for EddyIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let unfilled = buf.initialize_unfilled();
        let n = match Pin::new(&mut this.inner).poll_read(cx, unfilled) {
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        // SAFETY: `advance` requires the next `n` bytes to be initialised. The whole unfilled
        // part was initialised by `initialize_unfilled` above, and `poll_read` returned
        // `n <= unfilled.len()` bytes written into it (the `AsyncRead` contract).
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for EddyIo<T> {
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

    /// eddy's `TcpStream` and `UnixStream` write vectors with one `writev`, so hyper may
    /// hand over headers and body without copying them together. For a stream whose
    /// `poll_write_vectored` is futures-io's default (first buffer only), return `false`.
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

/// Spawns hyper's background futures (connection drivers, HTTP/2 streams) as eddy tasks.
///
/// Holds a runtime handle, so it also works when hyper calls it from a thread outside the
/// runtime. The tasks are detached: dropping an eddy `JoinHandle` does not cancel its task.
#[derive(Clone, Debug)]
pub(crate) struct EddyExecutor(eddy::Handle);

impl EddyExecutor {
    /// The executor of the runtime this thread is in.
    ///
    /// # Panics
    ///
    /// Outside an eddy runtime (see `eddy::Handle::current`).
    pub(crate) fn current() -> Self {
        EddyExecutor(eddy::Handle::current())
    }
}

impl<F> hyper::rt::Executor<F> for EddyExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        drop(self.0.spawn(future));
    }
}

/// hyper's timer on eddy's timer wheel. `eddy::timer::Sleep` binds to the runtime that
/// first polls it, so one `EddyTimer` serves every runtime.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct EddyTimer;

/// eddy's `Sleep` as a `hyper::rt::Sleep` (a trait hyper owns, so it needs a local type).
#[derive(Debug)]
pub(crate) struct EddySleep(eddy::timer::Sleep);

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
