//! futures-util's combinators over eddy's tasks, timers and channels: `join_all`, `select`,
//! `FuturesUnordered` and `StreamExt::buffer_unordered`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::{self, Either};
use futures::stream::{self, FuturesUnordered};
use futures::{FutureExt, StreamExt};

use super::{TASKS, each_runtime};

#[test]
fn join_all_over_tasks_and_plain_futures() {
    each_runtime(|| async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| eddy::spawn(async move { i * 2 }))
            .collect();
        let doubled: Vec<usize> = future::join_all(tasks)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(doubled, (0..TASKS).map(|i| i * 2).collect::<Vec<_>>());
        // Futures that sleep, all in one task: join_all must poll each one it is woken for.
        let sleeps = (0..500).map(|i| async move {
            eddy::sleep(Duration::from_millis((i % 7) as u64)).await;
            i
        });
        assert_eq!(future::join_all(sleeps).await, (0..500).collect::<Vec<_>>());
    });
}

#[test]
fn select_between_timers_channels_and_tasks() {
    each_runtime(|| async {
        let fast = eddy::sleep(Duration::from_millis(5));
        let slow = eddy::sleep(Duration::from_secs(30));
        match future::select(Box::pin(slow), Box::pin(fast)).await {
            Either::Right(((), _slow)) => {}
            Either::Left(_) => panic!("the 30 s sleep won over the 5 ms one"),
        }
        // A channel fed from another thread against a long timer.
        let (tx, rx) = futures::channel::oneshot::channel::<u8>();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            tx.send(1).unwrap();
        });
        let mut rx = rx.fuse();
        let mut long = eddy::sleep(Duration::from_secs(30)).fuse();
        futures::select! {
            v = rx => assert_eq!(v, Ok(1)),
            () = long => panic!("timer won over the message"),
        }
        // select over two JoinHandles: the loser keeps running and can still be joined.
        let (go, wait) = futures::channel::oneshot::channel::<()>();
        let a = eddy::spawn(async move {
            wait.await.unwrap();
            "a"
        });
        let b = eddy::spawn(async { "b" });
        match future::select(a, b).await {
            Either::Right((b, a)) => {
                assert_eq!(b.unwrap(), "b");
                go.send(()).unwrap();
                assert_eq!(a.await.unwrap(), "a");
            }
            Either::Left(_) => panic!("the waiting task finished first"),
        }
    });
}

#[test]
fn futures_unordered_completes_out_of_order() {
    each_runtime(|| async {
        let mut set: FuturesUnordered<_> = (0..TASKS)
            .map(|i| async move {
                // Later-pushed futures finish sooner, so completion order is scrambled.
                eddy::sleep(Duration::from_millis(((TASKS - i) % 13) as u64)).await;
                i
            })
            .collect();
        // Mix in spawned tasks on the other worker.
        let spawned: FuturesUnordered<_> = (0..TASKS)
            .map(|i| eddy::spawn(async move { TASKS + i }))
            .collect();
        let mut seen = vec![false; 2 * TASKS];
        while let Some(i) = set.next().await {
            assert!(!std::mem::replace(&mut seen[i], true));
        }
        let rest: Vec<_> = spawned.collect().await;
        for r in rest {
            assert!(!std::mem::replace(&mut seen[r.unwrap()], true));
        }
        assert!(seen.into_iter().all(|s| s));
    });
}

#[test]
fn buffer_unordered_bounds_concurrency() {
    each_runtime(|| async {
        const LIMIT: usize = 32;
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let results: Vec<usize> = stream::iter(0..TASKS)
            .map(|i| {
                let (inside, most) = (inside.clone(), most.clone());
                async move {
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    // Half of them wait on a task on the runtime, half on a timer.
                    if i % 2 == 0 {
                        eddy::spawn(async move { i }).await.unwrap();
                    } else {
                        eddy::sleep(Duration::from_millis(1)).await;
                    }
                    inside.fetch_sub(1, Ordering::SeqCst);
                    i
                }
            })
            .buffer_unordered(LIMIT)
            .collect()
            .await;
        let mut sorted = results;
        sorted.sort_unstable();
        assert_eq!(sorted, (0..TASKS).collect::<Vec<_>>());
        let most = most.load(Ordering::SeqCst);
        assert!(most <= LIMIT, "{most} futures ran at once, limit {LIMIT}");
        assert!(most > 1, "buffer_unordered never overlapped its futures");
    });
}
