//! Test helpers: a counting waker and a tiny `block_on` driven by a manual clock.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use eddy_timer::{Driver, ManualClock};

/// Counts its wake-ups.
#[derive(Default)]
pub(crate) struct CountingWaker {
    wakes: AtomicUsize,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker and the counter behind it.
pub(crate) fn counting_waker() -> (Waker, Arc<CountingWaker>) {
    let counter = Arc::new(CountingWaker::default());
    (Waker::from(Arc::clone(&counter)), counter)
}

impl CountingWaker {
    pub(crate) fn count(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

/// A driver on a manual clock with the default 1 ms tick.
pub(crate) fn manual() -> (Driver, ManualClock) {
    let clock = ManualClock::new();
    (Driver::builder().clock(clock.clone()).build(), clock)
}

/// Runs `future` to completion on `driver`, jumping the manual clock straight to each next
/// timer instead of sleeping. Returns the output and how far the clock moved.
pub(crate) fn block_on<F: Future>(
    driver: &mut Driver,
    clock: &ManualClock,
    future: F,
) -> (F::Output, Duration) {
    let _guard = driver.handle().enter();
    let start = driver.handle().now();
    let (waker, _) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    for _ in 0..100_000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return (out, driver.handle().now() - start);
        }
        let wait = driver
            .next_timeout()
            .expect("block_on: the future waits but no timer is armed");
        clock.advance(wait);
        driver.process();
    }
    panic!("block_on: no progress after 100k turns");
}
