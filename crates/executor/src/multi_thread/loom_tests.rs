//! loom: the LIFO slot, the idle protocol and the driver hand-off of the multi-thread
//! scheduler.

use std::ptr;
use std::task::Poll;

use super::worker::take_lifo;
use super::*;
use crate::inject::Inject;
use crate::loom::thread;
use crate::task::mock::{Mock, SpawnMock};

fn worker_shared() -> WorkerShared {
    WorkerShared {
        queue: queue::Local::new(),
        lifo: AtomicPtr::new(ptr::null_mut()),
        parker: ThreadParker::new().unpark(),
        unparked: AtomicBool::new(false),
        counters: Counters::new(),
        unparks: SharedCounter::new(),
    }
}

/// The owner takes its LIFO slot while a thief steals it: exactly one of them gets the task.
#[test]
fn lifo_slot_owner_vs_thief() {
    loom::model(|| {
        let s = Mock::new();
        let _h = s.spawn(async {});
        let task = s.queue.lock().unwrap().pop_front().unwrap();
        let w = Arc::new(worker_shared());
        w.lifo.swap(task.into_raw_ptr(), SeqCst);
        let w2 = w.clone();
        let thief = thread::spawn(move || take_lifo(&w2).is_some());
        let owner = take_lifo(&w).is_some();
        let stolen = thief.join().unwrap();
        assert!(owner ^ stolen, "the task was taken exactly once");
        s.shutdown();
    });
}

/// A producer publishes work and notifies while a worker goes to sleep: the worker either
/// sees the work in its re-check or is popped from the sleepers and unparked.
#[test]
fn idle_protocol_no_lost_wakeup() {
    loom::model(|| {
        let idle = Arc::new(Idle::new(2));
        let work = Arc::new(AtomicBool::new(false));
        let mut parker = ThreadParker::new();
        let unpark = parker.unpark();
        let (idle2, work2) = (idle.clone(), work.clone());
        let producer = thread::spawn(move || {
            work2.store(true, SeqCst);
            if let Some(id) = idle2.worker_to_notify() {
                assert_eq!(id, 0);
                unpark.unpark();
            }
        });
        idle.register_sleeper(0);
        idle.fence_before_recheck();
        if !work.load(SeqCst) {
            parker.park();
            assert!(
                work.load(SeqCst),
                "woken without work: spurious wakes are allowed but the model has none"
            );
        }
        idle.unregister_sleeper(0);
        producer.join().unwrap();
    });
}

/// The idle protocol with the real global queue in place of a flag: a task pushed to the
/// `Inject` queue from outside (its length hint written Release under the lock) while a
/// worker registers as a sleeper and re-checks `is_empty()` (an Acquire load after the
/// sleeper fence). The worker sees the task or is unparked, and the task is popped once.
#[test]
fn inject_push_vs_sleeper_recheck() {
    loom::model(|| {
        let s = Mock::new();
        let _h = s.spawn(async {});
        let task = s.queue.lock().unwrap().pop_front().unwrap();
        let idle = Arc::new(Idle::new(2));
        let inject = Arc::new(Inject::new());
        let mut parker = ThreadParker::new();
        let unpark = parker.unpark();
        let (idle2, inject2) = (idle.clone(), inject.clone());
        let producer = thread::spawn(move || {
            assert!(inject2.push(task));
            if let Some(id) = idle2.worker_to_notify() {
                assert_eq!(id, 0);
                unpark.unpark();
            }
        });
        idle.register_sleeper(0);
        idle.fence_before_recheck();
        if inject.is_empty() {
            parker.park();
            assert!(
                !inject.is_empty(),
                "unparked, but the pushed task is not visible"
            );
        }
        idle.unregister_sleeper(0);
        producer.join().unwrap();
        let popped = inject.pop().expect("the pushed task is in the queue");
        assert!(inject.pop().is_none());
        drop(popped);
        s.shutdown();
    });
}

/// The driver hand-off (`handoff.rs`): `unpark_worker`'s side races a worker that has
/// locked the driver and is about to block in it. A `ThreadParker` stands for the driver,
/// so a lost wake leaves the worker parked forever, which loom reports as a deadlock. The
/// worker either sees `unparked` and does not block, or blocks and is unparked; afterwards
/// it consumes the flag and releases the driver as `Core::sleep` does.
#[test]
fn driver_handoff_never_loses_a_wake() {
    loom::model(|| {
        let w = Arc::new(worker_shared());
        let holder = Arc::new(AtomicUsize::new(0));
        let mut driver = ThreadParker::new();
        let driver_unpark = driver.unpark();
        let (w2, holder2) = (w.clone(), holder.clone());
        let waker = thread::spawn(move || {
            if handoff::wake(&w2.unparked, &holder2, 1) {
                driver_unpark.unpark();
            }
        });
        if handoff::claim_driver(&w.unparked, &holder, 1) {
            driver.park();
        }
        handoff::release_driver(&holder);
        handoff::consume_unpark(&w.unparked);
        waker.join().unwrap();
    });
}

