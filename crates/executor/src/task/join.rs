//! `JoinHandle`: the awaitable result of a spawned task (asyncio's `Task` object).

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use eddy_wake::wait::{self, WaitKind, WaitOp};

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

    /// This handle, made to cancel the task when it is dropped: asyncio's ownership, where
    /// a task cancelled while it awaits another cancels that one too. Awaiting it is
    /// awaiting this handle.
    ///
    /// ```
    /// use eddy_executor::CurrentThread;
    ///
    /// let rt = CurrentThread::new();
    /// let task = rt.spawn(std::future::pending::<()>()).abort_on_drop();
    /// let abort = task.abort_handle();
    /// drop(task);
    /// rt.block_on(eddy_executor::yield_now()); // the scheduler drops the future
    /// assert!(abort.is_finished());
    /// ```
    pub fn abort_on_drop(self) -> AbortOnDrop<T> {
        AbortOnDrop { handle: Some(self) }
    }
}

/// A [`JoinHandle`] that cancels its task when dropped; from [`JoinHandle::abort_on_drop`].
///
/// Awaiting it yields the task's result, as the handle does. Hold it in a task that waits
/// for a subtask, and cancelling the outer task (dropping its future) cancels the subtask
/// too, as asyncio does; a plain `JoinHandle` would leave the subtask running.
/// [`detach`](AbortOnDrop::detach) turns it back into a plain handle.
#[must_use = "dropping it cancels the task at once"]
pub struct AbortOnDrop<T> {
    /// `Some` until `detach` takes it.
    handle: Option<JoinHandle<T>>,
}

impl<T> AbortOnDrop<T> {
    fn handle(&self) -> &JoinHandle<T> {
        self.handle
            .as_ref()
            .expect("invariant: only `detach`, which consumes self, takes the handle")
    }

    /// Cancels the task now; see [`JoinHandle::abort`].
    pub fn abort(&self) {
        self.handle().abort();
    }

    /// A handle that can abort the task but not await it (it does not abort on drop).
    pub fn abort_handle(&self) -> AbortHandle {
        self.handle().abort_handle()
    }

    /// `true` once the task has completed.
    pub fn is_finished(&self) -> bool {
        self.handle().is_finished()
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.handle().id()
    }

    /// The plain handle: dropping it then detaches the task instead of cancelling it.
    pub fn detach(mut self) -> JoinHandle<T> {
        self.handle
            .take()
            .expect("invariant: only `detach`, which consumes self, takes the handle")
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, JoinError>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let handle = self
            .handle
            .as_mut()
            .expect("invariant: only `detach`, which consumes self, takes the handle");
        Pin::new(handle).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            handle.abort();
        }
    }
}

impl<T> fmt::Debug for AbortOnDrop<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_task(f, "AbortOnDrop", self.handle().raw)
    }
}

fn abort_raw(raw: RawTask) {
    if raw.header().state.transition_to_cancelled() == ToNotified::Submit {
        // The transition took a reference for the queue: the scheduler drops the future.
        raw.schedule();
    }
}

/// A task awaiting another's `JoinHandle` waits on that task (`wait::WaitKind::Task`).
static JOIN: WaitOp = WaitOp::new(WaitKind::Task, "JoinHandle");

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    #[track_caller]
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
        if out.is_pending() {
            wait::record(&JOIN, self.raw.id().as_u64(), Location::caller());
        }
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
        debug_task(f, "JoinHandle", self.raw)
    }
}

/// `Handle { id: 7, name: "fetch", finished: false }`: the name while the task lives (its
/// scheduler forgets it when the task completes), and only if it was given one.
fn debug_task(f: &mut fmt::Formatter<'_>, what: &str, raw: RawTask) -> fmt::Result {
    let mut d = f.debug_struct(what);
    d.field("id", &raw.id());
    if let Some(name) = raw.name() {
        d.field("name", &name);
    }
    d.field("finished", &raw.header().state.load().is(COMPLETE))
        .finish()
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
        debug_task(f, "AbortHandle", self.raw)
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
