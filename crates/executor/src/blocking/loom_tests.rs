//! loom: the blocking pool's hand-off from submitter to pool thread, keep-alive retirement
//! (timed out by the model's clock thread, `Receiver::elapse`), and shutdown.

use std::task::Poll;

use super::*;
use crate::loom::thread;
use crate::task::mock::{counting_waker, poll_join};

/// Whether a job has run, and a condition variable to wait for it: how a model waits for a
/// job without polling its handle in a loop.
#[derive(Default)]
struct Ran {
    ran: Mutex<bool>,
    changed: Condvar,
}

impl Ran {
    /// A job that says in `ran` that it ran.
    fn job(ran: &Arc<Ran>) -> impl FnOnce() + Send + 'static {
        let ran = ran.clone();
        move || {
            *lock(&ran.ran) = true;
            ran.changed.notify_all();
        }
    }

    /// Blocks until the job has run; a job that never runs leaves the model blocked here,
    /// which loom reports as a deadlock.
    fn wait(&self) {
        let mut ran = lock(&self.ran);
        while !*ran {
            ran = self
                .changed
                .wait(ran)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// A pool of one thread, started without a job (so it goes straight to waiting for one),
/// and a model clock thread that times that wait out once, at any point.
fn one_thread_pool_and_clock() -> (BlockingPool, thread::JoinHandle<()>) {
    let pool = BlockingPool::builder().max_threads(1).build();
    lock(&pool.inner.counters).threads += 1;
    Inner::start_thread(&pool.inner);
    let clock = {
        let inner = pool.inner.clone();
        thread::spawn(move || inner.rx.elapse())
    };
    (pool, clock)
}

/// What a job's handle says once shutdown has returned: its output if it ran, `None` if it
/// was cancelled; never pending.
fn ran_or_cancelled<T>(handle: &mut JoinHandle<T>) -> Option<T> {
    let (_, w) = counting_waker();
    match poll_join(handle, &w) {
        Poll::Ready(Ok(v)) => Some(v),
        Poll::Ready(Err(e)) => {
            assert!(e.is_cancelled(), "{e:?}");
            None
        }
        Poll::Pending => panic!("a job is finished or cancelled once shutdown returns"),
    }
}

/// A job submitted while the pool starts its thread always runs (or, if shutdown wins,
/// is cancelled) and shutdown waits for the thread to exit.
#[test]
fn submit_then_shutdown_hand_off() {
    loom::model(|| {
        let pool = BlockingPool::builder().max_threads(1).build();
        let mut h = pool.spawn_blocking(|| 7);
        let report = pool.shutdown(Duration::from_secs(1));
        assert!(report.is_clean());
        assert!(matches!(ran_or_cancelled(&mut h), Some(7) | None));
    });
}

/// Keep-alive retirement racing a submit never strands the job. The pool's one thread is
/// waiting for work when its keep-alive runs out and a job is submitted, in every
/// order: the job runs, on that thread (which stays, because it finds `queued > 0` under
/// the lock) or on a new one (because the old one had already retired and left `threads`
/// and `idle` saying so). A stranded job leaves the model waiting for it forever (loom:
/// deadlock).
#[test]
fn a_job_racing_keep_alive_retirement_runs() {
    loom::model(|| {
        let (pool, clock) = one_thread_pool_and_clock();
        let ran = Arc::new(Ran::default());
        let mut job = pool.spawn_blocking(Ran::job(&ran));
        ran.wait();
        clock.join().unwrap();
        assert!(pool.shutdown(Duration::from_secs(1)).is_clean());
        assert_eq!(ran_or_cancelled(&mut job), Some(()), "the job ran");
    });
}

/// Shutdown racing a thread that retires on its keep-alive, just after a job was submitted
/// (which that thread takes, stays for, or leaves to a new thread it races): shutdown
/// returns without relying on its deadline (under loom its wait for `exited` has no clock,
/// so a missed exit signal is a deadlock), reports nothing left running, and by then the
/// job has run or been cancelled.
#[test]
fn shutdown_racing_keep_alive_retirement_neither_hangs_nor_strands_a_job() {
    loom::model(|| {
        let (pool, clock) = one_thread_pool_and_clock();
        let mut job = pool.spawn_blocking(|| ());
        let report = pool.shutdown(Duration::from_secs(1));
        clock.join().unwrap();
        assert!(report.is_clean());
        ran_or_cancelled(&mut job);
    });
}
