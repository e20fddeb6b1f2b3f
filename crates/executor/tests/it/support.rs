//! Helpers shared by the tests: drop counters and hand-driven futures.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Counts how many of the values it tags have been dropped.
#[derive(Clone, Default)]
pub(crate) struct DropCounter(Arc<AtomicUsize>);

impl DropCounter {
    pub(crate) fn token(&self) -> DropToken {
        DropToken(self.0.clone())
    }

    pub(crate) fn dropped(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

pub(crate) struct DropToken(Arc<AtomicUsize>);

impl Drop for DropToken {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A future that stays pending until `Gate::open` is called, from any thread.
#[derive(Clone, Default)]
pub(crate) struct Gate(Arc<Mutex<(bool, Option<Waker>)>>);

impl Gate {
    pub(crate) fn open(&self) {
        let w = {
            let mut g = self.0.lock().unwrap();
            g.0 = true;
            g.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }

    pub(crate) fn wait(&self) -> GateWait {
        GateWait(self.clone())
    }

    /// `true` once a task has registered its waker.
    pub(crate) fn has_waiter(&self) -> bool {
        self.0.lock().unwrap().1.is_some()
    }
}

pub(crate) struct GateWait(Gate);

impl Future for GateWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut g = (self.0).0.lock().unwrap();
        if g.0 {
            Poll::Ready(())
        } else {
            g.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// Yields to the scheduler `n` times.
pub(crate) async fn yield_times(n: usize) {
    for _ in 0..n {
        eddy_executor::yield_now().await;
    }
}
