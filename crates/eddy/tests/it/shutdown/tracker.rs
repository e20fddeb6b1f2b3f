//! `TaskTracker` and its `ShutdownReport`, on both runtime flavours.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::Duration;

use eddy::sync::CancellationToken;
use eddy::task::{ShutdownReport, TaskTracker};

use super::DropFlag;
use crate::support::runtimes;

/// Starts `tracker`'s shutdown, and only then cancels `go`, which the tasks wait for: so
/// they end while the shutdown runs, on a multi-thread runtime too, and it counts them.
async fn shutdown_then_go(
    tracker: &TaskTracker,
    grace: Duration,
    go: &CancellationToken,
) -> ShutdownReport {
    let mut shutdown = pin!(tracker.shutdown(grace));
    // Its first poll closes the tracker and starts counting.
    poll_fn(|cx| {
        assert!(shutdown.as_mut().poll(cx).is_pending());
        Poll::Ready(())
    })
    .await;
    go.cancel();
    bounded(shutdown).await
}

/// `fut`, failing the test instead of hanging it if a broken tracker never completes it.
async fn bounded<F: Future>(fut: F) -> F::Output {
    eddy::timeout(Duration::from_secs(30), fut)
        .await
        .expect("the tracker's future never completed")
}

#[test]
fn wait_completes_only_once_closed_and_every_task_has_ended() {
    for rt in runtimes() {
        rt.block_on(async {
            let tracker = TaskTracker::new();
            // The tasks wait for `go`, so none can end before `len` is read (sleepers of a
            // few ms could, on a slow machine: qemu showed 2 for 3).
            let go = CancellationToken::new();
            for _ in 0..3 {
                tracker.spawn(go.clone().cancelled_owned());
            }
            assert_eq!(tracker.len(), 3);
            go.cancel();
            bounded(async {
                while !tracker.is_empty() {
                    eddy::sleep(Duration::from_millis(1)).await;
                }
            })
            .await;
            // Open: `wait` does not complete, even after the tasks are gone.
            let open = eddy::timeout(Duration::from_millis(50), tracker.wait()).await;
            assert!(open.is_err(), "wait completed on an open tracker");
            assert!(tracker.is_empty() && !tracker.is_closed());

            // `wait` returns once the last future has been dropped (its cleanup has run),
            // which may be a moment before its `JoinHandle` reports it finished.
            let slow_task = || {
                let (dropped, flag) = DropFlag::new();
                let task = async move {
                    let _flag = flag;
                    eddy::sleep(Duration::from_millis(20)).await;
                };
                (dropped, task)
            };
            let (dropped, task) = slow_task();
            tracker.spawn(task);
            tracker.close();
            assert!(tracker.is_closed());
            bounded(tracker.wait()).await;
            assert!(
                dropped.load(Ordering::SeqCst),
                "wait returned before the last task ended"
            );
            // A closed tracker still tracks, and `wait` waits for it again.
            let (dropped, task) = slow_task();
            tracker.spawn(task);
            bounded(tracker.wait()).await;
            assert!(dropped.load(Ordering::SeqCst));
        });
    }
}

#[test]
fn close_wakes_a_wait_that_is_already_waiting() {
    for rt in runtimes() {
        rt.block_on(async {
            let tracker = TaskTracker::new();
            let waiter = {
                let tracker = tracker.clone();
                eddy::spawn(async move { tracker.wait().await })
            };
            // Long enough for the waiter to register; it cannot complete on an open tracker.
            eddy::sleep(Duration::from_millis(10)).await;
            assert!(!waiter.is_finished());
            tracker.close();
            bounded(waiter).await.unwrap();
        });
    }
}

