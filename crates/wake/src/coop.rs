//! Cooperative scheduling: a per-poll budget and `yield_now`.
//!
//! A future that is always ready (a channel with a full buffer, a socket with data always
//! waiting) would otherwise keep its task in `poll` forever and starve everything else on
//! the thread. Each task poll gets a budget of [`BUDGET`] units; leaf futures spend one per
//! ready operation through [`poll_proceed`], and once it is spent they return `Pending`
//! after waking their task, which goes to the back of the run queue.
//!
//! The budget is a thread-local, so a leaf future needs no handle to its scheduler: eddy-net
//! and eddy-timer call [`poll_proceed`] directly, and outside [`budgeted`] (a future polled
//! by some other executor) every operation proceeds.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Operations a task may complete in one poll before leaf futures make it yield.
pub const BUDGET: u8 = 128;

#[cfg(not(eddy_loom))]
thread_local! {
    /// `None` outside a scheduler's poll: unconstrained.
    static REMAINING: Cell<Option<u8>> = const { Cell::new(None) };
}

// loom runs model threads on one OS thread, so std's thread-locals would be shared.
#[cfg(eddy_loom)]
loom::thread_local! {
    static REMAINING: Cell<Option<u8>> = Cell::new(None);
}

/// Runs `f` (one task poll) with a fresh budget, restoring the previous one afterwards. For
/// schedulers: each task poll, and each poll of a `block_on` future, runs inside one.
#[inline]
pub fn budgeted<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u8>);
    impl Drop for Restore {
        fn drop(&mut self) {
            REMAINING.with(|r| r.set(self.0));
        }
    }
    let _restore = Restore(REMAINING.with(|r| r.replace(Some(BUDGET))));
    f()
}

/// Spends one unit of the current task's budget. Returns `Pending` (having woken the task,
/// so it is rescheduled) when the budget is spent; a leaf future returns that `Pending`
/// instead of doing its ready work.
#[inline]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    REMAINING.with(|r| match r.get() {
        None => Poll::Ready(()),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            r.set(Some(n - 1));
            Poll::Ready(())
        }
    })
}

/// `true` while the current task still has budget left (always `true` outside a poll).
#[inline]
pub fn has_budget_remaining() -> bool {
    REMAINING.with(|r| r.get() != Some(0))
}

/// Yields once to the scheduler: the task is re-queued behind every task already runnable
/// (asyncio's `await asyncio.sleep(0)`).
#[inline]
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
