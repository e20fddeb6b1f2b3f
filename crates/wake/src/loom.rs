//! The one place eddy names concurrency primitives: std's normally, loom's under
//! `cfg(eddy_loom)`.
//!
//! Every eddy crate imports its atomics, locks, cells and threads through its own
//! `src/loom.rs`, which re-exports this module (and adds what only that crate needs), so
//! `cargo xtask loom` swaps every one of them for the model checker's version. The std side
//! of [`cell::TrackedCell`] mirrors loom's closure API (`with`, `with_mut`) so the same code
//! compiles both ways. Poisoning has one policy everywhere: [`sync::lock`] ignores it.
//!
//! Loom has no clock (its `Condvar::wait_timeout` is plain `wait`), so under loom
//! [`sync::Condvar`] is eddy's own wrapper with a clock a model drives: a timed wait times
//! out when the model calls `Condvar::elapse`, from a thread of its own, so loom tries the
//! timeout at every point that thread can run. Without `elapse` it behaves as loom's.

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
    pub use loom::sync::{Arc, Mutex, MutexGuard};

    pub use super::clock::{Condvar, WaitTimeoutResult};

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

#[cfg(eddy_loom)]
mod clock {
    //! A condition variable whose timed waits a loom model can time out.
    //!
    //! Time is a step counter per condition variable. A timed wait notes the count when it
    //! starts and has timed out once the count moved; [`Condvar::elapse`] (the model's clock
    //! thread) moves it under the waiters' mutex and wakes every waiter. So each `elapse`
    //! times out exactly the waits in progress at that moment, whatever their duration (a
    //! step is longer than any timeout), and a wait that starts after the model's last
    //! `elapse` never times out: time has stopped, so it must be woken by a notify. A model
    //! whose clock thread elapses a bounded number of times therefore checks two things at
    //! once: the protocol is right when a timeout fires at any point, and nothing relies on
    //! a timeout to make progress that a notify should have made (loom reports a deadlock).

    use std::sync::atomic::AtomicUsize;
    use std::sync::atomic::Ordering::Relaxed;
    use std::sync::{LockResult, PoisonError};
    use std::time::Duration;

    use loom::sync::{Mutex, MutexGuard};

    /// `std::sync::Condvar` for loom models, with a clock (see the module docs).
    #[derive(Debug, Default)]
    pub struct Condvar {
        inner: loom::sync::Condvar,
        /// Clock steps so far. Written by `elapse` and read by timed waits, both under the
        /// waiters' mutex, which orders them; a std atomic, so the model's clock adds no
        /// interleavings of its own (loom runs model threads one at a time).
        steps: AtomicUsize,
    }

    /// Whether a timed wait timed out, as std's type of that name.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct WaitTimeoutResult(bool);

    impl WaitTimeoutResult {
        /// `true` if the wait timed out: the model's clock moved while it waited.
        pub fn timed_out(&self) -> bool {
            self.0
        }
    }

    impl Condvar {
        /// A condition variable whose clock has not moved.
        pub fn new() -> Condvar {
            Condvar::default()
        }

        /// Blocks until notified, as `std::sync::Condvar::wait`.
        pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
            self.inner.wait(guard)
        }

        /// Blocks until notified or until the model's clock moves; `_timeout` is any
        /// duration shorter than a clock step, so it is not read.
        pub fn wait_timeout<'a, T>(
            &self,
            guard: MutexGuard<'a, T>,
            _timeout: Duration,
        ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
            let start = self.steps.load(Relaxed);
            let guard = self.wait(guard).unwrap_or_else(PoisonError::into_inner);
            let timed_out = self.steps.load(Relaxed) != start;
            Ok((guard, WaitTimeoutResult(timed_out)))
        }

        /// Blocks while `condition` holds, until the model's clock moves, as
        /// `std::sync::Condvar::wait_timeout_while`: the result says it timed out only if
        /// `condition` still holds.
        pub fn wait_timeout_while<'a, T, F>(
            &self,
            mut guard: MutexGuard<'a, T>,
            _timeout: Duration,
            mut condition: F,
        ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)>
        where
            F: FnMut(&mut T) -> bool,
        {
            let start = self.steps.load(Relaxed);
            loop {
                if !condition(&mut *guard) {
                    return Ok((guard, WaitTimeoutResult(false)));
                }
                if self.steps.load(Relaxed) != start {
                    return Ok((guard, WaitTimeoutResult(true)));
                }
                guard = self.wait(guard).unwrap_or_else(PoisonError::into_inner);
            }
        }

        /// Wakes one waiter.
        pub fn notify_one(&self) {
            self.inner.notify_one();
        }

        /// Wakes every waiter.
        pub fn notify_all(&self) {
            self.inner.notify_all();
        }

        /// The model's clock: one step passes, so every timed wait on this condition
        /// variable now in progress times out. `mutex` must be the one those waits hold
        /// (taking it is what keeps a waiter from missing the step between noting the
        /// count and blocking).
        pub fn elapse<T>(&self, mutex: &Mutex<T>) {
            let guard = super::lock(mutex);
            self.steps.fetch_add(1, Relaxed);
            drop(guard);
            self.inner.notify_all();
        }
    }
}

/// Locks loom need not see: std's, for tables whose critical sections run plain code only
/// (no atomic, lock, cell or thread operation of loom's), so no model thread can be switched
/// out holding one and block another on it. Debug mode keeps its tables behind them.
pub mod unmodelled {
    /// Locks a std mutex, ignoring poisoning, by the same policy as [`super::lock`].
    #[inline]
    pub fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        mutex
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The wait clock (`wait.rs`): milliseconds as of the last `set_clock_ms`. A plain
/// process-wide timestamp in both configurations: a record's time only needs to be
/// recent, which any Relaxed load of it is, so loom has nothing to explore here.
static WAIT_CLOCK_MS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// The wait clock's value.
#[inline]
pub(crate) fn wait_clock_ms() -> u32 {
    WAIT_CLOCK_MS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Sets the wait clock.
#[inline]
pub(crate) fn set_wait_clock_ms(ms: u32) {
    WAIT_CLOCK_MS.store(ms, std::sync::atomic::Ordering::Relaxed);
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
    // The std side's name, on purpose: see there.
    #[allow(clippy::unsafe_removed_from_name)]
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
