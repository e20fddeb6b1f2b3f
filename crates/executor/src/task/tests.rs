//! Unit tests of the raw task, its wakers and `JoinHandle` against a hand-driven scheduler.
//! They are small on purpose: Miri runs them (`cargo xtask miri`).

use std::task::{Poll, Waker};

use super::mock::{Mock, SpawnMock, counting_waker, poll_join, trigger};
use super::*;
use crate::loom::sync::atomic::Ordering::SeqCst;

#[test]
fn spawn_run_join() {
    let s = Mock::new();
    let mut h = s.spawn(async { 5 });
    let (_, w) = counting_waker();
    assert_eq!(s.run_all(), 1);
    assert!(h.is_finished());
    assert!(matches!(poll_join(&mut h, &w), Poll::Ready(Ok(5))));
    assert_eq!(s.owned.len(), 0);
}

#[test]
fn join_waker_is_woken_on_completion() {
    let s = Mock::new();
    let (trig, wait) = trigger();
    let mut h = s.spawn(async move {
        wait.await;
        "out".to_owned()
    });
    let (count, w) = counting_waker();
    assert!(poll_join(&mut h, &w).is_pending());
    // Same waker again: no re-registration needed.
    assert!(poll_join(&mut h, &w).is_pending());
    s.run_all();
    assert_eq!(count.wakes.load(SeqCst), 0);
    trig.fire();
    assert_eq!(s.run_all(), 1);
    assert_eq!(count.wakes.load(SeqCst), 1);
    assert!(matches!(poll_join(&mut h, &w), Poll::Ready(Ok(ref v)) if v == "out"));
}

#[test]
fn join_waker_can_be_replaced() {
    let s = Mock::new();
    let (trig, wait) = trigger();
    let mut h = s.spawn(wait);
    let (first, w1) = counting_waker();
    let (second, w2) = counting_waker();
    assert!(poll_join(&mut h, &w1).is_pending());
    assert!(poll_join(&mut h, &w2).is_pending());
    s.run_all();
    trig.fire();
    s.run_all();
    assert_eq!(first.wakes.load(SeqCst), 0);
    assert_eq!(second.wakes.load(SeqCst), 1);
    assert!(poll_join(&mut h, &w2).is_ready());
}

#[test]
fn wake_clone_and_drop_wakers() {
    let s = Mock::new();
    let stash: crate::loom::sync::Arc<crate::loom::sync::Mutex<Vec<Waker>>> = Default::default();
    let st = stash.clone();
    let mut polls = 0;
    let h = s.spawn(std::future::poll_fn(move |cx| {
        polls += 1;
        if polls == 3 {
            return Poll::Ready(polls);
        }
        let w = cx.waker().clone();
        st.lock().unwrap().push(w.clone());
        st.lock().unwrap().push(w);
        Poll::Pending
    }));
    s.run_all();
    let wakers: Vec<_> = stash.lock().unwrap().drain(..).collect();
    // Waking twice queues the task once.
    wakers[0].wake_by_ref();
    wakers[1].wake_by_ref();
    assert_eq!(s.queue.lock().unwrap().len(), 1);
    drop(wakers);
    s.run_all();
    let wakers: Vec<_> = stash.lock().unwrap().drain(..).collect();
    let mut it = wakers.into_iter();
    it.next().unwrap().wake();
    it.next().unwrap().wake();
    s.run_all();
    let (_, w) = counting_waker();
    let mut h = h;
    assert!(matches!(poll_join(&mut h, &w), Poll::Ready(Ok(3))));
}

