//! A single waker slot that one side fills and any thread may wake, without a lock.
//!
//! # Protocol
//!
//! The slot (`waker`) is guarded by the `state` word, which holds two bits:
//!
//! | state                  | meaning                                                        |
//! | ---------------------- | -------------------------------------------------------------- |
//! | `WAITING` (0)          | nobody touches the slot; a registered waker may be inside it    |
//! | `REGISTERING`          | a [`register`](AtomicWaker::register) call owns the slot        |
//! | `WAKING`               | a [`take`](AtomicWaker::take) call owns the slot                |
//! | `REGISTERING | WAKING` | a take arrived during a register; the registrar must wake       |
//!
//! Only the thread that moved the state from `WAITING` to `REGISTERING` (by compare-exchange)
//! or set `WAKING` on a `WAITING` state (by `fetch_or`) may touch the slot, so at most one
//! thread accesses it at a time. A take that finds `REGISTERING` only sets `WAKING` and leaves;
//! the registrar sees the bit when it tries to return to `WAITING`, takes the waker it just
//! stored and wakes it itself. That hand-off is why a wake can never be lost: either the take
//! finds the slot free and wakes what is there, or the register that is in progress wakes.
//!
//! Registering is meant to be done by one task at a time (the task that owns the resource).
//! Two concurrent `register` calls are not undefined behaviour: the loser wakes its own
//! waker at once, so that task polls again instead of sleeping forever.

use std::fmt;
use std::task::Waker;

use crate::loom::cell::TrackedCell;
use crate::loom::sync::atomic::AtomicUsize;
use crate::loom::sync::atomic::Ordering::{AcqRel, Acquire, Release};

/// Nobody owns the slot.
const WAITING: usize = 0;
/// A `register` call owns the slot.
const REGISTERING: usize = 0b01;
/// A `take` call owns the slot, or (with `REGISTERING`) asked the registrar to wake.
const WAKING: usize = 0b10;

/// A slot for one [`Waker`], filled by the task that waits and emptied by whoever wakes it.
///
/// This is the building block between an event source (a timer, a socket's readiness) and the
/// task waiting for it: the task calls [`register`](Self::register) and then checks its
/// condition; the event side makes the condition true and calls [`wake`](Self::wake). A wake
/// that races with a register is never lost (see the module's protocol notes; it is checked
/// with loom).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::task::{Context, Poll, Waker};
///
/// use eddy_wake::AtomicWaker;
///
/// struct Flag {
///     set: AtomicBool,
///     waker: AtomicWaker,
/// }
///
/// impl Flag {
///     fn poll_set(&self, cx: &mut Context<'_>) -> Poll<()> {
///         // Register first, then check: a `signal` between the two still wakes us.
///         self.waker.register(cx.waker());
///         if self.set.load(Ordering::Acquire) { Poll::Ready(()) } else { Poll::Pending }
///     }
///
///     fn signal(&self) {
///         self.set.store(true, Ordering::Release);
///         self.waker.wake();
///     }
/// }
///
/// let flag = Arc::new(Flag { set: AtomicBool::new(false), waker: AtomicWaker::new() });
/// let mut cx = Context::from_waker(Waker::noop());
/// assert!(flag.poll_set(&mut cx).is_pending());
/// flag.signal();
/// assert!(flag.poll_set(&mut cx).is_ready());
/// ```
pub struct AtomicWaker {
    /// `WAITING`, `REGISTERING`, `WAKING` or `REGISTERING | WAKING`; see the module docs.
    state: AtomicUsize,
    /// The registered waker. Accessed only by the thread that owns it through `state`.
    waker: TrackedCell<Option<Waker>>,
}

// SAFETY: the only non-thread-safe field is the `TrackedCell` (an unsafe cell), and the
// `state` protocol gives one thread at a time exclusive access to it (module docs). `Waker` is `Send + Sync`, so
// moving the stored waker between threads is sound.
unsafe impl Send for AtomicWaker {}
// SAFETY: as for `Send`: every access to the cell through `&self` first wins ownership of the
// slot through `state`, so shared references never access it concurrently.
unsafe impl Sync for AtomicWaker {}

impl AtomicWaker {
    /// An empty slot.
    #[cfg(not(eddy_loom))]
    pub const fn new() -> Self {
        Self {
            state: AtomicUsize::new(WAITING),
            waker: TrackedCell::new(None),
        }
    }

