//! The task's state word: six flags and a reference count in one `AtomicUsize`.
//!
//! # Protocol
//!
//! Every change to a task's lifecycle is one read-modify-write of this word, so any two
//! parties (the scheduler polling it, a waker on another thread, `JoinHandle::abort`, a
//! dropping `JoinHandle`, runtime shutdown) agree on who does what next. All RMWs are
//! `AcqRel`: each one acquires what the previous RMW on the word released (they form one
//! release sequence), which is what hands the future, the output and the join-waker slot
//! from one thread to the next. Plain loads are `Acquire` for the same reason.
//!
//! | flag | set by | cleared by | meaning |
//! | --- | --- | --- | --- |
//! | `RUNNING` | the poller (`transition_to_running`), or shutdown/abort claiming an idle task | the poller when the poll ends | someone has exclusive access to the future |
//! | `NOTIFIED` | a wake, or `abort` | `transition_to_running` | a `Notified` reference to the task sits in a run queue, or the running poll must re-queue it |
//! | `COMPLETE` | the poller, after storing the output (or dropping a cancelled future) | never | the future is gone; the stage holds the output until the `JoinHandle` takes it |
//! | `CANCELLED` | `abort`, shutdown | never | the future must be dropped at its next scheduling point and never polled again |
//! | `JOIN_INTEREST` | spawn | the `JoinHandle`'s drop | someone will read the output; without it the task drops the output itself |
//! | `JOIN_WAKER` | the `JoinHandle`, after writing the join-waker slot | the `JoinHandle` (to replace the waker, or on drop) while not `COMPLETE`; the task after waking it | the slot holds a waker the task must wake on completion |
//!
//! Ownership of the fields the word guards:
//! - the stage (future or output): whoever holds `RUNNING` while not `COMPLETE`; after
//!   `COMPLETE`, the `JoinHandle` if `JOIN_INTEREST` was set at completion, else the task.
//! - the join-waker slot: written by the `JoinHandle` only while `JOIN_WAKER` is clear and
//!   the task is not `COMPLETE`. While `JOIN_WAKER` is set the slot is frozen: the
//!   `JoinHandle` may read it (to compare wakers) and the completing task reads it (to
//!   wake). After waking it the task clears `JOIN_WAKER` (`unset_waker_after_complete`);
//!   whichever of that and the `JoinHandle`'s drop (`unset_join_interest`) comes second
//!   drops the waker, so it never outlives the `JoinHandle` and no chain of tasks keeps
//!   each other alive through join wakers.
//!
//! Legal transitions (anything else is an invariant violation):
//!
//! ```text
//!  spawn ──> NOTIFIED ──run──> RUNNING ──Pending──> idle ──wake──> NOTIFIED ...
//!                                 │  └──woken during poll──> NOTIFIED (re-queued after poll)
//!                                 └──Ready/panic/cancel──> COMPLETE (terminal)
//!  abort: idle ──> CANCELLED|NOTIFIED (queued to be dropped on its scheduler)
//!         NOTIFIED or RUNNING ──> +CANCELLED (dropped when it next runs / when the poll ends)
//!         COMPLETE ──> no change
//! ```
//!
//! The reference count (bits above the flags) counts: the owned-task list, the `JoinHandle`,
//! each `Waker`, and each `Notified` in a queue. The task is freed when it reaches zero.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::AcqRel, Ordering::Acquire};

/// A poll or a cancellation is in progress and owns the future.
pub(crate) const RUNNING: usize = 1 << 0;
/// The task is in a run queue, or must be re-queued when the current poll ends.
pub(crate) const NOTIFIED: usize = 1 << 1;
/// The future is gone; the output (or the error) is in the stage.
pub(crate) const COMPLETE: usize = 1 << 2;
/// The future must be dropped at its next scheduling point and never polled again.
pub(crate) const CANCELLED: usize = 1 << 3;
/// A `JoinHandle` still exists and will take the output.
pub(crate) const JOIN_INTEREST: usize = 1 << 4;
/// The join-waker slot holds a waker the task wakes on completion.
pub(crate) const JOIN_WAKER: usize = 1 << 5;

const REF_SHIFT: usize = 6;
/// One reference in the count.
pub(crate) const REF_ONE: usize = 1 << REF_SHIFT;

/// The state a spawned task starts in: queued, joinable, with three references — the
/// owned-task list, the `JoinHandle` and the `Notified` about to be scheduled.
const INITIAL: usize = NOTIFIED | JOIN_INTEREST | (3 * REF_ONE);

/// A copy of the state word, for inspecting flags.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(pub(crate) usize);

impl Snapshot {
    pub(crate) fn is(self, flag: usize) -> bool {
        self.0 & flag != 0
    }

    pub(crate) fn refs(self) -> usize {
        self.0 >> REF_SHIFT
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("State");
        for (name, flag) in [
            ("running", RUNNING),
            ("notified", NOTIFIED),
            ("complete", COMPLETE),
            ("cancelled", CANCELLED),
            ("join_interest", JOIN_INTEREST),
            ("join_waker", JOIN_WAKER),
        ] {
            s.field(name, &self.is(flag));
        }
        s.field("refs", &self.refs()).finish()
    }
}

