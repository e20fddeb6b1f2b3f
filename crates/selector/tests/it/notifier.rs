//! The notifier wakes a `select` blocked in another thread, and its wakes coalesce.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use eddy_selector::{Events, Selector};

use crate::support::{PATIENCE, quiet};

#[test]
fn wakes_a_select_blocked_in_another_thread() {
    let selector = Selector::new().unwrap();
    let notifier = selector.notifier();
    let (entered, wait_entered) = mpsc::channel();
    let waiter = thread::spawn(move || {
        let mut events = Events::with_capacity(8);
        entered.send(()).unwrap();
        let started = Instant::now();
        // No timeout: only the notifier can end this wait.
        selector.select(&mut events, None).unwrap();
        (events.is_notified(), events.len(), started.elapsed())
    });
    wait_entered.recv().unwrap();
    thread::sleep(Duration::from_millis(20));
    notifier.notify().unwrap();
    let (notified, len, _) = waiter.join().unwrap();
    assert!(notified, "select returned without the notification");
    assert_eq!(len, 0, "notifier wakes are not listed as events");
}

#[test]
fn a_notification_before_select_is_kept() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    selector.notifier().notify().unwrap();
    selector.select(&mut events, Some(PATIENCE)).unwrap();
    assert!(events.is_notified());
}

#[test]
fn many_wakes_coalesce_into_one() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let notifier = selector.notifier();
    thread::scope(|s| {
        for _ in 0..4 {
            let notifier = notifier.clone();
            s.spawn(move || {
                for _ in 0..250 {
                    notifier.notify().unwrap();
                }
            });
        }
    });
    selector.select(&mut events, Some(PATIENCE)).unwrap();
    assert!(events.is_notified());
    // A thousand wakes were one wake: nothing is left for the next call.
    assert!(quiet(&selector, &mut events).is_empty());
    assert!(!events.is_notified());
    // And the notifier still works afterwards.
    notifier.notify().unwrap();
    selector.select(&mut events, Some(PATIENCE)).unwrap();
    assert!(events.is_notified());
}

#[test]
fn notifier_outlives_its_selector() {
    let selector = Selector::new().unwrap();
    let notifier = selector.notifier();
    drop(selector);
    notifier.notify().unwrap();
}
