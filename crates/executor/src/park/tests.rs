//! The default parker: remembered wakes, timeouts, cross-thread unpark.

use std::time::{Duration, Instant};

use super::*;

#[test]
fn unpark_before_park_is_remembered() {
    let mut p = ThreadParker::new();
    let u = p.unpark();
    u.unpark();
    u.unpark();
    // Returns at once, and the two unparks coalesce into one.
    p.park();
    let start = Instant::now();
    p.park_timeout(Duration::from_millis(20));
    assert!(start.elapsed() >= Duration::from_millis(20));
}

#[test]
fn zero_timeout_only_polls() {
    let mut p = ThreadParker::new();
    let start = Instant::now();
    p.park_timeout(Duration::ZERO);
    assert!(start.elapsed() < Duration::from_secs(1));
    p.unpark().unpark();
    p.park_timeout(Duration::ZERO);
}

#[test]
fn unpark_from_another_thread_wakes_park() {
    let mut p = ThreadParker::new();
    let u = p.unpark();
    let th = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        u.unpark();
    });
    p.park();
    th.join().unwrap();
}
