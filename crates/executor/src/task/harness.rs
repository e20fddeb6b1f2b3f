//! The typed half of a task: polling, completing, cancelling and joining `Cell<F, S>`.
//!
//! Each function here is one vtable entry (or a helper of one) and follows the ownership
//! rules of `state.rs`: the stage is touched only by the `RUNNING` holder before
//! `COMPLETE` and by the output's reader after; the join-waker slot only by its owner.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

use crate::loom::sync::atomic::Ordering::Relaxed;

use super::error::JoinError;
use super::raw::{Cell, Header, Notified, RawTask, Schedule, Stage, Vtable};
use super::state::{COMPLETE, JOIN_INTEREST, JOIN_WAKER, ToIdle, ToRunning};
use super::waker;
use eddy_wake::wait::{self, WaitRecord};

/// The vtable for `Cell<F, S>`, one static per instantiation.
pub(crate) fn vtable<F: Future + 'static, S: Schedule>() -> &'static Vtable {
    struct Table<F, S>(std::marker::PhantomData<(F, S)>);
    impl<F: Future + 'static, S: Schedule> Table<F, S> {
        const VTABLE: Vtable = Vtable {
            poll: poll::<F, S>,
            schedule: schedule::<F, S>,
            dealloc: dealloc::<F, S>,
            try_read_output: try_read_output::<F, S>,
            drop_join_handle: drop_join_handle::<F, S>,
            shutdown: shutdown::<F, S>,
            name: name::<F, S>,
            wait: wait::<F, S>,
        };
    }
    &Table::<F, S>::VTABLE
}

/// # Safety
/// `ptr` is the header of a live `Cell<F, S>`.
unsafe fn cell<'a, F: Future, S>(ptr: NonNull<Header>) -> &'a Cell<F, S> {
    // SAFETY: the header is the first field of the repr(C) cell (raw.rs), and the caller
    // guarantees the types and liveness.
    unsafe { ptr.cast::<Cell<F, S>>().as_ref() }
}

/// # Safety
/// `ptr` is a live `Cell<F, S>`: the caller holds a reference to it.
unsafe fn name<F: Future, S: Schedule>(ptr: NonNull<Header>) -> Option<String> {
    // SAFETY: forwarded precondition; the scheduler lives in the cell until it is freed.
    let cell = unsafe { cell::<F, S>(ptr) };
    cell.scheduler.name(cell.header.id)
}

/// # Safety
/// `ptr` is a live `Cell<F, S>`: the caller holds a reference to it (or the lock of a list
/// that does).
unsafe fn wait<F: Future, S: Schedule>(ptr: NonNull<Header>, poll: u32) -> Option<WaitRecord> {
    // SAFETY: forwarded precondition; the slot lives in the cell until it is freed, and is
    // read through its sequence lock, never written here.
    unsafe { cell::<F, S>(ptr) }.wait.read(poll)
}

/// # Safety
/// `ptr` is a live `Cell<F, S>` and the caller owns a `Notified` reference to it.
unsafe fn poll<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: forwarded precondition.
    let cell = unsafe { cell::<F, S>(ptr) };
    match cell.header.state.transition_to_running() {
        ToRunning::Skip(last) => {
            if last {
                // SAFETY: that was the last reference.
                unsafe { dealloc::<F, S>(ptr) };
            }
        }
        ToRunning::Cancel => {
            // SAFETY: we hold RUNNING, so the stage is ours.
            unsafe { cancel_future(cell) };
            // SAFETY: RUNNING held, stage written; our reference is the Notified's.
            unsafe { complete::<F, S>(ptr) };
        }
        ToRunning::Poll => {
            // SAFETY: we hold RUNNING and a reference for the duration of the poll.
            let ready = unsafe { poll_future(cell, ptr) };
            if ready {
                // SAFETY: as above; the output is in the stage.
                unsafe { complete::<F, S>(ptr) };
                return;
            }
            match cell.header.state.transition_to_idle() {
                ToIdle::Idle(last) => {
                    if last {
                        // SAFETY: that was the last reference.
                        unsafe { dealloc::<F, S>(ptr) };
                    }
                }
                ToIdle::Notified => {
                    // SAFETY: the poll's reference becomes the Notified's (state.rs).
                    let task = unsafe { RawTask::from_raw(ptr) };
                    // SAFETY: the task is NOTIFIED on behalf of that reference.
                    cell.scheduler.schedule(unsafe { Notified::from_raw(task) });
                }
                ToIdle::Cancel => {
                    // SAFETY: transition_to_idle left RUNNING with us.
                    unsafe { cancel_future(cell) };
                    // SAFETY: as in the Cancel arm above.
                    unsafe { complete::<F, S>(ptr) };
                }
            }
        }
    }
}

