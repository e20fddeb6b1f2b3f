//! The task workloads: spawning, yielding, chains, ping-pong and the blocking pool, written
//! once against [`Rt`] so every runtime runs the same code.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::rt::Rt;

fn per(elapsed: Duration, n: usize) -> f64 {
    elapsed.as_nanos() as f64 / n as f64
}

/// ns per task: one task spawns `n` no-op tasks, then awaits each.
pub(crate) fn spawn_local<R: Rt>(workers: usize, n: usize) -> f64 {
    R::run(workers, async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..n).map(|_| R::spawn(async {})).collect();
        for h in handles {
            h.await;
        }
        per(start.elapsed(), n)
    })
}

/// ns per task: a thread outside the runtime spawns `n` tasks onto it.
pub(crate) fn spawn_remote<R: Rt>(workers: usize, n: usize) -> f64 {
    per(R::run_remote(workers, n), n)
}

/// ns per yield: `tasks` tasks each yield `yields` times.
pub(crate) fn yield_many<R: Rt>(workers: usize, tasks: usize, yields: usize) -> f64 {
    R::run(workers, async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                R::spawn(async move {
                    for _ in 0..yields {
                        R::yield_now().await;
                    }
                })
            })
            .collect();
        for h in handles {
            h.await;
        }
        per(start.elapsed(), tasks * yields)
    })
}

fn chain<R: Rt>(left: usize, done: Arc<Slot>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        if left == 0 {
            done.put(0);
        } else {
            // Detached: the chain's end reports through `done`, not through the handles.
            R::spawn_detached(chain::<R>(left - 1, done));
        }
    })
}

/// ns per task: each task spawns the next, `depth` deep.
pub(crate) fn chained_spawn<R: Rt>(workers: usize, depth: usize) -> f64 {
    R::run(workers, async move {
        let done = Arc::new(Slot::default());
        let start = Instant::now();
        R::spawn_detached(chain::<R>(depth, done.clone()));
        done.take().await;
        per(start.elapsed(), depth)
    })
}

/// ns per round trip: two tasks bounce a counter through two [`Slot`]s.
pub(crate) fn ping_pong<R: Rt>(workers: usize, rounds: usize) -> f64 {
    R::run(workers, async move {
        let ping = Arc::new(Slot::default());
        let pong = Arc::new(Slot::default());
        let (ping2, pong2) = (ping.clone(), pong.clone());
        let echo = R::spawn(async move {
            for _ in 0..rounds {
                let v = ping2.take().await;
                pong2.put(v + 1);
            }
        });
        let start = Instant::now();
        for i in 0..rounds as u64 {
            ping.put(i);
            let v = pong.take().await;
            assert_eq!(v, i + 1, "ping-pong lost a message");
        }
        let ns = per(start.elapsed(), rounds);
        echo.await;
        ns
    })
}

/// Calls per second: `n` short closures on the blocking pool, all submitted, then awaited.
pub(crate) fn blocking<R: Rt>(n: usize) -> f64 {
    R::run(0, async move {
        let sum = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let sum = sum.clone();
                R::spawn_blocking(move || sum.fetch_add(i, Ordering::Relaxed))
            })
            .collect();
        for h in handles {
            h.await;
        }
        n as f64 / start.elapsed().as_secs_f64()
    })
}

/// A one-value mailbox that any runtime's waker can wait on: the same channel for every
/// runtime, so ping-pong measures their wake paths and not their channel crates.
#[derive(Default)]
pub(crate) struct Slot {
    inner: Mutex<(Option<u64>, Option<Waker>)>,
}

impl Slot {
    pub(crate) fn put(&self, v: u64) {
        let waker = {
            let mut g = self.inner.lock().expect("slot lock");
            g.0 = Some(v);
            g.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    pub(crate) fn take(&self) -> impl Future<Output = u64> + '_ {
        std::future::poll_fn(move |cx: &mut Context<'_>| {
            let mut g = self.inner.lock().expect("slot lock");
            match g.0.take() {
                Some(v) => Poll::Ready(v),
                None => {
                    g.1 = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
    }
}
