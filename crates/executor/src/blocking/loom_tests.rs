//! loom: the blocking pool's hand-off from submitter to pool thread, and shutdown.

use std::task::Poll;

use super::*;
use crate::task::mock::{counting_waker, poll_join};

/// A job submitted while the pool starts its thread always runs (or, if shutdown wins,
/// is cancelled) and shutdown waits for the thread to exit.
#[test]
fn submit_then_shutdown_hand_off() {
    loom::model(|| {
        let pool = BlockingPool::builder().max_threads(1).build();
        let mut h = pool.spawn_blocking(|| 7);
        let report = pool.shutdown(Duration::from_secs(1));
        assert!(report.is_clean());
        let (_, w) = counting_waker();
        match poll_join(&mut h, &w) {
            Poll::Ready(Ok(v)) => assert_eq!(v, 7),
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            Poll::Pending => panic!("a job is finished or cancelled once shutdown returns"),
        }
    });
}
