//! timer_churn: sleeps created, registered (polled once) and dropped while `live` others
//! wait, the pattern of a server's per-request timeouts.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::rt::Rt;

/// Polls `fut` once, registering its timer, and ignores the answer.
async fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) {
    let mut fut = Some(fut);
    std::future::poll_fn(move |cx| {
        let _ = fut.take().expect("polled once").poll(cx);
        Poll::Ready(())
    })
    .await;
}

/// ns per insert+cancel with `live` timers pending, over `ops` operations.
pub(crate) fn timer_churn<R: Rt>(live: usize, ops: usize) -> f64 {
    R::run(0, async move {
        // Deadlines spread over 10..70 s: far enough that none fires during the run, spread
        // so a wheel holds them in many slots rather than one.
        let deadline = |i: usize| Duration::from_millis(10_000 + (i as u64 * 7919) % 60_000);
        let mut held: Vec<Pin<Box<dyn Future<Output = ()> + Send>>> = Vec::with_capacity(live);
        for i in 0..live {
            let s = R::sleep(deadline(i));
            let mut s: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(async move {
                s.await;
            });
            poll_once(s.as_mut()).await;
            held.push(s);
        }
        let start = Instant::now();
        for i in 0..ops {
            let mut s = std::pin::pin!(R::sleep(deadline(i + live)));
            poll_once(s.as_mut()).await;
        }
        let ns = start.elapsed().as_nanos() as f64 / ops as f64;
        drop(held);
        ns
    })
}

/// timer_fire: `n` tasks each sleep until their own deadline, spread evenly over `spread`;
/// returns how late each woke (ns after its deadline), as a histogram.
pub(crate) fn timer_fire<R: Rt>(n: usize, spread: Duration) -> crate::stats::Histogram {
    R::run(0, async move {
        let sleepers: Vec<_> = (0..n)
            .map(|i| {
                let offset = spread.mul_f64(i as f64 / n as f64);
                R::spawn(async move {
                    let deadline = Instant::now() + offset;
                    R::sleep(offset).await;
                    Instant::now()
                        .saturating_duration_since(deadline)
                        .as_nanos() as u64
                })
            })
            .collect();
        let mut hist = crate::stats::Histogram::new();
        for s in sleepers {
            hist.record(s.await);
        }
        hist
    })
}
