//! Timeouts: `Some(0)` polls, `Some(t)` never returns before `t`, `None` waits for a wake.
//!
//! These assert only lower bounds ("never early"), which hold on any machine however
//! loaded; how late a wait returns is a benchmark's business, not a test's.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use eddy_selector::{Events, Interest, Selector, Token};

use crate::support::pipe;

fn timed_select(selector: &Selector, timeout: Option<Duration>) -> (Duration, Events) {
    let mut events = Events::with_capacity(8);
    let started = Instant::now();
    selector.select(&mut events, timeout).unwrap();
    (started.elapsed(), events)
}

#[test]
fn zero_timeout_returns_without_events() {
    let selector = Selector::new().unwrap();
    let (_reader, _writer) = pipe(&selector, Token(1), Interest::READABLE);
    let (_, events) = timed_select(&selector, Some(Duration::ZERO));
    assert!(events.is_empty() && !events.is_notified());
}

#[test]
fn zero_timeout_still_reports_what_is_ready() {
    let selector = Selector::new().unwrap();
    let (_reader, mut writer) = pipe(&selector, Token(1), Interest::READABLE);
    writer.write_all(b"x").unwrap();
    let (_, events) = timed_select(&selector, Some(Duration::ZERO));
    assert_eq!(events.len(), 1);
}

#[test]
fn one_millisecond_is_never_early() {
    let selector = Selector::new().unwrap();
    for _ in 0..20 {
        let (took, events) = timed_select(&selector, Some(Duration::from_millis(1)));
        assert!(events.is_empty());
        assert!(took >= Duration::from_millis(1), "returned after {took:?}");
    }
}

#[test]
fn ten_milliseconds_is_never_early() {
    let selector = Selector::new().unwrap();
    for _ in 0..5 {
        let (took, _) = timed_select(&selector, Some(Duration::from_millis(10)));
        assert!(took >= Duration::from_millis(10), "returned after {took:?}");
    }
}

#[test]
fn sub_millisecond_timeouts_are_never_early() {
    let selector = Selector::new().unwrap();
    for micros in [1, 50, 250, 999, 1001] {
        let timeout = Duration::from_micros(micros);
        let (took, _) = timed_select(&selector, Some(timeout));
        assert!(took >= timeout, "{timeout:?} returned after {took:?}");
    }
}

#[test]
fn none_waits_for_an_event() {
    let selector = Selector::new().unwrap();
    let (_reader, writer) = pipe(&selector, Token(9), Interest::READABLE);
    let delay = Duration::from_millis(30);
    // Timed from before the writer starts: its sleep may begin before `select` does (under
    // qemu a thread start is slow enough for the write to land 29.9 ms into the select).
    let start = std::time::Instant::now();
    let writer = thread::spawn(move || {
        thread::sleep(delay);
        (&writer).write_all(b"x").unwrap();
        writer
    });
    let (_, events) = timed_select(&selector, None);
    let took = start.elapsed();
    let _writer = writer.join().unwrap();
    assert_eq!(
        events.iter().map(|e| e.token()).collect::<Vec<_>>(),
        vec![Token(9)]
    );
    assert!(took >= delay, "returned after {took:?}, before the write");
}

#[test]
fn huge_timeouts_do_not_overflow() {
    let selector = Selector::new().unwrap();
    selector.notifier().notify().unwrap();
    // Duration::MAX cannot be added to an Instant: it waits like `None`, for the wake.
    let (_, events) = timed_select(&selector, Some(Duration::MAX));
    assert!(events.is_notified());
    selector.notifier().notify().unwrap();
    let (_, events) = timed_select(&selector, Some(Duration::from_secs(u64::MAX / 2)));
    assert!(events.is_notified());
}

static SIGNALS_HANDLED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

extern "C" fn count_signal(_: libc::c_int) {
    SIGNALS_HANDLED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri cannot install signal handlers or deliver signals"
)]
fn a_signal_does_not_end_the_wait_early() {
    // A handler (not SIG_IGN: ignored signals never interrupt a syscall) for SIGURG, which
    // no other test uses. epoll_wait and kevent fail with EINTR whatever SA_RESTART says.
    // SAFETY: an all-zero sigaction is valid; the handler only touches an atomic, which is
    // async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = count_signal as *const () as libc::sighandler_t;
        libc::sigemptyset(&raw mut action.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGURG, &raw const action, std::ptr::null_mut()),
            0
        );
    }
    let selector = Selector::new().unwrap();
    // SAFETY: pthread_self has no preconditions.
    let me = unsafe { libc::pthread_self() } as usize;
    let timeout = Duration::from_millis(60);
    let kicker = thread::spawn(move || {
        for _ in 0..5 {
            thread::sleep(Duration::from_millis(5));
            // SAFETY: `me` is the test thread, alive until it joins this thread below.
            unsafe { libc::pthread_kill(me as libc::pthread_t, libc::SIGURG) };
        }
    });
    let (took, events) = timed_select(&selector, Some(timeout));
    kicker.join().unwrap();
    assert!(
        SIGNALS_HANDLED.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "no signal reached the thread"
    );
    assert!(events.is_empty());
    assert!(took >= timeout, "returned after {took:?}");
}
