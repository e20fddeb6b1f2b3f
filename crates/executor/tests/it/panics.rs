//! Panics inside tasks are contained and reported through `JoinError::Panicked`.

use eddy_executor::current_thread::spawn_local;
use eddy_executor::{CurrentThread, JoinError};

use crate::support::{DropCounter, yield_times};

#[test]
fn panic_in_poll_becomes_join_error_and_runtime_keeps_running() {
    let rt = CurrentThread::new();
    let counter = DropCounter::default();
    let token = counter.token();
    let out = rt.block_on(async move {
        let bad = spawn_local(async move {
            let _token = token;
            yield_times(1).await;
            panic!("boom");
        });
        let good = spawn_local(async { 1 });
        (bad.await, good.await)
    });
    let err = out.0.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.to_string(), "task panicked: boom");
    assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
    assert_eq!(out.1.unwrap(), 1);
    assert_eq!(counter.dropped(), 1, "the panicked future is dropped");
    assert_eq!(rt.live_tasks(), 0);
}

struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("drop boom");
    }
}

#[test]
fn panic_in_drop_during_cancel_is_contained() {
    let rt = CurrentThread::new();
    let h = rt.spawn(async {
        let _p = PanicOnDrop;
        std::future::pending::<()>().await;
    });
    rt.block_on(yield_times(1));
    h.abort();
    let err = rt.block_on(h).unwrap_err();
    assert!(matches!(err, JoinError::Panicked(_)));
    assert_eq!(rt.block_on(async { 3 }), 3);
}

#[test]
fn panic_in_drop_at_shutdown_is_contained() {
    let rt = CurrentThread::new();
    rt.spawn(async {
        let _p = PanicOnDrop;
        std::future::pending::<()>().await;
    });
    rt.block_on(yield_times(1));
    drop(rt);
}

#[test]
fn detached_panicking_task_does_not_disturb_others() {
    let rt = CurrentThread::new();
    drop(rt.spawn(async { panic!("nobody listens") }));
    assert_eq!(
        rt.block_on(async { spawn_local(async { 2 }).await.unwrap() }),
        2
    );
}

#[test]
#[should_panic(expected = "check is_panic")]
fn into_panic_on_cancelled_panics_with_advice() {
    let _ = JoinError::Cancelled.into_panic();
}
