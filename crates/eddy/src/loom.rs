//! The crate's one door to concurrency primitives: std normally, loom under `cfg(eddy_loom)`.

#[cfg(not(eddy_loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(not(eddy_loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

#[cfg(eddy_loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(eddy_loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};

/// Locks `mutex`, ignoring poisoning: every critical section in this crate leaves its data
/// consistent before anything that can panic, so a poisoned lock holds valid data.
#[allow(dead_code)]
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// A waker that counts its wakes in a loom atomic, so a model sees the hand-off; for the
/// crate's `loom_tests`.
#[cfg(all(test, eddy_loom))]
pub(crate) struct Counter(pub(crate) AtomicUsize);

#[cfg(all(test, eddy_loom))]
impl std::task::Wake for Counter {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A counting waker and its counter.
#[cfg(all(test, eddy_loom))]
pub(crate) fn counting_waker() -> (std::sync::Arc<Counter>, std::task::Waker) {
    let counter = std::sync::Arc::new(Counter(AtomicUsize::new(0)));
    (
        std::sync::Arc::clone(&counter),
        std::task::Waker::from(counter),
    )
}
