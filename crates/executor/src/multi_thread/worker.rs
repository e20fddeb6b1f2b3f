//! One worker thread: its run loop, the LIFO slot, stealing, and parking.
//!
//! # Protocol
//!
//! - Order of work: every `GLOBAL_INTERVAL` (61) ticks the global queue first (fairness);
//!   otherwise the LIFO slot (at most `MAX_LIFO_POLLS` in a row, so two tasks that keep
//!   waking each other cannot starve the queue), then the local queue, then the global one.
//! - A task woken by a task running on this worker goes to the LIFO slot (message-passing
//!   latency: the receiver runs next, while the message is hot in cache); what was in the
//!   slot moves to the local queue. A task waking itself (yield) goes to the back of the
//!   queue instead.
//! - The LIFO slot is an `AtomicPtr` that holds one `Notified` reference. The owner and
//!   thieves both take it with `swap(null)`, so exactly one of them gets the task; thieves
//!   look at it after the victim's queue, so a task parked there while its owner is stuck
//!   in a long poll still runs elsewhere (tokio#4941).
//! - Tasks woken while a worker dispatches the driver's events (parked in it, or its
//!   every-61-ticks poll) queue on that worker without waking anyone: the worker runs them
//!   as soon as the dispatch returns. Afterwards it wakes one peer if its queue (beyond the
//!   LIFO slot) holds work, after taking itself off the sleepers so it cannot pick itself.
//!   No cross-thread protocol is involved: the producer and the consumer are this thread.
//! - With nothing to do, a worker searches once: one round over all victims in random
//!   order (steal half a queue, or a LIFO slot) and the global queue. Then it sleeps
//!   following `idle.rs`: the first sleeper parks in the driver (I/O, timers), the others
//!   on their own thread parker. It does not spin between rounds: waking a sleeping thread
//!   costs more than a round of looking, but a spinning worker holds a core that the
//!   thread producing its next task needs (docs/benchmarks.md, optimisation log).
//! - Driver hand-off (`handoff.rs`): `unpark_worker` sets the worker's `unparked` flag,
//!   fences, then unparks the driver if `driver_holder` names the worker, and always its
//!   thread parker. A worker about to park in the driver stores `driver_holder`, fences,
//!   and then checks `unparked`: one of the two sides sees the other, so the wake is never
//!   lost.

use std::cell::Cell;
use std::ptr::{self, NonNull};

use super::{Shared, handoff};
use crate::coop;
use crate::loom::sync::Arc;
use crate::loom::sync::atomic::Ordering::{AcqRel, SeqCst};
use crate::park::{Park, ThreadParker};
use crate::task::raw::Header;
use crate::task::{Notified, RawTask};
use eddy_wake::wait;

/// Ticks between two looks at the global queue first.
const GLOBAL_INTERVAL: u32 = 61;
/// Consecutive LIFO-slot polls before the slot's task must queue like the others.
const MAX_LIFO_POLLS: u32 = 3;

/// What the scheduler needs to know about the current thread.
pub(super) struct Context {
    shared: *const Shared,
    index: usize,
    /// The task being polled, to tell a yield (self-wake) from a wake of another task.
    running: Cell<*const Header>,
    /// Set while this worker dispatches the driver's events: the tasks they wake queue
    /// here without waking anyone, and the worker wakes one peer afterwards if it got more
    /// than it can run at once (`notify_after_driver`).
    in_driver: Cell<bool>,
}

/// Where `schedule_local` is called from on a worker thread.
#[derive(Clone, Copy)]
pub(super) struct Current {
    pub(super) index: usize,
    running: *const Header,
    in_driver: bool,
}

#[cfg(not(eddy_loom))]
thread_local! {
    static CONTEXT: Cell<*const Context> = const { Cell::new(ptr::null()) };
}

// loom runs model threads on one OS thread, so std's thread-locals would be shared.
#[cfg(eddy_loom)]
loom::thread_local! {
    static CONTEXT: Cell<*const Context> = Cell::new(ptr::null());
}

/// Runs `f` with this thread's worker index if it is a worker of `shared`.
#[inline]
pub(super) fn with_current<R>(shared: &Shared, f: impl FnOnce(Option<Current>) -> R) -> R {
    let cx = CONTEXT.with(Cell::get);
    // SAFETY: CONTEXT is non-null only while `run` (below) is on this thread's stack, and
    // the Context it points at lives in that frame.
    match unsafe { cx.as_ref() } {
        Some(cx) if ptr::eq(cx.shared, shared) => f(Some(Current {
            index: cx.index,
            running: cx.running.get(),
            in_driver: cx.in_driver.get(),
        })),
        _ => f(None),
    }
}

