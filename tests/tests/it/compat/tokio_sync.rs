//! `tokio::sync` on eddy. Its primitives are runtime-agnostic (only the `sync` feature is
//! enabled; tokio's runtime, reactor and timers are never built), so they must work on any
//! executor that keeps the `Waker` contract.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Mutex, Notify, RwLock, Semaphore, broadcast, mpsc, oneshot, watch};

use super::{TASKS, each_runtime, expect_cancelled, settle};

#[test]
fn mpsc_from_tasks_threads_and_blocking_pool() {
    each_runtime(|| async {
        const PER_THREAD: usize = 500;
        let (tx, mut rx) = mpsc::channel::<usize>(16);
        for i in 0..TASKS {
            let tx = tx.clone();
            eddy::spawn(async move { tx.send(i).await.unwrap() });
        }
        let threads: Vec<_> = (0..2)
            .map(|t| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for i in 0..PER_THREAD {
                        tx.blocking_send(TASKS + t * PER_THREAD + i).unwrap();
                    }
                })
            })
            .collect();
        let blocking = {
            let tx = tx.clone();
            eddy::spawn_blocking(move || {
                for i in 0..PER_THREAD {
                    tx.blocking_send(TASKS + 2 * PER_THREAD + i).unwrap();
                }
            })
        };
        drop(tx);
        let total = TASKS + 3 * PER_THREAD;
        let mut seen = vec![false; total];
        while let Some(v) = rx.recv().await {
            assert!(!std::mem::replace(&mut seen[v], true), "{v} received twice");
        }
        assert!(seen.iter().all(|s| *s), "a message was lost");
        blocking.await.unwrap();
        for t in threads {
            t.join().unwrap();
        }
    });
}

#[test]
fn mpsc_senders_aborted_while_full_return_their_capacity() {
    each_runtime(|| async {
        let (tx, mut rx) = mpsc::channel::<usize>(1);
        tx.send(usize::MAX).await.unwrap();
        let mut handles: Vec<_> = (0..200)
            .map(|i| {
                let tx = tx.clone();
                eddy::spawn(async move { tx.send(i).await.unwrap() })
            })
            .collect();
        settle().await;
        // Abort every odd sender while all of them wait for capacity.
        let aborted: Vec<_> = (0..100).map(|k| handles.remove(k + 1)).collect();
        expect_cancelled(aborted).await;
        // A receive cancelled mid-wait (here: by a timeout on an empty channel) loses nothing.
        let (tx2, mut rx2) = mpsc::channel::<u8>(1);
        assert!(
            eddy::timeout(std::time::Duration::from_millis(5), rx2.recv())
                .await
                .is_err()
        );
        tx2.send(7).await.unwrap();
        assert_eq!(rx2.recv().await, Some(7));

        drop(tx);
        let mut got = Vec::new();
        while let Some(v) = rx.recv().await {
            got.push(v);
        }
        got.sort_unstable();
        let mut want: Vec<usize> = (0..200).step_by(2).collect();
        want.push(usize::MAX);
        assert_eq!(got, want);
        for h in handles {
            h.await.unwrap();
        }
    });
}

#[test]
fn oneshot_across_threads_and_cancelled_receivers() {
    each_runtime(|| async {
        let mut receivers = Vec::new();
        for i in 0..TASKS {
            let (tx, rx) = oneshot::channel::<usize>();
            match i % 3 {
                0 => drop(eddy::spawn(async move { tx.send(i).unwrap() })),
                1 => drop(eddy::spawn_blocking(move || tx.send(i).unwrap())),
                _ => drop(std::thread::spawn(move || tx.send(i).unwrap())),
            }
            receivers.push(eddy::spawn(rx));
        }
        for (i, rx) in receivers.into_iter().enumerate() {
            assert_eq!(rx.await.unwrap().unwrap(), i);
        }
        // A receiver aborted mid-wait closes the channel: the sender gets its value back.
        let (tx, rx) = oneshot::channel::<String>();
        let waiting = eddy::spawn(rx);
        settle().await;
        expect_cancelled(vec![waiting]).await;
        assert!(tx.is_closed());
        assert_eq!(tx.send("kept".to_owned()), Err("kept".to_owned()));
    });
}