/// What `transition_to_running` decided.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToRunning {
    /// The caller holds `RUNNING` and must poll the future.
    Poll,
    /// The caller holds `RUNNING` and must drop the future: the task was cancelled.
    Cancel,
    /// The task is already complete or being run; the caller's `Notified` reference is
    /// released and it must do nothing more. `true` when that was the last reference.
    Skip(bool),
}

/// What `transition_to_idle` decided after a `Pending` poll.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToIdle {
    /// Idle now; the poll's reference was released (`true`: it was the last).
    Idle(bool),
    /// Woken during the poll: the caller re-queues it, reusing the poll's reference.
    Notified,
    /// Aborted during the poll: the caller still holds `RUNNING` and drops the future.
    Cancel,
}

/// What a wake must do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToNotified {
    /// Submit a `Notified` (a reference was added for it, or the waker's was reused).
    Submit,
    /// Nothing to schedule (running, already queued, or complete).
    Nothing,
}

/// The atomic state word.
pub(crate) struct State(AtomicUsize);

impl State {
    pub(crate) fn new() -> State {
        State(AtomicUsize::new(INITIAL))
    }

    pub(crate) fn load(&self) -> Snapshot {
        // Acquire pairs with the AcqRel RMW that produced the value, so whatever that
        // party wrote before it (the output, the waker slot) is visible.
        Snapshot(self.0.load(Acquire))
    }

