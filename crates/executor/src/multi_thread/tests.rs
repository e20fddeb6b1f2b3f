//! Small multi-thread scenarios, sized for Miri: the workers' unsafe paths — the
//! thread-local context pointer, the LIFO slot's raw task pointers, ring-buffer push, pop
//! and steal between real threads, and shutdown draining queues — under its checker.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use super::MultiThread;
use crate::task::mock::trigger;

#[test]
fn spawns_from_tasks_cross_worker_wakes_and_the_lifo_slot() {
    let rt = MultiThread::new(2);
    let spawner = rt.handle();
    let parent = rt.spawn(async move {
        // Spawned from inside a task on a worker: each goes through the worker's LIFO slot, and the
        // previous occupant is pushed to the local queue, where the other worker can steal.
        let children: Vec<_> = (0..8u64)
            .map(|i| {
                spawner.spawn(async move {
                    crate::yield_now().await;
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for child in children {
            sum += child.await.unwrap();
        }
        // A wake from a plain thread goes through the inject queue.
        let (trig, wait) = trigger();
        let waiter = spawner.spawn(wait);
        std::thread::spawn(move || trig.fire()).join().unwrap();
        waiter.await.unwrap();
        sum
    });
    let sum = rt.block_on(parent).unwrap();
    assert_eq!(sum, (0..8).sum());
    assert_eq!(rt.live_tasks(), 0);
}

#[test]
fn shutdown_with_pending_and_queued_tasks_frees_every_one() {
    struct CountDrop(Arc<AtomicUsize>);
    impl Drop for CountDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let rt = MultiThread::new(2);
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let guard = CountDrop(dropped.clone());
            rt.spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            })
        })
        .collect();
    drop(rt);
    assert_eq!(dropped.load(SeqCst), 6);
    assert!(handles.iter().all(|h| h.is_finished()));
}
