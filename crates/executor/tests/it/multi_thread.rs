//! The multi-thread scheduler: spawning from everywhere, cross-worker wakes, stealing
//! (including the LIFO slot), abort, panics and shutdown.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use eddy_executor::MultiThread;

use crate::support::{DropCounter, Gate, yield_times};

#[test]
fn thousands_of_tasks_from_outside_tasks_and_threads() {
    let rt = MultiThread::new(2);
    let handle = rt.handle();
    let outside: Vec<_> = (0..2000u64).map(|i| rt.spawn(async move { i })).collect();
    let threads: Vec<_> = (0..3u64)
        .map(|t| {
            let h = handle.clone();
            std::thread::spawn(move || {
                (0..1000u64)
                    .map(|i| h.spawn(async move { t * 1000 + i }))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let h2 = handle.clone();
    let nested = rt.spawn(async move {
        let inner: Vec<_> = (0..2000u64)
            .map(|i| {
                let h3 = h2.clone();
                h2.spawn(async move {
                    yield_times(1).await;
                    h3.spawn(async move { i }).await.unwrap()
                })
            })
            .collect();
        let mut s = 0;
        for h in inner {
            s += h.await.unwrap();
        }
        s
    });
    let mut sum = 0;
    for h in outside {
        sum += rt.block_on(h).unwrap();
    }
    for th in threads {
        for h in th.join().unwrap() {
            sum += rt.block_on(h).unwrap();
        }
    }
    sum += rt.block_on(nested).unwrap();
    let expected: u64 = (0..2000).sum::<u64>() + (0..3000).sum::<u64>() + (0..2000).sum::<u64>();
    assert_eq!(sum, expected);
    assert_eq!(rt.live_tasks(), 0);
}

#[test]
fn cross_thread_wakes_and_ping_pong() {
    let rt = MultiThread::new(2);
    let handle = rt.handle();
    let rounds = rt.block_on(async move {
        let ping: Vec<Gate> = (0..1000).map(|_| Gate::default()).collect();
        let pong: Vec<Gate> = (0..1000).map(|_| Gate::default()).collect();
        let (p1, q1) = (ping.clone(), pong.clone());
        let a = handle.spawn(async move {
            for i in 0..1000 {
                p1[i].open();
                q1[i].wait().await;
            }
        });
        let b = handle.spawn(async move {
            for i in 0..1000 {
                ping[i].wait().await;
                pong[i].open();
            }
            1000
        });
        a.await.unwrap();
        b.await.unwrap()
    });
    assert_eq!(rounds, 1000);
}

#[test]
fn lifo_slot_task_is_stolen_while_its_owner_blocks() {
    // Task X wakes Y (Y lands in X's worker's LIFO slot) and then blocks its worker until
    // Y has run. Only another worker stealing the LIFO slot can make progress.
    let rt = MultiThread::new(2);
    let handle = rt.handle();
    for _ in 0..20 {
        let gate = Gate::default();
        let (tx, rx) = mpsc::channel::<()>();
        let g = gate.clone();
        let y = handle.spawn(async move {
            g.wait().await;
            tx.send(()).unwrap();
        });
        // Let Y register on the gate first.
        while !gate.has_waiter() {
            std::thread::yield_now();
        }
        let x = handle.spawn(async move {
            gate.open();
            rx.recv_timeout(Duration::from_secs(10))
                .expect("the LIFO-slot task was never stolen");
        });
        rt.block_on(x).unwrap();
        rt.block_on(y).unwrap();
    }
}

#[test]
fn hundred_thousand_tasks_in_flight() {
    let rt = MultiThread::new(2);
    let done = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..100_000)
        .map(|_| {
            let done = done.clone();
            rt.spawn(async move {
                yield_times(1).await;
                done.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    rt.block_on(async move {
        for h in handles {
            h.await.unwrap();
        }
    });
    assert_eq!(done.load(Ordering::Relaxed), 100_000);
    assert_eq!(rt.live_tasks(), 0);
}

#[test]
fn abort_and_panic_on_workers() {
    let rt = MultiThread::new(2);
    let counter = DropCounter::default();
    let token = counter.token();
    let pending = rt.spawn(async move {
        let _t = token;
        std::future::pending::<()>().await;
    });
    let boom = rt.spawn(async { panic!("worker boom") });
    let ok = rt.spawn(async { 3 });
    let ah = pending.abort_handle();
    std::thread::spawn(move || {
        ah.abort();
        ah.abort();
    })
    .join()
    .unwrap();
    assert!(rt.block_on(pending).unwrap_err().is_cancelled());
    assert_eq!(counter.dropped(), 1);
    assert!(rt.block_on(boom).unwrap_err().is_panic());
    assert_eq!(rt.block_on(ok).unwrap(), 3);
}

#[test]
fn always_ready_task_cannot_starve_others() {
    let rt = MultiThread::new(1);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    let spinner = rt.spawn(async move {
        while !s.load(Ordering::SeqCst) {
            eddy_executor::yield_now().await;
        }
    });
    let s = stop.clone();
    rt.block_on(rt.spawn(async move { s.store(true, Ordering::SeqCst) }))
        .unwrap();
    rt.block_on(spinner).unwrap();
}

#[test]
fn dropping_the_runtime_with_pending_tasks_frees_everything() {
    let counter = DropCounter::default();
    let gate = Gate::default();
    let handles: Vec<_>;
    {
        let rt = MultiThread::new(2);
        handles = (0..2000)
            .map(|_| {
                let token = counter.token();
                let gate = gate.clone();
                rt.spawn(async move {
                    gate.wait().await;
                    drop(token);
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(counter.dropped(), 2000);
    gate.open();
    let rt = MultiThread::new(1);
    for h in handles {
        assert!(h.is_finished());
        assert!(rt.block_on(h).unwrap_err().is_cancelled());
    }
}

#[test]
fn idle_runtime_wakes_for_remote_spawns() {
    let rt = MultiThread::new(2);
    for i in 0..200 {
        // Workers go to sleep between spawns; each spawn must wake one.
        if i % 50 == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(rt.block_on(rt.spawn(async move { i })).unwrap(), i);
    }
}

#[test]
fn deep_chain_of_spawns_across_workers() {
    fn chain(
        h: eddy_executor::multi_thread::Handle,
        depth: u32,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = u32> + Send>> {
        Box::pin(async move {
            if depth == 0 {
                0
            } else {
                let next = h.clone();
                h.spawn(chain(next, depth - 1)).await.unwrap() + 1
            }
        })
    }
    let rt = MultiThread::new(2);
    assert_eq!(
        rt.block_on(rt.spawn(chain(rt.handle(), 10_000))).unwrap(),
        10_000
    );
    assert_eq!(rt.live_tasks(), 0);
}

#[test]
fn blocking_jobs_awaited_from_worker_tasks() {
    let rt = MultiThread::new(2);
    let pool = Arc::new(eddy_executor::BlockingPool::new());
    let handles: Vec<_> = (0..50u64)
        .map(|i| {
            let pool = pool.clone();
            rt.spawn(async move { pool.spawn_blocking(move || i * i).await.unwrap() })
        })
        .collect();
    let sum: u64 = handles.into_iter().map(|h| rt.block_on(h).unwrap()).sum();
    assert_eq!(sum, (0..50u64).map(|i| i * i).sum());
}

#[test]
fn snapshot_lists_named_tasks_on_workers() {
    let rt = MultiThread::new(2);
    let gate = Gate::default();
    let h = rt.handle().spawn_with(
        eddy_executor::TaskBuilder::new().name("mt-named"),
        gate.clone().wait(),
    );
    let start = std::time::Instant::now();
    while !gate.has_waiter() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the task never ran"
        );
        std::thread::yield_now();
    }
    let tasks = rt.tasks();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].name.as_deref(), Some("mt-named"));
    assert_eq!(tasks[0].id, h.id());
    gate.open();
    rt.block_on(h).unwrap();
}

#[test]
fn builder_names_workers_and_runs_their_hooks() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let rt = {
        let (started, stopped) = (Arc::clone(&started), Arc::clone(&stopped));
        eddy_executor::MultiThread::builder()
            .worker_threads(3)
            .thread_name("hooked")
            .on_thread_start(move || {
                let name = std::thread::current().name().map(str::to_owned);
                assert!(
                    name.is_some_and(|n| n.starts_with("hooked-")),
                    "hook ran off a worker thread"
                );
                started.fetch_add(1, Ordering::SeqCst);
            })
            .on_thread_stop(move || {
                stopped.fetch_add(1, Ordering::SeqCst);
            })
            .build()
    };
    let name = rt
        .block_on(rt.spawn(async { std::thread::current().name().map(str::to_owned) }))
        .unwrap();
    assert!(name.is_some_and(|n| n.starts_with("hooked-")));
    // Dropping the runtime joins the workers, so by then every hook has run.
    drop(rt);
    assert_eq!(
        started.load(Ordering::SeqCst),
        3,
        "every worker ran the start hook"
    );
    assert_eq!(
        stopped.load(Ordering::SeqCst),
        3,
        "every worker ran the stop hook before the runtime dropped"
    );
}
