//! loom models of the driver's cross-thread path: a timer registered, re-polled or dropped on
//! one thread while the driver's thread fires, and the unpark rule around parking.

use std::sync::Arc;
use std::task::Context;
use std::time::Duration;

use loom::sync::atomic::AtomicUsize;
use loom::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use loom::thread;

use eddy_wake::loom::counting_waker;

use crate::{Clock, Driver, ManualClock, Sleep};

const MS: Duration = Duration::from_millis(1);

/// A driver on a manual clock that already reads one tick past a 1 ms deadline's start.
fn setup() -> (Driver, ManualClock, std::time::Instant) {
    let clock = ManualClock::new();
    let start = clock.now();
    let driver = Driver::builder().clock(clock.clone()).build();
    clock.advance(MS);
    (driver, clock, start + MS)
}

#[test]
fn register_racing_process_never_loses_the_timer() {
    loom::model(|| {
        let (mut driver, _clock, deadline) = setup();
        let handle = driver.handle();
        let (woken, waker) = counting_waker();
        let t = thread::spawn(move || {
            let mut sleep = Sleep::new_in(Some(handle), deadline);
            let ready = sleep
                .poll_elapsed(&mut Context::from_waker(&waker))
                .is_ready();
            (sleep, ready, waker)
        });
        driver.process();
        let (mut sleep, ready_at_once, waker) = t.join().unwrap();
        if !ready_at_once {
            // Registered before the driver fired: the driver woke it, and it is done now.
            assert_eq!(woken.0.load(Relaxed), 1, "registered timer was not woken");
            assert!(
                sleep
                    .poll_elapsed(&mut Context::from_waker(&waker))
                    .is_ready()
            );
        }
        assert!(driver.is_empty());
    });
}

#[test]
fn drop_racing_process_fires_or_cancels_exactly_once() {
    loom::model(|| {
        let (mut driver, _clock, deadline) = setup();
        let handle = driver.handle();
        let (woken, waker) = counting_waker();
        let t = thread::spawn(move || {
            let mut sleep = Sleep::new_in(Some(handle), deadline);
            let _ = sleep.poll_elapsed(&mut Context::from_waker(&waker));
            drop(sleep);
        });
        let fired = driver.process();
        t.join().unwrap();
        assert!(fired <= 1);
        assert_eq!(woken.0.load(Relaxed), fired, "woken iff fired");
        assert!(driver.is_empty(), "the entry is gone either way");
    });
}

#[test]
fn repoll_with_a_new_waker_racing_process_wakes_a_current_waker() {
    loom::model(|| {
        let (mut driver, clock, deadline) = setup();
        let handle = driver.handle();
        let (woken_first, first) = counting_waker();
        let (woken_second, second) = counting_waker();
        let mut sleep = Sleep::new_in(Some(handle), deadline + MS);
        assert!(
            sleep
                .poll_elapsed(&mut Context::from_waker(&first))
                .is_pending()
        );
        let t = thread::spawn(move || {
            // The task moved to another thread and polls with its new waker.
            let ready = sleep
                .poll_elapsed(&mut Context::from_waker(&second))
                .is_ready();
            (ready, sleep)
        });
        // Deadline is 2 ms; the clock reads 1 ms, then 2 ms.
        clock.advance(MS);
        let fired = driver.process();
        let (ready, _sleep) = t.join().unwrap();
        assert_eq!(fired, 1);
        let (a, b) = (woken_first.0.load(Relaxed), woken_second.0.load(Relaxed));
        assert_eq!(a + b, 1, "exactly one wake");
        // If the re-poll came first it saw Pending and swapped in its waker, which must be
        // the one woken; if the fire came first, the re-poll sees Ready.
        assert!(
            ready || b == 1,
            "the stale waker got the wake after the swap"
        );
    });
}

#[test]
fn a_new_earliest_timer_from_another_thread_is_seen_or_unparks() {
    loom::model(|| {
        let (driver, _clock, deadline) = setup();
        let unparked = Arc::new(AtomicUsize::new(0));
        {
            let unparked = Arc::clone(&unparked);
            driver.set_unpark(move || {
                unparked.fetch_add(1, Release);
            });
        }
        let handle = driver.handle();
        let t = thread::spawn(move || {
            let (_, waker) = counting_waker();
            let mut sleep = Sleep::new_in(Some(handle), deadline + MS);
            assert!(
                sleep
                    .poll_elapsed(&mut Context::from_waker(&waker))
                    .is_pending()
            );
            sleep
        });
        // The driver's thread decides how long to park.
        let timeout = driver.next_timeout();
        let _sleep = t.join().unwrap();
        let unparks = unparked.load(Acquire);
        assert!(unparks <= 1);
        assert!(
            timeout.is_some() || unparks == 1,
            "parked without a timeout and nobody unparked it"
        );
    });
}
