//! A minimal scheduler for unit tests and loom models of the task machinery: a locked
//! FIFO that the test drains by hand.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::Location;
use std::task::{Context, Poll, Wake, Waker};

use super::{JoinError, JoinHandle, Notified, OwnedTasks, Schedule, TaskBuilder};
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Arc, Mutex};

pub(crate) struct Mock {
    pub(crate) queue: Mutex<VecDeque<Notified>>,
    pub(crate) owned: OwnedTasks,
}

impl Schedule for Arc<Mock> {
    fn schedule(&self, task: Notified) {
        self.queue.lock().unwrap().push_back(task);
    }

    fn owned(&self) -> &OwnedTasks {
        &self.owned
    }
}

impl Mock {
    pub(crate) fn new() -> Arc<Mock> {
        Arc::new(Mock {
            queue: Mutex::new(VecDeque::new()),
            owned: OwnedTasks::new(2),
        })
    }

    /// Runs queued tasks until the queue is empty; returns how many ran.
    pub(crate) fn run_all(&self) -> usize {
        let mut n = 0;
        loop {
            let task = self.queue.lock().unwrap().pop_front();
            match task {
                Some(t) => {
                    t.run();
                    n += 1;
                }
                None => return n,
            }
        }
    }

    /// Shuts every task down and drops what is queued, as a runtime's drop does.
    #[cfg_attr(eddy_loom, allow(dead_code))]
    pub(crate) fn shutdown(&self) {
        for t in self.owned.close_and_drain() {
            t.shutdown();
        }
        let drained: Vec<_> = self.queue.lock().unwrap().drain(..).collect();
        drop(drained);
    }
}

/// Spawning onto a mock (a trait because `self: &loom::sync::Arc<Self>` is not allowed).
pub(crate) trait SpawnMock {
    /// Spawns; the first `Notified` goes to the queue.
    fn spawn<F: Future + Send + 'static>(&self, f: F) -> JoinHandle<F::Output>
    where
        F::Output: Send;
}

impl SpawnMock for Arc<Mock> {
    fn spawn<F: Future + Send + 'static>(&self, f: F) -> JoinHandle<F::Output>
    where
        F::Output: Send,
    {
        let (join, notified) =
            self.owned
                .bind(f, self.clone(), TaskBuilder::new(), Location::caller());
        if let Some(n) = notified {
            self.schedule(n);
        }
        join
    }
}

/// A waker that counts its wakes.
pub(crate) struct CountingWaker {
    pub(crate) wakes: AtomicUsize,
}

impl Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wakes.fetch_add(1, SeqCst);
    }
}

pub(crate) fn counting_waker() -> (std::sync::Arc<CountingWaker>, Waker) {
    let w = std::sync::Arc::new(CountingWaker {
        wakes: AtomicUsize::new(0),
    });
    (w.clone(), Waker::from(w))
}

/// Polls a `JoinHandle` once with `waker`.
pub(crate) fn poll_join<T>(h: &mut JoinHandle<T>, waker: &Waker) -> Poll<Result<T, JoinError>> {
    let mut cx = Context::from_waker(waker);
    std::pin::Pin::new(h).poll(&mut cx)
}

/// A future that is pending until its `Trigger` fires, then ready; wakes the latest waker.
pub(crate) fn trigger() -> (Trigger, WaitTrigger) {
    let inner = Arc::new(Mutex::new((false, None)));
    (Trigger(inner.clone()), WaitTrigger(inner))
}

type TriggerState = Arc<Mutex<(bool, Option<Waker>)>>;

pub(crate) struct Trigger(TriggerState);
pub(crate) struct WaitTrigger(TriggerState);

impl Trigger {
    pub(crate) fn fire(&self) {
        let w = {
            let mut g = self.0.lock().unwrap();
            g.0 = true;
            g.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
}

impl Future for WaitTrigger {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut g = self.0.lock().unwrap();
        if g.0 {
            Poll::Ready(())
        } else {
            g.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// The settings of the crate's property tests (`queue/proptests.rs`, `state/proptests.rs`):
/// 1,000 cases each, generated with XorShift, because ChaCha, the default generator, is
/// most of the run time in a debug build.
#[cfg(all(not(eddy_loom), not(miri)))]
pub(crate) fn proptest_config() -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases: 1000,
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..proptest::test_runner::Config::default()
    }
}
