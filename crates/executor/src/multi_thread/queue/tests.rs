//! The ring buffer single-threaded and with a real thief; Miri runs these
//! (`cargo xtask miri`), so they stay small.

use std::sync::Mutex;

use super::*;
use crate::task::mock::{Mock, SpawnMock};
use crate::task::{JoinHandle, Notified};

/// Collects overflow batches.
#[derive(Default)]
struct Sink(Mutex<Vec<Notified>>);

impl Overflow for Sink {
    fn push_batch(&self, tasks: Vec<Notified>) {
        self.0.lock().unwrap().extend(tasks);
    }
}

/// `n` fresh tasks (their first `Notified`s) from a mock scheduler, plus their handles.
fn tasks(
    n: usize,
) -> (
    crate::loom::sync::Arc<Mock>,
    Vec<Notified>,
    Vec<JoinHandle<()>>,
) {
    let s = Mock::new();
    let handles: Vec<_> = (0..n).map(|_| s.spawn(async {})).collect();
    let notified: Vec<_> = s.queue.lock().unwrap().drain(..).collect();
    (s, notified, handles)
}

fn ids(ts: &[Notified]) -> Vec<u64> {
    ts.iter().map(|t| t.raw().id().as_u64()).collect()
}

#[test]
fn push_pop_is_fifo() {
    let (s, ts, _h) = tasks(10);
    let want = ids(&ts);
    let q = Local::new();
    let sink = Sink::default();
    for t in ts {
        // SAFETY: this test thread is the owner.
        unsafe { q.push(t, &sink) };
    }
    assert_eq!(q.len(), 10);
    // SAFETY: as above.
    let got: Vec<_> = std::iter::from_fn(|| unsafe { q.pop() }).collect();
    assert_eq!(ids(&got), want);
    assert!(sink.0.lock().unwrap().is_empty());
    s.shutdown();
}

#[test]
fn overflow_moves_half_to_the_global_queue() {
    let n = CAPACITY + 1;
    let (s, ts, _h) = tasks(n);
    let want = ids(&ts);
    let q = Local::new();
    let sink = Sink::default();
    for t in ts {
        // SAFETY: owner.
        unsafe { q.push(t, &sink) };
    }
    let moved = sink.0.lock().unwrap().len();
    assert_eq!(moved, CAPACITY / 2 + 1);
    assert_eq!(q.len(), CAPACITY / 2);
    // Nothing lost, nothing duplicated.
    // SAFETY: owner.
    let mut got: Vec<_> = std::iter::from_fn(|| unsafe { q.pop() }).collect();
    got.extend(sink.0.lock().unwrap().drain(..));
    let mut got = ids(&got);
    got.sort_unstable();
    assert_eq!(got, want);
    s.shutdown();
}

#[test]
fn steal_takes_half_rounded_up() {
    let (s, ts, _h) = tasks(5);
    let victim = Local::new();
    let thief = Local::new();
    let sink = Sink::default();
    for t in ts {
        // SAFETY: owner.
        unsafe { victim.push(t, &sink) };
    }
    // SAFETY: the test thread plays the thief and owns `thief`, which is empty.
    let first = unsafe { victim.steal_into(&thief) }.unwrap();
    drop(first);
    assert_eq!(thief.len(), 2);
    assert_eq!(victim.len(), 2);
    drop(victim);
    drop(thief);
    s.shutdown();
}

#[test]
fn concurrent_steal_and_pop_lose_nothing() {
    let (s, ts, handles) = tasks(200);
    let q = std::sync::Arc::new(Local::new());
    let sink = Sink::default();
    let total = ts.len();
    for t in ts.into_iter().take(CAPACITY) {
        // SAFETY: owner (this thread) until the thief starts, and still the only pusher.
        unsafe { q.push(t, &sink) };
    }
    let q2 = q.clone();
    let thief = std::thread::spawn(move || {
        let mine = Local::new();
        let mut got = 0;
        for _ in 0..50 {
            // SAFETY: this thread owns `mine`, which is empty here.
            if let Some(t) = unsafe { q2.steal_into(&mine) } {
                got += 1;
                drop(t);
                // SAFETY: owner of `mine`.
                while let Some(t) = unsafe { mine.pop() } {
                    got += 1;
                    drop(t);
                }
            }
        }
        got
    });
    let mut popped = 0;
    // SAFETY: owner.
    while let Some(t) = unsafe { q.pop() } {
        popped += 1;
        drop(t);
    }
    let stolen = thief.join().unwrap();
    assert_eq!(popped + stolen, total);
    drop(handles);
    s.shutdown();
}
