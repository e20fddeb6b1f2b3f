//! The crate's door to concurrency primitives: eddy-wake's shared shim (std normally, loom
//! under `cfg(eddy_loom)`), plus what only the executor needs: the blocking pool's channel
//! (crossbeam's, or a loom-visible stand-in) and process-wide id counters.
//!
//! Everything else in the crate imports `crate::loom::...`, so `cargo xtask loom` can swap
//! every atomic, cell, lock, thread and channel for the model checker's version.

pub(crate) use eddy_wake::loom::{cell, sync, thread, unmodelled};

/// The blocking pool's job queue: crossbeam-channel normally; under loom a Mutex+Condvar
/// queue with the same surface, because crossbeam's internals are invisible to loom. Its
/// `recv_timeout` times out when a model's clock thread calls `Receiver::elapse`.
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
        /// The model's clock moved (`Receiver::elapse`) while the queue stayed empty.
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
            super::sync::lock(&self.0.inner).queue.push_back(value);
            self.0.ready.notify_one();
            Ok(())
        }
    }

    impl<T> Clone for Sender<T> {
        fn clone(&self) -> Self {
            super::sync::lock(&self.0.inner).senders += 1;
            Sender(self.0.clone())
        }
    }

    impl<T> Drop for Sender<T> {
        fn drop(&mut self) {
            super::sync::lock(&self.0.inner).senders -= 1;
            self.0.ready.notify_all();
        }
    }

    impl<T> Receiver<T> {
        /// Blocks until a value, disconnection or a step of the model's clock (`elapse`),
        /// and reports them in that order of precedence, as crossbeam's does (a value that
        /// is there when the timeout fires is still taken).
        pub(crate) fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
            let inner = super::sync::lock(&self.0.inner);
            let (mut inner, _) = self
                .0
                .ready
                .wait_timeout_while(inner, timeout, |i| i.queue.is_empty() && i.senders > 0)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(v) = inner.queue.pop_front() {
                return Ok(v);
            }
            if inner.senders == 0 {
                return Err(RecvTimeoutError::Disconnected);
            }
            Err(RecvTimeoutError::Timeout)
        }

        /// The model's clock: every `recv_timeout` waiting now times out (see eddy-wake's
        /// `loom` shim, whose `Condvar` this drives).
        #[cfg(test)]
        pub(crate) fn elapse(&self) {
            self.0.ready.elapse(&self.0.inner);
        }

        pub(crate) fn try_recv(&self) -> Result<T, ()> {
            super::sync::lock(&self.0.inner).queue.pop_front().ok_or(())
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