struct Core {
    index: usize,
    tick: u32,
    lifo_polls: u32,
    searching: bool,
    rng: u32,
    parker: ThreadParker,
}

/// A worker's shutdown alone, as the last step of `run` takes it: for the loom model of
/// last-one-out (`loom_tests.rs`), which cannot run the whole loop.
#[cfg(all(test, eddy_loom))]
pub(super) fn shut_down_worker(shared: &Shared, index: usize) {
    let mut core = Core {
        index,
        tick: 0,
        lifo_polls: 0,
        searching: false,
        rng: 1,
        parker: ThreadParker::new(),
    };
    core.shutdown(shared);
}

/// The worker thread's body.
pub(super) fn run(shared: Arc<Shared>, index: usize, parker: ThreadParker) {
    let cx = Context {
        shared: Arc::as_ptr(&shared),
        index,
        running: Cell::new(ptr::null()),
        in_driver: Cell::new(false),
    };
    let prev = CONTEXT.with(|c| c.replace(&cx));
    // Records made before this worker's first park or driver turn get this time, not 0.
    wait::set_clock_ms(crate::task::wait_clock_ms());
    let mut core = Core {
        index,
        tick: 0,
        lifo_polls: 0,
        searching: false,
        rng: (index as u32).wrapping_mul(0x9E37_79B9) | 1,
        parker,
    };
    // SeqCst: pairs with the store in `MultiThread::drop`, which then unparks everyone.
    while !shared.shutdown.load(SeqCst) {
        if let Some(task) = core.next_task(&shared) {
            core.run_task(&shared, &cx, task);
            continue;
        }
        if let Some(task) = core.search(&shared) {
            core.run_task(&shared, &cx, task);
            continue;
        }
        core.sleep(&shared, &cx);
    }
    core.shutdown(&shared);
    CONTEXT.with(|c| c.set(prev));
}

impl Core {
    fn run_task(&mut self, shared: &Shared, cx: &Context, task: Notified) {
        if self.searching {
            self.searching = false;
            if shared.idle.stop_searching() {
                shared.notify_one();
            }
        }
        self.tick = self.tick.wrapping_add(1);
        if self.tick.is_multiple_of(GLOBAL_INTERVAL) {
            // The queue may hold work already: only what this turn adds calls for a peer.
            let queued = shared.workers[self.index].queue.len();
            cx.in_driver.set(true);
            shared.poll_driver();
            cx.in_driver.set(false);
            self.notify_after_driver(shared, queued);
            // Wait records' timestamps (`eddy_wake::wait`) stay within this many polls.
            wait::set_clock_ms(crate::task::wait_clock_ms());
        }
        cx.running.set(task.raw().header_ptr().as_ptr());
        shared.workers[self.index].counters.poll();
        coop::budgeted(|| task.run());
        cx.running.set(ptr::null());
    }

    fn next_task(&mut self, shared: &Shared) -> Option<Notified> {
        let me = &shared.workers[self.index];
        if self.tick.is_multiple_of(GLOBAL_INTERVAL)
            && let Some(t) = shared.inject.pop()
        {
            return Some(t);
        }
        if let Some(t) = take_lifo(me) {
            if self.lifo_polls < MAX_LIFO_POLLS {
                self.lifo_polls += 1;
                return Some(t);
            }
            // SAFETY: this thread owns its queue.
            unsafe { me.queue.push(t, &shared.inject) };
        }
        self.lifo_polls = 0;
        // SAFETY: this thread owns its queue.
        unsafe { me.queue.pop() }.or_else(|| shared.inject.pop())
    }

