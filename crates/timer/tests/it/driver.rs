//! The time driver through its public API: timeouts, firing, the unpark rule, shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use eddy_timer::{Driver, Handle, NoDriver, sleep};

use crate::support::{counting_waker, manual};

const MS: Duration = Duration::from_millis(1);

/// A driver whose unpark callback counts its calls.
fn with_unpark_counter() -> (Driver, eddy_timer::ManualClock, Arc<AtomicUsize>) {
    let (driver, clock) = manual();
    let unparks = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&unparks);
    driver.set_unpark(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    (driver, clock, unparks)
}

/// Registers a sleep of `after` on a new thread and keeps it armed (the sleep is returned).
fn register_on_other_thread(handle: &Handle, after: Duration) -> eddy_timer::Sleep {
    let handle = handle.clone();
    std::thread::spawn(move || {
        let _guard = handle.enter();
        let mut s = sleep(after);
        let (waker, _) = counting_waker();
        assert!(
            s.poll_elapsed(&mut Context::from_waker(&waker))
                .is_pending()
        );
        s
    })
    .join()
    .unwrap()
}

#[test]
fn own_thread_registrations_never_unpark() {
    let (driver, _clock, unparks) = with_unpark_counter();
    assert_eq!(driver.next_timeout(), None);
    let _guard = driver.handle().enter();
    let (waker, _) = counting_waker();
    let mut sleeps: Vec<_> = (1..=3).rev().map(|n| sleep(n * MS)).collect();
    for s in &mut sleeps {
        // Each is a new earliest timer, registered on the driver's own thread.
        assert!(
            s.poll_elapsed(&mut Context::from_waker(&waker))
                .is_pending()
        );
    }
    assert_eq!(unparks.load(Ordering::SeqCst), 0);
    assert_eq!(
        driver.next_timeout(),
        Some(MS),
        "the driver still sees the new earliest"
    );
}

#[test]
fn other_thread_unparks_only_for_a_new_earliest_timer() {
    let (driver, _clock, unparks) = with_unpark_counter();
    assert_eq!(driver.next_timeout(), None);
    let handle = driver.handle();

    let _a = register_on_other_thread(&handle, 10 * MS);
    assert_eq!(
        unparks.load(Ordering::SeqCst),
        1,
        "first timer: new earliest"
    );
    let _b = register_on_other_thread(&handle, 20 * MS);
    assert_eq!(
        unparks.load(Ordering::SeqCst),
        1,
        "later than the earliest: no unpark"
    );
    let _c = register_on_other_thread(&handle, 5 * MS);
    assert_eq!(unparks.load(Ordering::SeqCst), 2, "earlier again: unpark");
    assert_eq!(driver.next_timeout(), Some(5 * MS));
}

#[test]
fn the_driver_thread_is_the_one_that_last_asked_next_timeout() {
    let (driver, _clock, unparks) = with_unpark_counter();
    let driver = Arc::new(std::sync::Mutex::new(driver));
    let d = Arc::clone(&driver);
    // Another thread takes over parking (as a multi-thread runtime's worker would).
    std::thread::spawn(move || d.lock().unwrap().next_timeout())
        .join()
        .unwrap();
    let handle = driver.lock().unwrap().handle();
    let _guard = handle.enter();
    let mut s = sleep(MS);
    let (waker, _) = counting_waker();
    assert!(
        s.poll_elapsed(&mut Context::from_waker(&waker))
            .is_pending()
    );
    assert_eq!(
        unparks.load(Ordering::SeqCst),
        1,
        "this thread is no longer the driver's"
    );
}

#[test]
fn next_timeout_and_process_follow_the_manual_clock() {
    let (mut driver, clock) = manual();
    let _guard = driver.handle().enter();
    let (waker, wakes) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut s = sleep(Duration::from_micros(2_500));
    assert!(s.poll_elapsed(&mut cx).is_pending());
    // 2.5 ms rounds up to the 3 ms tick: never early.
    assert_eq!(driver.next_timeout(), Some(3 * MS));
    clock.advance(2 * MS);
    assert_eq!(driver.next_timeout(), Some(MS));
    assert_eq!(driver.process(), 0);
    clock.advance(Duration::from_micros(999));
    assert_eq!(driver.process(), 0, "one microsecond early");
    assert_eq!(wakes.count(), 0);
    clock.advance(Duration::from_micros(1));
    assert_eq!(driver.process(), 1);
    assert_eq!(wakes.count(), 1);
    assert_eq!(s.poll_elapsed(&mut cx), Poll::Ready(()));
    assert!(driver.is_empty());
}