#[test]
fn mutex_under_contention_and_aborted_waiters() {
    each_runtime(|| async {
        let counter = Arc::new(Mutex::new(0usize));
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                let counter = counter.clone();
                eddy::spawn(async move {
                    let mut guard = counter.lock().await;
                    let seen = *guard;
                    // Hold the lock across a suspension point.
                    eddy::yield_now().await;
                    *guard = seen + 1;
                })
            })
            .collect();
        let thread = {
            let counter = counter.clone();
            std::thread::spawn(move || {
                for _ in 0..100 {
                    *counter.blocking_lock() += 1;
                }
            })
        };
        for h in handles {
            h.await.unwrap();
        }
        eddy::spawn_blocking(move || thread.join().unwrap())
            .await
            .unwrap();
        assert_eq!(*counter.lock().await, TASKS + 100);

        // Waiters aborted while the lock is held leave the queue; the rest still get it.
        let held = counter.clone().lock_owned().await;
        let mut waiters: Vec<_> = (0..100)
            .map(|_| {
                let counter = counter.clone();
                eddy::spawn(async move { *counter.lock().await += 1 })
            })
            .collect();
        settle().await;
        let aborted: Vec<_> = (0..50).map(|k| waiters.remove(k)).collect();
        expect_cancelled(aborted).await;
        drop(held);
        for w in waiters {
            w.await.unwrap();
        }
        assert_eq!(*counter.try_lock().expect("nobody holds it"), TASKS + 150);
    });
}

