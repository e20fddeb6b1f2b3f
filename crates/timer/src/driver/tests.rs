//! Tick arithmetic: rounding that never fires early, and saturation at the edges.

use std::time::{Duration, Instant};

use super::*;
use crate::ManualClock;

fn inner_with_tick(tick: Duration) -> (Driver, Instant) {
    let clock = ManualClock::new();
    let start = clock.now();
    (Driver::builder().clock(clock).tick(tick).build(), start)
}

#[test]
fn deadlines_round_up_and_now_rounds_down() {
    let (driver, start) = inner_with_tick(Duration::from_micros(300));
    let inner = &driver.handle.inner;
    let us = Duration::from_micros;
    assert_eq!(inner.deadline_tick(start), 0);
    assert_eq!(inner.deadline_tick(start + us(1)), 1);
    assert_eq!(inner.deadline_tick(start + us(300)), 1);
    assert_eq!(inner.deadline_tick(start + us(301)), 2);
    assert_eq!(inner.now_tick(start + us(299)), 0);
    assert_eq!(inner.now_tick(start + us(300)), 1);
    // Before the driver's start: tick 0 (already due), not an underflow.
    assert_eq!(inner.deadline_tick(start - us(5)), 0);
    // So a deadline's tick is reached only once the deadline itself is.
    for d in 0..2_000u64 {
        let deadline = start + Duration::from_nanos(d * 997);
        let tick = inner.deadline_tick(deadline);
        let first_firing = start + Duration::from_nanos(tick * inner.tick_nanos);
        assert!(first_firing >= deadline);
        assert!(first_firing - deadline < inner.tick());
    }
}

#[test]
fn far_instants_saturate() {
    let (driver, start) = inner_with_tick(Duration::from_micros(100));
    let inner = &driver.handle.inner;
    let far = crate::saturating_add(start, Duration::MAX);
    assert!(far > start);
    assert!(inner.deadline_tick(far) > 1 << 40);
    assert_eq!(
        crate::duration_from_nanos(u128::MAX),
        Duration::MAX,
        "nanosecond counts beyond Duration saturate"
    );
}
