//! Small current-thread scenarios, sized for Miri.

use std::rc::Rc;

use super::*;

#[test]
fn block_on_spawn_and_join() {
    let rt = CurrentThread::new();
    let out = rt.block_on(async {
        let a = spawn_local(async { 1 });
        let b = spawn_local(async {
            crate::yield_now().await;
            2
        });
        a.await.unwrap() + b.await.unwrap()
    });
    assert_eq!(out, 3);
    assert_eq!(rt.live_tasks(), 0);
}

#[test]
fn not_send_task_and_shutdown_with_pending_tasks() {
    let rt = CurrentThread::new();
    let rc = Rc::new(());
    let r = rc.clone();
    let h = rt.spawn_local(async move {
        let _r = r;
        std::future::pending::<()>().await;
    });
    rt.block_on(crate::yield_now());
    drop(rt);
    assert_eq!(Rc::strong_count(&rc), 1);
    assert!(h.is_finished());
}

#[test]
fn wake_from_another_thread() {
    let rt = CurrentThread::new();
    let (trig, wait) = crate::task::mock::trigger();
    let h = rt.spawn(wait);
    let th = std::thread::spawn(move || trig.fire());
    rt.block_on(h).unwrap();
    th.join().unwrap();
}