/// Polls the future once, containing panics. `true` when the stage now holds a result.
///
/// # Safety
/// The caller holds `RUNNING` and a reference.
unsafe fn poll_future<F: Future, S: Schedule>(cell: &Cell<F, S>, ptr: NonNull<Header>) -> bool {
    // SAFETY: the waker borrows the caller's reference and does not outlive this call.
    let waker = unsafe { waker::borrowed(ptr) };
    let mut cx = Context::from_waker(&waker);
    let header = &cell.header;
    let _polling = super::id::PollingGuard::enter(header.id);
    // The poll's number is the count so far (Relaxed: only this thread, the RUNNING
    // holder, writes it); a snapshot asks for the record of the latest poll.
    let _waits = wait::enter(&cell.wait, header.polls.load(Relaxed));
    // With debug mode off, this branch is the monitor's whole cost (`debug/`).
    let res = match cell.scheduler.observer() {
        None => poll_stage(cell, &mut cx),
        Some(observer) => {
            let observed = observer.begin(header.id, header.location);
            let res = poll_stage(cell, &mut cx);
            observed.end();
            res
        }
    };
    // Only the RUNNING holder writes the count, so a load and a store (no locked RMW) do;
    // Relaxed: statistics, read only by snapshots.
    header
        .polls
        .store(header.polls.load(Relaxed).wrapping_add(1), Relaxed);
    let next = match res {
        Ok(Poll::Pending) => return false,
        Ok(Poll::Ready(out)) => Stage::Done(out),
        Err(payload) => {
            // The future is in whatever state the panic left it; drop it, and keep the
            // first payload if its destructor panics as well.
            let _ = drop_stage(cell);
            Stage::Panicked(Box::new(payload))
        }
    };
    // SAFETY: RUNNING is still ours.
    cell.stage.with_mut(|s| unsafe { *s = next });
    true
}

/// One call of the future's `poll`, containing a panic.
///
/// Inlined into both arms of `poll_future`'s debug-mode branch, so neither pays for the
/// other.
#[inline(always)]
fn poll_stage<F: Future, S>(
    cell: &Cell<F, S>,
    cx: &mut Context<'_>,
) -> std::thread::Result<Poll<F::Output>> {
    cell.stage.with_mut(|stage| {
        catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: the caller holds RUNNING, which gives it the stage exclusively.
            let Stage::Running(f) = (unsafe { &mut *stage }) else {
                unreachable!("invariant: a task being polled still has its future")
            };
            // SAFETY: the cell is heap-allocated and never moves, so the future stays
            // pinned for its whole life.
            let f = unsafe { Pin::new_unchecked(f) };
            f.poll(cx)
        }))
    })
}

/// Replaces the stage with `Consumed`, dropping what was there; a panicking destructor is
/// caught and its payload returned.
fn drop_stage<F: Future, S>(cell: &Cell<F, S>) -> Result<(), Box<dyn std::any::Any + Send>> {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: every caller owns the stage (RUNNING, or the output after COMPLETE).
        cell.stage.with_mut(|s| unsafe { *s = Stage::Consumed });
    }))
}

