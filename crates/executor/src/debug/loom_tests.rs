//! loom models of debug mode: the slot's sequence lock (the watchdog never reports a task
//! with another poll's location, and never misses that a poll is running), the watchdog's
//! stop signal (timed out by the model's clock thread, `Condvar::elapse`), and the stack
//! capture's hand-over of its buffer (a loom thread stands for the signal handler).

use std::panic::Location;
use std::time::Duration;

use super::capture::{Capture, MAX_FRAMES};
use super::monitor::{Monitor, State};
use super::slot::{Seen, Slot};
use super::{DebugConfig, SlowPoll};
use crate::loom::sync::Arc;
use crate::loom::thread;
use crate::loom::unmodelled::lock;
use crate::task::{OwnedTasks, TaskId};

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
        let slot = Arc::new(Slot::new("worker".to_owned(), None));
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
        let slot = Arc::new(Slot::new("worker".to_owned(), None));
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

/// The reports a model's hook received: `(task, finished)`, in order.
type Reports = std::sync::Arc<std::sync::Mutex<Vec<(u64, bool)>>>;

/// A monitor whose watchdog is running, with one polling thread's slot registered and a
/// threshold of zero (a poll the watchdog sees in two scans in a row is slow, so no report
/// depends on how much real time passed), and a model clock thread that ends the
/// watchdog's tick wait three times, at any points.
fn watched() -> (
    Monitor,
    std::sync::Arc<Slot>,
    Reports,
    thread::JoinHandle<()>,
) {
    let reports = Reports::default();
    let hook = {
        let reports = reports.clone();
        std::sync::Arc::new(move |p: &SlowPoll| lock(&reports).push((p.task.as_u64(), p.finished)))
    };
    let monitor = Monitor::new(DebugConfig {
        threshold: Duration::ZERO,
        hook: Some(hook),
    });
    // Registered as a polling thread's first poll would; the `Arc` kept here stands for
    // that thread's own (its `ThreadSlots` entry).
    let slot = std::sync::Arc::new(Slot::new("poller".to_owned(), None));
    lock(&monitor.state().slots).push(slot.clone());
    monitor.start(std::sync::Arc::new(OwnedTasks::new(1)));
    let clock = {
        let state: std::sync::Arc<State> = monitor.state().clone();
        thread::spawn(move || {
            for _ in 0..3 {
                state.stopped.elapse(&state.stop);
            }
        })
    };
    (monitor, slot, reports, clock)
}

/// Stopping the monitor, wherever the watchdog is (not yet waiting, waiting for its tick,
/// woken by the clock, scanning), ends the watchdog thread without waiting for a tick (the
/// model's clock stops after three, so a stop missed until the next tick is a deadlock), and
/// after one final scan: a slow poll reported while it ran, which ended before `stop` (and
/// whose thread exited, as a runtime's workers are joined before it stops the monitor),
/// always gets its end report and leaves the slow list. It found a bug: a scan used to
/// forget the slot of a thread that exited just after the scan had read it, so the end
/// was never seen (regression test in `tests/it/debug.rs`).
#[test]
fn stop_ends_the_watchdog_after_a_final_scan() {
    loom::model(|| {
        let (monitor, slot, reports, clock) = watched();
        let seq = slot.begin(1, here());
        slot.end(seq);
        // Its thread exits: `ThreadSlots`' destructor marks the slot, then lets it go.
        slot.exit();
        drop(slot);
        monitor.stop();
        clock.join().unwrap();
        let reports = lock(&reports).clone();
        let running = reports.iter().filter(|(_, finished)| !finished).count();
        let ended = reports.iter().filter(|(_, finished)| *finished).count();
        assert_eq!(
            running, ended,
            "a slow poll that ended before stop got its end report: {reports:?}"
        );
        assert!(
            lock(&monitor.state().slow).is_empty(),
            "no slow poll is left listed"
        );
    });
}

/// A poll still running when the monitor stops is seen by the watchdog's final scan, which
/// starts after `stop` (it charges the poll busy time), and the watchdog still ends.
#[test]
fn a_poll_running_at_stop_is_seen_by_the_final_scan() {
    loom::model(|| {
        let (monitor, slot, reports, clock) = watched();
        let seq = slot.begin(1, here());
        monitor.stop();
        clock.join().unwrap();
        assert!(
            lock(&monitor.state().busy).contains_key(&TaskId::from_u64(1)),
            "the final scan saw the running poll"
        );
        assert!(
            lock(&reports)
                .iter()
                .all(|&(task, finished)| task == 1 && !finished),
            "only the running poll is reported, and not as ended"
        );
        slot.end(seq);
    });
}

/// What a model's signal handler writes: every address numbered, and the first marked as
/// the capture's own, so a partial or mixed read shows.
fn handler_writes(ips: &mut [usize; MAX_FRAMES]) -> (usize, usize) {
    for (i, ip) in ips.iter_mut().enumerate() {
        *ip = 10 + i;
    }
    (MAX_FRAMES, 1)
}

/// One whole capture, as the watchdog reads it (the first address dropped).
fn whole_capture() -> Vec<usize> {
    (11..10 + MAX_FRAMES).collect()
}

/// The watchdog requests, the handler (a loom thread) answers, the watchdog polls `take`:
/// it reads the frames only once the handler is done (loom checks every access to the
/// buffer), reads them whole, and only once.
#[test]
fn a_capture_is_read_only_after_the_handler_is_done() {
    loom::model(|| {
        let capture = Arc::new(Capture::new(0));
        assert!(capture.request());
        let handler = {
            let capture = capture.clone();
            thread::spawn(move || capture.fill(handler_writes))
        };
        let ips = loop {
            if let Some(ips) = capture.take() {
                break ips;
            }
            thread::yield_now();
        };
        assert_eq!(ips, whole_capture());
        handler.join().unwrap();
        assert!(capture.take().is_none(), "a capture is taken once");
    });
}

/// The watchdog's wait times out wherever the handler is (not yet run, as with a blocked
/// signal; claiming; writing; done), and the next slow poll's request follows at once,
/// while the late handler and a queued duplicate of the signal (two loom threads) may
/// still run: no handler writes the buffer while the watchdog reads it or another handler
/// writes it (loom checks every access), whatever the watchdog reads is one whole capture,
/// and once every handler has returned the buffer is free for a request again.
#[test]
fn a_late_handler_never_writes_a_buffer_the_watchdog_reads() {
    loom::model(|| {
        let capture = Arc::new(Capture::new(0));
        assert!(capture.request());
        let handlers: Vec<_> = (0..2)
            .map(|_| {
                let capture = capture.clone();
                thread::spawn(move || capture.fill(handler_writes))
            })
            .collect();
        let mut got: Vec<Vec<usize>> = capture.give_up().into_iter().collect();
        // Refused while a handler still owns the buffer.
        if capture.request() {
            got.extend(capture.take().or_else(|| capture.give_up()));
        }
        for handler in handlers {
            handler.join().unwrap();
        }
        for ips in &got {
            assert_eq!(ips, &whole_capture(), "a whole capture");
        }
        assert!(
            capture.request(),
            "a handler that has returned leaves the buffer free"
        );
    });
}
