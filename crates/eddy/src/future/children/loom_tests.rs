//! loom: a child woken on another thread while the parent polls is polled in that poll or
//! wakes the parent's current waker.

use std::future::poll_fn;
use std::task::{Context, Poll};

use loom::thread;

use super::Children;
use crate::loom::counting_waker;
use crate::loom::sync::Arc;
use crate::loom::sync::atomic::{AtomicBool, Ordering};

/// The parent's second poll (with a new waker, as after the task moved) races a child's
/// wake from another thread: the child is polled to completion in that poll, or the new
/// waker is woken. A wake that only reached the parent's stale waker would be lost.
#[test]
fn child_wake_vs_parent_poll() {
    loom::model(|| {
        let ready = Arc::new(AtomicBool::new(false));
        let child = {
            let ready = Arc::clone(&ready);
            poll_fn(move |_| {
                if ready.load(Ordering::Acquire) {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
        };
        let mut children = Children::new([child]);
        let (_, old) = counting_waker();
        let mut done = false;
        children.poll_woken(&mut Context::from_waker(&old), |_, ()| {
            done = true;
            false
        });
        assert!(!done);

        let child_waker = children.wakers[0].clone();
        let waker = thread::spawn(move || {
            ready.store(true, Ordering::Release);
            child_waker.wake();
        });
        let (new_count, new) = counting_waker();
        children.poll_woken(&mut Context::from_waker(&new), |_, ()| {
            done = true;
            false
        });
        waker.join().unwrap();
        assert!(
            done || new_count.0.load(Ordering::SeqCst) == 1,
            "the child's wake reached neither this poll nor the parent's current waker"
        );
    });
}
