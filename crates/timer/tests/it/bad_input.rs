//! Durations and deadlines at the edges: `Duration::MAX`, `Duration::ZERO` and deadlines in
//! the past. None of them may panic or overflow; `Duration::MAX` never fires, zero and past
//! deadlines are due at once. (`futures::duration_max_saturates_and_never_fires` and
//! `futures::a_deadline_already_passed_completes_on_first_poll` cover the plain `Sleep`.)

use std::future::{Future, pending, ready};
use std::pin::pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use eddy_timer::{Elapsed, MissedTickBehavior, interval, sleep, sleep_until, timeout, timeout_at};

use crate::support::{block_on, counting_waker, manual};

/// A thousand years: far past any deadline a test could reach by accident.
const AGES: Duration = Duration::from_secs(1000 * 365 * 86_400);

#[test]
fn timeout_duration_max_returns_the_futures_output() {
    let (mut driver, clock) = manual();
    let (out, waited) = block_on(&mut driver, &clock, timeout(Duration::MAX, ready(7)));
    assert_eq!(out, Ok(7));
    assert_eq!(waited, Duration::ZERO);
    // A future that needs the clock to move finishes too: the MAX deadline does not get in
    // the way of the inner timer, and nothing overflows when both are in the wheel.
    let (out, _) = block_on(
        &mut driver,
        &clock,
        timeout(Duration::MAX, async {
            sleep(Duration::from_millis(3)).await;
            "done"
        }),
    );
    assert_eq!(out, Ok("done"));
    assert!(driver.is_empty());
}

#[test]
fn timeout_duration_max_around_a_pending_future_never_elapses() {
    let (mut driver, clock) = manual();
    let _guard = driver.handle().enter();
    let (waker, wakes) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut t = pin!(timeout(Duration::MAX, pending::<()>()));
    assert!(t.as_mut().poll(&mut cx).is_pending());
    clock.advance(AGES);
    driver.process();
    assert_eq!(wakes.count(), 0);
    assert!(t.as_mut().poll(&mut cx).is_pending());
}

#[test]
fn zero_durations_are_due_on_the_first_poll() {
    let (driver, _clock) = manual();
    let _guard = driver.handle().enter();
    let (waker, _) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut s = sleep(Duration::ZERO);
    assert!(s.poll_elapsed(&mut cx).is_ready());
    // The inner future is polled first, so a ready future wins even a zero timeout...
    let t = pin!(timeout(Duration::ZERO, ready(1)));
    assert!(matches!(t.poll(&mut cx), Poll::Ready(Ok(1))));
    // ...and a pending one elapses at once.
    let t = pin!(timeout(Duration::ZERO, pending::<()>()));
    assert!(matches!(t.poll(&mut cx), Poll::Ready(Err(Elapsed { .. }))));
    assert!(driver.is_empty(), "a zero deadline never enters the wheel");
}

#[test]
fn deadlines_in_the_past_fire_at_once() {
    let (driver, _clock) = manual();
    let _guard = driver.handle().enter();
    let (waker, _) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let now = driver.handle().now();
    let long_ago = now.checked_sub(Duration::from_secs(3600)).unwrap_or(now);
    let t = pin!(timeout_at(long_ago, pending::<()>()));
    assert!(matches!(t.poll(&mut cx), Poll::Ready(Err(Elapsed { .. }))));
    let mut s = sleep_until(long_ago);
    assert!(s.poll_elapsed(&mut cx).is_ready());
    // Resetting an armed far-future sleep to the past makes it due at once, too.
    let mut s = sleep(Duration::MAX);
    assert!(s.poll_elapsed(&mut cx).is_pending());
    s.reset(long_ago);
    assert!(s.poll_elapsed(&mut cx).is_ready());
    assert!(driver.is_empty());
}

#[test]
fn intervals_with_zero_and_max_periods_do_not_panic() {
    let (mut driver, clock) = manual();
    let _guard = driver.handle().enter();
    let (waker, wakes) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    // Zero is raised to one nanosecond: it ticks, it does not spin on one instant.
    let mut zero = interval(Duration::ZERO);
    assert_eq!(zero.period(), Duration::from_nanos(1));
    let first = ready_tick(zero.poll_tick(&mut cx));
    clock.advance(Duration::from_millis(1));
    driver.process();
    let second = ready_tick(zero.poll_tick(&mut cx));
    assert!(second > first);
    // MAX ticks once, then never again, under every missed-tick policy.
    for policy in [
        MissedTickBehavior::Burst,
        MissedTickBehavior::Delay,
        MissedTickBehavior::Skip,
    ] {
        let mut max = interval(Duration::MAX);
        max.set_missed_tick_behavior(policy);
        ready_tick(max.poll_tick(&mut cx));
        assert!(max.poll_tick(&mut cx).is_pending());
        let before = wakes.count();
        clock.advance(AGES);
        driver.process();
        assert_eq!(wakes.count(), before, "{policy:?}: the second tick fired");
        assert!(max.poll_tick(&mut cx).is_pending());
    }
}

fn ready_tick(p: Poll<Instant>) -> Instant {
    match p {
        Poll::Ready(at) => at,
        Poll::Pending => panic!("expected a tick"),
    }
}