#[test]
fn a_timer_after_a_long_stretch_without_timers_is_placed_from_the_present() {
    // `process` skips an empty wheel without advancing it, so after 10 s without timers the
    // wheel still stands at tick 0. The first registration must catch it up: placed against
    // tick 0, a 3 ms timer at tick 10,003 would sit in a coarse slot that starts in the
    // past, and `next_timeout` would say 0 instead of 3 ms.
    let (mut driver, clock) = manual();
    let _guard = driver.handle().enter();
    clock.advance(Duration::from_secs(10));
    assert_eq!(driver.process(), 0);
    let (waker, wakes) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut s = sleep(3 * MS);
    assert!(s.poll_elapsed(&mut cx).is_pending());
    assert_eq!(driver.next_timeout(), Some(3 * MS));
    clock.advance(2 * MS);
    assert_eq!(driver.process(), 0, "never early");
    clock.advance(MS);
    assert_eq!(driver.process(), 1);
    assert_eq!(wakes.count(), 1);
    assert_eq!(s.poll_elapsed(&mut cx), Poll::Ready(()));
}

#[test]
fn a_finer_tick_fires_closer_to_the_deadline() {
    let clock = eddy_timer::ManualClock::new();
    let mut driver = Driver::builder()
        .clock(clock.clone())
        .tick(Duration::from_micros(100))
        .build();
    let _guard = driver.handle().enter();
    assert_eq!(driver.handle().tick(), Duration::from_micros(100));
    let (waker, _) = counting_waker();
    let mut s = sleep(Duration::from_micros(250));
    assert!(
        s.poll_elapsed(&mut Context::from_waker(&waker))
            .is_pending()
    );
    assert_eq!(driver.next_timeout(), Some(Duration::from_micros(300)));
    clock.advance(Duration::from_micros(300));
    assert_eq!(driver.process(), 1);
}

#[test]
fn tick_is_clamped_not_rejected() {
    let fine = Driver::builder().tick(Duration::ZERO).build();
    assert_eq!(fine.handle().tick(), Duration::from_micros(100));
    let coarse = Driver::builder().tick(Duration::MAX).build();
    assert_eq!(coarse.handle().tick(), Duration::from_secs(1));
}

#[test]
fn no_driver_is_an_error_or_a_panic_that_names_the_fix() {
    let err: NoDriver = Handle::try_current().unwrap_err();
    let message = err.to_string();
    assert!(message.contains("eddy::run") && message.contains("Handle::enter"));

    let panic = std::panic::catch_unwind(|| {
        let mut s = sleep(MS);
        let (waker, _) = counting_waker();
        let _ = s.poll_elapsed(&mut Context::from_waker(&waker));
    })
    .unwrap_err();
    let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    // Regression: the panic used to be `expect`'s, ending in ": NoDriver".
    assert_eq!(text, message, "the panic says exactly what the error says");
    assert!(
        text.contains("eddy::Handle::enter") && text.contains("eddy_timer::Handle::enter"),
        "{text}"
    );
}

/// Regression: a guard restored the handle it replaced, so dropping the outer guard first
/// left no driver entered although the inner guard lived.
#[test]
fn enter_guards_dropped_out_of_order_keep_the_live_one_current() {
    let outer = Driver::new();
    let inner = Driver::builder().tick(Duration::from_millis(5)).build();
    let outer_guard = outer.handle().enter();
    let inner_guard = inner.handle().enter();
    drop(outer_guard);
    assert_eq!(Handle::current().tick(), Duration::from_millis(5));
    drop(inner_guard);
    assert!(Handle::try_current().is_err());
}

#[test]
fn enter_guards_nest_and_restore() {
    let outer = Driver::new();
    let inner = Driver::builder().tick(Duration::from_millis(5)).build();
    let _a = outer.handle().enter();
    {
        let _b = inner.handle().enter();
        assert_eq!(Handle::current().tick(), Duration::from_millis(5));
    }
    assert_eq!(Handle::current().tick(), Duration::from_millis(1));
}

