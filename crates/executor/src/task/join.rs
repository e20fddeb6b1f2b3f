//! `JoinHandle`: the awaitable result of a spawned task (asyncio's `Task` object).

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::error::JoinError;
use super::id::TaskId;
use super::raw::RawTask;
use super::state::{COMPLETE, ToNotified};

/// Owned permission to await a spawned task's output.
///
/// Awaiting it yields `Ok(output)`, or a [`JoinError`] when the task was cancelled or
/// panicked. Dropping it detaches the task, which keeps running; its output is then dropped
/// when it completes.
///
/// # Panics
///
/// Polling the handle again after it returned `Ready` panics with "JoinHandle polled after
/// it returned Ready": the output has been handed over and a `Future` may not be polled
/// after completion. `.await` cannot do this; a hand-written poll loop or a `select` that
/// keeps polling a finished branch can. It is the same contract as tokio's `JoinHandle`:
/// returning `Pending` instead would hang the caller, and an error would hide the bug. The
/// task and its scheduler are unaffected, and dropping the handle afterwards is fine. Use
/// [`is_finished`](JoinHandle::is_finished) to ask without polling.
pub struct JoinHandle<T> {
    raw: RawTask,
    _output: PhantomData<T>,
}

// SAFETY: the handle only moves the output `T` to whoever polls it, so it may travel
// between threads when `T: Send`; the task itself is reached through atomics.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` gives `abort`, `is_finished` and `id`, which touch only the atomic
// state word; the output is taken only through `&mut`.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// # Safety
    /// `raw` carries the task's `JoinHandle` reference, and its output type is `T`.
    pub(crate) unsafe fn new(raw: RawTask) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _output: PhantomData,
        }
    }

    /// Cancels the task (asyncio's `task.cancel()`).
    ///
    /// A task waiting for a wake has its future dropped promptly, on its own scheduler; a
    /// task being polled has it dropped when that poll returns `Pending`; a finished task is
    /// unaffected. Awaiting the handle then yields [`JoinError::Cancelled`] (unless the
    /// task finished first). Calling it twice, from any thread, or from inside the task
    /// itself is fine.
    pub fn abort(&self) {
        abort_raw(self.raw);
    }

    /// A handle that can abort the task but not await it.
    pub fn abort_handle(&self) -> AbortHandle {
        self.raw.header().state.ref_inc();
        AbortHandle { raw: self.raw }
    }

    /// `true` once the task has completed (finished, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is(COMPLETE)
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.raw.id()
    }
}

fn abort_raw(raw: RawTask) {
    if raw.header().state.transition_to_cancelled() == ToNotified::Submit {
        // The transition took a reference for the queue: the scheduler drops the future.
        raw.schedule();
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: we are the task's JoinHandle, so its output type is `T` and `out` is the
        // destination type `try_read_output` writes.
        unsafe {
            (self.raw.header().vtable.try_read_output)(
                self.raw.header_ptr(),
                (&raw mut out).cast(),
                cx.waker(),
            )
        };
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // SAFETY: we give up the JoinHandle's reference, exactly once.
        unsafe { (self.raw.header().vtable.drop_join_handle)(self.raw.header_ptr()) }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .finish()
    }
}

/// Permission to abort a task without awaiting it; cheap to keep, any thread may use it.
pub struct AbortHandle {
    raw: RawTask,
}

impl AbortHandle {
    /// Cancels the task; see [`JoinHandle::abort`].
    pub fn abort(&self) {
        abort_raw(self.raw);
    }

    /// `true` once the task has completed.
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is(COMPLETE)
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.raw.id()
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .finish()
    }
}

#[cfg(test)]
impl AbortHandle {
    /// The task's reference count, for tests.
    #[cfg_attr(eddy_loom, allow(dead_code))]
    pub(crate) fn refs(&self) -> usize {
        self.raw.header().state.load().refs()
    }
}
