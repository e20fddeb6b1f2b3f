//! Tasks: JoinSet, abort, timeouts, timed.

use std::time::Duration;

use eddy::task::{JoinError, JoinSet};

use crate::support::{paused, two_workers};

#[test]
fn join_set_returns_results_as_tasks_finish() {
    paused().block_on(async {
        let mut set = JoinSet::new();
        for ms in [40u64, 0, 20] {
            set.spawn(async move {
                eddy::sleep(Duration::from_millis(ms)).await;
                ms
            });
        }
        assert_eq!(set.len(), 3);
        let mut order = Vec::new();
        while let Some(result) = set.join_next().await {
            order.push(result.unwrap());
        }
        assert_eq!(order, [0, 20, 40]);
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
    });
}

#[test]
fn join_set_scales_to_many_tasks() {
    let rt = two_workers();
    let sum = rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..20_000u64 {
            set.spawn(async move { i });
        }
        let mut sum = 0;
        while let Some(v) = set.join_next().await {
            sum += v.unwrap();
        }
        sum
    });
    assert_eq!(sum, 20_000 * 19_999 / 2);
}

#[test]
fn dropping_a_join_set_cancels_its_tasks() {
    eddy::run(async {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let mut set = JoinSet::new();
        let watcher = {
            set.spawn(async move {
                let _tx = tx; // dropped when the task is cancelled
                std::future::pending::<()>().await;
            });
            eddy::spawn(async move {
                // The sender disconnects only when the task's future is dropped.
                loop {
                    match rx.try_recv() {
                        Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
                        _ => eddy::sleep(Duration::from_millis(1)).await,
                    }
                }
            })
        };
        eddy::yield_now().await;
        drop(set);
        eddy::timeout(Duration::from_secs(5), watcher)
            .await
            .expect("the task was cancelled")
            .unwrap();
    });
}

#[test]
fn abort_shutdown_and_cancelled_errors() {
    eddy::run(async {
        let mut set = JoinSet::new();
        for _ in 0..10 {
            set.spawn(std::future::pending::<()>());
        }
        set.spawn(async {});
        eddy::yield_now().await;
        set.abort_all();
        let mut cancelled = 0;
        while let Some(r) = set.join_next().await {
            if matches!(r, Err(JoinError::Cancelled)) {
                cancelled += 1;
            }
        }
        assert!(cancelled >= 10);

        let mut set = JoinSet::new();
        set.spawn(std::future::pending::<()>());
        set.shutdown().await;
        assert!(set.is_empty());

        let task = eddy::spawn(std::future::pending::<()>());
        task.abort();
        assert!(matches!(task.await, Err(JoinError::Cancelled)));
    });
}

#[test]
fn timeout_and_timed() {
    paused().block_on(async {
        let start = eddy::time::now();
        let err = eddy::timeout(
            Duration::from_millis(10),
            eddy::sleep(Duration::from_secs(60)),
        )
        .await;
        assert!(err.is_err());
        assert_eq!(eddy::time::now() - start, Duration::from_millis(10));
        let ok = eddy::timeout(Duration::from_secs(60), async { 5 }).await;
        assert_eq!(ok.unwrap(), 5);
        let (v, took) = eddy::time::timed(async {
            eddy::sleep(Duration::from_millis(15)).await;
            1
        })
        .await;
        assert_eq!(v, 1);
        assert_eq!(took, Duration::from_millis(15));
        let mut ticks = eddy::interval(Duration::from_millis(5));
        let start = eddy::time::now();
        for _ in 0..3 {
            ticks.tick().await;
        }
        assert_eq!(
            eddy::time::now() - start,
            Duration::from_millis(10),
            "the first tick is immediate, then every 5 ms"
        );
    });
}

#[test]
fn task_group_returns_outputs_in_spawn_order() {
    paused().block_on(async {
        let mut group = eddy::task::TaskGroup::<u64, String>::new();
        for ms in [30u64, 10, 20] {
            group.spawn(async move {
                eddy::sleep(Duration::from_millis(ms)).await;
                Ok(ms)
            });
        }
        assert_eq!(group.wait().await.unwrap(), [30, 10, 20]);
    });
}

#[test]
fn task_group_failure_cancels_siblings_and_reports_every_failure() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    eddy::run(async {
        let finished = Arc::new(AtomicBool::new(false));
        let mut group = eddy::task::TaskGroup::<(), String>::new();
        let f = Arc::clone(&finished);
        group.spawn(async move {
            eddy::sleep(Duration::from_secs(60)).await;
            f.store(true, Ordering::SeqCst);
            Ok(())
        });
        group.spawn(async { Err("boom".to_owned()) });
        let started = std::time::Instant::now();
        let err = group.wait().await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the sleeping sibling was cancelled"
        );
        assert!(!finished.load(Ordering::SeqCst));
        assert_eq!(err.failures.len(), 1, "{err}");
        assert!(matches!(&err.failures[0], eddy::task::Failure::Error(e) if e == "boom"));

        // A panic fails the group the same way.
        let mut group = eddy::task::TaskGroup::<(), String>::new();
        group.spawn(async {
            eddy::sleep(Duration::from_secs(60)).await;
            Ok(())
        });
        group.spawn(async { panic!("a child panicked") });
        let err = group.wait().await.unwrap_err();
        assert!(
            matches!(err.failures[..], [eddy::task::Failure::Panic(_)]),
            "{err}"
        );
    });
}

#[test]
fn dropping_a_task_group_cancels_its_children() {
    eddy::run(async {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let mut group = eddy::task::TaskGroup::<(), ()>::new();
        group.spawn(async move {
            let _tx = tx;
            std::future::pending::<()>().await;
            Ok(())
        });
        eddy::yield_now().await;
        // Cancelling the scope: the wait future is dropped by a timeout.
        assert!(
            eddy::timeout(Duration::from_millis(10), group.wait())
                .await
                .is_err()
        );
        for _ in 0..1000 {
            if rx.try_recv() == Err(std::sync::mpsc::TryRecvError::Disconnected) {
                return;
            }
            eddy::sleep(Duration::from_millis(1)).await;
        }
        panic!("the child outlived its cancelled group");
    });
}