    /// Applies `f` until the CAS succeeds; `f` returns the new word and a result, or
    /// `None` to leave the word unchanged.
    fn update<R>(&self, mut f: impl FnMut(Snapshot) -> (Option<usize>, R)) -> R {
        // Acquire: the first look pairs with the last RMW; the CAS below re-checks.
        let mut cur = self.0.load(Acquire);
        loop {
            let (next, out) = f(Snapshot(cur));
            let Some(next) = next else { return out };
            // AcqRel: see the module doc; pairs with every other RMW on this word.
            match self.0.compare_exchange_weak(cur, next, AcqRel, Acquire) {
                Ok(_) => return out,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The scheduler took a `Notified` out of a queue and wants to run it.
    pub(crate) fn transition_to_running(&self) -> ToRunning {
        self.update(|s| {
            assert!(
                s.is(NOTIFIED) || s.is(COMPLETE) || s.is(RUNNING),
                "invariant: a queued task is NOTIFIED"
            );
            if s.is(RUNNING) || s.is(COMPLETE) {
                let next = s.0 - REF_ONE;
                return (Some(next), ToRunning::Skip(Snapshot(next).refs() == 0));
            }
            let next = (s.0 & !NOTIFIED) | RUNNING;
            let out = if s.is(CANCELLED) {
                ToRunning::Cancel
            } else {
                ToRunning::Poll
            };
            (Some(next), out)
        })
    }

    /// A poll returned `Pending`.
    pub(crate) fn transition_to_idle(&self) -> ToIdle {
        self.update(|s| {
            debug_assert!(s.is(RUNNING) && !s.is(COMPLETE));
            if s.is(CANCELLED) {
                return (None, ToIdle::Cancel);
            }
            if s.is(NOTIFIED) {
                // The poll's reference becomes the queued `Notified`'s.
                return (Some(s.0 & !RUNNING), ToIdle::Notified);
            }
            let next = (s.0 & !RUNNING) - REF_ONE;
            (Some(next), ToIdle::Idle(Snapshot(next).refs() == 0))
        })
    }

    /// The output (or error) is stored: `RUNNING` becomes `COMPLETE`. Returns the state
    /// before, so the caller knows about `JOIN_INTEREST` and `JOIN_WAKER`.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        // AcqRel: releases the stored output to the `JoinHandle`, whose acquire of this
        // word (in `poll` or `drop`) pairs with it; acquires the join-waker slot write
        // released by the `JoinHandle`'s `set_join_waker`.
        let prev = Snapshot(self.0.fetch_xor(RUNNING | COMPLETE, AcqRel));
        debug_assert!(prev.is(RUNNING) && !prev.is(COMPLETE));
        prev
    }

    /// A wake through a waker that keeps its reference (`wake_by_ref`).
    pub(crate) fn transition_to_notified_by_ref(&self) -> ToNotified {
        self.update(|s| {
            if s.is(COMPLETE) || s.is(NOTIFIED) {
                (None, ToNotified::Nothing)
            } else if s.is(RUNNING) {
                (Some(s.0 | NOTIFIED), ToNotified::Nothing)
            } else {
                (Some((s.0 | NOTIFIED) + REF_ONE), ToNotified::Submit)
            }
        })
    }

    /// A wake through a waker that gives up its reference (`wake`). On `Nothing` the
    /// waker's reference has been released; returns `true` with it if that was the last.
    pub(crate) fn transition_to_notified_by_val(&self) -> (ToNotified, bool) {
        self.update(|s| {
            if s.is(COMPLETE) || s.is(NOTIFIED) || s.is(RUNNING) {
                let next =
                    (s.0 | if s.is(RUNNING) && !s.is(COMPLETE) {
                        NOTIFIED
                    } else {
                        0
                    }) - REF_ONE;
                (
                    Some(next),
                    (ToNotified::Nothing, Snapshot(next).refs() == 0),
                )
            } else {
                // The waker's reference becomes the `Notified`'s.
                (Some(s.0 | NOTIFIED), (ToNotified::Submit, false))
            }
        })
    }

    /// `abort` (or shutdown of a task that is not ours to run). Returns `Submit` when the
    /// task was idle: the caller must queue it (a reference was added) so its own
    /// scheduler drops the future.
    pub(crate) fn transition_to_cancelled(&self) -> ToNotified {
        self.update(|s| {
            if s.is(COMPLETE) || s.is(CANCELLED) {
                (None, ToNotified::Nothing)
            } else if s.is(RUNNING) {
                // The poller sees CANCELLED when its poll ends; NOTIFIED keeps a wake
                // during that window from queueing it again.
                (Some(s.0 | CANCELLED | NOTIFIED), ToNotified::Nothing)
            } else if s.is(NOTIFIED) {
                (Some(s.0 | CANCELLED), ToNotified::Nothing)
            } else {
                (
                    Some((s.0 | CANCELLED | NOTIFIED) + REF_ONE),
                    ToNotified::Submit,
                )
            }
        })
    }

    /// Shutdown: marks the task cancelled and, when nobody is running it, claims `RUNNING`
    /// so the caller drops the future right away. `true` when the caller got `RUNNING`.
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        self.update(|s| {
            if s.is(COMPLETE) || s.is(RUNNING) {
                (Some(s.0 | CANCELLED), false)
            } else {
                (Some(s.0 | CANCELLED | RUNNING), true)
            }
        })
    }

    pub(crate) fn ref_inc(&self) {
        // Relaxed: taking another reference needs no synchronisation; the caller already
        // holds one, so the task cannot be freed meanwhile.
        let prev = self
            .0
            .fetch_add(REF_ONE, crate::loom::sync::atomic::Ordering::Relaxed);
        assert!(
            prev <= isize::MAX as usize,
            "invariant: task reference count overflow"
        );
    }

    /// Drops one reference; `true` when it was the last and the caller must free the task.
    pub(crate) fn ref_dec(&self) -> bool {
        // AcqRel: the release publishes this holder's writes; the final decrement's acquire
        // pairs with every earlier release so the freeing thread sees them all.
        let prev = Snapshot(self.0.fetch_sub(REF_ONE, AcqRel));
        debug_assert!(prev.refs() >= 1);
        prev.refs() == 1
    }

    /// The completing task woke the join waker and gives the slot up. Returns the state
    /// before: without `JOIN_INTEREST` the `JoinHandle` is gone and the task drops the waker;
    /// with it, the `JoinHandle` owns the slot from now on.
    pub(crate) fn unset_waker_after_complete(&self) -> Snapshot {
        // AcqRel: pairs with the JoinHandle's CAS in `unset_join_interest`, so exactly one
        // side sees the other's update and drops the waker.
        let prev = Snapshot(self.0.fetch_and(!JOIN_WAKER, AcqRel));
        debug_assert!(prev.is(COMPLETE) && prev.is(JOIN_WAKER));
        prev
    }

    /// `JoinHandle::drop`. Clears `JOIN_INTEREST` (and, while not complete, takes the
    /// join-waker slot back by clearing `JOIN_WAKER`). Returns the state before.
    pub(crate) fn unset_join_interest(&self) -> Snapshot {
        self.update(|s| {
            debug_assert!(s.is(JOIN_INTEREST));
            let next = if s.is(COMPLETE) {
                s.0 & !JOIN_INTEREST
            } else {
                s.0 & !(JOIN_INTEREST | JOIN_WAKER)
            };
            (Some(next), s)
        })
    }

    /// The `JoinHandle` wrote the slot and publishes it. `Err` with the current state when
    /// the task completed first (the slot is still the `JoinHandle`'s).
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.update(|s| {
            debug_assert!(s.is(JOIN_INTEREST) && !s.is(JOIN_WAKER));
            if s.is(COMPLETE) {
                (None, Err(s))
            } else {
                (Some(s.0 | JOIN_WAKER), Ok(s))
            }
        })
    }

    /// The `JoinHandle` wants to replace the waker: takes the slot back. `Err` when the
    /// task completed first (the slot is the task's).
    pub(crate) fn unset_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.update(|s| {
            debug_assert!(s.is(JOIN_INTEREST) && s.is(JOIN_WAKER));
            if s.is(COMPLETE) {
                (None, Err(s))
            } else {
                (Some(s.0 & !JOIN_WAKER), Ok(s))
            }
        })
    }
}

#[cfg(all(test, not(eddy_loom), not(miri)))]
mod proptests;
#[cfg(all(test, not(eddy_loom)))]
mod tests;
