//! `abort` in every state: pending, scheduled, running (from itself, another task, another
//! thread, twice), finished.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use eddy_executor::current_thread::spawn_local;
use eddy_executor::{CurrentThread, JoinError};

use crate::support::{DropCounter, Gate, yield_times};

#[test]
fn abort_pending_task_drops_future_promptly() {
    let rt = CurrentThread::new();
    let counter = DropCounter::default();
    let token = counter.token();
    let gate = Gate::default();
    let g = gate.clone();
    let h = rt.spawn(async move {
        g.wait().await;
        drop(token);
        unreachable!("an aborted task is never polled again");
    });
    rt.block_on(yield_times(1));
    assert!(gate.has_waiter());
    h.abort();
    // The future is dropped on the task's own scheduler, at its next turn.
    assert_eq!(counter.dropped(), 0);
    rt.block_on(yield_times(1));
    assert_eq!(counter.dropped(), 1);
    gate.open();
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
}

#[test]
fn abort_scheduled_task_never_polls_it() {
    let rt = CurrentThread::new();
    let polled = Arc::new(AtomicBool::new(false));
    let p = polled.clone();
    let h = rt.spawn(async move { p.store(true, Ordering::SeqCst) });
    h.abort();
    let err = rt.block_on(h).unwrap_err();
    assert!(matches!(err, JoinError::Cancelled));
    assert!(!polled.load(Ordering::SeqCst));
}

#[test]
fn abort_from_inside_the_task_itself() {
    let rt = CurrentThread::new();
    let counter = DropCounter::default();
    let token = counter.token();
    let slot: Arc<std::sync::Mutex<Option<eddy_executor::AbortHandle>>> = Default::default();
    let s = slot.clone();
    let h = rt.spawn(async move {
        let me = s.lock().unwrap().take().unwrap();
        me.abort();
        me.abort();
        // Still running: the abort takes effect when this poll returns Pending.
        yield_times(1).await;
        drop(token);
        unreachable!("aborted during its own poll");
    });
    *slot.lock().unwrap() = Some(h.abort_handle());
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
    assert_eq!(counter.dropped(), 1);
}

#[test]
fn abort_from_another_task_and_twice() {
    let rt = CurrentThread::new();
    let out = rt.block_on(async {
        let victim = spawn_local(std::future::pending::<()>());
        let ah = victim.abort_handle();
        spawn_local(async move {
            ah.abort();
            ah.abort();
        })
        .await
        .unwrap();
        victim.abort();
        victim.await
    });
    assert!(out.unwrap_err().is_cancelled());
}

#[test]
fn abort_from_another_thread_while_running() {
    let rt = CurrentThread::new();
    let started = Arc::new(AtomicBool::new(false));
    let s = started.clone();
    let h = rt.spawn(async move {
        s.store(true, Ordering::SeqCst);
        // Busy inside one poll while the other thread aborts.
        std::thread::sleep(Duration::from_millis(50));
        yield_times(1).await;
        unreachable!("aborted while running");
    });
    let ah = h.abort_handle();
    let th = std::thread::spawn(move || {
        while !started.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        ah.abort();
        ah.abort();
    });
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
    th.join().unwrap();
}

#[test]
fn abort_from_another_thread_while_idle() {
    let rt = CurrentThread::new();
    let h = rt.spawn(std::future::pending::<()>());
    rt.block_on(yield_times(1));
    let ah = h.abort_handle();
    std::thread::spawn(move || ah.abort()).join().unwrap();
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
}

#[test]
fn abort_finished_task_keeps_output() {
    let rt = CurrentThread::new();
    let h = rt.spawn(async { 5 });
    rt.block_on(yield_times(1));
    assert!(h.is_finished());
    h.abort();
    assert_eq!(rt.block_on(h).unwrap(), 5);
}

#[test]
fn task_that_finishes_in_the_aborted_poll_keeps_output() {
    let rt = CurrentThread::new();
    let slot: Arc<std::sync::Mutex<Option<eddy_executor::AbortHandle>>> = Default::default();
    let s = slot.clone();
    let h = rt.spawn(async move {
        s.lock().unwrap().take().unwrap().abort();
        "done"
    });
    *slot.lock().unwrap() = Some(h.abort_handle());
    assert_eq!(rt.block_on(h).unwrap(), "done");
}

#[test]
fn dropping_join_handle_detaches() {
    let rt = CurrentThread::new();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    drop(rt.spawn(async move {
        yield_times(2).await;
        r.store(true, Ordering::SeqCst);
    }));
    rt.block_on(yield_times(5));
    assert!(ran.load(Ordering::SeqCst));
    assert_eq!(rt.live_tasks(), 0);
}