#[test]
fn dropping_the_driver_wakes_waiters_and_their_next_poll_explains() {
    let (driver, _clock) = manual();
    let _guard = driver.handle().enter();
    let (waker, wakes) = counting_waker();
    let mut s = sleep(Duration::from_secs(1));
    assert!(
        s.poll_elapsed(&mut Context::from_waker(&waker))
            .is_pending()
    );
    drop(driver);
    assert_eq!(wakes.count(), 1, "no task sleeps forever on a dead driver");
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = s.poll_elapsed(&mut Context::from_waker(&waker));
    }))
    .unwrap_err();
    let text = panic.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(text.contains("shut down"), "{text}");
}

#[test]
fn public_types_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Driver>();
    send_sync::<Handle>();
    send_sync::<eddy_timer::Sleep>();
    send_sync::<eddy_timer::Interval>();
    send_sync::<eddy_timer::Timeout<std::future::Ready<u8>>>();
    send_sync::<eddy_timer::AtomicWaker>();
    send_sync::<eddy_timer::Wheel<std::task::Waker>>();
}

/// Wakes a parked thread.
struct ThreadWaker(std::thread::Thread);

impl std::task::Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Real threads register, re-poll and drop timers while the test thread drives the manual
/// clock: every waiting thread is woken (a lost wake-up would leave it parked forever and
/// the loop below would give up), and the wheel ends empty.
#[test]
fn threads_registering_and_dropping_while_the_driver_fires() {
    const THREADS: usize = 4;
    const SLEEPS: u32 = 100;
    let (mut driver, clock) = manual();
    let finished = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let handle = driver.handle();
            let finished = Arc::clone(&finished);
            std::thread::spawn(move || {
                let _guard = handle.enter();
                let waker = std::task::Waker::from(Arc::new(ThreadWaker(std::thread::current())));
                let mut cx = Context::from_waker(&waker);
                for i in 0..SLEEPS {
                    let mut s = sleep((i % 7 + 1) * MS);
                    if s.poll_elapsed(&mut cx).is_ready() {
                        continue;
                    }
                    if i % 3 == 0 {
                        drop(s);
                        continue;
                    }
                    // Park until woken; spurious unparks just poll again.
                    while s.poll_elapsed(&mut cx).is_pending() {
                        std::thread::park();
                    }
                }
                finished.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    let mut turns = 0;
    while finished.load(Ordering::SeqCst) < THREADS {
        clock.advance(MS);
        driver.process();
        std::thread::yield_now();
        turns += 1;
        assert!(turns < 10_000_000, "a thread was never woken");
    }
    for t in threads {
        t.join().unwrap();
    }
    assert!(driver.is_empty());
}

#[test]
fn metrics_count_live_and_fired_timers_and_how_late_they_fired() {
    let (mut driver, clock) = manual();
    let _guard = driver.handle().enter();
    let (waker, _) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    // Deadlines at ticks 1, 2 and 10; the clock jumps to tick 5, then 10.
    let mut sleeps: Vec<_> = [1, 2, 10].map(|ms| sleep(ms * MS)).into();
    for s in &mut sleeps {
        assert!(s.poll_elapsed(&mut cx).is_pending());
    }
    let mut cancelled = sleep(20 * MS);
    assert!(cancelled.poll_elapsed(&mut cx).is_pending());
    drop(cancelled);
    let m = driver.metrics();
    assert_eq!((m.live, m.fired, m.tick), (3, 0, MS));
    clock.advance(5 * MS);
    assert_eq!(driver.process(), 2);
    clock.advance(5 * MS);
    assert_eq!(driver.process(), 1);
    let m = driver.handle().metrics();
    assert_eq!((m.live, m.fired), (0, 3));
    let counts: Vec<u64> = m.lateness.iter().map(|b| b.1).collect();
    // 4 ticks late (bucket 4-7), 3 ticks late (bucket 2-3), on time (bucket 0).
    assert_eq!(&counts[..4], &[1, 0, 1, 1]);
    assert_eq!(counts.iter().sum::<u64>(), 3);
    assert_eq!(m.lateness[0].0, Some(MS));
    assert_eq!(m.lateness[3].0, Some(8 * MS));
    assert_eq!(m.lateness.last().unwrap().0, None);
}