#[test]
fn rwlock_readers_writers_and_an_aborted_writer() {
    each_runtime(|| async {
        let lock = Arc::new(RwLock::new(0usize));
        let handles: Vec<_> = (0..TASKS)
            .map(|i| {
                let lock = lock.clone();
                eddy::spawn(async move {
                    if i % 10 == 0 {
                        *lock.write().await += 1;
                    } else {
                        let v = *lock.read().await;
                        eddy::yield_now().await;
                        assert!(v <= TASKS / 10);
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(*lock.read().await, TASKS / 10);

        // tokio's RwLock is fair: a queued writer holds back new readers. Aborting that
        // writer must let them in.
        let reader = lock.clone().read_owned().await;
        let writer = {
            let lock = lock.clone();
            eddy::spawn(async move { *lock.write().await = 0 })
        };
        // Polled until the writer is queued (on a loaded machine the other worker may be late).
        eddy::timeout(std::time::Duration::from_secs(5), async {
            while lock.try_read().is_ok() {
                eddy::sleep(std::time::Duration::from_millis(1)).await;
            }
        })
        .await
        .expect("the queued writer blocks new readers");
        expect_cancelled(vec![writer]).await;
        let second = eddy::timeout(std::time::Duration::from_secs(5), lock.read())
            .await
            .expect("a reader gets in once the queued writer is gone");
        assert_eq!(*second, TASKS / 10);
        drop((second, reader));
        *lock.write().await += 1;
    });
}

#[test]
fn semaphore_bounds_concurrency_and_aborted_acquires_leak_nothing() {
    each_runtime(|| async {
        const PERMITS: usize = 3;
        let sem = Arc::new(Semaphore::new(PERMITS));
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                let (sem, inside, most) = (sem.clone(), inside.clone(), most.clone());
                eddy::spawn(async move {
                    let _permit = sem.acquire().await.unwrap();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    eddy::yield_now().await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= PERMITS);
        assert_eq!(sem.available_permits(), PERMITS);

        // All permits taken; aborted waiters, then permits added from another thread.
        let all = sem
            .clone()
            .acquire_many_owned(PERMITS as u32)
            .await
            .unwrap();
        let mut waiters: Vec<_> = (0..100)
            .map(|_| {
                let sem = sem.clone();
                eddy::spawn(async move { sem.acquire_owned().await.unwrap() })
            })
            .collect();
        settle().await;
        let aborted: Vec<_> = (0..50).map(|k| waiters.remove(k)).collect();
        expect_cancelled(aborted).await;
        let adder = sem.clone();
        std::thread::spawn(move || adder.add_permits(50));
        let mut permits = Vec::new();
        for w in waiters {
            permits.push(w.await.unwrap());
        }
        drop((permits, all));
        assert_eq!(sem.available_permits(), PERMITS + 50);
    });
}

#[test]
fn notify_from_threads_and_aborted_waiters() {
    each_runtime(|| async {
        const WAITERS: usize = 200;
        let notify = Arc::new(Notify::new());
        let registered = Arc::new(AtomicUsize::new(0));
        let spawn_waiter = || {
            let (notify, registered) = (notify.clone(), registered.clone());
            eddy::spawn(async move {
                let mut notified = pin!(notify.notified());
                // Registered before it is counted, so notify_one cannot miss it.
                notified.as_mut().enable();
                registered.fetch_add(1, Ordering::SeqCst);
                notified.await;
            })
        };
        let mut waiters: Vec<_> = (0..WAITERS).map(|_| spawn_waiter()).collect();
        while registered.load(Ordering::SeqCst) < WAITERS {
            eddy::yield_now().await;
        }
        let aborted: Vec<_> = (0..WAITERS / 2).map(|k| waiters.remove(k)).collect();
        expect_cancelled(aborted).await;
        // One notify_one per survivor, from another thread: each wakes exactly one.
        let n = notify.clone();
        std::thread::spawn(move || {
            for _ in 0..WAITERS / 2 {
                n.notify_one();
            }
        });
        for w in waiters {
            w.await.unwrap();
        }
        // notify_waiters wakes everyone registered at the time.
        registered.store(0, Ordering::SeqCst);
        let waiters: Vec<_> = (0..WAITERS).map(|_| spawn_waiter()).collect();
        while registered.load(Ordering::SeqCst) < WAITERS {
            eddy::yield_now().await;
        }
        let n = notify.clone();
        eddy::spawn_blocking(move || n.notify_waiters());
        for w in waiters {
            w.await.unwrap();
        }
    });
}

#[test]
fn broadcast_fan_out_lag_and_aborted_receivers() {
    each_runtime(|| async {
        const RECEIVERS: usize = 200;
        const MESSAGES: usize = 100;
        let (tx, _) = broadcast::channel::<usize>(MESSAGES + 1);
        let mut receivers: Vec<_> = (0..RECEIVERS)
            .map(|_| {
                let mut rx = tx.subscribe();
                eddy::spawn(async move {
                    let mut got = Vec::new();
                    loop {
                        match rx.recv().await {
                            Ok(v) => got.push(v),
                            Err(broadcast::error::RecvError::Closed) => return got,
                            Err(e) => panic!("{e}"),
                        }
                    }
                })
            })
            .collect();
        settle().await;
        let aborted: Vec<_> = (0..RECEIVERS / 2).map(|k| receivers.remove(k)).collect();
        expect_cancelled(aborted).await;
        assert_eq!(tx.receiver_count(), RECEIVERS / 2);
        std::thread::spawn(move || {
            for i in 0..MESSAGES {
                tx.send(i).unwrap();
            }
        });
        for r in receivers {
            assert_eq!(r.await.unwrap(), (0..MESSAGES).collect::<Vec<_>>());
        }

        // A slow receiver learns how much it missed.
        let (tx, mut rx) = broadcast::channel::<usize>(4);
        for i in 0..10 {
            tx.send(i).unwrap();
        }
        assert_eq!(rx.recv().await, Err(broadcast::error::RecvError::Lagged(6)));
        assert_eq!(rx.recv().await, Ok(6));
    });
}

#[test]
fn watch_sees_the_latest_value_and_survives_aborted_watchers() {
    each_runtime(|| async {
        const WATCHERS: usize = 200;
        const LAST: usize = 1_000;
        let (tx, rx) = watch::channel(0usize);
        let mut watchers: Vec<_> = (0..WATCHERS)
            .map(|_| {
                let mut rx = rx.clone();
                eddy::spawn(async move {
                    let mut last = *rx.borrow_and_update();
                    while rx.changed().await.is_ok() {
                        let v = *rx.borrow_and_update();
                        assert!(v >= last, "watch went backwards: {last} then {v}");
                        last = v;
                    }
                    last
                })
            })
            .collect();
        drop(rx);
        settle().await;
        let aborted: Vec<_> = (0..WATCHERS / 2).map(|k| watchers.remove(k)).collect();
        expect_cancelled(aborted).await;
        assert_eq!(tx.receiver_count(), WATCHERS / 2);
        std::thread::spawn(move || {
            for i in 1..=LAST {
                tx.send(i).unwrap();
            }
        });
        for w in watchers {
            assert_eq!(w.await.unwrap(), LAST);
        }
    });
}
