use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use std::cell::Cell;
use std::future::{Future, pending, ready};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::*;

#[derive(Default)]
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<Counter>, Waker) {
    let counter = Arc::new(Counter::default());
    (Arc::clone(&counter), Waker::from(counter))
}

/// A future that stays pending until its gate opens, counting its polls and keeping the
/// waker it was last polled with so the test can wake it.
struct Gate {
    open: Rc<Cell<bool>>,
    polls: Rc<Cell<usize>>,
    waker: Rc<Cell<Option<Waker>>>,
    value: usize,
}

struct GateHandle {
    open: Rc<Cell<bool>>,
    polls: Rc<Cell<usize>>,
    waker: Rc<Cell<Option<Waker>>>,
}

impl GateHandle {
    fn open_and_wake(&self) {
        self.open.set(true);
        self.waker.take().expect("the gate was polled").wake();
    }
}

fn gate(value: usize) -> (Gate, GateHandle) {
    let (open, polls, waker) = Default::default();
    let handle = GateHandle {
        open: Rc::clone(&open),
        polls: Rc::clone(&polls),
        waker: Rc::clone(&waker),
    };
    (
        Gate {
            open,
            polls,
            waker,
            value,
        },
        handle,
    )
}

impl Future for Gate {
    type Output = usize;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.polls.set(self.polls.get() + 1);
        if self.open.get() {
            Poll::Ready(self.value)
        } else {
            self.waker.set(Some(cx.waker().clone()));
            Poll::Pending
        }
    }
}

#[test]
fn join_all_polls_only_the_woken_children() {
    let (gates, handles): (Vec<_>, Vec<_>) = (0..1000).map(gate).unzip();
    let (parent_wakes, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut all = join_all(gates);
    assert!(Pin::new(&mut all).poll(&mut cx).is_pending());
    assert!(handles.iter().all(|h| h.polls.get() == 1));

    handles[500].open_and_wake();
    assert_eq!(parent_wakes.0.load(Ordering::SeqCst), 1);
    assert!(Pin::new(&mut all).poll(&mut cx).is_pending());
    let polled_twice: Vec<_> = (0..1000).filter(|&i| handles[i].polls.get() == 2).collect();
    assert_eq!(polled_twice, [500]);

    // A poll with no wake polls nobody.
    assert!(Pin::new(&mut all).poll(&mut cx).is_pending());
    assert_eq!(handles.iter().map(|h| h.polls.get()).sum::<usize>(), 1001);

    for (i, h) in handles.iter().enumerate() {
        if i != 500 {
            h.open_and_wake();
        }
    }
    let Poll::Ready(out) = Pin::new(&mut all).poll(&mut cx) else {
        panic!("every gate is open");
    };
    assert_eq!(out, (0..1000).collect::<Vec<_>>());
    // Each child was polled exactly twice: once at the start, once after its wake.
    assert!(handles.iter().all(|h| h.polls.get() == 2));
}

#[test]
fn repeated_wakes_queue_a_child_once() {
    let (g, h) = gate(1);
    let (other, _other_handle) = gate(2);
    let (_, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut all = join_all([g, other]);
    assert!(Pin::new(&mut all).poll(&mut cx).is_pending());
    let child_waker = h.waker.take().unwrap();
    child_waker.wake_by_ref();
    child_waker.wake_by_ref();
    child_waker.wake();
    assert!(Pin::new(&mut all).poll(&mut cx).is_pending());
    assert_eq!(h.polls.get(), 2);
}

#[test]
fn join_all_of_nothing_is_ready_at_once() {
    let (_, waker) = counting_waker();
    let mut all = join_all(Vec::<std::future::Ready<u8>>::new());
    assert_eq!(
        Pin::new(&mut all).poll(&mut Context::from_waker(&waker)),
        Poll::Ready(vec![])
    );
}

#[test]
fn race_all_returns_the_first_and_drops_the_rest() {
    let dropped = Rc::new(Cell::new(0));
    struct Loser(Rc<Cell<usize>>);
    impl Drop for Loser {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let futures: Vec<Pin<Box<dyn Future<Output = usize>>>> = (0..5)
        .map(|i| -> Pin<Box<dyn Future<Output = usize>>> {
            let guard = Loser(Rc::clone(&dropped));
            if i == 3 {
                Box::pin(async move {
                    drop(guard);
                    i
                })
            } else {
                Box::pin(async move {
                    let _guard = guard;
                    pending::<usize>().await
                })
            }
        })
        .collect();
    let (_, waker) = counting_waker();
    let mut race = race_all(futures);
    assert_eq!(
        Pin::new(&mut race).poll(&mut Context::from_waker(&waker)),
        Poll::Ready((3, 3))
    );
    // The winner dropped its own guard; the four losers were cancelled with the race's win,
    // before the race itself is dropped.
    assert_eq!(dropped.get(), 5);
}

#[test]
fn race_all_picks_the_child_woken_first() {
    let (gates, handles): (Vec<_>, Vec<_>) = (0..4).map(gate).unzip();
    let (_, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut race = race_all(gates);
    assert!(Pin::new(&mut race).poll(&mut cx).is_pending());
    handles[2].open_and_wake();
    handles[1].open_and_wake();
    assert_eq!(Pin::new(&mut race).poll(&mut cx), Poll::Ready((2, 2)));
    // Polling a finished race does not poll (or resurrect) anything.
    assert!(Pin::new(&mut race).poll(&mut cx).is_pending());
}

#[test]
fn race_all_of_nothing_stays_pending() {
    let (_, waker) = counting_waker();
    let mut race = race_all(Vec::<std::future::Ready<u8>>::new());
    assert!(
        Pin::new(&mut race)
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
}

#[test]
fn race_prefers_a_when_both_are_ready_and_drops_the_loser() {
    let (_, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    assert_eq!(pin!(race(ready(1), ready(2))).poll(&mut cx), Poll::Ready(1));
    let (g, h) = gate(9);
    let mut r = pin!(race(pending(), g));
    assert!(r.as_mut().poll(&mut cx).is_pending());
    h.open_and_wake();
    assert_eq!(r.as_mut().poll(&mut cx), Poll::Ready(9));
}
