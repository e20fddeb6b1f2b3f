//! `ScheduledIo`: one resource's readiness record, shared by the reactor and the resource.
//!
//! # Protocol
//!
//! `readiness` packs a tick above the [`Ready`] bits: `tick << Ready::BITS | ready`.
//!
//! - **The reactor** (`set_ready`, called by whichever thread is turning it) ORs in the bits
//!   an event reports and increments the tick in one `fetch_update` (AcqRel), and only then
//!   takes the wakers to wake: the reader's, the writer's, and every waiting
//!   `Readiness` future whose interest matches.
//! - **A resource** (`poll_ready`) loads `readiness` (Acquire). If its direction's bits are
//!   set it returns them with the tick it saw, as a [`ReadyEvent`]. If not, it registers its
//!   waker and loads again. Either that second load sees the reactor's bits, or the reactor's
//!   take of the waker comes after the registration and wakes it: the `AtomicWaker` orders
//!   the registration against the take, and the take follows the reactor's `fetch_update`.
//! - **After `WouldBlock`** the resource clears the bits it saw with `clear_ready(event)`,
//!   but only if the tick is still the one in `event`. If an edge arrived after the
//!   resource's load (the tick moved), the bits stay set, so that edge is not lost: the next
//!   poll sees them and retries the operation. Without the tick, a "clear" racing with a new
//!   edge would erase it, and with edge-triggered epoll no second edge would follow.
//! - `READ_CLOSED`, `WRITE_CLOSED` and `SHUTDOWN` are sticky: a stream that has ended stays
//!   ended. `ERROR` is not: the operation that reports a pending error consumes it, so a
//!   `WouldBlock` afterwards clears `ERROR` like any other bit it saw (a new error is a new
//!   edge), and a socket that outlives an error (connected UDP after ICMP) does not spin.
//!
//! `reader` and `writer` are single-waiter slots for the `&mut self` (or owned-half) paths
//! where one task owns each direction; `waiters` serves `readable()`/`writable()` futures,
//! any number of which may wait on the same resource from different tasks.

use std::task::{Context, Poll, Waker};

use eddy_wake::AtomicWaker;

use super::ready::Ready;
use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::{Mutex, lock};

/// What a resource observed when it found readiness: the bits and the tick they came with.
#[derive(Copy, Clone, Debug)]
pub(crate) struct ReadyEvent {
    pub(crate) tick: usize,
    pub(crate) ready: Ready,
}

/// Which of a resource's two single-waiter slots a poll uses.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    pub(crate) fn mask(self) -> Ready {
        match self {
            Direction::Read => Ready::READ_SIDE,
            Direction::Write => Ready::WRITE_SIDE,
        }
    }
}

pub(crate) struct ScheduledIo {
    /// `tick << Ready::BITS | ready`; see the module docs.
    readiness: AtomicUsize,
    reader: AtomicWaker,
    writer: AtomicWaker,
    /// Multi-task readiness futures. Locked by the reactor when it wakes, and by the futures
    /// when they register or drop; never held while calling a waker.
    waiters: Mutex<Waiters>,
}

#[derive(Default)]
pub(crate) struct Waiters {
    slots: Vec<Slot>,
    free: Vec<usize>,
}

enum Slot {
    Free,
    /// Reserved by a future that is not waiting right now (it was woken, or not polled yet).
    Idle,
    Waiting {
        mask: Ready,
        waker: Waker,
    },
}

