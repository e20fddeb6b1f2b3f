//! The one place that names concurrency primitives: std's (and crossbeam's) normally, loom's
//! under `cfg(eddy_loom)`.
//!
//! Everything else in the crate imports `crate::loom::...`, so `cargo xtask loom` can swap
//! every atomic, cell, lock, thread and channel for the model checker's version. The std side
//! of [`cell::TrackedCell`] mirrors loom's closure API (`with`, `with_mut`) so the same code
//! compiles both ways.

#[cfg(not(eddy_loom))]
#[allow(unused_imports)] // Each configuration uses a different subset.
pub(crate) mod sync {
    pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};

    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{
            AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
        };
    }
}

#[cfg(eddy_loom)]
#[allow(unused_imports)] // Each configuration uses a different subset.
pub(crate) mod sync {
    pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};

    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{
            AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
        };
    }
}

#[cfg(not(eddy_loom))]
#[allow(unused_imports)] // Each configuration uses a different subset.
pub(crate) mod thread {
    pub(crate) use std::thread::{Builder, JoinHandle, current, park, spawn, yield_now};
}

#[cfg(eddy_loom)]
#[allow(unused_imports)] // Each configuration uses a different subset.
pub(crate) mod thread {
    pub(crate) use loom::thread::{Builder, JoinHandle, current, park, spawn, yield_now};
}

#[cfg(not(eddy_loom))]
#[allow(unused_imports)] // Each configuration uses a different subset.
pub(crate) mod hint {
    pub(crate) use std::hint::spin_loop;
}

#[cfg(eddy_loom)]
#[allow(unused_imports)] // Each configuration uses a different subset.
pub(crate) mod hint {
    pub(crate) use loom::hint::spin_loop;
}

#[cfg(not(eddy_loom))]
#[allow(unused_imports)] // Each configuration uses a different subset.
pub(crate) mod cell {
    /// `std::cell::UnsafeCell` behind loom's closure API, so access sites read the same under
    /// both configurations and loom can track every one of them. Named apart from std's so
    /// the tidy check can tell a shimmed cell from a raw one anywhere else in the crate.
    #[derive(Debug, Default)]
    pub(crate) struct TrackedCell<T>(std::cell::UnsafeCell<T>);

    impl<T> TrackedCell<T> {
        pub(crate) const fn new(data: T) -> TrackedCell<T> {
            TrackedCell(std::cell::UnsafeCell::new(data))
        }

        /// Runs `f` with a shared pointer to the contents.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Runs `f` with a unique pointer to the contents.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(eddy_loom)]
#[allow(unused_imports)] // Each configuration uses a different subset.
pub(crate) mod cell {
    pub(crate) use loom::cell::UnsafeCell as TrackedCell;
}

/// The blocking pool's job queue: crossbeam-channel normally; under loom a Mutex+Condvar
/// queue with the same surface, because crossbeam's internals are invisible to loom.
#[cfg(not(eddy_loom))]
#[allow(unused_imports)] // Each configuration uses a different subset.
pub(crate) mod channel {
    pub(crate) use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};
}

#[cfg(eddy_loom)]
#[allow(unused_imports)] // Each configuration uses a different subset.
pub(crate) mod channel {
    use std::collections::VecDeque;
    use std::time::Duration;

    use super::sync::{Arc, Condvar, Mutex};

    struct Inner<T> {
        queue: VecDeque<T>,
        senders: usize,
    }

    struct Chan<T> {
        inner: Mutex<Inner<T>>,
        ready: Condvar,
    }

    pub(crate) struct Sender<T>(Arc<Chan<T>>);
    pub(crate) struct Receiver<T>(Arc<Chan<T>>);

    /// Why `recv_timeout` returned nothing.
    #[derive(Debug, PartialEq, Eq)]
    pub(crate) enum RecvTimeoutError {
        /// Loom does not model time, so a model never sees this; it exists for the API.
        #[allow(dead_code)]
        Timeout,
        Disconnected,
    }

    pub(crate) fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
        let chan = Arc::new(Chan {
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                senders: 1,
            }),
            ready: Condvar::new(),
        });
        (Sender(chan.clone()), Receiver(chan))
    }

    impl<T> Sender<T> {
        pub(crate) fn send(&self, value: T) -> Result<(), T> {
            self.0.inner.lock().unwrap().queue.push_back(value);
            self.0.ready.notify_one();
            Ok(())
        }
    }

    impl<T> Clone for Sender<T> {
        fn clone(&self) -> Self {
            self.0.inner.lock().unwrap().senders += 1;
            Sender(self.0.clone())
        }
    }

    impl<T> Drop for Sender<T> {
        fn drop(&mut self) {
            self.0.inner.lock().unwrap().senders -= 1;
            self.0.ready.notify_all();
        }
    }

    impl<T> Receiver<T> {
        /// Blocks until a value or disconnection; loom has no clock, so `_timeout` is ignored.
        pub(crate) fn recv_timeout(&self, _timeout: Duration) -> Result<T, RecvTimeoutError> {
            let mut inner = self.0.inner.lock().unwrap();
            loop {
                if let Some(v) = inner.queue.pop_front() {
                    return Ok(v);
                }
                if inner.senders == 0 {
                    return Err(RecvTimeoutError::Disconnected);
                }
                inner = self.0.ready.wait(inner).unwrap();
            }
        }

        pub(crate) fn try_recv(&self) -> Result<T, ()> {
            self.0.inner.lock().unwrap().queue.pop_front().ok_or(())
        }
    }

    impl<T> Clone for Receiver<T> {
        fn clone(&self) -> Self {
            Receiver(self.0.clone())
        }
    }
}

/// The next task id. A plain process-wide counter in both configurations: ids only need to
/// be unique, which a Relaxed increment guarantees, so loom has nothing to explore here.
pub(crate) fn next_task_id() -> std::num::NonZeroU64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::num::NonZeroU64::new(id).expect("invariant: 2^64 task ids are never exhausted")
}

/// A process-wide unique id for debug-mode monitors; same reasoning as `next_task_id`.
pub(crate) fn next_monitor_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
