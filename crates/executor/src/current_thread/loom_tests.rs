//! loom: a wake from another thread goes through the inject queue and the driver's unpark
//! and is never lost, whatever the interleaving with the scheduler's park.

use super::*;
use crate::loom::thread;
use crate::task::mock::trigger;

#[test]
fn remote_wake_via_inject_queue() {
    loom::model(|| {
        let rt = CurrentThread::new();
        let (trig, wait) = trigger();
        let h = rt.spawn(wait);
        let th = thread::spawn(move || trig.fire());
        rt.block_on(h).unwrap();
        th.join().unwrap();
    });
}

#[test]
fn remote_spawn_via_inject_queue() {
    loom::model(|| {
        let rt = CurrentThread::new();
        let handle = rt.handle();
        let (trig, wait) = trigger();
        let th = thread::spawn(move || {
            drop(handle.spawn(async move { trig.fire() }));
        });
        rt.block_on(wait);
        th.join().unwrap();
    });
}
