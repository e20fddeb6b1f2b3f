//! [`Sleep`]: a future that completes at a deadline.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use eddy_wake::wait::{self, WaitKind, WaitOp};

use crate::driver::Armed;
use crate::handle::Handle;
use crate::wheel::TimerKey;

/// Waits until `duration` has passed.
///
/// The deadline is taken from the current driver's clock when one is entered on this thread,
/// otherwise from [`Instant::now`]. A duration too large for `Instant` saturates (see
/// [`sleep_until`]); `Duration::MAX` is a sleep that never ends in practice.
///
/// # Panics
///
/// The returned future panics when first polled if no time driver is entered on the polling
/// thread (see [`Handle::enter`]). It also panics, saying so, when polled after its
/// driver has shut down (its runtime was dropped): a timer has no error to return, and
/// waiting forever would hang the caller.
pub fn sleep(duration: Duration) -> Sleep {
    let handle = Handle::try_current().ok();
    let now = handle.as_ref().map_or_else(Instant::now, Handle::now);
    Sleep::new(handle, crate::saturating_add(now, duration))
}

/// Waits until `deadline`.
///
/// # Panics
///
/// The returned future panics when first polled if no time driver is entered on the polling
/// thread (see [`Handle::enter`]). It also panics, saying so, when polled after its
/// driver has shut down (its runtime was dropped): a timer has no error to return, and
/// waiting forever would hang the caller.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(Handle::try_current().ok(), deadline)
}

/// A future that completes once its deadline has passed. Created by [`sleep`],
/// [`sleep_until`] or [`Sleep::new_in`].
///
/// It registers with the time driver the first time it is polled, not when it is created, so
/// an unpolled `Sleep` costs nothing. Polling it again keeps the same timer (and replaces the
/// stored waker only if it would wake a different task); dropping it cancels the timer.
///
/// Precision: it never completes before its deadline; with the driver's tick (1 ms by
/// default) it completes within one tick after it, plus the time the runtime takes to get
/// round to it.
pub struct Sleep {
    deadline: Instant,
    /// Resolved on first poll when not given.
    handle: Option<Handle>,
    state: State,
}

#[derive(Clone, Copy, Debug)]
enum State {
    /// Not in the driver's wheel (never polled, or reset after firing).
    Idle,
    /// In the wheel under this key.
    Armed(TimerKey),
    /// The deadline has passed.
    Done,
}

impl Sleep {
    /// A sleep until `deadline` on the driver behind `handle`, or on the driver entered on
    /// the thread that first polls it if `handle` is `None`.
    pub fn new_in(handle: Option<Handle>, deadline: Instant) -> Self {
        Self::new(handle, deadline)
    }

    fn new(handle: Option<Handle>, deadline: Instant) -> Self {
        Self {
            deadline,
            handle,
            state: State::Idle,
        }
    }

    /// The instant this sleep completes at.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The driver this sleep is registered with, once known.
    pub(crate) fn handle(&self) -> Option<&Handle> {
        self.handle.as_ref()
    }

    /// Whether the deadline has been seen to pass (the future has completed or would
    /// complete on its next poll).
    pub fn is_elapsed(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Moves the deadline, reusing the registered timer when there is one (no new
    /// allocation, no new key). A sleep that had completed waits again.
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        self.state = match (self.state, &self.handle) {
            (State::Armed(key), Some(handle)) => match handle.inner.reset(key, deadline) {
                Some(Armed::Key(key)) => State::Armed(key),
                Some(Armed::Due) => State::Done,
                None => State::Idle,
            },
            _ => State::Idle,
        };
    }

    /// Polls the sleep without pinning: `Sleep` is [`Unpin`].
    pub fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self.state {
            State::Done => Poll::Ready(()),
            State::Armed(key) => {
                let handle = self
                    .handle
                    .as_ref()
                    .expect("Sleep invariant: an armed sleep has a handle");
                if handle.inner.poll_key(key, cx.waker()) {
                    self.fired(cx)
                } else {
                    Poll::Pending
                }
            }
            State::Idle => {
                let handle = match &self.handle {
                    Some(handle) => handle,
                    None => self.handle.insert(Handle::current()),
                };
                match handle.inner.register(self.deadline, cx.waker()) {
                    Armed::Key(key) => {
                        self.state = State::Armed(key);
                        Poll::Pending
                    }
                    Armed::Due => self.fired(cx),
                }
            }
        }
    }

    /// The timer fired: the sleep is done, and completing it spends one unit of the task's
    /// cooperative budget (eddy-wake's `coop`), as a ready socket operation does. With the
    /// budget spent it yields once instead (the task is woken, and the next poll completes),
    /// so a loop of already-due sleeps cannot starve the other tasks of its thread.
    fn fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.state = State::Done;
        eddy_wake::coop::poll_proceed(cx)
    }
}

/// What a task awaiting a [`Sleep`] waits on, for task dumps (eddy-wake's `wait`).
static SLEEP: WaitOp = WaitOp::new(WaitKind::Timer, "sleep");

impl Future for Sleep {
    type Output = ();

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let poll = this.poll_elapsed(cx);
        if poll.is_pending() {
            wait::record(
                &SLEEP,
                wait::encode_instant(this.deadline),
                Location::caller(),
            );
        }
        poll
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let (State::Armed(key), Some(handle)) = (self.state, &self.handle) {
            handle.inner.cancel(key);
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
