//! `ThreadParker`: the default driver, a mutex and condition variable with a three-state
//! word so an unpark racing with a park is never lost.
//!
//! # Protocol
//!
//! `state` is `EMPTY`, `PARKED` or `NOTIFIED`.
//! - `unpark` swaps in `NOTIFIED`. If it replaced `PARKED`, the parker is (or is about to
//!   be) waiting on the condvar: it takes the mutex (so it cannot slip between the
//!   parker's state check and its wait) and signals.
//! - `park` first tries `NOTIFIED -> EMPTY` (a remembered wake). Otherwise, holding the
//!   mutex, it moves `EMPTY -> PARKED`; if that fails an unpark came in, which it consumes.
//!   It then waits until `NOTIFIED -> EMPTY` succeeds (ignoring spurious wake-ups), or, for
//!   `park_timeout`, until the time is up, when it resets the word to `EMPTY` (consuming a
//!   wake that raced with the timeout, which is harmless: it returns anyway).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use super::{Park, Unpark};
use crate::loom::sync::atomic::AtomicUsize;
use crate::loom::sync::atomic::Ordering::{AcqRel, Acquire};
use crate::loom::sync::lock;
use crate::loom::sync::{Arc, Condvar, Mutex};
use std::sync::PoisonError;

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

struct Inner {
    state: AtomicUsize,
    lock: Mutex<()>,
    cvar: Condvar,
}

/// Parks the current thread on a condition variable; the driver for a runtime with no I/O.
pub struct ThreadParker {
    inner: Arc<Inner>,
}

/// Wakes a [`ThreadParker`] from any thread.
#[derive(Clone)]
pub struct ThreadUnparker {
    inner: Arc<Inner>,
}

impl ThreadParker {
    /// A parker with no wake pending.
    pub fn new() -> ThreadParker {
        ThreadParker {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(EMPTY),
                lock: Mutex::new(()),
                cvar: Condvar::new(),
            }),
        }
    }
}

impl ThreadParker {
    /// Polls `future` on this thread until it is ready, parking here between polls; any
    /// wake, from any thread, unparks. For a thread that drives no scheduler: a
    /// multi-thread runtime's `block_on` caller, or a plain thread waiting on a task.
    ///
    /// ```
    /// use eddy_executor::{MultiThread, ThreadParker};
    ///
    /// let rt = MultiThread::new(1);
    /// let task = rt.handle().spawn(async { 6 * 7 });
    /// assert_eq!(ThreadParker::new().block_on(task).unwrap(), 42);
    /// ```
    pub fn block_on<F: Future>(&mut self, future: F) -> F::Output {
        struct Unparking(ThreadUnparker);
        impl Wake for Unparking {
            fn wake(self: std::sync::Arc<Self>) {
                self.0.unpark();
            }
            fn wake_by_ref(self: &std::sync::Arc<Self>) {
                self.0.unpark();
            }
        }
        // std's `Arc`: `Waker::from` needs it; the parker inside is loom's.
        let waker = Waker::from(std::sync::Arc::new(Unparking(Park::unpark(self))));
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
            // A spurious return only costs another poll.
            self.park();
        }
    }
}

impl Default for ThreadParker {
    fn default() -> Self {
        ThreadParker::new()
    }
}

impl std::fmt::Debug for ThreadParker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadParker").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ThreadUnparker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadUnparker").finish_non_exhaustive()
    }
}

impl Inner {
    /// Consumes a remembered wake. AcqRel pairs with the swap in `unpark`, so whatever the
    /// waker wrote before unparking (a queued task) is visible after park returns.
    fn try_consume(&self) -> bool {
        // AcqRel/Acquire: pairs with the swap in `unpark`.
        self.state
            .compare_exchange(NOTIFIED, EMPTY, AcqRel, Acquire)
            .is_ok()
    }

    fn park(&self, timeout: Option<Duration>) {
        if self.try_consume() {
            return;
        }
        if timeout == Some(Duration::ZERO) {
            return;
        }
        let mut guard = lock(&self.lock);
        // AcqRel: pairs with `unpark`'s swap (either order).
        match self.state.compare_exchange(EMPTY, PARKED, AcqRel, Acquire) {
            Ok(_) => {}
            Err(NOTIFIED) => {
                // AcqRel: consume the wake that won the race; pairs with `unpark`'s swap.
                self.state.swap(EMPTY, AcqRel);
                return;
            }
            Err(s) => panic!("invariant: one thread parks a ThreadParker at a time (state {s})"),
        }
        match timeout {
            None => loop {
                guard = self
                    .cvar
                    .wait(guard)
                    .unwrap_or_else(PoisonError::into_inner);
                if self.try_consume() {
                    return;
                }
            },
            Some(d) => {
                let (g, _) = self
                    .cvar
                    .wait_timeout(guard, d)
                    .unwrap_or_else(PoisonError::into_inner);
                drop(g);
                // Timed out or woken: either way we are done; leave the word EMPTY.
                // AcqRel: pairs with `unpark`'s swap when a wake raced the timeout.
                self.state.swap(EMPTY, AcqRel);
            }
        }
    }

    fn unpark(&self) {
        // AcqRel: releases the waker's writes to the parker's acquire in `try_consume`.
        match self.state.swap(NOTIFIED, AcqRel) {
            EMPTY | NOTIFIED => {}
            PARKED => {
                // Taking the lock orders us after the parker's `EMPTY -> PARKED` and its
                // entry into `wait`, so the signal cannot fall between them.
                drop(lock(&self.lock));
                self.cvar.notify_one();
            }
            s => panic!("invariant: ThreadParker state is EMPTY, PARKED or NOTIFIED (got {s})"),
        }
    }
}

impl Park for ThreadParker {
    type Unpark = ThreadUnparker;

    fn unpark(&self) -> ThreadUnparker {
        ThreadUnparker {
            inner: self.inner.clone(),
        }
    }

    fn park(&mut self) {
        self.inner.park(None);
    }

    fn park_timeout(&mut self, timeout: Duration) {
        self.inner.park(Some(timeout));
    }
}

impl Unpark for ThreadUnparker {
    fn unpark(&self) {
        self.inner.unpark();
    }
}