/// Drops the future of a cancelled task and records the outcome.
///
/// # Safety
/// The caller holds `RUNNING`.
unsafe fn cancel_future<F: Future, S>(cell: &Cell<F, S>) {
    let next = match drop_stage(cell) {
        Ok(()) => Stage::Cancelled,
        Err(payload) => Stage::Panicked(Box::new(payload)),
    };
    // SAFETY: RUNNING is ours.
    cell.stage.with_mut(|s| unsafe { *s = next });
}

/// Publishes the result: sets `COMPLETE`, wakes or drops for the joiner, leaves the owned
/// list, drops the caller's reference (and the list's).
///
/// Takes the pointer, not a `&Cell`: the last reference may go here, and a reference
/// argument would have to outlive the allocation.
///
/// # Safety
/// The caller holds `RUNNING` and one reference, and has written the final stage.
unsafe fn complete<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: forwarded; `cell` is not used after the references are dropped below.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: our reference keeps the task alive for this call.
    let task = unsafe { RawTask::from_raw(ptr) };
    // Leave the owned list first, so whoever the join waker wakes already sees the task
    // gone from snapshots and live counts.
    let refs = if cell.scheduler.release(&task) { 2 } else { 1 };
    let prev = cell.header.state.transition_to_complete();
    if !prev.is(JOIN_INTEREST) {
        // Nobody will read the output: it is ours to drop. A panicking destructor is
        // contained: there is nobody to report it to.
        let _ = drop_stage(cell);
    } else if prev.is(JOIN_WAKER) {
        cell.join_waker.with(|slot| {
            // SAFETY: JOIN_WAKER was set when COMPLETE was, so nobody writes the slot until
            // we clear the flag (state.rs); the JoinHandle may read it concurrently, which is
            // fine for reads.
            let waker = unsafe { &*slot };
            if let Some(w) = waker {
                w.wake_by_ref();
            }
        });
        // Give the slot up at once rather than at deallocation: a waker left there would
        // keep the joiner's task alive through this one, and a long chain of such tasks
        // would be freed recursively (a stack overflow, found with 10,000 chained spawns).
        let after = cell.header.state.unset_waker_after_complete();
        if !after.is(JOIN_INTEREST) {
            // SAFETY: the JoinHandle is gone and saw JOIN_WAKER set, so it left the slot to
            // us (state.rs).
            cell.join_waker.with_mut(|slot| unsafe { *slot = None });
        }
    }
    for _ in 0..refs {
        task.drop_reference();
    }
}

/// # Safety
/// `ptr` is a live `Cell<F, S>`; the caller hands over one reference, and the task is
/// NOTIFIED on its behalf.
unsafe fn schedule<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: forwarded.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: forwarded: the reference and the NOTIFIED flag travel with the Notified.
    let task = unsafe { Notified::from_raw(RawTask::from_raw(ptr)) };
    cell.scheduler.schedule(task);
}

/// # Safety
/// The reference count of the `Cell<F, S>` at `ptr` is zero.
unsafe fn dealloc<F: Future, S>(ptr: NonNull<Header>) {
    // SAFETY: the allocation came from `Box::new` in `RawTask::new` with this type, and no
    // reference remains, so nobody else can observe it.
    let cell = unsafe { Box::from_raw(ptr.cast::<Cell<F, S>>().as_ptr()) };
    debug_assert!(
        cell.header.state.load().is(COMPLETE),
        "invariant: only a complete task is freed"
    );
    // A panicking output destructor must not unwind out of a waker drop.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(cell)));
}