/// Counts the futures dropped, for the shutdown model.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Last one out: two workers shut down at once, each dropping what its own queue holds; the
/// one whose `running_workers` decrement reaches zero cancels every task in the owned list
/// and closes the inject queue. Whatever the interleaving, every task's future is dropped
/// exactly once and a spawn afterwards is cancelled at once.
#[test]
fn last_worker_out_cancels_every_task() {
    loom::model(|| {
        let (shared, _parkers) = Shared::new(2, ThreadParker::new(), None);
        let dropped = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for _ in 0..2 {
            let count = DropCount(dropped.clone());
            handles.push(Shared::spawn(
                &shared,
                crate::task::TaskBuilder::new(),
                async move {
                    let _count = count;
                    std::future::pending::<()>().await;
                },
                std::panic::Location::caller(),
            ));
        }
        // One task waits in worker 0's queue, the other in the inject queue.
        let first = shared.inject.pop().expect("spawned from outside: injected");
        // SAFETY: no worker thread exists; this thread is worker 0 for the whole model.
        unsafe { shared.workers[0].queue.push(first, &shared.inject) };
        let other = shared.clone();
        let worker1 = thread::spawn(move || worker::shut_down_worker(&other, 1));
        worker::shut_down_worker(&shared, 0);
        worker1.join().unwrap();
        assert_eq!(
            dropped.load(SeqCst),
            2,
            "every task's future was dropped once"
        );
        assert!(handles.iter().all(|h| h.is_finished()));
        let late = Shared::spawn(
            &shared,
            crate::task::TaskBuilder::new(),
            async {},
            std::panic::Location::caller(),
        );
        assert!(
            late.is_finished(),
            "a spawn after shutdown is cancelled at once"
        );
    });
}

/// The two-worker whole-loop model's settings: one preemption, not the suite's three,
/// unless `EDDY_LOOM_DEEP` is set. Three threads running real worker loops (two workers and
/// the `block_on` thread) at three preemptions ran for more than 15 minutes without
/// finishing, and at two for more than 10; at one they finish in seconds.
fn two_worker_model() -> loom::model::Builder {
    let mut builder = loom::model::Builder::new();
    if std::env::var_os("EDDY_LOOM_DEEP").is_none() {
        builder.preemption_bound = Some(1);
    }
    builder
}

/// Spawns a task that yields once from outside the runtime, waits for it with `block_on`,
/// then drops the runtime.
fn spawn_wait_and_drop(workers: usize) {
    let rt = MultiThread::builder().worker_threads(workers).build();
    let h = rt.spawn(async {
        YieldOnce(false).await;
        7
    });
    assert_eq!(rt.block_on(h).expect("the task is not cancelled"), 7);
    drop(rt);
}

/// A future that returns `Pending` once, waking itself first (a yield), then `Ready`.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// The worker loop as a whole, on a real worker parking in a `ThreadParker` driver: a
/// task spawned from outside (inject queue, `notify_one`, the sleeping worker unparked in
/// the driver through the hand-off) yields once (`schedule_local` puts a self-wake at the
/// back of the worker's own queue), completes, and wakes the `block_on` waiting on its
/// `JoinHandle`; then dropping the runtime sets `shutdown`, and the worker, in whatever
/// state it is (searching, registering as a sleeper, parked in the driver), sees it and
/// exits. A lost wake anywhere leaves a thread parked for ever: a loom deadlock.
#[test]
fn whole_loop_runs_an_injected_task_then_shuts_down() {
    loom::model(|| spawn_wait_and_drop(1));
}

/// The same with two workers, so that the second searches, steals or parks on its own
/// parker while the first holds the driver (at one preemption; see `two_worker_model`).
#[test]
fn whole_loop_with_two_workers_runs_a_task_then_shuts_down() {
    two_worker_model().check(|| spawn_wait_and_drop(2));
}

/// The scheduler's `shutdown` flag on its own: a two-worker runtime dropped at once, while
/// its workers are still starting, searching, registering as sleepers or parked.
/// `MultiThread::drop` stores the flag before it unparks each worker; a worker reads it at
/// the top of its loop, between search rounds and after the sleeper fence. Every worker
/// exits, so `drop`'s joins return (a worker that missed the flag would park for ever).
#[test]
fn shutdown_reaches_every_worker_state() {
    loom::model(|| drop(MultiThread::builder().worker_threads(2).build()));
}

/// The driver hand-off with history, as `Core::sleep` runs it a second time: the worker
/// was woken once already (its `unparked` is still `true`), consumes that wake, fences and
/// rechecks for work as a sleeper does, then claims the driver; meanwhile a producer
/// publishes work and wakes the worker again. The second wake must not be lost: the worker
/// sees the work, or sees the flag, or the waker sees it holding the driver. With
/// `consume_unpark` a plain store, the clear may land after the second wake's `true` in
/// the flag's modification order and erase it, and all three miss (the bug
/// `whole_loop_runs_an_injected_task_then_shuts_down` found).
#[test]
fn a_wake_racing_the_consume_of_the_last_one_is_not_lost() {
    loom::model(|| {
        let w = Arc::new(worker_shared());
        w.unparked.store(true, SeqCst);
        let holder = Arc::new(AtomicUsize::new(0));
        let work = Arc::new(AtomicBool::new(false));
        let (w2, holder2, work2) = (w.clone(), holder.clone(), work.clone());
        let worker = thread::spawn(move || {
            handoff::consume_unpark(&w2.unparked);
            crate::loom::sync::atomic::fence(SeqCst);
            if work2.load(SeqCst) {
                return false;
            }
            // The driver is not released here: a worker that blocks releases it only
            // once it is unparked, and a waker reading that release is too late.
            handoff::claim_driver(&w2.unparked, &holder2, 1)
        });
        work.store(true, SeqCst);
        let unparks_driver = handoff::wake(&w.unparked, &holder, 1);
        let blocks = worker.join().unwrap();
        assert!(
            !blocks || unparks_driver,
            "the worker blocked in the driver and the wake did not unpark it"
        );
    });
}
