//! loom: the LIFO slot, the idle protocol and the driver hand-off of the multi-thread
//! scheduler.

use std::ptr;

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
