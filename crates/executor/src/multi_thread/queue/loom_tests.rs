//! loom: the ring buffer's owner and a thief never lose or duplicate a task, including
//! across an overflow (CAPACITY is 4 under loom).

use super::*;
use crate::loom::sync::{Arc, Mutex};
use crate::loom::thread;
use crate::task::mock::{Mock, SpawnMock};
use crate::task::{JoinHandle, Notified};

#[derive(Default)]
struct Sink(Mutex<Vec<Notified>>);

impl Overflow for Sink {
    fn push_batch(&self, tasks: Vec<Notified>) {
        self.0.lock().unwrap().extend(tasks);
    }
}

fn tasks(n: usize) -> (Arc<Mock>, Vec<Notified>, Vec<JoinHandle<()>>) {
    let s = Mock::new();
    let handles: Vec<_> = (0..n).map(|_| s.spawn(async {})).collect();
    let notified: Vec<_> = s.queue.lock().unwrap().drain(..).collect();
    (s, notified, handles)
}

/// Owner pushes and pops while a thief steals: every task ends up exactly once with the
/// owner, the thief or the overflow sink.
#[test]
fn push_pop_vs_steal() {
    loom::model(|| {
        let (s, mut ts, _h) = tasks(3);
        let q = Arc::new(Local::new());
        let sink = Arc::new(Sink::default());
        // SAFETY: this model thread owns `q`.
        unsafe { q.push(ts.remove(0), &*sink) };
        // SAFETY: as above.
        unsafe { q.push(ts.remove(0), &*sink) };
        let q2 = q.clone();
        let thief = thread::spawn(move || {
            let mine = Local::new();
            // SAFETY: the thief owns `mine`, which is empty.
            let mut n = usize::from(unsafe { q2.steal_into(&mine) }.is_some());
            // SAFETY: owner of `mine`.
            while unsafe { mine.pop() }.is_some() {
                n += 1;
            }
            n
        });
        // SAFETY: owner.
        unsafe { q.push(ts.remove(0), &*sink) };
        let mut n = 0;
        // SAFETY: owner.
        while unsafe { q.pop() }.is_some() {
            n += 1;
        }
        n += thief.join().unwrap();
        n += sink.0.lock().unwrap().drain(..).count();
        assert_eq!(n, 3);
        s.shutdown();
    });
}

/// The owner overflows (CAPACITY + 1 pushes) while a thief steals: the overflow claim and
/// the steal claim never overlap.
#[test]
fn overflow_vs_steal() {
    loom::model(|| {
        let (s, ts, _h) = tasks(CAPACITY + 1);
        let q = Arc::new(Local::new());
        let sink = Arc::new(Sink::default());
        let mut ts = ts.into_iter();
        for t in ts.by_ref().take(CAPACITY) {
            // SAFETY: owner.
            unsafe { q.push(t, &*sink) };
        }
        let q2 = q.clone();
        let thief = thread::spawn(move || {
            let mine = Local::new();
            // SAFETY: the thief owns `mine`, which is empty.
            let mut n = usize::from(unsafe { q2.steal_into(&mine) }.is_some());
            // SAFETY: owner of `mine`.
            while unsafe { mine.pop() }.is_some() {
                n += 1;
            }
            n
        });
        for t in ts {
            // SAFETY: owner.
            unsafe { q.push(t, &*sink) };
        }
        let mut n = thief.join().unwrap();
        // SAFETY: owner.
        while unsafe { q.pop() }.is_some() {
            n += 1;
        }
        n += sink.0.lock().unwrap().drain(..).count();
        assert_eq!(n, CAPACITY + 1);
        s.shutdown();
    });
}
