//! asyncio's task vocabulary, on both flavours: `wait_for` on a task (cancel, and wait for
//! the cleanup), a handle that cancels on drop, `create_task(name=...)`,
//! `run_coroutine_threadsafe`, and a `TaskGroup` whose children add siblings.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use eddy::sync::oneshot;
use eddy::task::{GroupClosed, TaskGroup};

use crate::runtime::panic_message;
use crate::support::runtimes;

/// Generous bound on waits that should end at once, so a bug fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(10);

/// Sets its flag when dropped, after a pause: cleanup that takes a while, so a caller that
/// does not wait for it sees the flag still clear.
struct SlowCleanup(Arc<AtomicBool>);

impl Drop for SlowCleanup {
    fn drop(&mut self) {
        std::thread::sleep(Duration::from_millis(50));
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Tells a receiver when it is dropped.
struct DropSignal(Option<oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

#[test]
fn wait_for_cancels_the_task_and_returns_after_its_cleanup() {
    for rt in runtimes() {
        rt.block_on(async {
            let cleaned = Arc::new(AtomicBool::new(false));
            let guard = SlowCleanup(cleaned.clone());
            let task = eddy::spawn(async move {
                let _guard = guard;
                eddy::sleep(Duration::from_secs(3600)).await;
            });
            let abort = task.abort_handle();
            let result = eddy::task::wait_for(Duration::from_millis(20), task).await;
            assert!(result.is_err(), "the wait timed out");
            assert!(
                cleaned.load(Ordering::SeqCst),
                "the task's cleanup ran before the timeout was returned"
            );
            assert!(abort.is_finished());
        });
    }
}

#[test]
fn wait_for_returns_the_result_of_a_task_that_finishes_in_time() {
    for rt in runtimes() {
        rt.block_on(async {
            let task = eddy::spawn(async { 7 });
            let out = eddy::task::wait_for(PATIENCE, task).await;
            assert_eq!(out.unwrap().unwrap(), 7);
            let panics = eddy::spawn(async { panic!("boom") });
            let out = eddy::task::wait_for(PATIENCE, panics).await;
            assert!(out.unwrap().unwrap_err().is_panic());
        });
    }
}

/// The contrast the guide draws: `timeout` around a plain handle only stops waiting.
#[test]
fn timeout_on_a_handle_leaves_the_task_running() {
    for rt in runtimes() {
        rt.block_on(async {
            let (tx, rx) = oneshot::channel();
            let task = eddy::spawn(async move {
                eddy::sleep(Duration::from_millis(50)).await;
                let _ = tx.send(());
            });
            assert!(eddy::timeout(Duration::from_millis(1), task).await.is_err());
            eddy::timeout(PATIENCE, rx)
                .await
                .expect("the detached task ran to the end")
                .unwrap();
        });
    }
}

#[test]
fn cancelling_wait_for_cancels_the_task() {
    for rt in runtimes() {
        rt.block_on(async {
            let (tx, dropped) = oneshot::channel();
            let signal = DropSignal(Some(tx));
            let task = eddy::spawn(async move {
                let _signal = signal;
                std::future::pending::<()>().await;
            });
            let waiting = eddy::task::wait_for(Duration::from_secs(3600), task);
            assert!(
                eddy::timeout(Duration::from_millis(10), waiting)
                    .await
                    .is_err()
            );
            eddy::timeout(PATIENCE, dropped)
                .await
                .expect("dropping wait_for cancelled the task")
                .unwrap();
        });
    }
}

/// asyncio: cancelling a task that awaits another cancels that one too. With
/// `abort_on_drop` eddy does the same; with a plain handle the inner task lives on.
#[test]
fn a_cancelled_task_cancels_the_task_it_awaits_through_abort_on_drop() {
    for rt in runtimes() {
        rt.block_on(async {
            let (tx, inner_dropped) = oneshot::channel();
            let signal = DropSignal(Some(tx));
            let inner_started = Arc::new(AtomicUsize::new(0));
            let started = inner_started.clone();
            let outer = eddy::spawn(async move {
                let inner = eddy::spawn(async move {
                    let _signal = signal;
                    started.fetch_add(1, Ordering::SeqCst);
                    std::future::pending::<()>().await;
                })
                .abort_on_drop();
                let _ = inner.await;
            });
            while inner_started.load(Ordering::SeqCst) == 0 {
                eddy::sleep(Duration::from_millis(1)).await;
            }
            outer.abort();
            eddy::timeout(PATIENCE, inner_dropped)
                .await
                .expect("cancelling the outer task cancelled the inner one")
                .unwrap();

            let (spawned_tx, spawned) = oneshot::channel();
            let (finished_tx, finished) = oneshot::channel();
            let outer = eddy::spawn(async move {
                let inner = eddy::spawn(async move {
                    eddy::sleep(Duration::from_millis(20)).await;
                    let _ = finished_tx.send(());
                });
                let _ = spawned_tx.send(());
                let _ = inner.await;
            });
            eddy::timeout(PATIENCE, spawned).await.unwrap().unwrap();
            outer.abort();
            eddy::timeout(PATIENCE, finished)
                .await
                .expect("a plain JoinHandle detaches: the inner task finished")
                .unwrap();
        });
    }
}

#[test]
fn abort_on_drop_detach_gives_back_a_plain_handle() {
    for rt in runtimes() {
        rt.block_on(async {
            let task = eddy::spawn(async { 5 }).abort_on_drop();
            assert_eq!(task.detach().await.unwrap(), 5);
            let task = eddy::spawn(async { 6 }).abort_on_drop();
            assert_eq!(task.await.unwrap(), 6);
        });
    }
}

#[test]
fn named_tasks_show_their_name_in_handles_and_snapshots() {
    for rt in runtimes() {
        rt.block_on(async {
            let task = eddy::task::spawn_named("fetch", std::future::pending::<()>());
            let id = task.id();
            let shown = format!("{task:?}");
            assert!(
                shown.contains(&format!("id: {id:?}")) && shown.contains("name: \"fetch\""),
                "{shown}"
            );
            assert!(format!("{:?}", task.abort_handle()).contains("\"fetch\""));
            let guarded = task.abort_on_drop();
            assert!(format!("{guarded:?}").contains("\"fetch\""));
            let info = eddy::Handle::current()
                .tasks()
                .into_iter()
                .find(|t| t.id == id)
                .unwrap();
            assert_eq!(info.name.as_deref(), Some("fetch"));
            let plain = eddy::spawn(async {});
            assert!(!format!("{plain:?}").contains("name"));
        });
    }
}

#[test]
fn run_threadsafe_submits_from_a_plain_thread_and_blocks_for_the_result() {
    for rt in runtimes() {
        let handle = rt.handle().clone();
        let (done_tx, done_rx) = oneshot::channel::<()>();
        let submitter = std::thread::spawn(move || {
            let answer = handle.run_threadsafe(async {
                eddy::sleep(Duration::from_millis(5)).await;
                eddy::task::id().is_some()
            });
            let panicked = handle.run_threadsafe(async { panic!("in the task") });
            let _ = done_tx.send(());
            (answer, panicked)
        });
        // The current-thread runtime runs submitted tasks while its thread is in block_on.
        rt.block_on(async {
            eddy::timeout(PATIENCE, done_rx)
                .await
                .expect("run_threadsafe's tasks ran")
                .unwrap();
        });
        let (answer, panicked) = submitter.join().unwrap();
        assert!(answer.unwrap(), "the future ran as a task");
        assert!(panicked.unwrap_err().is_panic());
        let handle = rt.handle().clone();
        drop(rt);
        let after = std::thread::spawn(move || handle.run_threadsafe(async { 1 }));
        assert!(after.join().unwrap().unwrap_err().is_cancelled());
    }
}

#[test]
fn run_threadsafe_inside_a_runtime_says_to_await() {
    for rt in runtimes() {
        let handle = rt.handle().clone();
        let message = rt.block_on(async move {
            let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                handle.run_threadsafe(async {})
            }));
            panic_message(refused.unwrap_err())
        });
        assert!(
            message.contains("`Handle::run_threadsafe` was called from inside a runtime")
                && message.contains(".await"),
            "{message}"
        );
    }
}