impl ScheduledIo {
    pub(crate) fn new() -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicUsize::new(0),
            reader: AtomicWaker::new(),
            writer: AtomicWaker::new(),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// The reactor's side: records `ready` with a new tick and collects the wakers to wake
    /// into `wake` (the caller wakes them after releasing its locks).
    pub(crate) fn set_ready(&self, ready: Ready, wake: &mut Vec<Waker>) {
        // The closure always returns Some, so this never fails.
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                let tick = (cur >> Ready::BITS).wrapping_add(1);
                Some((tick << Ready::BITS) | (cur & Ready::MASK) | ready.as_usize())
            });
        if ready.intersects(Ready::READ_SIDE) {
            wake.extend(self.reader.take());
        }
        if ready.intersects(Ready::WRITE_SIDE) {
            wake.extend(self.writer.take());
        }
        let mut waiters = lock(&self.waiters);
        for slot in waiters.slots.iter_mut() {
            if let Slot::Waiting { mask, .. } = slot
                && mask.intersects(ready)
                && let Slot::Waiting { waker, .. } = std::mem::replace(slot, Slot::Idle)
            {
                wake.push(waker);
            }
        }
    }

    /// Marks a new record writable before any event says so: a resource registered for
    /// reads only, whose writes go ahead until one returns `WouldBlock` (see
    /// `Registration::write_on_demand`). Nobody waits yet, so there is no one to wake.
    pub(crate) fn assume_writable(&self) {
        self.readiness
            .fetch_or(Ready::WRITABLE.as_usize(), Ordering::AcqRel);
    }

    /// The current readiness bits and tick.
    pub(crate) fn current(&self) -> ReadyEvent {
        let cur = self.readiness.load(Ordering::Acquire);
        ReadyEvent {
            tick: cur >> Ready::BITS,
            ready: Ready::from_usize(cur),
        }
    }

    /// The current readiness restricted to `mask`, if any bit of `mask` is set.
    fn ready_for(&self, mask: Ready) -> Option<ReadyEvent> {
        let seen = self.current();
        seen.ready.intersects(mask).then(|| ReadyEvent {
            tick: seen.tick,
            ready: seen.ready & mask,
        })
    }

    /// The single-waiter poll for one direction; see the module docs for the protocol.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<ReadyEvent> {
        let mask = direction.mask();
        if let Some(event) = self.ready_for(mask) {
            return Poll::Ready(event);
        }
        match direction {
            Direction::Read => self.reader.register(cx.waker()),
            Direction::Write => self.writer.register(cx.waker()),
        }
        if let Some(event) = self.ready_for(mask) {
            return Poll::Ready(event);
        }
        Poll::Pending
    }

    /// Forgets the bits of `event` after an operation returned `WouldBlock`, unless a newer
    /// edge arrived since `event` was observed. Sticky bits are never cleared.
    pub(crate) fn clear_ready(&self, event: ReadyEvent) {
        let clear = (event.ready - Ready::STICKY).as_usize();
        // Fails (and so clears nothing) exactly when the tick moved: the newer edge wins.
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                ((cur >> Ready::BITS) == event.tick).then_some(cur & !clear)
            });
    }

    /// Marks the record as belonging to a reactor that is gone and wakes everyone, so no
    /// task waits forever on a resource that can no longer be driven.
    pub(crate) fn shutdown(&self, wake: &mut Vec<Waker>) {
        self.set_ready(Ready::SHUTDOWN, wake);
    }

    /// Multi-waiter poll: a `Readiness` future owning `slot` (or none yet) waits for any of
    /// `mask`. Returns the readiness it found, or registers and returns `Pending`.
    pub(crate) fn poll_waiter(
        &self,
        cx: &mut Context<'_>,
        slot: &mut Option<usize>,
        mask: Ready,
    ) -> Poll<ReadyEvent> {
        if let Some(event) = self.ready_for(mask) {
            return Poll::Ready(event);
        }
        {
            let mut waiters = lock(&self.waiters);
            let index = match *slot {
                Some(index) => index,
                None => {
                    let index = waiters.free.pop().unwrap_or_else(|| {
                        waiters.slots.push(Slot::Free);
                        waiters.slots.len() - 1
                    });
                    *slot = Some(index);
                    index
                }
            };
            let entry = &mut waiters.slots[index];
            match entry {
                Slot::Waiting { waker, .. } if waker.will_wake(cx.waker()) => {}
                _ => {
                    *entry = Slot::Waiting {
                        mask,
                        waker: cx.waker().clone(),
                    }
                }
            }
        }
        // The reactor sets bits before it locks `waiters`; the lock above orders this load
        // after any wake pass that missed our entry.
        if let Some(event) = self.ready_for(mask) {
            return Poll::Ready(event);
        }
        Poll::Pending
    }

    /// Releases a `Readiness` future's slot.
    pub(crate) fn drop_waiter(&self, slot: usize) {
        let mut waiters = lock(&self.waiters);
        waiters.slots[slot] = Slot::Free;
        waiters.free.push(slot);
    }
}

impl std::fmt::Debug for ScheduledIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seen = self.current();
        f.debug_struct("ScheduledIo")
            .field("tick", &seen.tick)
            .field("ready", &seen.ready)
            .finish()
    }
}
