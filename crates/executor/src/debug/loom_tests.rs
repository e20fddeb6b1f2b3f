//! loom model of the slot's sequence lock: the watchdog never reports a task with another
//! poll's location, and never misses that a poll is running.

use std::panic::Location;

use super::slot::{Seen, Slot};
use crate::loom::sync::Arc;
use crate::loom::thread;

fn here() -> &'static Location<'static> {
    Location::caller()
}

fn there() -> &'static Location<'static> {
    Location::caller()
}

/// A thread polls task 1 (location A) then task 2 (location B) while the watchdog reads:
/// every consistent read pairs each task with its own location.
#[test]
fn reads_are_never_torn() {
    loom::model(|| {
        let (a, b) = (here(), there());
        let slot = Arc::new(Slot::new("worker".to_owned()));
        let poller = {
            let slot = slot.clone();
            thread::spawn(move || {
                let seq = slot.begin(1, a);
                slot.end(seq);
                let seq = slot.begin(2, b);
                slot.end(seq);
            })
        };
        for _ in 0..2 {
            match slot.read() {
                Seen::Polling {
                    task: 1,
                    location,
                    seq,
                } => {
                    assert!(std::ptr::eq(location, a));
                    assert_eq!(seq, 1);
                }
                Seen::Polling {
                    task: 2,
                    location,
                    seq,
                } => {
                    eprintln!("saw 2 at {seq}");
                    assert!(std::ptr::eq(location, b));
                    assert_eq!(seq, 3);
                }
                Seen::Polling { task, .. } => panic!("task {task} was never polled"),
                Seen::Idle | Seen::Torn => {}
            }
        }
        poller.join().unwrap();
        assert_eq!(slot.read(), Seen::Idle);
    });
}

/// A read after `begin` returned, ordered by a join, sees the poll.
#[test]
fn a_running_poll_is_seen() {
    loom::model(|| {
        let slot = Arc::new(Slot::new("worker".to_owned()));
        let poller = {
            let slot = slot.clone();
            thread::spawn(move || {
                let seq = slot.begin(7, here());
                (slot, seq)
            })
        };
        let (slot, seq) = poller.join().unwrap();
        assert!(matches!(
            slot.read(),
            Seen::Polling {
                task: 7,
                seq: 1,
                ..
            }
        ));
        slot.end(seq);
        assert_eq!(slot.read(), Seen::Idle);
    });
}
