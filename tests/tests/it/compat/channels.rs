//! The smol family's primitives (async-channel, async-lock, event-listener) and
//! `futures::channel` on eddy: many tasks, senders on other threads, waiters cancelled
//! while they wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use futures::{SinkExt, StreamExt};

use super::{TASKS, each_runtime, expect_cancelled, settle};

#[test]
fn async_channel_many_producers_consumers_some_aborted() {
    each_runtime(|| async {
        const CONSUMERS: usize = 8;
        const FROM_THREAD: usize = 1_000;
        let (tx, rx) = async_channel::bounded::<usize>(16);
        let mut consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                let rx = rx.clone();
                eddy::spawn(async move {
                    let mut got = Vec::new();
                    while let Ok(v) = rx.recv().await {
                        got.push(v);
                    }
                    got
                })
            })
            .collect();
        drop(rx);
        settle().await;
        // Half the consumers are cancelled while they wait on an empty channel: no message
        // may be handed to them and then lost.
        let aborted: Vec<_> = (0..CONSUMERS / 2).map(|k| consumers.remove(k)).collect();
        expect_cancelled(aborted).await;
        for i in 0..TASKS {
            let tx = tx.clone();
            eddy::spawn(async move { tx.send(i).await.unwrap() });
        }
        let thread = {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..FROM_THREAD {
                    tx.send_blocking(TASKS + i).unwrap();
                }
            })
        };
        drop(tx);
        let mut all = Vec::new();
        for c in consumers {
            all.extend(c.await.unwrap());
        }
        all.sort_unstable();
        assert_eq!(all, (0..TASKS + FROM_THREAD).collect::<Vec<_>>());
        thread.join().unwrap();
    });
}

#[test]
fn async_lock_mutex_rwlock_semaphore_barrier() {
    each_runtime(|| async {
        let mutex = Arc::new(async_lock::Mutex::new(0usize));
        let rw = Arc::new(async_lock::RwLock::new(0usize));
        let sem = Arc::new(async_lock::Semaphore::new(4));
        let handles: Vec<_> = (0..TASKS)
            .map(|i| {
                let (mutex, rw, sem) = (mutex.clone(), rw.clone(), sem.clone());
                eddy::spawn(async move {
                    let _permit = sem.acquire().await;
                    let mut m = mutex.lock().await;
                    let seen = *m;
                    eddy::yield_now().await;
                    *m = seen + 1;
                    drop(m);
                    if i % 4 == 0 {
                        *rw.write().await += 1;
                    } else {
                        let _r = rw.read().await;
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(*mutex.lock().await, TASKS);
        assert_eq!(*rw.read().await, TASKS / 4);

        // Waiters on each primitive aborted mid-wait; each still works afterwards.
        let m_guard = mutex.lock_arc().await;
        let w_guard = rw.write_arc().await;
        let mut s_guard = Vec::new();
        for _ in 0..4 {
            s_guard.push(sem.acquire_arc().await);
        }
        let waiters = vec![
            {
                let m = mutex.clone();
                eddy::spawn(async move { drop(m.lock().await) })
            },
            {
                let rw = rw.clone();
                eddy::spawn(async move { drop(rw.read().await) })
            },
            {
                let sem = sem.clone();
                eddy::spawn(async move { drop(sem.acquire().await) })
            },
        ];
        settle().await;
        expect_cancelled(waiters).await;
        drop((m_guard, w_guard, s_guard));
        *mutex.lock().await += 1;
        *rw.write().await += 1;
        let all: Vec<_> = (0..4).filter_map(|_| sem.try_acquire()).collect();
        assert_eq!(all.len(), 4, "no permit leaked");

        // A barrier across tasks, one of them released from another thread's progress.
        let barrier = Arc::new(async_lock::Barrier::new(100));
        let leaders = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..100)
            .map(|_| {
                let (barrier, leaders) = (barrier.clone(), leaders.clone());
                eddy::spawn(async move {
                    if barrier.wait().await.is_leader() {
                        leaders.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(leaders.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn event_listener_flag_set_from_another_thread() {
    each_runtime(|| async {
        let event = Arc::new(event_listener::Event::new());
        let flag = Arc::new(AtomicBool::new(false));
        let wait = |event: Arc<event_listener::Event>, flag: Arc<AtomicBool>| async move {
            // The documented check–listen–check loop: no notification falls between.
            loop {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                let listener = event.listen();
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                listener.await;
            }
        };
        let mut waiters: Vec<_> = (0..TASKS)
            .map(|_| eddy::spawn(wait(event.clone(), flag.clone())))
            .collect();
        settle().await;
        let aborted: Vec<_> = (0..100).map(|k| waiters.remove(k)).collect();
        expect_cancelled(aborted).await;
        let (e, f) = (event.clone(), flag.clone());
        std::thread::spawn(move || {
            f.store(true, Ordering::SeqCst);
            e.notify(usize::MAX);
        });
        for w in waiters {
            w.await.unwrap();
        }
        // notify(1) with one listener left after its neighbour was cancelled.
        flag.store(false, Ordering::SeqCst);
        let a = eddy::spawn(wait(event.clone(), flag.clone()));
        let b = eddy::spawn(wait(event.clone(), flag.clone()));
        settle().await;
        expect_cancelled(vec![a]).await;
        flag.store(true, Ordering::SeqCst);
        event.notify(1);
        b.await.unwrap();
    });
}

#[test]
fn futures_channel_mpsc_and_oneshot() {
    each_runtime(|| async {
        let (tx, mut rx) = futures::channel::mpsc::channel::<usize>(8);
        for i in 0..TASKS {
            let mut tx = tx.clone();
            eddy::spawn(async move { tx.send(i).await.unwrap() });
        }
        drop(tx);
        let mut got: Vec<_> = (&mut rx).collect().await;
        got.sort_unstable();
        assert_eq!(got, (0..TASKS).collect::<Vec<_>>());

        let (utx, urx) = futures::channel::mpsc::unbounded::<usize>();
        let threads: Vec<_> = (0..2)
            .map(|t| {
                let utx = utx.clone();
                std::thread::spawn(move || {
                    for i in 0..1_000 {
                        utx.unbounded_send(t * 1_000 + i).unwrap();
                    }
                })
            })
            .collect();
        drop(utx);
        let mut got: Vec<_> = urx.collect().await;
        got.sort_unstable();
        assert_eq!(got, (0..2_000).collect::<Vec<_>>());
        for t in threads {
            t.join().unwrap();
        }

        // A receiver cancelled mid-wait: the sender sees it and gets its value back.
        let (otx, orx) = futures::channel::oneshot::channel::<u32>();
        let waiting = eddy::spawn(orx);
        settle().await;
        expect_cancelled(vec![waiting]).await;
        assert!(otx.is_canceled());
        assert_eq!(otx.send(5), Err(5));
        // A sender dropped on another thread wakes the receiver with `Canceled`.
        let (otx, orx) = futures::channel::oneshot::channel::<u32>();
        std::thread::spawn(move || drop(otx));
        assert!(orx.await.is_err());
        // And values sent from the blocking pool arrive.
        let (otx, orx) = futures::channel::oneshot::channel::<u32>();
        drop(eddy::spawn_blocking(move || otx.send(9).unwrap()));
        assert_eq!(orx.await, Ok(9));
    });
}