/// # Safety
/// `ptr` is a live `Cell<F, S>`, the caller is its `JoinHandle` and `dst` points at a
/// `Poll<Result<F::Output, JoinError>>`.
unsafe fn try_read_output<F: Future, S>(ptr: NonNull<Header>, dst: *mut (), waker: &Waker) {
    // SAFETY: forwarded.
    let cell = unsafe { cell::<F, S>(ptr) };
    if !can_read_output(cell, waker) {
        return;
    }
    // SAFETY: COMPLETE with JOIN_INTEREST set: the stage is the JoinHandle's (state.rs).
    let stage = cell
        .stage
        .with_mut(|s| unsafe { std::mem::replace(&mut *s, Stage::Consumed) });
    let out = match stage {
        Stage::Done(v) => Ok(v),
        Stage::Panicked(p) => Err(JoinError::Panicked(*p)),
        Stage::Cancelled => Err(JoinError::Cancelled),
        _ => panic!("JoinHandle polled after it returned Ready"),
    };
    // SAFETY: the caller passes a valid, typed destination.
    unsafe { *dst.cast::<Poll<Result<F::Output, JoinError>>>() = Poll::Ready(out) };
}

/// The join-waker dance of `state.rs`: `true` when the output is ready to take, otherwise
/// `waker` is registered.
fn can_read_output<F: Future, S>(cell: &Cell<F, S>, waker: &Waker) -> bool {
    let state = &cell.header.state;
    let s = state.load();
    if s.is(COMPLETE) {
        return true;
    }
    if s.is(JOIN_WAKER) {
        // SAFETY: while JOIN_WAKER is set nobody writes the slot; the task may read it
        // concurrently (to wake it), and we only read too.
        let same = cell
            .join_waker
            .with(|slot| unsafe { (*slot).as_ref().is_some_and(|w| w.will_wake(waker)) });
        if same {
            return false;
        }
        if state.unset_join_waker().is_err() {
            return true;
        }
    }
    // SAFETY: JOIN_WAKER is clear and the task is not complete: the slot is ours.
    cell.join_waker
        .with_mut(|slot| unsafe { *slot = Some(waker.clone()) });
    match state.set_join_waker() {
        Ok(_) => false,
        Err(_) => {
            // SAFETY: the set failed, so the slot is still ours.
            cell.join_waker.with_mut(|slot| unsafe { *slot = None });
            true
        }
    }
}

/// # Safety
/// `ptr` is a live `Cell<F, S>` and the caller is its `JoinHandle`, giving up its reference.
unsafe fn drop_join_handle<F: Future, S>(ptr: NonNull<Header>) {
    // SAFETY: forwarded.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: the JoinHandle's reference.
    let task = unsafe { RawTask::from_raw(ptr) };
    let prev = cell.header.state.unset_join_interest();
    if prev.is(COMPLETE) {
        if !prev.is(JOIN_WAKER) {
            // SAFETY: the completed task already gave the slot up (JOIN_WAKER clear after
            // COMPLETE), so it is ours; see state.rs.
            cell.join_waker.with_mut(|slot| unsafe { *slot = None });
        }
        // The output is ours to drop; its destructor runs on the dropping thread, which
        // may panic: release the reference either way.
        let res = drop_stage(cell);
        task.drop_reference();
        if let Err(p) = res {
            std::panic::resume_unwind(p);
        }
        return;
    }
    if prev.is(JOIN_WAKER) {
        // SAFETY: clearing JOIN_WAKER before COMPLETE handed the slot back to us.
        cell.join_waker.with_mut(|slot| unsafe { *slot = None });
    }
    task.drop_reference();
}

/// # Safety
/// `ptr` is a live `Cell<F, S>`; the caller took it out of the owned list and gives up the
/// list's reference.
unsafe fn shutdown<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: forwarded.
    let cell = unsafe { cell::<F, S>(ptr) };
    if cell.header.state.transition_to_shutdown() {
        // SAFETY: we claimed RUNNING.
        unsafe { cancel_future(cell) };
        // `complete` drops one reference (ours, the list's): `release` finds the task
        // already gone from the list.
        // SAFETY: RUNNING held, stage written, one reference owned.
        unsafe { complete::<F, S>(ptr) };
    } else {
        // Running elsewhere (its poller will see CANCELLED) or already complete.
        // SAFETY: the list's reference.
        unsafe { RawTask::from_raw(ptr) }.drop_reference();
    }
}
