//! The task module's view of a poll observer. Debug mode's monitor (`crate::debug`)
//! implements [`Observer`]; the poll harness, the main-task record and snapshots use only
//! this interface, so the task module does not know the monitor (the dependency points one
//! way: `debug` uses tasks).

use std::collections::HashMap;
use std::panic::Location;

use super::TaskId;

/// Watches polls as they run, and knows what it saw.
pub(crate) trait Observer: Sync {
    /// A poll of task `id` (spawned at `location`) starts on this thread; end the returned
    /// observation when the poll returns.
    fn begin(&self, id: TaskId, location: &'static Location<'static>) -> Observation<'_>;

    /// A poll of a `block_on` future, listed as task `id`, starts on this thread. `None`
    /// when this thread is already inside a watched poll (a nested `block_on`): the outer
    /// poll, which holds the thread, stays watched. Apart from `begin`, so the task poll
    /// path pays nothing for that check.
    fn begin_main(
        &self,
        id: TaskId,
        location: &'static Location<'static>,
    ) -> Option<Observation<'_>>;

    /// Tasks in a reported, unfinished slow poll.
    fn slow_tasks(&self) -> Vec<TaskId>;

    /// Sampled busy time of each task charged any, in nanoseconds.
    fn busy_times(&self) -> HashMap<TaskId, u64>;
}

/// Ends the poll an [`Observation`] stands for.
pub(crate) trait PollEnd {
    /// The poll that `begin` numbered `token` returned.
    fn end(&self, token: u64);
}

/// One poll under observation: from [`Observer::begin`] or [`Observer::begin_main`].
pub(crate) struct Observation<'a> {
    ends: &'a dyn PollEnd,
    token: u64,
}

impl<'a> Observation<'a> {
    pub(crate) fn new(ends: &'a dyn PollEnd, token: u64) -> Observation<'a> {
        Observation { ends, token }
    }

    /// The poll returned.
    #[inline]
    pub(crate) fn end(self) {
        self.ends.end(self.token);
    }
}
