//! `TokioBridge`: a tokio runtime on a helper thread, for libraries that need tokio's own
//! reactor and timers (reqwest, tonic's transport, anything that calls
//! `tokio::net::TcpStream::connect` or `tokio::time::sleep`).
//!
//! Such a library panics on an eddy thread ("there is no reactor running"), because its
//! sockets register with the tokio runtime they find in a thread-local. The bridge runs
//! that runtime beside eddy: [`TokioBridge::run`] spawns a future there and returns a
//! future an eddy task awaits for its output. Two reactors then run side by side, and the
//! tokio part pays tokio's costs; values cross between them through the returned future
//! only.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread;

/// A tokio runtime (current-thread, I/O and time enabled) on a helper thread of its own.
///
/// Dropping the bridge stops that runtime: tasks still running there are cancelled, and
/// the [`Bridged`] futures waiting on them return [`BridgeError::Cancelled`].
///
/// ```
/// use eddy_compat::TokioBridge;
///
/// let bridge = TokioBridge::new()?;
/// let answer = eddy::run(async {
///     // Inside the closure, tokio's runtime is the current one.
///     bridge.run(async { tokio::task::yield_now().await; 6 * 7 }).await
/// });
/// assert_eq!(answer.unwrap(), 42);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TokioBridge {
    handle: tokio::runtime::Handle,
    /// Dropped (or sent) to stop the runtime.
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl TokioBridge {
    /// Starts the tokio runtime and its thread (named `eddy-tokio-bridge`).
    ///
    /// # Errors
    ///
    /// The system's error if the runtime's driver or the thread cannot be created.
    pub fn new() -> io::Result<TokioBridge> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = thread::Builder::new()
            .name("eddy-tokio-bridge".to_owned())
            .spawn(move || {
                // Either a send or the sender's drop ends the wait.
                let _ = runtime.block_on(stopped);
                // Dropping the runtime cancels its remaining tasks, on this thread.
                drop(runtime);
            })?;
        Ok(TokioBridge {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Runs `future` on the tokio runtime; await the result from any eddy task (or any
    /// executor). Dropping the returned future cancels the tokio task.
    ///
    /// The future is spawned at once, so it makes progress even before it is awaited.
    pub fn run<F>(&self, future: F) -> Bridged<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Bridged {
            task: self.handle.spawn(future),
        }
    }

    /// The tokio runtime's handle, for APIs that take one (or for `enter`, to build a
    /// tokio type outside a future).
    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }
}

impl Drop for TokioBridge {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != thread::current().id()
        {
            // The runtime's shutdown only drops tasks: joining waits for that, no longer.
            let _ = thread.join();
        }
    }
}

impl fmt::Debug for TokioBridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokioBridge").finish_non_exhaustive()
    }
}

/// The output of a future run on a [`TokioBridge`]; from [`TokioBridge::run`].
#[must_use = "dropping a Bridged cancels its task"]
pub struct Bridged<T> {
    task: tokio::task::JoinHandle<T>,
}

impl<T> Future for Bridged<T> {
    type Output = Result<T, BridgeError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.task).poll(cx).map(|joined| {
            joined.map_err(|e| match e.try_into_panic() {
                Ok(payload) => BridgeError::Panicked(payload),
                Err(_) => BridgeError::Cancelled,
            })
        })
    }
}

impl<T> Drop for Bridged<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<T> fmt::Debug for Bridged<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bridged")
            .field("task", &self.task.id())
            .finish()
    }
}

/// Why a [`Bridged`] future has no output.
#[non_exhaustive]
pub enum BridgeError {
    /// The future panicked on the tokio runtime; here is the panic's payload (resume it
    /// with `std::panic::resume_unwind` to propagate it).
    Panicked(Box<dyn std::any::Any + Send + 'static>),
    /// The tokio runtime shut down (its [`TokioBridge`] was dropped) before the future
    /// finished.
    Cancelled,
}

impl fmt::Debug for BridgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BridgeError::Panicked(_) => f.write_str("Panicked(..)"),
            BridgeError::Cancelled => f.write_str("Cancelled"),
        }
    }
}

impl fmt::Display for BridgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BridgeError::Panicked(_) => f.write_str("the future panicked on the tokio bridge"),
            BridgeError::Cancelled => {
                f.write_str("the tokio bridge shut down before the future finished")
            }
        }
    }
}

impl std::error::Error for BridgeError {}
