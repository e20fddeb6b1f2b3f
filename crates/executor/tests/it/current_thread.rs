//! The current-thread scheduler: spawning, waking, `!Send` tasks and shutdown.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use eddy_executor::CurrentThread;
use eddy_executor::current_thread::spawn_local;

use crate::support::{DropCounter, Gate, yield_times};

#[test]
fn block_on_returns_the_output() {
    let rt = CurrentThread::new();
    assert_eq!(rt.block_on(async { 7 }), 7);
}

#[test]
fn thousands_of_tasks_spawned_from_tasks() {
    let rt = CurrentThread::new();
    let total = rt.block_on(async {
        let mut handles = Vec::new();
        for i in 0..100u64 {
            handles.push(spawn_local(async move {
                let mut inner = Vec::new();
                for j in 0..50u64 {
                    inner.push(spawn_local(async move {
                        yield_times(2).await;
                        i * 1000 + j
                    }));
                }
                let mut sum = 0;
                for h in inner {
                    sum += h.await.unwrap();
                }
                sum
            }));
        }
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    let expected: u64 = (0..100u64)
        .flat_map(|i| (0..50u64).map(move |j| i * 1000 + j))
        .sum();
    assert_eq!(total, expected);
    assert_eq!(rt.live_tasks(), 0);
}

#[test]
fn tasks_spawned_from_outside_and_other_threads() {
    let rt = CurrentThread::new();
    let handle = rt.handle();
    let outside: Vec<_> = (0..1000).map(|i| rt.spawn(async move { i })).collect();
    let from_threads: Vec<_> = (0..4)
        .map(|t| {
            let handle = handle.clone();
            std::thread::spawn(move || {
                (0..500)
                    .map(|i| handle.spawn(async move { t * 500 + i }))
                    .collect::<Vec<_>>()
            })
        })
        .flat_map(|th| th.join().unwrap())
        .collect();
    let sum = rt.block_on(async move {
        let mut sum = 0;
        for h in outside.into_iter().chain(from_threads) {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, (0..1000).sum::<i32>() + (0..2000).sum::<i32>());
}

#[test]
fn spawn_from_another_thread_while_blocked() {
    let rt = CurrentThread::new();
    let handle = rt.handle();
    let pool = eddy_executor::BlockingPool::new();
    let th = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        handle.spawn(async { 99 })
    });
    let got = rt.block_on(async move {
        // The runtime parks until the pool thread's completion unparks it.
        let h = pool.spawn_blocking(move || th.join().unwrap());
        h.await.unwrap().await.unwrap()
    });
    assert_eq!(got, 99);
}

#[test]
fn wakes_from_other_threads() {
    let rt = CurrentThread::new();
    let gates: Vec<Gate> = (0..200).map(|_| Gate::default()).collect();
    let handles: Vec<_> = gates.iter().map(|g| rt.spawn(g.clone().wait())).collect();
    let opener = {
        let gates = gates.clone();
        std::thread::spawn(move || {
            for g in gates.iter().rev() {
                g.open();
            }
        })
    };
    rt.block_on(async move {
        for h in handles {
            h.await.unwrap();
        }
    });
    opener.join().unwrap();
}

#[test]
fn not_send_futures_run_on_the_owner_thread() {
    let rt = CurrentThread::new();
    let shared = Rc::new(RefCell::new(Vec::new()));
    let owner = std::thread::current().id();
    let handles: Vec<_> = (0..10)
        .map(|i| {
            let shared = shared.clone();
            rt.spawn_local(async move {
                assert_eq!(std::thread::current().id(), owner);
                yield_times(1).await;
                shared.borrow_mut().push(i);
                Rc::new(i)
            })
        })
        .collect();
    let out = rt.block_on(async {
        let rc = Rc::new(5);
        spawn_local(async move { *rc + 1 }).await.unwrap()
    });
    assert_eq!(out, 6);
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(*rt.block_on(h).unwrap(), i);
    }
    assert_eq!(shared.borrow().len(), 10);
}

#[test]
fn deep_recursion_of_spawns() {
    fn chain(depth: u32) -> std::pin::Pin<Box<dyn std::future::Future<Output = u32>>> {
        Box::pin(async move {
            if depth == 0 {
                0
            } else {
                spawn_local(chain(depth - 1)).await.unwrap() + 1
            }
        })
    }
    let rt = CurrentThread::new();
    assert_eq!(rt.block_on(chain(10_000)), 10_000);
    assert_eq!(rt.live_tasks(), 0);
}

#[test]
fn hundred_thousand_tasks_in_flight() {
    let rt = CurrentThread::new();
    let gate = Gate::default();
    let done = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..100_000)
        .map(|_| {
            let gate = gate.clone();
            let done = done.clone();
            rt.spawn(async move {
                yield_times(1).await;
                let _ = &gate;
                done.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    assert_eq!(rt.live_tasks(), 100_000);
    rt.block_on(async move {
        for h in handles {
            h.await.unwrap();
        }
    });
    assert_eq!(done.load(Ordering::Relaxed), 100_000);
    assert_eq!(rt.live_tasks(), 0);
}

#[test]
fn dropping_the_runtime_with_pending_tasks_frees_everything() {
    let counter = DropCounter::default();
    let gate = Gate::default();
    let handle;
    {
        let rt = CurrentThread::new();
        for _ in 0..1000 {
            let token = counter.token();
            let gate = gate.clone();
            rt.spawn(async move {
                gate.wait().await;
                drop(token);
            });
        }
        // Some never polled, some parked on the gate.
        rt.block_on(yield_times(1));
        for _ in 0..1000 {
            let token = counter.token();
            rt.spawn_local(async move {
                std::future::pending::<()>().await;
                drop(token);
            });
        }
        let token = counter.token();
        handle = rt.spawn(async move {
            std::future::pending::<()>().await;
            drop(token);
        });
        assert_eq!(rt.live_tasks(), 2001);
    }
    assert_eq!(counter.dropped(), 2001);
    assert!(handle.is_finished());
    // The gate still holds wakers of dead tasks: waking them is a no-op.
    gate.open();
    let rt = CurrentThread::new();
    assert!(rt.block_on(handle).unwrap_err().is_cancelled());
}

#[test]
fn spawn_after_shutdown_is_cancelled() {
    let rt = CurrentThread::new();
    let handle = rt.handle();
    drop(rt);
    let counter = DropCounter::default();
    let token = counter.token();
    let h = handle.spawn(async move { drop(token) });
    assert_eq!(counter.dropped(), 1);
    assert!(h.is_finished());
    assert!(CurrentThread::new().block_on(h).unwrap_err().is_cancelled());
}

#[test]
#[should_panic(expected = "re-entrantly")]
fn nested_block_on_panics_with_advice() {
    let rt = CurrentThread::new();
    rt.block_on(async { rt.block_on(async {}) });
}

#[test]
#[should_panic(expected = "outside CurrentThread::block_on")]
fn spawn_local_outside_a_runtime_panics_with_advice() {
    drop(spawn_local(async {}));
}

#[test]
fn yield_now_lets_others_run() {
    let rt = CurrentThread::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    for id in 0..2 {
        let log = log.clone();
        rt.spawn_local(async move {
            for step in 0..3 {
                log.borrow_mut().push((id, step));
                eddy_executor::yield_now().await;
            }
        });
    }
    rt.block_on(yield_times(10));
    assert_eq!(
        *log.borrow(),
        vec![(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2)]
    );
}

#[test]
fn budget_makes_an_always_ready_task_yield() {
    use std::future::poll_fn;
    let rt = CurrentThread::new();
    let other_ran = Rc::new(std::cell::Cell::new(false));
    let flag = other_ran.clone();
    let spinner = rt.spawn_local(async move {
        let mut n = 0u32;
        // An always-ready leaf that respects the budget.
        while !flag.get() {
            poll_fn(eddy_executor::coop::poll_proceed).await;
            n += 1;
            assert!(n < 10_000, "the budget never made the task yield");
        }
        n
    });
    let o = other_ran.clone();
    rt.spawn_local(async move { o.set(true) });
    let n = rt.block_on(spinner).unwrap();
    assert!(n as usize <= usize::from(eddy_executor::coop::BUDGET) + 1);
}
