//! `Sleep`, `Timeout` and `Interval`, driven by a manual clock.

use std::future::{Future, pending, ready};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use eddy_timer::{Elapsed, MissedTickBehavior, interval, sleep, sleep_until, timeout};

use crate::support::{block_on, counting_waker, manual};

const MS: Duration = Duration::from_millis(1);

#[test]
fn sleep_completes_at_its_deadline_not_before() {
    let (mut driver, clock) = manual();
    // Created with the driver entered, so the deadline comes from the manual clock.
    let s = {
        let _guard = driver.handle().enter();
        sleep(10 * MS)
    };
    let ((), waited) = block_on(&mut driver, &clock, s);
    assert_eq!(waited, 10 * MS);
}

#[test]
fn sleep_registers_lazily_and_keeps_its_entry_on_repoll() {
    let (driver, _clock) = manual();
    let _guard = driver.handle().enter();
    let mut s = sleep(5 * MS);
    assert_eq!(driver.len(), 0, "not registered before the first poll");
    let (w1, wakes1) = counting_waker();
    let (w2, wakes2) = counting_waker();
    assert!(s.poll_elapsed(&mut Context::from_waker(&w1)).is_pending());
    assert!(s.poll_elapsed(&mut Context::from_waker(&w1)).is_pending());
    assert_eq!(driver.len(), 1, "re-polling keeps the same timer");
    // Moving to another task swaps the waker; only the new one is woken.
    assert!(s.poll_elapsed(&mut Context::from_waker(&w2)).is_pending());
    assert_eq!(driver.len(), 1);
    let mut driver = driver;
    driver.process_at(s.deadline());
    assert_eq!((wakes1.count(), wakes2.count()), (0, 1));
    assert!(s.is_elapsed() || s.poll_elapsed(&mut Context::from_waker(&w2)).is_ready());
}

#[test]
fn dropping_a_sleep_cancels_its_timer() {
    let (driver, _clock) = manual();
    let _guard = driver.handle().enter();
    let (waker, _) = counting_waker();
    let mut s = sleep(5 * MS);
    assert!(
        s.poll_elapsed(&mut Context::from_waker(&waker))
            .is_pending()
    );
    assert_eq!(driver.len(), 1);
    drop(s);
    assert_eq!(driver.len(), 0);
    assert_eq!(driver.next_timeout(), None);
}

#[test]
fn reset_moves_an_armed_sleep_and_rearms_a_finished_one() {
    let (mut driver, clock) = manual();
    let _guard = driver.handle().enter();
    let (waker, _) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut s = sleep(50 * MS);
    assert!(s.poll_elapsed(&mut cx).is_pending());
    s.reset(clock_now(&driver) + 2 * MS);
    assert_eq!(driver.len(), 1, "moved in place");
    assert_eq!(driver.next_timeout(), Some(2 * MS));
    clock.advance(2 * MS);
    driver.process();
    assert!(s.poll_elapsed(&mut cx).is_ready());
    s.reset(clock_now(&driver) + 3 * MS);
    assert!(!s.is_elapsed());
    assert!(
        s.poll_elapsed(&mut cx).is_pending(),
        "waits again after a reset"
    );
    s.reset(clock_now(&driver) - MS);
    assert!(
        s.poll_elapsed(&mut cx).is_ready(),
        "a deadline in the past is due at once"
    );
    assert!(driver.is_empty());
}

fn clock_now(driver: &eddy_timer::Driver) -> std::time::Instant {
    driver.handle().now()
}

#[test]
fn duration_max_saturates_and_never_fires() {
    let (mut driver, clock) = manual();
    let _guard = driver.handle().enter();
    let (waker, wakes) = counting_waker();
    let mut s = sleep(Duration::MAX);
    assert!(
        s.poll_elapsed(&mut Context::from_waker(&waker))
            .is_pending()
    );
    assert!(driver.next_timeout().unwrap() > Duration::from_secs(100 * 365 * 86_400));
    clock.advance(Duration::from_secs(1000 * 365 * 86_400));
    driver.process();
    assert_eq!(wakes.count(), 0);
    let mut until = sleep_until(s.deadline());
    assert!(
        until
            .poll_elapsed(&mut Context::from_waker(&waker))
            .is_pending()
    );
}

