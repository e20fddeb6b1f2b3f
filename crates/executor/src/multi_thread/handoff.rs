//! The driver hand-off: how `unpark_worker` reaches a worker that is blocked in the driver.
//!
//! # Protocol
//!
//! Two atomics: each worker's `unparked: AtomicBool` and the scheduler's one
//! `driver_holder: AtomicUsize` (index + 1 of the worker blocked in the driver, 0 when
//! none). Only the worker holding the driver's lock writes `driver_holder`; anyone may set
//! a worker's `unparked`, only the worker itself clears it.
//!
//! - Waker ([`wake`], from `Shared::unpark_worker`): store `unparked = true`, SeqCst
//!   fence, load `driver_holder`. If it names the worker, the caller unparks the driver too
//!   (it always unparks the worker's thread parker).
//! - Worker ([`claim_driver`], from `Core::sleep`, with the driver locked): store
//!   `driver_holder = index + 1`, SeqCst fence, load `unparked`. Only if the flag is still
//!   clear does it block in the driver; afterwards [`release_driver`] stores 0 and
//!   [`consume_unpark`] clears the flag.
//!
//! This is the Dekker pattern: each side stores its own flag, fences, then reads the
//! other's. The two fences are ordered one way or the other in the single total order of
//! SeqCst operations, and the side whose fence comes second reads the other's store (or a
//! later one). So the waker sees the holder (and unparks the driver) or the worker sees
//! `unparked` (and does not block); a wake is never lost.
//!
//! Setting and clearing the flag are both swaps. The worker clears it ([`consume_unpark`])
//! after it wakes, and a new `wake` may race that clear; nothing synchronizes the two. Were
//! the clear a plain store, the memory model could place it after the new wake's `true` in
//! the flag's modification order: the wake would be erased, the worker's next
//! `claim_driver` could read the erased `false` while the waker read the holder from before
//! that claim, and the worker would block in the driver with the wake lost (on hardware
//! whose store buffers let the clear reach memory late, as Arm's may). A read-modify-write
//! reads the newest value, so the clear either reads the new wake (and acquires what the
//! waker published, which the worker's recheck then sees) or comes before it in the order,
//! and the Dekker pair above applies. `wake` swaps too, although a store would be correct
//! against the clearing swap: loom orders a store against a concurrent read-modify-write
//! only through what the storing thread has seen, so it would still let the claim read the
//! clear's `false` (a false alarm), while two read-modify-writes it orders exactly. On x86 a SeqCst store is already an `xchg`, so
//! neither swap costs anything there. A whole-loop model found the lost wake (a shutdown
//! whose unpark never reached a worker parked in the driver):
//! `loom_tests::whole_loop_runs_an_injected_task_then_shuts_down` fails on the old code, and
//! `loom_tests::a_wake_racing_the_consume_of_the_last_one_is_not_lost` checks the race on
//! its own.
//!
//! Why fences when every access is already SeqCst: under C11 the four SeqCst accesses alone
//! are correct too, but loom treats SeqCst loads and stores as Acquire/Release and models
//! only `fence(SeqCst)` exactly, so without the fences it would (falsely) report a lost wake
//! and could not check the protocol. The accesses stay SeqCst so the rest of the runtime's
//! SeqCst reasoning (`shutdown` is stored before the unparks) is unchanged. Cost: on x86 the
//! SeqCst store is already a locked `xchg`; each fence adds one more locked instruction
//! (`lock or` on the stack), once per unpark of a sleeping worker and once per park in the
//! driver. Both paths go on to a system call (an eventfd write or `epoll_wait`) that costs
//! many times the fence (figures: docs/benchmarks.md, "Measurements behind code comments"),
//! and a spawn or wake that finds no worker to unpark (`Idle::worker_to_notify` returns
//! `None`) never comes here.
//!
//! Modelled by `loom_tests::driver_handoff_never_loses_a_wake`.

use crate::loom::sync::atomic::Ordering::SeqCst;
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, fence};

/// Waker side: marks worker `index` unparked and returns whether it holds the driver, in
/// which case the caller must unpark the driver as well.
pub(super) fn wake(unparked: &AtomicBool, driver_holder: &AtomicUsize, index: usize) -> bool {
    // SeqCst: the store of the Dekker pair; `claim_driver`'s load reads it. A swap, so it
    // is ordered against `consume_unpark`'s (module doc).
    unparked.swap(true, SeqCst);
    // SeqCst fence: pairs with the fence in `claim_driver` (module doc).
    fence(SeqCst);
    // SeqCst: reads `claim_driver`'s store when its fence came first.
    driver_holder.load(SeqCst) == index + 1
}

/// Worker side, with the driver's lock held: publishes worker `index` as the holder and
/// returns whether it may block in the driver (`false`: an unpark has already come in).
pub(super) fn claim_driver(
    unparked: &AtomicBool,
    driver_holder: &AtomicUsize,
    index: usize,
) -> bool {
    // SeqCst: the store of the Dekker pair; `wake`'s load reads it.
    driver_holder.store(index + 1, SeqCst);
    // SeqCst fence: pairs with the fence in `wake` (module doc).
    fence(SeqCst);
    // SeqCst: reads `wake`'s store when its fence came first.
    !unparked.load(SeqCst)
}

/// Worker side, still holding the driver's lock: no worker blocks in the driver any more.
pub(super) fn release_driver(driver_holder: &AtomicUsize) {
    // SeqCst: a later `wake` reading 0 no longer unparks the driver for this worker.
    driver_holder.store(0, SeqCst);
}

/// Worker side, awake again: the wake is consumed.
///
/// A swap, not a store, so a racing `wake` is never erased (module doc).
pub(super) fn consume_unpark(unparked: &AtomicBool) {
    // SeqCst: an RMW reads the newest value, so it cannot erase a racing `wake`'s `true`
    // unread; when it reads one, it acquires what that waker published.
    unparked.swap(false, SeqCst);
}
