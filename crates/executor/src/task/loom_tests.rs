//! loom: the task state machine under every interleaving of wake, poll, abort and
//! `JoinHandle` poll/drop. Each model ends by checking the task completed exactly as it
//! should, and loom's leak check proves every task allocation's `Arc`s were released.

use std::task::Poll;

use super::mock::{Mock, SpawnMock, counting_waker, poll_join, trigger};
use super::*;
use crate::loom::sync::Arc;
use crate::loom::sync::atomic::Ordering::SeqCst;
use crate::loom::thread;

/// A wake from another thread racing with the poll that registers the waker: the task is
/// always polled again and completes (no lost wake-up).
#[test]
fn wake_vs_poll() {
    loom::model(|| {
        let s = Mock::new();
        let (trig, wait) = trigger();
        let h = s.spawn(wait);
        let th = thread::spawn(move || trig.fire());
        s.run_all();
        th.join().unwrap();
        s.run_all();
        assert!(h.is_finished());
    });
}

/// `abort` from another thread racing with a poll: the future is dropped exactly once, on
/// the scheduler's thread, and the joiner sees Cancelled (or the output, if it won).
#[test]
fn abort_vs_poll() {
    loom::model(|| {
        let s = Mock::new();
        let token = Arc::new(());
        let t = token.clone();
        let (trig, wait) = trigger();
        let mut h = s.spawn(async move {
            wait.await;
            drop(t);
        });
        let abort = h.abort_handle();
        let th = thread::spawn(move || abort.abort());
        s.run_all();
        th.join().unwrap();
        s.run_all();
        assert_eq!(Arc::strong_count(&token), 1);
        let (_, w) = counting_waker();
        assert!(matches!(
            poll_join(&mut h, &w),
            Poll::Ready(Err(JoinError::Cancelled))
        ));
        drop(trig);
    });
}

/// A wake and an abort racing each other on two threads while the task is idle: exactly
/// one queue entry runs the cancellation; the other is skipped.
#[test]
fn wake_vs_abort() {
    loom::model(|| {
        let s = Mock::new();
        let (trig, wait) = trigger();
        let h = s.spawn(async move {
            wait.await;
            std::future::pending::<()>().await;
        });
        s.run_all();
        let abort = h.abort_handle();
        let th = thread::spawn(move || trig.fire());
        abort.abort();
        th.join().unwrap();
        s.run_all();
        assert!(h.is_finished());
    });
}

/// The JoinHandle registers its waker (or reads the output) while another thread runs the
/// task to completion: if the first poll saw Pending, the completion wakes it.
#[test]
fn join_poll_vs_complete() {
    loom::model(|| {
        let s = Mock::new();
        let mut h = s.spawn(async { 7 });
        let s2 = s.clone();
        let th = thread::spawn(move || {
            s2.run_all();
        });
        let (count, w) = counting_waker();
        let first = poll_join(&mut h, &w);
        th.join().unwrap();
        match first {
            Poll::Ready(r) => assert_eq!(r.unwrap(), 7),
            Poll::Pending => {
                assert_eq!(count.wakes.load(SeqCst), 1);
                assert_eq!(poll_join(&mut h, &w).map(Result::unwrap), Poll::Ready(7));
            }
        }
    });
}

/// The JoinHandle is dropped while another thread completes the task: the output is
/// dropped exactly once (by whichever side owns it) and the task is freed.
#[test]
fn join_drop_vs_complete() {
    loom::model(|| {
        let s = Mock::new();
        let out = Arc::new(());
        let o = out.clone();
        let h = s.spawn(async move { o });
        let (_, w) = counting_waker();
        let mut h = h;
        // Register a join waker first, so drop also has to reclaim the slot.
        assert!(poll_join(&mut h, &w).is_pending());
        let s2 = s.clone();
        let th = thread::spawn(move || {
            s2.run_all();
        });
        drop(h);
        th.join().unwrap();
        assert_eq!(Arc::strong_count(&out), 1);
    });
}

/// `abort` from one thread while another drops the `JoinHandle` of an idle task: the future
/// is dropped exactly once and the task is freed (loom's leak check).
#[test]
fn abort_vs_join_drop() {
    loom::model(|| {
        let s = Mock::new();
        let token = Arc::new(());
        let t = token.clone();
        let (trig, wait) = trigger();
        let h = s.spawn(async move {
            wait.await;
            drop(t);
        });
        s.run_all();
        let abort = h.abort_handle();
        let th = thread::spawn(move || abort.abort());
        drop(h);
        th.join().unwrap();
        s.run_all();
        assert_eq!(Arc::strong_count(&token), 1);
        drop(trig);
    });
}