#[test]
fn a_deadline_already_passed_completes_on_first_poll() {
    let (driver, _clock) = manual();
    let _guard = driver.handle().enter();
    let (waker, _) = counting_waker();
    let mut s = sleep_until(driver.handle().now() - MS);
    assert!(s.poll_elapsed(&mut Context::from_waker(&waker)).is_ready());
    assert!(driver.is_empty());
}

#[test]
fn timeout_returns_the_output_when_the_future_wins() {
    let (mut driver, clock) = manual();
    let (out, waited) = block_on(&mut driver, &clock, timeout(10 * MS, ready(7)));
    assert_eq!(out, Ok(7));
    assert_eq!(waited, Duration::ZERO);
    let (out, _) = block_on(
        &mut driver,
        &clock,
        timeout(10 * MS, async {
            sleep(3 * MS).await;
            "done"
        }),
    );
    assert_eq!(out, Ok("done"));
}

#[test]
fn timeout_elapses_on_a_slow_future() {
    let (mut driver, clock) = manual();
    let t = {
        let _guard = driver.handle().enter();
        timeout(10 * MS, pending::<()>())
    };
    let (out, waited) = block_on(&mut driver, &clock, t);
    assert!(matches!(out, Err(Elapsed { .. })));
    assert_eq!(waited, 10 * MS);
    assert_eq!(out.unwrap_err().to_string(), "deadline has elapsed");
}

#[test]
fn timeout_polls_the_future_before_the_timer() {
    let (mut driver, clock) = manual();
    let _guard = driver.handle().enter();
    let mut t = Box::pin(timeout(MS, ready(1)));
    clock.advance(5 * MS);
    driver.process();
    let (waker, _) = counting_waker();
    let polled = t.as_mut().poll(&mut Context::from_waker(&waker));
    assert_eq!(
        polled,
        Poll::Ready(Ok(1)),
        "ready future wins even past the deadline"
    );
}

/// Collects the next `n` ticks as offsets from the interval's creation.
fn ticks_after(behavior: MissedTickBehavior, stall: Duration, n: usize) -> Vec<Duration> {
    let (mut driver, clock) = manual();
    let start = driver.handle().now();
    let mut iv = {
        let _guard = driver.handle().enter();
        interval(10 * MS)
    };
    iv.set_missed_tick_behavior(behavior);
    assert_eq!(iv.period(), 10 * MS);
    let (first, _) = block_on(&mut driver, &clock, iv.tick());
    assert_eq!(first, start, "the first tick is immediate");
    clock.advance(stall);
    driver.process();
    let mut out = Vec::new();
    for _ in 0..n {
        block_on(&mut driver, &clock, iv.tick());
        out.push(driver.handle().now() - start);
    }
    out
}

#[test]
fn interval_burst_catches_up_then_keeps_the_schedule() {
    let got = ticks_after(MissedTickBehavior::Burst, 35 * MS, 5);
    assert_eq!(got, [35 * MS, 35 * MS, 35 * MS, 40 * MS, 50 * MS]);
}

#[test]
fn interval_delay_shifts_the_schedule() {
    let got = ticks_after(MissedTickBehavior::Delay, 35 * MS, 3);
    assert_eq!(got, [35 * MS, 45 * MS, 55 * MS]);
}

#[test]
fn interval_skip_drops_missed_ticks() {
    let got = ticks_after(MissedTickBehavior::Skip, 35 * MS, 3);
    assert_eq!(got, [35 * MS, 40 * MS, 50 * MS]);
}

#[test]
fn interval_is_a_stream() {
    use futures_core::Stream;

    let (mut driver, clock) = manual();
    let _guard = driver.handle().enter();
    let mut iv = interval(Duration::ZERO);
    let (waker, _) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(matches!(
        Pin::new(&mut iv).poll_next(&mut cx),
        Poll::Ready(Some(_))
    ));
    assert_eq!(
        iv.period(),
        Duration::from_nanos(1),
        "a zero period is raised, not a panic"
    );
    clock.advance(MS);
    driver.process();
    assert!(matches!(
        Pin::new(&mut iv).poll_next(&mut cx),
        Poll::Ready(Some(_))
    ));
}