    /// An empty slot.
    #[cfg(eddy_loom)]
    pub fn new() -> Self {
        Self {
            state: AtomicUsize::new(WAITING),
            waker: TrackedCell::new(None),
        }
    }

    /// Stores `waker` (a clone of it) as the one to wake.
    ///
    /// Call it before checking the condition the waker waits for: a [`wake`](Self::wake)
    /// that lands at any point after `register` starts wakes `waker`. If the stored waker
    /// already [`will_wake`](Waker::will_wake) the same task, nothing is cloned.
    ///
    /// If a wake is in progress on another thread at this moment, `waker` is woken at once
    /// (the caller will be polled again) rather than stored.
    pub fn register(&self, waker: &Waker) {
        // Acquire pairs with the Release that last returned the state to WAITING (the
        // registrar's final compare-exchange or the taker's `fetch_and`), so we see the slot
        // as they left it, and the taker's writes made before `wake()`.
        match self
            .state
            .compare_exchange(WAITING, REGISTERING, Acquire, Acquire)
        {
            Ok(_) => {
                // We own the slot until we leave REGISTERING.
                let old = self.waker.with_mut(|slot| {
                    // SAFETY: the compare-exchange above moved the state from WAITING to
                    // REGISTERING, which gives this thread exclusive access to the slot until
                    // it leaves REGISTERING (module docs); no other reference to it exists.
                    let slot = unsafe { &mut *slot };
                    match slot {
                        Some(current) if current.will_wake(waker) => None,
                        _ => slot.replace(waker.clone()),
                    }
                });
                // Release publishes the stored waker to the next `take` (its `fetch_or`,
                // Acquire). On failure, Acquire pairs with that `fetch_or` (Release half),
                // so the waker side's writes before `wake()` are visible to our caller.
                let res = self
                    .state
                    .compare_exchange(REGISTERING, WAITING, AcqRel, Acquire);
                if res.is_err() {
                    // A take set WAKING while we held the slot and left the wake to us.
                    let woken = self.waker.with_mut(|slot| {
                        // SAFETY: the state is REGISTERING | WAKING: the taker saw REGISTERING
                        // and did not touch the slot, so this thread still owns it.
                        unsafe { (*slot).take() }
                    });
                    // Release pairs with the Acquire of the next register or take: the slot
                    // is empty and free again.
                    self.state.swap(WAITING, AcqRel);
                    drop(old);
                    if let Some(w) = woken {
                        w.wake();
                    }
                } else {
                    drop(old);
                }
            }
            Err(_) => {
                // WAKING: a take owns the slot right now, so storing is impossible, and the
                // wake it delivers may be for the waker we are replacing. Waking ours
                // directly keeps the rule "a wake after register starts reaches `waker`".
                // REGISTERING: a concurrent register (misuse, see the module docs); waking
                // makes that caller poll again instead of losing its wake-up.
                waker.wake_by_ref();
            }
        }
    }

    /// Wakes the registered waker, if any, and empties the slot.
    pub fn wake(&self) {
        if let Some(waker) = self.take() {
            waker.wake();
        }
    }

    /// Empties the slot and returns the waker that was in it, so the caller can wake it later
    /// (for example after releasing a lock).
    ///
    /// Returns `None` if the slot was empty, if another take is in progress, or if a register
    /// is in progress (that register will then wake its waker itself).
    pub fn take(&self) -> Option<Waker> {
        // AcqRel: Acquire pairs with the registrar's Release (its final compare-exchange), so
        // the stored waker is visible; Release hands our prior writes (the condition the task
        // waits for) to a registrar that fails its final compare-exchange (Acquire).
        match self.state.fetch_or(WAKING, AcqRel) {
            WAITING => {
                let waker = self.waker.with_mut(|slot| {
                    // SAFETY: we moved the state from WAITING to WAKING, which gives this
                    // thread exclusive access to the slot until it clears WAKING.
                    unsafe { (*slot).take() }
                });
                // Release pairs with the Acquire of the next register's compare-exchange: it
                // must see the slot empty.
                self.state.fetch_and(!WAKING, Release);
                waker
            }
            // REGISTERING (the registrar wakes) or WAKING (another take is emptying the slot).
            _ => None,
        }
    }
}

impl Default for AtomicWaker {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for AtomicWaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomicWaker").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(eddy_loom)))]
mod tests;

#[cfg(all(test, eddy_loom))]
mod loom_tests;
