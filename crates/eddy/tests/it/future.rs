//! `join_all`, `race` and `race_all` on real wake-ups from other threads.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use eddy::future::{join_all, race, race_all};
use eddy::sync::oneshot;
use eddy_executor::CurrentThread;

/// Wraps a future and counts how often it is polled.
struct Counted<F> {
    inner: F,
    polls: Arc<AtomicUsize>,
}

impl<F: Future + Unpin> Future for Counted<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::Relaxed);
        Pin::new(&mut self.inner).poll(cx)
    }
}

/// asyncio.gather over 100,000 futures, completed one by one from another thread in
/// reverse order. Re-polling every pending child on each wake would take ~5 billion polls;
/// per-child wakers take at most two per child (the first poll and the one after its wake).
#[test]
fn join_all_scales_to_100k_futures_by_polling_only_the_woken() {
    const N: usize = 100_000;
    let polls = Arc::new(AtomicUsize::new(0));
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..N).map(|_| oneshot::channel()).unzip();
    let futures = receivers.into_iter().map(|rx| Counted {
        inner: rx,
        polls: Arc::clone(&polls),
    });
    let producer = std::thread::spawn(move || {
        for (i, tx) in senders.into_iter().enumerate().rev() {
            tx.send(i).unwrap();
        }
    });
    let started = Instant::now();
    let values = CurrentThread::new().block_on(join_all(futures));
    producer.join().unwrap();
    assert!(values.iter().enumerate().all(|(i, v)| *v == Ok(i)));
    let polls = polls.load(Ordering::Relaxed);
    assert!(
        (N..=2 * N).contains(&polls),
        "{polls} child polls for {N} children"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn join_all_returns_results_in_input_order_not_completion_order() {
    let delays = [50u64, 10, 30, 0, 20];
    let futures = delays.map(|ms| {
        let (tx, rx) = oneshot::channel();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(ms));
            tx.send(ms).unwrap();
        });
        rx
    });
    let values = CurrentThread::new().block_on(join_all(futures));
    assert_eq!(values, delays.map(Ok));
}

#[test]
fn race_all_returns_the_first_and_cancels_the_losers() {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..10).map(|_| oneshot::channel()).unzip();
    let mut senders: Vec<Option<oneshot::Sender<usize>>> = senders.into_iter().map(Some).collect();
    let winner = senders[7].take().unwrap();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        winner.send(77).unwrap();
    });
    let (value, index) = CurrentThread::new().block_on(race_all(receivers));
    thread.join().unwrap();
    assert_eq!((value, index), (Ok(77), 7));
    // The losing receivers were dropped when the race finished: their senders see it.
    for tx in senders.into_iter().flatten() {
        assert!(tx.is_closed());
    }
}

#[test]
fn race_returns_whichever_finishes_first_and_drops_the_other() {
    let (slow_tx, slow_rx) = oneshot::channel::<&str>();
    let (fast_tx, fast_rx) = oneshot::channel();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        fast_tx.send("fast").unwrap();
    });
    let winner = CurrentThread::new().block_on(race(slow_rx, fast_rx));
    thread.join().unwrap();
    assert_eq!(winner, Ok("fast"));
    assert!(slow_tx.is_closed(), "the loser was cancelled");
}

#[test]
fn join_all_runs_its_futures_concurrently_on_one_thread() {
    // Each child waits for the next one's signal: sequential awaiting would deadlock.
    let (tx_a, rx_a) = oneshot::channel::<u8>();
    let (tx_b, rx_b) = oneshot::channel::<u8>();
    let a = async move {
        tx_b.send(1).unwrap();
        rx_a.await.unwrap()
    };
    let b = async move {
        let got = rx_b.await.unwrap();
        tx_a.send(2).unwrap();
        got
    };
    let both: Vec<Pin<Box<dyn Future<Output = u8>>>> = vec![Box::pin(a), Box::pin(b)];
    assert_eq!(CurrentThread::new().block_on(join_all(both)), [2, 1]);
}
