//! The manual clock reads only what it was told; no test waits on the wall clock.

use super::*;

#[test]
fn manual_clock_is_monotonic_and_saturates() {
    let clock = ManualClock::new();
    let t0 = clock.now();
    clock.set(t0 - Duration::from_secs(1));
    assert_eq!(clock.now(), t0, "set never moves the clock backwards");
    clock.advance(Duration::MAX);
    assert!(
        clock.now() > t0,
        "advance(Duration::MAX) saturates instead of panicking"
    );
}
