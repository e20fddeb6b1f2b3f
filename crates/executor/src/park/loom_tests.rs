//! loom: the parker never loses a wake-up.

use super::*;
use crate::loom::sync::Arc;
use crate::loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use crate::loom::thread;

/// An unpark racing with a park (before, during or after it) makes it return.
#[test]
fn unpark_vs_park_no_lost_wakeup() {
    loom::model(|| {
        let mut p = ThreadParker::new();
        let u = p.unpark();
        let th = thread::spawn(move || u.unpark());
        p.park();
        th.join().unwrap();
    });
}

/// The scheduler pattern: publish work, then unpark; the parker loops on "no work" and
/// must always see the work (the unpark's release pairs with the park's acquire).
#[test]
fn publish_then_unpark_is_seen() {
    loom::model(|| {
        let mut p = ThreadParker::new();
        let u = p.unpark();
        let work = Arc::new(AtomicBool::new(false));
        let w = work.clone();
        let th = thread::spawn(move || {
            w.store(true, SeqCst);
            u.unpark();
        });
        while !work.load(SeqCst) {
            p.park_timeout(std::time::Duration::from_millis(1));
        }
        th.join().unwrap();
    });
}