/// A wake from one thread while another drops the `JoinHandle`: the task still runs to
/// completion and, with nobody to read it, drops its own output.
#[test]
fn wake_vs_join_drop() {
    loom::model(|| {
        let s = Mock::new();
        let out = Arc::new(());
        let o = out.clone();
        let (trig, wait) = trigger();
        let h = s.spawn(async move {
            wait.await;
            o
        });
        s.run_all();
        let th = thread::spawn(move || trig.fire());
        drop(h);
        th.join().unwrap();
        s.run_all();
        assert_eq!(Arc::strong_count(&out), 1);
    });
}

/// A spawn from another thread racing the scheduler's shutdown (`OwnedTasks::bind` against
/// `close_and_drain`): the task is either drained and shut down or refused by the closed
/// list and cancelled on the spot. Either way its future is dropped and the joiner sees
/// `Cancelled`; a task listed after the drain would stay pending forever.
#[test]
fn spawn_vs_shutdown() {
    loom::model(|| {
        let s = Mock::new();
        let token = Arc::new(());
        let t = token.clone();
        let s2 = s.clone();
        let spawner = thread::spawn(move || {
            s2.spawn(async move {
                std::future::pending::<()>().await;
                drop(t);
            })
        });
        s.shutdown();
        let mut h = spawner.join().unwrap();
        // A `Notified` queued after the drain runs a cancelled task: it must not poll it.
        s.run_all();
        assert_eq!(Arc::strong_count(&token), 1, "the future outlived shutdown");
        let (_, w) = counting_waker();
        assert!(matches!(
            poll_join(&mut h, &w),
            Poll::Ready(Err(JoinError::Cancelled))
        ));
    });
}

/// A task completing on one thread while another shuts the scheduler down (`remove`
/// against `close_and_drain`): the list's reference is released exactly once, the output
/// is read or dropped exactly once, and the task is freed (loom's leak check).
#[test]
fn complete_vs_shutdown() {
    loom::model(|| {
        let s = Mock::new();
        let out = Arc::new(());
        let o = out.clone();
        let mut h = s.spawn(async move { o });
        let s2 = s.clone();
        let runner = thread::spawn(move || {
            s2.run_all();
        });
        s.shutdown();
        runner.join().unwrap();
        let (_, w) = counting_waker();
        match poll_join(&mut h, &w) {
            Poll::Ready(Ok(o)) => drop(o),
            Poll::Ready(Err(JoinError::Cancelled)) => {}
            other => panic!("expected the output or Cancelled, got {other:?}"),
        }
        drop(h);
        assert_eq!(Arc::strong_count(&out), 1);
    });
}

/// A `block_on` thread lists its main future, polls it twice and returns, while another
/// thread takes snapshots (`main_future.rs`): every snapshot sees main either absent or
/// named, with a poll count that never goes back, and the record is gone (and freed: loom's
/// leak check) once `block_on` has returned.
#[test]
fn main_future_vs_snapshot() {
    loom::model(|| {
        let list = Arc::new(OwnedTasks::new(1));
        let polling = {
            let list = list.clone();
            thread::spawn(move || {
                let main = list.enter_main(std::panic::Location::caller());
                for _ in 0..2 {
                    let me = main.poll(None, current_task_id);
                    let me = me.expect("a poll of main runs as a task");
                    assert_eq!(list.name(me).as_deref(), Some("main"));
                }
                assert_eq!(current_task_id(), None, "and only while it is polled");
            })
        };
        let mut seen = 0;
        for _ in 0..2 {
            for info in list.snapshot(None) {
                assert_eq!(info.name.as_deref(), Some("main"));
                assert!(!info.cancelled && !info.lost_wake);
                assert!(info.polls >= seen && info.polls <= 2, "{info:?}");
                // Main may have left since the snapshot: then it has no name.
                let name = list.name(info.id);
                assert!(matches!(name.as_deref(), Some("main") | None), "{name:?}");
                seen = info.polls;
            }
        }
        polling.join().unwrap();
        assert!(list.snapshot(None).is_empty());
        assert!(list.ids().is_empty());
        assert_eq!(list.len(), 0);
    });
}
