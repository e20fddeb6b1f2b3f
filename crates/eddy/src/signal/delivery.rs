//! What the listeners of one signal share: how many times it was delivered, and the wakers
//! of the listeners waiting for the next delivery.
//!
//! # Protocol
//!
//! - The handler ([`Delivery::record`]) bumps `generation` (`Release`), then rings the
//!   doorbell (writes a byte to the self-pipe). Only the bump is here: it is one atomic
//!   add, async-signal-safe.
//! - The dispatcher thread, woken by the doorbell, reads each installed signal's generation
//!   and, for every one that moved since it last looked, wakes every waiter on the list
//!   ([`Delivery::wake_all`]). The byte is only a doorbell: a byte lost to a full pipe is
//!   covered by the generation, which the dispatcher reads for every signal on any wake.
//! - A listener remembers the last generation it reported. Each poll it registers its waker
//!   on the list, *then* compares the generation (`Acquire`). A dispatcher that takes the
//!   list before the registration read the new generation before it took the list's lock,
//!   so the listener, taking the lock after it, sees that generation; one that takes the
//!   list after the registration finds the waker.
//!
//! Deliveries coalesce: a listener that is not polled between two deliveries reports them
//! as one, as a signal that arrives twice before its handler runs is delivered once.
//!
//! Modelled by `loom_tests.rs`.

use std::ops::Deref;
use std::task::{Context, Poll, Waker};

use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::{Mutex, lock};

/// One signal's deliveries and waiters.
pub(super) struct Delivery {
    /// How many times the signal arrived. Bumped by the handler before it rings the
    /// doorbell (`Release`, pairing with the `Acquire` loads of the dispatcher and the
    /// listeners).
    generation: AtomicUsize,
    /// The wakers of pending listeners, each under its listener's id.
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
    /// the handler rings the doorbell after it.
    pub(super) fn record(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The deliveries so far.
    pub(super) fn generation(&self) -> usize {
        // Acquire: pairs with `record`'s Release.
        self.generation.load(Ordering::Acquire)
    }

    /// The dispatcher's part: wakes every pending listener (each is polled again and sees
    /// the new generation).
    pub(super) fn wake_all(&self) {
        let wakers: Vec<Waker> = lock(&self.waiters)
            .list
            .iter()
            .map(|(_, waker)| waker.clone())
            .collect();
        for waker in wakers {
            waker.wake();
        }
    }
}

/// One listener's place on the waiter list; removes itself on drop. `D` is how it holds
/// the delivery: `&'static` for the process-wide ones, an `Arc` in the loom models.
pub(super) struct Listener<D: Deref<Target = Delivery>> {
    delivery: D,
    /// The generation last reported (at creation: the one then): the next poll resolves
    /// once the count differs.
    seen: usize,
    /// The id of this listener's entry on the list, once registered.
    id: Option<u64>,
}

impl<D: Deref<Target = Delivery>> Listener<D> {
    /// A listener for the deliveries after now.
    pub(super) fn new(delivery: D) -> Listener<D> {
        let seen = delivery.generation();
        Listener {
            delivery,
            seen,
            id: None,
        }
    }

    /// `Ready` once the signal arrived since the last `Ready` (or since the listener was
    /// made); several deliveries in between resolve one poll.
    pub(super) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // Register before checking, so a dispatcher that looks at the list between the
        // check and the registration still finds this waker.
        self.register(cx.waker());
        let now = self.delivery.generation();
        if now == self.seen {
            return Poll::Pending;
        }
        self.seen = now;
        Poll::Ready(())
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
}

impl<D: Deref<Target = Delivery>> Drop for Listener<D> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            lock(&self.delivery.waiters).list.retain(|(i, _)| *i != id);
        }
    }
}

#[cfg(all(test, eddy_loom))]
mod loom_tests;