#[test]
fn task_group_children_add_siblings_while_it_is_awaited() {
    for rt in runtimes() {
        rt.block_on(async {
            let mut group = TaskGroup::<u32, String>::new();
            let spawner = group.spawner();
            group.spawn(async move {
                let grandchild_spawner = spawner.clone();
                spawner
                    .spawn(async move {
                        eddy::sleep(Duration::from_millis(5)).await;
                        grandchild_spawner
                            .spawn(async { Ok(3) })
                            .map_err(|e| e.to_string())?;
                        Ok(2)
                    })
                    .map_err(|e| e.to_string())?;
                Ok(1)
            });
            let out = eddy::timeout(PATIENCE, group.wait()).await.unwrap();
            assert_eq!(out.unwrap(), vec![1, 2, 3], "outputs in spawn order");
        });
    }
}

/// Tries to add a sibling from its `Drop`: a child being cancelled after a failure, while
/// the group still waits for it.
struct SpawnOnDrop(
    eddy::task::GroupSpawner<(), &'static str>,
    std::sync::mpsc::Sender<Result<(), GroupClosed>>,
);

impl Drop for SpawnOnDrop {
    fn drop(&mut self) {
        let _ = self.1.send(self.0.spawn(async { Ok(()) }));
    }
}

#[test]
fn a_closed_task_group_refuses_new_children() {
    for rt in runtimes() {
        rt.block_on(async {
            let mut group = TaskGroup::<(), &'static str>::new();
            let spawner = group.spawner();
            let (tried_tx, tried) = std::sync::mpsc::channel();
            let (started_tx, started) = oneshot::channel();
            let on_drop = SpawnOnDrop(group.spawner(), tried_tx);
            group.spawn(async move {
                let _on_drop = on_drop;
                let _ = started_tx.send(());
                std::future::pending::<()>().await;
                Ok(())
            });
            group.spawn(async move {
                let _ = started.await;
                Err("first")
            });
            let err = eddy::timeout(PATIENCE, group.wait())
                .await
                .unwrap()
                .unwrap_err();
            assert_eq!(err.failures.len(), 1);
            // The sibling cancelled by the failure tried to add a child as it dropped.
            assert_eq!(tried.try_recv().unwrap(), Err(GroupClosed::ShuttingDown));
            // After `wait` returned, the group is finished.
            assert_eq!(spawner.spawn(async { Ok(()) }), Err(GroupClosed::Finished));
            assert!(GroupClosed::Finished.to_string().contains("finished"));
        });
    }
}

#[test]
fn dropping_a_task_group_cancels_children_its_children_added() {
    for rt in runtimes() {
        rt.block_on(async {
            let mut group = TaskGroup::<(), ()>::new();
            let spawner = group.spawner();
            let (tx, dropped) = oneshot::channel();
            let signal = DropSignal(Some(tx));
            let (added_tx, added) = oneshot::channel();
            group.spawn(async move {
                spawner
                    .spawn(async move {
                        let _signal = signal;
                        std::future::pending::<()>().await;
                        Ok(())
                    })
                    .unwrap();
                let _ = added_tx.send(());
                std::future::pending::<()>().await;
                Ok(())
            });
            let waiting = eddy::spawn(group.wait());
            eddy::timeout(PATIENCE, added).await.unwrap().unwrap();
            waiting.abort();
            eddy::timeout(PATIENCE, dropped)
                .await
                .expect("the sibling was cancelled with the group")
                .unwrap();
        });
    }
}
