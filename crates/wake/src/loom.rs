//! The one place eddy names concurrency primitives: std's normally, loom's under
//! `cfg(eddy_loom)`.
//!
//! Every eddy crate imports its atomics, locks, cells and threads through its own
//! `src/loom.rs`, which re-exports this module (and adds what only that crate needs), so
//! `cargo xtask loom` swaps every one of them for the model checker's version. The std side
//! of [`cell::TrackedCell`] mirrors loom's closure API (`with`, `with_mut`) so the same code
//! compiles both ways. Poisoning has one policy everywhere: [`sync::lock`] ignores it.

#[cfg(not(eddy_loom))]
#[allow(unused_imports)] // Each crate uses a different subset.
pub mod sync {
    //! Locks, atomics and `Arc`.
    pub use std::sync::{Arc, Condvar, Mutex, MutexGuard};

    /// Atomics.
    pub mod atomic {
        pub use std::sync::atomic::{
            AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
        };
    }

    pub use super::lock;
}

#[cfg(eddy_loom)]
#[allow(unused_imports)] // Each crate uses a different subset.
pub mod sync {
    //! Locks, atomics and `Arc`.
    pub use loom::sync::{Arc, Condvar, Mutex, MutexGuard};

    /// Atomics.
    pub mod atomic {
        pub use loom::sync::atomic::{
            AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
        };
    }

    pub use super::lock;
}

/// Locks `mutex`, ignoring poisoning: eddy's policy everywhere. Every critical section in
/// eddy leaves its data consistent before anything that can panic (a panic under a lock is
/// an internal-invariant failure, after which the data is still valid), so a poisoned lock
/// holds valid data, and one panicking task must not take every later lock user down.
#[inline]
pub fn lock<T>(mutex: &sync::Mutex<T>) -> sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Locks loom must not see: std's, on threads outside any model (debug mode's watchdog).
pub mod unmodelled {
    /// Locks a std mutex, ignoring poisoning, by the same policy as [`super::lock`].
    #[inline]
    pub fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        mutex
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(not(eddy_loom))]
#[allow(unused_imports)] // Each crate uses a different subset.
pub mod thread {
    //! Threads.
    pub use std::thread::{Builder, JoinHandle, ThreadId, current, park, spawn, yield_now};
}

#[cfg(eddy_loom)]
#[allow(unused_imports)] // Each crate uses a different subset.
pub mod thread {
    //! Threads.
    pub use loom::thread::{Builder, JoinHandle, ThreadId, current, park, spawn, yield_now};
}

#[cfg(not(eddy_loom))]
pub mod hint {
    //! Spin-loop hints.
    pub use std::hint::spin_loop;
}

#[cfg(eddy_loom)]
pub mod hint {
    //! Spin-loop hints.
    pub use loom::hint::spin_loop;
}

#[cfg(not(eddy_loom))]
pub mod cell {
    //! The unsafe cell.

    /// `std::cell::UnsafeCell` behind loom's closure API, so access sites read the same under
    /// both configurations and loom can track every one of them. Named apart from std's so
    /// the tidy check can tell a shimmed cell from a raw one anywhere else.
    #[derive(Debug, Default)]
    pub struct TrackedCell<T>(std::cell::UnsafeCell<T>);

    impl<T> TrackedCell<T> {
        /// A cell holding `data`.
        pub const fn new(data: T) -> TrackedCell<T> {
            TrackedCell(std::cell::UnsafeCell::new(data))
        }

        /// Runs `f` with a shared pointer to the contents.
        #[inline(always)]
        pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Runs `f` with a unique pointer to the contents.
        #[inline(always)]
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(eddy_loom)]
pub mod cell {
    //! The unsafe cell.
    pub use loom::cell::UnsafeCell as TrackedCell;
}

/// A waker that counts its wakes in a (loom) atomic, so a model sees the hand-off; for the
/// crates' `loom_tests`.
#[cfg(eddy_loom)]
#[doc(hidden)]
pub struct Counter(pub sync::atomic::AtomicUsize);

#[cfg(eddy_loom)]
impl std::task::Wake for Counter {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, sync::atomic::Ordering::SeqCst);
    }
}

/// A counting waker and its counter, for the crates' `loom_tests`.
#[cfg(eddy_loom)]
#[doc(hidden)]
pub fn counting_waker() -> (std::sync::Arc<Counter>, std::task::Waker) {
    let counter = std::sync::Arc::new(Counter(sync::atomic::AtomicUsize::new(0)));
    (
        std::sync::Arc::clone(&counter),
        std::task::Waker::from(counter),
    )
}