#[test]
fn shutdown_reports_each_cancelled_task_by_id_name_and_spawn_site() {
    for rt in runtimes() {
        rt.block_on(async {
            let tracker = TaskTracker::new();
            let go = CancellationToken::new();
            for _ in 0..2 {
                tracker.spawn(go.clone().cancelled_owned());
            }
            let (dropped, flag) = DropFlag::new();
            let stuck_line = line!() + 1;
            let stuck = tracker.spawn_named("stuck", async move {
                let _flag = flag;
                std::future::pending::<()>().await;
            });
            let anonymous_line = line!() + 1;
            let anonymous = tracker.spawn(eddy::sleep(Duration::from_secs(60)));
            let report = shutdown_then_go(&tracker, Duration::from_millis(100), &go).await;

            assert!(
                dropped.load(Ordering::SeqCst),
                "the cancelled task's cleanup ran first"
            );
            assert!(tracker.is_empty() && tracker.is_closed());
            assert_eq!((report.finished(), report.panicked()), (2, 0));
            assert!(!report.is_clean());
            assert_eq!(report.grace(), Duration::from_millis(100));
            let cancelled = report.cancelled();
            assert_eq!(cancelled.len(), 2, "{report}");
            // In spawn order.
            assert_eq!(cancelled[0].id(), Some(stuck.id()));
            assert_eq!(cancelled[0].name(), Some("stuck"));
            assert_eq!(cancelled[0].location().file(), file!());
            assert_eq!(cancelled[0].location().line(), stuck_line);
            assert_eq!(cancelled[1].id(), Some(anonymous.id()));
            assert_eq!(cancelled[1].name(), None);
            assert_eq!(cancelled[1].location().line(), anonymous_line);
            assert!(stuck.await.unwrap_err().is_cancelled());
            assert!(anonymous.await.unwrap_err().is_cancelled());

            let text = report.to_string();
            let site = |line: u32| format!("{}:{line}:", file!());
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 3, "{text}");
            assert!(
                lines[0].starts_with("shutdown: 2 tasks finished, 2 cancelled after the 100ms"),
                "{text}"
            );
            assert!(
                lines[1].contains("\"stuck\" spawned at ") && lines[1].contains(&site(stuck_line)),
                "{text}"
            );
            assert!(lines[2].contains(&site(anonymous_line)), "{text}");
        });
    }
}

#[test]
fn the_tasks_spawn_site_is_the_callers_line_in_dumps_too() {
    let rt = eddy::Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let tracker = TaskTracker::new();
        let task = tracker.spawn_named("dumped", std::future::pending::<()>());
        let line = line!() - 1;
        let info = eddy::Handle::current()
            .tasks()
            .into_iter()
            .find(|t| t.id == task.id())
            .unwrap();
        assert_eq!(
            (info.location.file(), info.location.line()),
            (file!(), line)
        );
        assert_eq!(info.name.as_deref(), Some("dumped"));
        task.abort();
    });
}

#[test]
fn a_shutdown_with_every_task_done_is_clean_and_counts_panics() {
    for rt in runtimes() {
        rt.block_on(async {
            let tracker = TaskTracker::new();
            let go = CancellationToken::new();
            let wait = go.clone();
            tracker.spawn(async move {
                wait.cancelled().await;
                panic!("a tracked task panicked (expected by the test)")
            });
            tracker.spawn(go.clone().cancelled_owned());
            let report = shutdown_then_go(&tracker, Duration::from_secs(30), &go).await;
            assert!(report.is_clean(), "{report}");
            assert_eq!((report.finished(), report.panicked()), (2, 1));
            assert_eq!(
                report.to_string(),
                "shutdown: 2 tasks finished (1 panicked), none cancelled (grace period 30s)"
            );
            // Nothing left: a second shutdown is clean and empty.
            let again = bounded(tracker.shutdown(Duration::ZERO)).await;
            assert!(again.is_clean() && again.finished() == 0);
        });
    }
}

#[test]
fn a_tracker_that_spawned_100_000_tasks_holds_only_the_live_ones() {
    for rt in runtimes() {
        rt.block_on(async {
            let tracker = TaskTracker::new();
            let mut most = 0;
            for i in 0..100_000u32 {
                // Detached: the handle is dropped at once.
                tracker.spawn(async move { i });
                if i % 1_000 == 999 {
                    most = most.max(tracker.len());
                    bounded(async {
                        while !tracker.is_empty() {
                            eddy::yield_now().await;
                        }
                    })
                    .await;
                }
            }
            assert!(most <= 1_000, "more entries than live tasks: {most}");
            assert_eq!(tracker.len(), 0, "a finished task is still held");
            tracker.close();
            bounded(tracker.wait()).await;
        });
    }
}

#[test]
fn a_zero_grace_cancels_at_once_and_spawns_after_the_abort_are_cancelled_too() {
    for rt in runtimes() {
        rt.block_on(async {
            let tracker = TaskTracker::new();
            let spawner = tracker.clone();
            // A task that keeps spawning into the tracker while it is being shut down.
            tracker.spawn_named("spawner", async move {
                loop {
                    spawner.spawn(std::future::pending::<()>());
                    eddy::sleep(Duration::from_millis(1)).await;
                }
            });
            eddy::sleep(Duration::from_millis(5)).await;
            let report = bounded(tracker.shutdown(Duration::ZERO)).await;
            assert!(tracker.is_empty());
            assert_eq!(report.finished(), 0, "{report}");
            assert!(
                report
                    .cancelled()
                    .iter()
                    .any(|t| t.name() == Some("spawner"))
            );
            assert!(report.cancelled().len() >= 2, "{report}");
        });
    }
}