#[test]
fn wake_during_poll_requeues_after_poll() {
    let s = Mock::new();
    let mut first = true;
    let h = s.spawn(std::future::poll_fn(move |cx| {
        if first {
            first = false;
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }));
    assert_eq!(s.run_all(), 2);
    assert!(h.is_finished());
}

#[test]
fn wake_after_complete_is_a_noop() {
    let s = Mock::new();
    let stash: crate::loom::sync::Arc<crate::loom::sync::Mutex<Option<Waker>>> = Default::default();
    let st = stash.clone();
    drop(s.spawn(std::future::poll_fn(move |cx| {
        *st.lock().unwrap() = Some(cx.waker().clone());
        Poll::Ready(())
    })));
    s.run_all();
    let w = stash.lock().unwrap().take().unwrap();
    w.wake_by_ref();
    w.wake();
    assert_eq!(s.run_all(), 0);
}

#[test]
fn abort_idle_queued_and_complete() {
    let s = Mock::new();
    let (_trig, wait) = trigger();
    let mut idle = s.spawn(wait);
    s.run_all();
    let mut queued = s.spawn(async { 1 });
    let mut done = s.spawn(async { 2 });
    s.queue.lock().unwrap().pop_back().unwrap().run();
    idle.abort();
    idle.abort();
    queued.abort();
    done.abort();
    s.run_all();
    let (_, w) = counting_waker();
    assert!(matches!(
        poll_join(&mut idle, &w),
        Poll::Ready(Err(JoinError::Cancelled))
    ));
    assert!(matches!(
        poll_join(&mut queued, &w),
        Poll::Ready(Err(JoinError::Cancelled))
    ));
    assert!(matches!(poll_join(&mut done, &w), Poll::Ready(Ok(2))));
}

#[test]
fn panic_is_captured() {
    let s = Mock::new();
    let mut h = s.spawn(async { panic!("unit boom") });
    s.run_all();
    let (_, w) = counting_waker();
    match poll_join(&mut h, &w) {
        Poll::Ready(Err(e)) => assert_eq!(e.to_string(), "task panicked: unit boom"),
        other => panic!("unexpected {:?}", other.map(|r| r.map(|_| ()))),
    }
}

#[test]
fn join_handle_drop_before_and_after_completion_frees_output() {
    let s = Mock::new();
    let out = crate::loom::sync::Arc::new(());
    let o = out.clone();
    drop(s.spawn(async move { o }));
    s.run_all();
    let o = out.clone();
    let h = s.spawn(async move { o });
    s.run_all();
    drop(h);
    assert_eq!(crate::loom::sync::Arc::strong_count(&out), 1);
}

#[test]
fn shutdown_drops_pending_futures() {
    let s = Mock::new();
    let token = crate::loom::sync::Arc::new(());
    let (trig, wait) = trigger();
    let t = token.clone();
    let mut parked = s.spawn(async move {
        wait.await;
        drop(t);
    });
    let t = token.clone();
    drop(s.spawn(async move { drop(t) }));
    s.run_all();
    let t = token.clone();
    let mut queued = s.spawn(async move { drop(t) });
    s.shutdown();
    assert_eq!(crate::loom::sync::Arc::strong_count(&token), 1);
    trig.fire();
    let (_, w) = counting_waker();
    assert!(matches!(
        poll_join(&mut parked, &w),
        Poll::Ready(Err(JoinError::Cancelled))
    ));
    assert!(matches!(
        poll_join(&mut queued, &w),
        Poll::Ready(Err(JoinError::Cancelled))
    ));
    // Binding after shutdown cancels at once.
    let mut late = s.spawn(async { 1 });
    assert!(matches!(
        poll_join(&mut late, &w),
        Poll::Ready(Err(JoinError::Cancelled))
    ));
}

#[test]
fn snapshot_reports_states() {
    let s = Mock::new();
    let (trig, wait) = trigger();
    let a = s.spawn(wait);
    assert_eq!(s.owned.snapshot(None)[0].state, TaskState::Scheduled);
    s.run_all();
    let info = &s.owned.snapshot(None)[0];
    assert_eq!(
        (info.state, info.polls, info.id),
        (TaskState::Idle, 1, a.id())
    );
    a.abort();
    assert!(s.owned.snapshot(None)[0].cancelled);
    s.run_all();
    assert!(s.owned.snapshot(None).is_empty());
    drop(trig);
}

#[test]
fn header_fits_a_cache_line() {
    assert!(std::mem::size_of::<raw::Header>() <= 64);
}

#[test]
fn idle_task_is_128_bytes_beyond_its_future() {
    type Idle = raw::Cell<std::future::Pending<()>, crate::loom::sync::Arc<Mock>>;
    // Header 56 + scheduler 8 + wait record 32 + join waker 16 + stage 16
    // (docs/executor.md). Those are 64-bit sizes; on a 32-bit target pointers halve but the
    // 64-bit state word and ids do not, so there the sizes are bounds rather than exact
    // figures.
    if cfg!(target_pointer_width = "64") {
        assert_eq!(std::mem::size_of::<raw::Header>(), 56);
        assert_eq!(std::mem::size_of::<Idle>(), 128);
    } else {
        assert!(std::mem::size_of::<raw::Header>() <= 56);
        assert!(std::mem::size_of::<Idle>() <= 128);
    }
}

/// `Debug` asks the scheduler for the name through the vtable: shown while the task lives,
/// gone once it completed (its list forgets it).
#[test]
fn join_handle_debug_shows_id_name_and_finished() {
    let s = Mock::new();
    let (h, notified) = s.owned.bind(
        async { 1 },
        s.clone(),
        TaskBuilder::new().name("named"),
        std::panic::Location::caller(),
    );
    s.schedule(notified.unwrap());
    let shown = format!("{h:?}");
    assert!(
        shown.contains(&format!("id: {:?}", h.id()))
            && shown.contains("name: \"named\"")
            && shown.contains("finished: false"),
        "{shown}"
    );
    assert!(format!("{:?}", h.abort_handle()).contains("\"named\""));
    s.run_all();
    let shown = format!("{h:?}");
    assert!(
        !shown.contains("name") && shown.contains("finished: true"),
        "{shown}"
    );
}
