//! Loom models of the tracker's wait: the last task's end and `close` never lose a wake.

use loom::future::block_on;
use loom::thread;

use super::*;

/// A tracked task's future dropped on another thread (it finished) while this thread
/// closes the tracker and waits: `wait` completes whichever comes first, and the end is
/// counted as a finish by a shutdown's outcomes.
#[test]
fn a_task_ending_racing_close_wakes_the_waiter() {
    loom::model(|| {
        let tracker = TaskTracker::new();
        lock(&tracker.inner.state).shutdown = Some(Outcomes::default());
        let mut mark = Inner::track(&tracker.inner, Some("job".to_owned()), Location::caller());
        mark.progress = Progress::Done;
        let task = thread::spawn(move || drop(mark));
        tracker.close();
        block_on(tracker.wait());
        assert!(tracker.is_empty());
        task.join().unwrap();
        let state = lock(&tracker.inner.state);
        let outcomes = state.shutdown.as_ref().unwrap();
        assert_eq!((outcomes.finished, outcomes.cancelled.len()), (1, 0));
    });
}
