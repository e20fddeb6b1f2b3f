//! The blocking pool: results, panics, thread cap, keep-alive retirement and shutdown.

use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use eddy_executor::{BlockingPool, CurrentThread, TaskBuilder};

#[test]
fn runs_closures_and_returns_results() {
    let pool = BlockingPool::new();
    let rt = CurrentThread::new();
    let handles: Vec<_> = (0..100)
        .map(|i| pool.spawn_blocking(move || i * 2))
        .collect();
    let sum = rt.block_on(async {
        let mut s = 0;
        for h in handles {
            s += h.await.unwrap();
        }
        s
    });
    assert_eq!(sum, (0..100).map(|i| i * 2).sum::<i32>());
}

#[test]
fn panics_become_join_errors() {
    let pool = BlockingPool::new();
    let rt = CurrentThread::new();
    let err = rt
        .block_on(pool.spawn_blocking(|| panic!("blocking boom")))
        .unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.to_string(), "task panicked: blocking boom");
    assert_eq!(rt.block_on(pool.spawn_blocking(|| 1)).unwrap(), 1);
}

#[test]
fn jobs_that_wait_on_each_other_each_get_a_thread() {
    let pool = BlockingPool::new();
    let rt = CurrentThread::new();
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let b = barrier.clone();
            pool.spawn_blocking(move || {
                b.wait();
            })
        })
        .collect();
    rt.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
    });
    assert!(pool.threads() >= 8);
}

#[test]
fn thread_cap_is_respected() {
    let pool = BlockingPool::builder().max_threads(2).build();
    let rt = CurrentThread::new();
    let handles: Vec<_> = (0..20)
        .map(|_| {
            pool.spawn_blocking(|| {
                std::thread::sleep(Duration::from_millis(2));
            })
        })
        .collect();
    assert!(pool.threads() <= 2);
    rt.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
    });
    assert!(pool.threads() <= 2);
}

#[test]
fn idle_threads_retire_after_keep_alive() {
    let pool = BlockingPool::builder()
        .keep_alive(Duration::from_millis(50))
        .build();
    let rt = CurrentThread::new();
    rt.block_on(pool.spawn_blocking(|| ())).unwrap();
    assert_eq!(pool.threads(), 1);
    let start = Instant::now();
    while pool.threads() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "idle thread never retired"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // A new job after retirement starts a fresh thread.
    assert_eq!(rt.block_on(pool.spawn_blocking(|| 3)).unwrap(), 3);
}

#[test]
fn abort_before_start_cancels() {
    let pool = BlockingPool::builder().max_threads(1).build();
    let rt = CurrentThread::new();
    let (tx, rx) = mpsc::channel::<()>();
    let blocker = pool.spawn_blocking(move || rx.recv().unwrap());
    let queued = pool.spawn_blocking(|| unreachable!("aborted before it started"));
    queued.abort();
    tx.send(()).unwrap();
    rt.block_on(blocker).unwrap();
    assert!(rt.block_on(queued).unwrap_err().is_cancelled());
}

#[test]
fn shutdown_waits_bounded_and_reports_running_jobs() {
    let pool = BlockingPool::builder().max_threads(1).build();
    let (tx, rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let stuck = pool.spawn_blocking_with(TaskBuilder::new().name("stuck"), move || {
        started_tx.send(()).unwrap();
        rx.recv().unwrap();
        7
    });
    let never = pool.spawn_blocking(|| 0);
    started_rx.recv().unwrap();
    let start = Instant::now();
    let report = pool.shutdown(Duration::from_millis(100));
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(!report.is_clean());
    assert_eq!(report.still_running.len(), 1);
    assert_eq!(report.still_running[0].name.as_deref(), Some("stuck"));
    let rt = CurrentThread::new();
    assert!(rt.block_on(never).unwrap_err().is_cancelled());
    assert!(
        rt.block_on(pool.spawn_blocking(|| 1))
            .unwrap_err()
            .is_cancelled()
    );
    tx.send(()).unwrap();
    // The running job still finishes and delivers its output.
    assert_eq!(rt.block_on(stuck).unwrap(), 7);
    assert!(pool.shutdown(Duration::from_secs(5)).is_clean());
}

/// Regression: dropping a pool already shut down used to call `shutdown` again with the
/// default 5 s timeout, so `Runtime::shutdown_timeout(300 ms)` took 5.3 s. The job here
/// blocks up to 3 s: a second wait would outlast it and see it finish.
#[test]
fn drop_after_shutdown_does_not_wait_again() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let pool = BlockingPool::new();
    let (release, released) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let finished = Arc::new(AtomicBool::new(false));
    let flag = finished.clone();
    let job = pool.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        let _ = released.recv_timeout(Duration::from_secs(3));
        flag.store(true, Ordering::SeqCst);
    });
    drop(job);
    started_rx.recv().unwrap();
    let report = pool.shutdown(Duration::from_millis(100));
    assert_eq!(report.still_running.len(), 1);
    assert!(pool.shutdown(Duration::from_secs(5)).is_clean());
    drop(pool);
    assert!(
        !finished.load(Ordering::SeqCst),
        "a later shutdown or the drop waited for the job again"
    );
    release.send(()).unwrap();
}