    fn search(&mut self, shared: &Shared) -> Option<Notified> {
        if !self.searching {
            if !shared.idle.try_search() {
                return shared.inject.pop();
            }
            self.searching = true;
        }
        let n = shared.workers.len();
        let me = &shared.workers[self.index];
        // One round, then sleep: no spinning between rounds. Spinning kept an idle worker
        // on a core that the thread producing its next task (a client, the other worker)
        // needed; with 16 exponential rounds it was 14% of a two-worker HTTP server's CPU and
        // made its p99 latency 2 to 5 times tokio's (docs/benchmarks.md, optimisation log).
        let start = self.next_rand() as usize % n;
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == self.index {
                continue;
            }
            let v = &shared.workers[victim];
            // SAFETY: we own `me.queue`, it is not the victim's, and it is empty (we only
            // search after `next_task` found nothing).
            if let Some(t) = unsafe { v.queue.steal_into(&me.queue) } {
                me.counters.steal();
                return Some(t);
            }
            if let Some(t) = take_lifo(v) {
                me.counters.steal();
                return Some(t);
            }
        }
        shared.inject.pop()
    }

    fn sleep(&mut self, shared: &Shared, cx: &Context) {
        if self.searching {
            self.searching = false;
            shared.idle.stop_searching();
        }
        let idle = &shared.idle;
        idle.register_sleeper(self.index);
        idle.fence_before_recheck();
        // SeqCst: pairs with the store in `MultiThread::drop` (checked after the fence, like work).
        if shared.has_work() || shared.shutdown.load(SeqCst) {
            if !idle.unregister_sleeper(self.index) {
                self.searching = true;
            }
            return;
        }
        let me = &shared.workers[self.index];
        me.counters.park();
        let drove = match shared.driver.try_lock() {
            Ok(mut driver) => {
                if handoff::claim_driver(&me.unparked, &shared.driver_holder, self.index) {
                    cx.in_driver.set(true);
                    driver.drive();
                    cx.in_driver.set(false);
                }
                handoff::release_driver(&shared.driver_holder);
                true
            }
            Err(_) => {
                self.parker.park();
                false
            }
        };
        handoff::consume_unpark(&me.unparked);
        wait::set_clock_ms(crate::task::wait_clock_ms());
        if !idle.unregister_sleeper(self.index) {
            // A producer popped us and counted us as searching.
            self.searching = true;
        }
        // After unregistering, so the wake cannot pick this worker itself. The queue was
        // empty when the worker went to sleep, so whatever it holds came from the driver.
        if drove {
            self.notify_after_driver(shared, 0);
        }
    }

    /// The driver's events woke tasks onto this worker without waking anyone
    /// (`schedule_local`); if they are more than the LIFO slot holds (the queue grew past
    /// the `queued_before` it had when the turn began), one peer is woken to steal the
    /// rest. One wake per dispatch instead of one per event: waking the worker that is
    /// itself in the driver cost an eventfd write for nothing, and a peer woken per event
    /// mostly took tasks this worker would have run at once.
    fn notify_after_driver(&self, shared: &Shared, queued_before: usize) {
        if shared.workers[self.index].queue.len() > queued_before {
            shared.notify_one();
        }
    }

    /// Drops what this worker still holds; the last worker out cancels every task.
    fn shutdown(&mut self, shared: &Shared) {
        if self.searching {
            self.searching = false;
            shared.idle.stop_searching();
        }
        let me = &shared.workers[self.index];
        drop(take_lifo(me));
        // SAFETY: this thread owns its queue.
        while let Some(t) = unsafe { me.queue.pop() } {
            drop(t);
        }
        // AcqRel: the last worker acquires every other worker's drained queue (their releases).
        if shared.running_workers.fetch_sub(1, AcqRel) == 1 {
            for task in shared.owned.close_and_drain() {
                task.shutdown();
            }
            drop(take_lifo(me));
            // SAFETY: as above.
            while let Some(t) = unsafe { me.queue.pop() } {
                drop(t);
            }
            drop(shared.inject.close());
        }
    }

    fn next_rand(&mut self) -> u32 {
        // xorshift32: cheap, and only spreads thieves over victims.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }
}

/// Takes the task in `worker`'s LIFO slot, if any (owner or thief).
pub(super) fn take_lifo(worker: &super::WorkerShared) -> Option<Notified> {
    // AcqRel: pairs with the swap in `schedule_local` that put the task there.
    let p = worker.lifo.swap(ptr::null_mut(), AcqRel);
    let p = NonNull::new(p)?;
    // SAFETY: a non-null slot holds a task pointer with its queued reference, which the
    // swap moved to us.
    Some(unsafe { Notified::from_raw(RawTask::from_raw(p)) })
}

/// Schedules `task` from the worker thread `cur` describes, and wakes a peer if one is
/// needed: after a task's wake always (a task in the LIFO slot must be stealable if this
/// worker's poll blocks: tokio#4941), but never while the worker dispatches driver events;
/// it decides once afterwards (`Core::notify_after_driver`).
#[inline]
pub(super) fn schedule_local(shared: &Shared, cur: Current, task: Notified) {
    let me = &shared.workers[cur.index];
    if ptr::eq(task.raw().header_ptr().as_ptr(), cur.running) {
        // A yield: behind everything else.
        // SAFETY: we are worker `cur.index`'s thread.
        unsafe { me.queue.push(task, &shared.inject) };
    } else {
        let raw = task.into_raw_ptr();
        // AcqRel: publishes the task to a thief's or our own later swap.
        let prev = me.lifo.swap(raw, AcqRel);
        if let Some(prev) = NonNull::new(prev) {
            // SAFETY: the slot held a queued reference, now ours.
            let prev = unsafe { Notified::from_raw(RawTask::from_raw(prev)) };
            // SAFETY: as above.
            unsafe { me.queue.push(prev, &shared.inject) };
        }
    }
    if !cur.in_driver {
        shared.notify_one();
    }
}
