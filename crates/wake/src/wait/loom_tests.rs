//! loom model of the wait slot's sequence lock: a dump reading a slot while its task's poll
//! rewrites it sees a whole record or none, never one record's operation with another's
//! resource or site.

use std::panic::Location;
use std::sync::Arc;

use loom::thread;

use super::{WaitKind, WaitOp, WaitSlot, enter, record};

static READ: WaitOp = WaitOp::new(WaitKind::Fd, "read");
static SLEEP: WaitOp = WaitOp::new(WaitKind::Timer, "sleep");

/// Each operation is only ever recorded with one object, so a torn read shows as a pair
/// that was never written.
fn object_of(op: &WaitOp) -> u64 {
    if std::ptr::eq(op, &READ) { 3 } else { 1_000 }
}

#[test]
fn a_read_racing_two_writes_is_whole_or_nothing() {
    loom::model(|| {
        let slot = Arc::new(WaitSlot::new());
        let (read_site, sleep_site) = (Location::caller(), Location::caller());
        let poller = {
            let slot = Arc::clone(&slot);
            thread::spawn(move || {
                {
                    let _poll = enter(&slot, 0);
                    record(&READ, 3, read_site);
                }
                let _poll = enter(&slot, 0);
                record(&SLEEP, 1_000, sleep_site);
            })
        };
        if let Some(r) = slot.read(0) {
            assert_eq!(r.object, object_of(r.op), "torn record");
        }
        poller.join().unwrap();
        let last = slot.read(0).expect("a quiet slot always reads");
        assert_eq!(last.op.name(), "sleep");
        assert_eq!(last.object, 1_000);
    });
}

#[test]
fn a_read_of_the_latest_poll_never_sees_an_older_polls_record() {
    loom::model(|| {
        let slot = Arc::new(WaitSlot::new());
        {
            let _poll = enter(&slot, 0);
            record(&READ, 3, Location::caller());
        }
        let poller = {
            let slot = Arc::clone(&slot);
            thread::spawn(move || {
                let _poll = enter(&slot, 1);
                record(&SLEEP, 1_000, Location::caller());
            })
        };
        // Asking for poll 1's record: poll 0's must never come back, whole or torn.
        if let Some(r) = slot.read(1) {
            assert_eq!((r.op.name(), r.object), ("sleep", 1_000));
        }
        poller.join().unwrap();
        assert_eq!(slot.read(1).map(|r| r.object), Some(1_000));
        assert!(slot.read(0).is_none(), "poll 0's record was replaced");
    });
}
