//! Single-threaded behaviour of the waker slot; the races are in `loom_tests.rs`.

use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

use super::*;

#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counter() -> (Waker, Arc<Count>) {
    let c = Arc::new(Count::default());
    (Waker::from(Arc::clone(&c)), c)
}

#[test]
fn wake_empties_the_slot() {
    let slot = AtomicWaker::new();
    let (w, c) = counter();
    slot.wake();
    slot.register(&w);
    slot.wake();
    slot.wake();
    assert_eq!(c.0.load(Ordering::SeqCst), 1, "one registration, one wake");
    assert!(slot.take().is_none());
}

#[test]
fn register_replaces_a_waker_for_another_task_and_keeps_the_same_one() {
    let slot = AtomicWaker::default();
    let (a, ca) = counter();
    let (b, cb) = counter();
    slot.register(&a);
    assert_eq!(Arc::strong_count(&ca), 3, "stored one clone");
    slot.register(&a);
    assert_eq!(Arc::strong_count(&ca), 3, "will_wake: no second clone");
    slot.register(&b);
    assert_eq!(Arc::strong_count(&ca), 2, "the old waker was dropped");
    slot.wake();
    assert_eq!(ca.0.load(Ordering::SeqCst), 0);
    assert_eq!(cb.0.load(Ordering::SeqCst), 1);
}

#[test]
fn register_during_a_take_wakes_the_new_waker() {
    let slot = AtomicWaker::new();
    let (w, c) = counter();
    // Simulate a take in progress.
    slot.state.fetch_or(WAKING, AcqRel);
    slot.register(&w);
    assert_eq!(c.0.load(Ordering::SeqCst), 1);
    slot.state.fetch_and(!WAKING, Release);
    assert!(slot.take().is_none(), "nothing was stored");
}
