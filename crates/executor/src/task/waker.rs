//! `Waker`s that point straight at the task: a clone is a reference-count increment and a
//! wake allocates nothing.
//!
//! Each waker owns one task reference. `wake` hands that reference to the run queue when it
//! queues the task (state.rs, `transition_to_notified_by_val`); `wake_by_ref` takes a fresh
//! one. Waking a task that is already queued or complete does nothing; waking a running one
//! sets `NOTIFIED`, and the poller re-queues it when the poll ends.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::raw::{Header, RawTask};
use super::state::ToNotified;

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A waker for the poll in progress that borrows the poller's reference instead of owning
/// one; `ManuallyDrop` keeps it from releasing what it does not own.
///
/// # Safety
/// The caller holds a reference to the task for as long as the returned waker (and any
/// borrow of it) is used.
pub(crate) unsafe fn borrowed(ptr: NonNull<Header>) -> ManuallyDrop<Waker> {
    let raw = RawWaker::new(ptr.as_ptr().cast_const().cast(), &VTABLE);
    // SAFETY: VTABLE's functions uphold the RawWaker contract for task headers, and the
    // caller keeps the task alive.
    ManuallyDrop::new(unsafe { Waker::from_raw(raw) })
}

/// # Safety
/// `data` came from a waker built by this module, so it is a live task header.
unsafe fn task(data: *const ()) -> RawTask {
    // SAFETY: the waker's data pointer is a non-null header pointer (see `borrowed`).
    unsafe { RawTask::from_raw(NonNull::new_unchecked(data.cast_mut().cast::<Header>())) }
}

/// # Safety
/// RawWakerVTable contract: `data` belongs to a live waker of this vtable.
unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: forwarded.
    let task = unsafe { task(data) };
    task.header().state.ref_inc();
    RawWaker::new(data, &VTABLE)
}

/// # Safety
/// RawWakerVTable contract: consumes a live waker of this vtable (and its reference).
unsafe fn wake(data: *const ()) {
    // SAFETY: forwarded.
    let task = unsafe { task(data) };
    match task.header().state.transition_to_notified_by_val() {
        (ToNotified::Submit, _) => task.schedule(),
        (ToNotified::Nothing, last) => {
            if last {
                // SAFETY: the count reached zero under our decrement.
                unsafe { (task.header().vtable.dealloc)(task.header_ptr()) }
            }
        }
    }
}

/// # Safety
/// RawWakerVTable contract: `data` belongs to a live waker of this vtable.
unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: forwarded.
    let task = unsafe { task(data) };
    if task.header().state.transition_to_notified_by_ref() == ToNotified::Submit {
        // The transition took a new reference for the queue.
        task.schedule();
    }
}

/// # Safety
/// RawWakerVTable contract: consumes a live waker of this vtable (and its reference).
unsafe fn drop_waker(data: *const ()) {
    // SAFETY: forwarded.
    unsafe { task(data) }.drop_reference();
}

#[cfg(all(test, not(eddy_loom)))]
mod tests;
