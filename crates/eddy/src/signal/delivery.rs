//! What the listeners of one signal share: how many times it was delivered, and the wakers
//! of the futures waiting for the next delivery.
//!
//! # Protocol
//!
//! - The handler ([`Delivery::record`]) bumps `generation` (`Release`), then writes one
//!   byte to the self-pipe. Only the bump is here: it is one atomic add, async-signal-safe.
//! - A waiter remembers the generation it first saw. Each poll it registers its waker on
//!   the list, *then* compares the generation (`Acquire`): a waiter that resolves between
//!   the two finds this waker on the list. If it changed, the waiter drains the pipe and
//!   wakes every other waiter on the list, because draining hides the bytes from reactors
//!   that have not looked yet (epoll reports what is still readable when asked), so those
//!   waiters' pipe readiness may never come. Otherwise it waits for the pipe to be readable
//!   (the reactor's own tick protocol keeps that wait from missing an edge).
//!
//! Modelled by `loom_tests.rs` with a stand-in pipe whose readiness is lost when another
//! waiter drains it first.

use std::io;
use std::ops::Deref;
use std::task::{Context, Poll, Waker};

use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::{Mutex, lock};

/// One signal's deliveries and waiters.
pub(super) struct Delivery {
    /// How many times the signal arrived. Bumped by the handler before it writes to the
    /// pipe (`Release`, pairing with the `Acquire` load in `Waiter::fired`), so whoever
    /// reads the byte, or is woken by whoever read it, sees the new count.
    generation: AtomicUsize,
    /// The wakers of pending waiters, woken by each one that resolves.
    waiters: Mutex<Waiters>,
}

#[derive(Default)]
struct Waiters {
    next_id: u64,
    list: Vec<(u64, Waker)>,
}

impl Delivery {
    pub(super) fn new() -> Delivery {
        Delivery {
            generation: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// The signal handler's part: count one delivery. Async-signal-safe (one atomic add);
    /// the handler writes the pipe byte after it.
    pub(super) fn record(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }
}

/// One pending future's place on the waiter list; removes itself on drop. `D` is how it
/// holds the delivery: `&'static` for the process-wide one, an `Arc` in the loom models.
pub(super) struct Waiter<D: Deref<Target = Delivery>> {
    delivery: D,
    /// The generation when the waiter was made: it resolves once the count differs.
    seen: usize,
    /// The id of this waiter's entry on the list, once registered.
    id: Option<u64>,
}

impl<D: Deref<Target = Delivery>> Waiter<D> {
    /// A waiter for the first delivery after now.
    pub(super) fn new(delivery: D) -> Waiter<D> {
        // Acquire: pairs with `record`'s Release, like every generation read.
        let seen = delivery.generation.load(Ordering::Acquire);
        Waiter {
            delivery,
            seen,
            id: None,
        }
    }

    /// Polls for a delivery. `poll_pipe` waits for the pipe to be readable and drains it
    /// (`Ready(Ok(()))` when it read bytes); `drain` empties it without waiting.
    pub(super) fn poll(
        &mut self,
        cx: &mut Context<'_>,
        mut poll_pipe: impl FnMut(&mut Context<'_>) -> Poll<io::Result<()>>,
        drain: impl FnOnce(),
    ) -> Poll<io::Result<()>> {
        loop {
            // Register before checking, so a waiter that resolves between the check and
            // the registration still finds this waker on the list.
            self.register(cx.waker());
            if self.fired() {
                // Empty the pipe for the futures that come later, then wake every other
                // waiter: draining may hide the bytes from their reactors for good.
                drain();
                self.wake_others();
                return Poll::Ready(Ok(()));
            }
            match poll_pipe(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                // Bytes were drained: from a signal that raced this poll (the loop sees
                // the new generation), or stale ones from before this waiter was made (the
                // loop polls again, which clears the readiness and waits).
                Poll::Ready(Ok(())) => {}
            }
        }
    }

    fn fired(&self) -> bool {
        // Acquire: pairs with the handler's Release increment.
        self.delivery.generation.load(Ordering::Acquire) != self.seen
    }

    fn register(&mut self, waker: &Waker) {
        let mut waiters = lock(&self.delivery.waiters);
        match self.id {
            Some(id) => {
                if let Some((_, stored)) = waiters.list.iter_mut().find(|(i, _)| *i == id)
                    && !stored.will_wake(waker)
                {
                    *stored = waker.clone();
                }
            }
            None => {
                let id = waiters.next_id;
                waiters.next_id += 1;
                waiters.list.push((id, waker.clone()));
                self.id = Some(id);
            }
        }
    }

    fn wake_others(&self) {
        let wakers: Vec<Waker> = lock(&self.delivery.waiters)
            .list
            .iter()
            .filter(|(id, _)| Some(*id) != self.id)
            .map(|(_, waker)| waker.clone())
            .collect();
        for waker in wakers {
            waker.wake();
        }
    }
}

impl<D: Deref<Target = Delivery>> Drop for Waiter<D> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            lock(&self.delivery.waiters).list.retain(|(i, _)| *i != id);
        }
    }
}

#[cfg(all(test, eddy_loom))]
mod loom_tests;
