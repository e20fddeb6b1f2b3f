//! `Notify`: wake one waiting task, or all of them, without sending a value.
//!
//! # Protocol
//!
//! One `Mutex<State>` guards everything; wakers are woken after it is released.
//!
//! - `permit`: set by `notify_one` when no waiter is registered; consumed by the next
//!   `Notified` at its first poll. At most one permit is stored.
//! - `waiters`: one entry per registered `Notified`, oldest first, each with its waker and a
//!   mark. `notify_one` marks the oldest `Waiting` entry `One`; `notify_waiters` marks every
//!   `Waiting` entry `All`. Only the entry's own `Notified` removes it: when a poll finds it
//!   marked (and completes), or on drop. A `Notified` dropped while marked `One` passes the
//!   notification on, as if `notify_one` were called again, so dropping a chosen waiter (a
//!   lost race, a timeout) never loses a wake-up.
//!
//! Lookups are linear in the number of waiters: `Notify` is meant for a handful of waiters,
//! not thousands. The loom models in `notify/loom_tests.rs` cover `notify_one` against a
//! first poll, `notify_waiters` against registered waiters, and a chosen waiter's drop.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use eddy_wake::wait::{self, WaitKind, WaitOp};

use crate::loom::sync::{Mutex, lock};

#[cfg(all(test, eddy_loom))]
mod loom_tests;
#[cfg(all(test, not(eddy_loom)))]
mod tests;

/// Wakes waiting tasks without sending a value.
///
/// The building block for "something changed, go and look": a shutdown flag, a
/// queue that became non-empty, a task group's "a child failed". asyncio's closest relative
/// is `asyncio.Event`, minus the stored flag: [`notify_waiters`](Notify::notify_waiters) is
/// `event.set(); event.clear()` (wakes everyone waiting now, remembers nothing), and
/// [`notify_one`](Notify::notify_one) wakes a single waiter or, when nobody waits, leaves one
/// permit for the next one, so a notification sent just before the waiter arrives is not
/// lost.
///
/// ```
/// use eddy::sync::Notify;
/// use std::sync::Arc;
///
/// let notify = Arc::new(Notify::new());
/// let executor = eddy_executor::CurrentThread::new();
/// executor.block_on(async {
///     let notifier = Arc::clone(&notify);
///     std::thread::spawn(move || notifier.notify_one());
///     // Completes whether the notification comes before or after this line.
///     notify.notified().await;
/// });
/// ```
pub struct Notify {
    state: Mutex<State>,
}

/// The future of [`Notify::notified`]: completes when this waiter is notified.
///
/// It registers as a waiter at its first poll, not when it is created: a
/// [`notify_waiters`](Notify::notify_waiters) call before the first poll does not reach it.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Notified<'a> {
    notify: &'a Notify,
    /// `Some(id)` while registered in `notify.state.waiters`.
    id: Option<u64>,
    done: bool,
}

struct State {
    permit: bool,
    next_id: u64,
    waiters: Vec<Entry>,
}

struct Entry {
    id: u64,
    waker: Option<Waker>,
    mark: Mark,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Waiting,
    /// Chosen by `notify_one`.
    One,
    /// Woken by `notify_waiters`.
    All,
}

impl Notify {
    /// A `Notify` with no waiters and no stored permit.
    pub fn new() -> Notify {
        Notify {
            state: Mutex::new(State {
                permit: false,
                next_id: 0,
                waiters: Vec::new(),
            }),
        }
    }

    /// Wakes the oldest waiter; if none is waiting, stores one permit that the next
    /// [`notified`](Notify::notified) consumes at once. Permits do not add up: two calls with
    /// nobody waiting still let only one future through.
    pub fn notify_one(&self) {
        let waker = notify_one_locked(&mut lock(&self.state));
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes every waiter registered now (every `Notified` polled at least once and not yet
    /// complete). Stores no permit: futures that register later wait for the next call.
    pub fn notify_waiters(&self) {
        let wakers: Vec<Waker> = {
            let mut state = lock(&self.state);
            state
                .waiters
                .iter_mut()
                .filter(|entry| entry.mark == Mark::Waiting)
                .filter_map(|entry| {
                    entry.mark = Mark::All;
                    entry.waker.take()
                })
                .collect()
        };
        for waker in wakers {
            waker.wake();
        }
    }

    /// A future that completes at the next notification meant for it: a stored permit, a
    /// [`notify_one`](Notify::notify_one) that picks it, or a
    /// [`notify_waiters`](Notify::notify_waiters) after its first poll.
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            id: None,
            done: false,
        }
    }
}

/// Marks the oldest waiting entry as chosen and returns its waker, or stores the permit.
fn notify_one_locked(state: &mut State) -> Option<Waker> {
    match state
        .waiters
        .iter_mut()
        .find(|entry| entry.mark == Mark::Waiting)
    {
        Some(entry) => {
            entry.mark = Mark::One;
            entry.waker.take()
        }
        None => {
            state.permit = true;
            None
        }
    }
}

impl Default for Notify {
    fn default() -> Notify {
        Notify::new()
    }
}

/// A task awaiting [`Notify::notified`] waits for whoever notifies it.
static NOTIFIED: WaitOp = WaitOp::new(WaitKind::Notify, "Notify::notified");

impl Future for Notified<'_> {
    type Output = ();

    /// `Ready` once notified; polling again after that returns `Ready` at once.
    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let poll = self.get_mut().poll_notified(cx);
        if poll.is_pending() {
            wait::record(&NOTIFIED, 0, Location::caller());
        }
        poll
    }
}

impl Notified<'_> {
    fn poll_notified(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let this = self;
        if this.done {
            return Poll::Ready(());
        }
        let mut state = lock(&this.notify.state);
        match this.id {
            None => {
                if state.permit {
                    state.permit = false;
                    this.done = true;
                    return Poll::Ready(());
                }
                let id = state.next_id;
                state.next_id += 1;
                state.waiters.push(Entry {
                    id,
                    waker: Some(cx.waker().clone()),
                    mark: Mark::Waiting,
                });
                this.id = Some(id);
                Poll::Pending
            }
            Some(id) => {
                let index = position(&state, id);
                let entry = &mut state.waiters[index];
                if entry.mark == Mark::Waiting {
                    match &entry.waker {
                        Some(old) if old.will_wake(cx.waker()) => {}
                        _ => entry.waker = Some(cx.waker().clone()),
                    }
                    return Poll::Pending;
                }
                state.waiters.remove(index);
                this.id = None;
                this.done = true;
                Poll::Ready(())
            }
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let Some(id) = self.id else {
            return;
        };
        let waker = {
            let mut state = lock(&self.notify.state);
            let index = position(&state, id);
            let entry = state.waiters.remove(index);
            match entry.mark {
                // Chosen but never completed: hand the notification to the next waiter.
                Mark::One => notify_one_locked(&mut state),
                Mark::Waiting | Mark::All => None,
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The index of waiter `id`, which is registered until its own `Notified` removes it.
fn position(state: &State, id: u64) -> usize {
    state
        .waiters
        .iter()
        .position(|entry| entry.id == id)
        .expect("invariant: a registered waiter's entry is removed only by its own `Notified`")
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Notify")
            .field("permit", &state.permit)
            .field("waiters", &state.waiters.len())
            .finish()
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("registered", &self.id.is_some())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
