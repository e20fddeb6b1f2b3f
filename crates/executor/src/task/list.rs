//! `OwnedTasks`: every live task of one scheduler, for shutdown and snapshots.
//!
//! The tasks are spread over shards by id (one for a current-thread scheduler, about four
//! per thread otherwise), each a vector of task pointers under a
//! mutex of its own: a worker spawning and another completing tasks (the usual pattern on
//! a multi-thread runtime) lock different shards instead of queueing on one lock, where a
//! profile of spawn_local on 2 workers found contention (docs/benchmarks.md, "Measurements
//! behind code comments"). Each
//! task's `Header::index` is its position in its shard (guarded by that shard's lock), so
//! removal is a `swap_remove` that fixes the index of the task moved into the hole. Four
//! bytes in the header instead of two list pointers keep the header in one cache line with
//! room for the parent and spawn time. The list owns one reference to each task in it
//! (state.rs). A task enters at spawn (`bind`) and leaves when it completes (`remove`, from
//! `complete`) or at shutdown (`close_and_drain`). `close_and_drain` closes every shard
//! under its lock before draining it, and `bind` checks its shard's flag under the same
//! lock, so shutdown cannot miss a task spawned concurrently. Names live in a side table
//! of each shard rather than in every task's header: most tasks have none. The futures of
//! running `block_on`s are listed beside the shards, in `mains` (`main_future.rs`).

use std::collections::HashMap;
use std::future::Future;
use std::panic::Location;
use std::ptr::NonNull;
use std::time::Duration;

use eddy_wake::wait::WaitRecord;

use crate::loom::sync::atomic::Ordering::Relaxed;
use crate::loom::sync::lock;
use crate::loom::sync::{Arc, Mutex};

use super::join::JoinHandle;
use super::main_future::{MAIN_NAME, MainTask};
use super::raw::{Header, Notified, RawTask, Schedule, UNLISTED};
use super::state::{CANCELLED, COMPLETE, JOIN_INTEREST, NOTIFIED, RUNNING};
use super::{Observer, TaskBuilder, TaskId, TaskInfo, TaskState, current_task_id};

/// Vector capacity a shard keeps however few tasks remain; above it the vector shrinks as
/// it empties.
const RETAINED_CAPACITY: usize = 256;

/// Most shards a list gets. Under loom, one: a task's shard follows its id, which comes
/// from a process-wide counter, so with several shards each model iteration would take a
/// different lock and loom requires every iteration to be replayable. The models check the
/// protocol within a shard; `close_and_drain` repeats it for each.
#[cfg(not(eddy_loom))]
const MAX_SHARDS: usize = 64;
#[cfg(eddy_loom)]
const MAX_SHARDS: usize = 1;

/// The live tasks of one scheduler.
pub(crate) struct OwnedTasks {
    shards: Box<[Mutex<Inner>]>,
    /// `shards.len() - 1` (a power of two minus one).
    mask: usize,
    /// The futures of the `block_on`s running now, each listed by its `MainGuard`
    /// (`main_future.rs`); its own lock, never held with a shard's.
    pub(super) mains: Mutex<Vec<Arc<MainTask>>>,
}

struct Inner {
    tasks: Vec<NonNull<Header>>,
    closed: bool,
    names: HashMap<TaskId, Box<str>>,
    /// Tasks ever bound (the metrics' spawn count).
    spawned: u64,
}

// SAFETY: the raw pointers in `Inner` are task headers the list holds references to; they
// are only followed under the mutex, and task headers are themselves Send + Sync.
unsafe impl Send for Inner {}

impl OwnedTasks {
    /// A list for a scheduler whose tasks are spawned and completed by `threads` threads:
    /// one shard for one thread (a single lock is cheapest there), about four shards per
    /// thread otherwise, so two threads rarely want the same one.
    pub(crate) fn new(threads: usize) -> OwnedTasks {
        let n = match threads {
            0 | 1 => 1,
            n => (n * 4).next_power_of_two().min(MAX_SHARDS),
        };
        OwnedTasks {
            mask: n - 1,
            shards: (0..n)
                .map(|_| {
                    Mutex::new(Inner {
                        tasks: Vec::new(),
                        closed: false,
                        names: HashMap::new(),
                        spawned: 0,
                    })
                })
                .collect(),
            mains: Mutex::new(Vec::new()),
        }
    }

    /// The shard task `id` lives in.
    fn shard(&self, id: TaskId) -> &Mutex<Inner> {
        &self.shards[id.as_u64() as usize & self.mask]
    }

    /// Creates a task and adds it to the list. Returns its `JoinHandle` and, unless the list
    /// is closed (the task was then cancelled on the spot), the `Notified` to queue.
    pub(crate) fn bind<F, S>(
        &self,
        future: F,
        scheduler: S,
        builder: TaskBuilder<'_>,
        location: &'static Location<'static>,
    ) -> (JoinHandle<F::Output>, Option<Notified>)
    where
        F: Future + 'static,
        S: Schedule,
    {
        let id = TaskId::next();
        let raw = RawTask::new(future, scheduler, id, location, current_task_id());
        // SAFETY: a new task carries one reference for its JoinHandle (state.rs INITIAL),
        // and its output type is F::Output.
        let join = unsafe { JoinHandle::new(raw) };
        // SAFETY: and one for its first Notified; it starts NOTIFIED.
        let notified = unsafe { Notified::from_raw(raw) };
        let mut inner = lock(self.shard(id));
        if inner.closed {
            drop(inner);
            // The list's reference goes to shutdown, which cancels the future at once.
            raw.shutdown();
            drop(notified);
            return (join, None);
        }
        if let Some(name) = builder.name {
            inner.names.insert(id, name.into());
        }
        let index = u32::try_from(inner.tasks.len())
            .ok()
            .filter(|&i| i != UNLISTED)
            .expect("more than 4 billion live tasks in one runtime");
        // SAFETY: `index` is guarded by the list lock, which we hold.
        raw.header().index.with_mut(|i| unsafe { *i = index });
        inner.tasks.push(raw.header_ptr());
        inner.spawned += 1;
        (join, Some(notified))
    }

    /// Takes `task` out of the list. `true` when it was there: the list's reference is the
    /// caller's now.
    pub(crate) fn remove(&self, task: &RawTask) -> bool {
        let mut inner = lock(self.shard(task.id()));
        // SAFETY: guarded by the list lock, held.
        let index = task.header().index.with(|i| unsafe { *i });
        if index == UNLISTED {
            return false;
        }
        let index = index as usize;
        debug_assert_eq!(
            inner.tasks.get(index).copied(),
            Some(task.header_ptr()),
            "invariant: a listed task's index points at itself"
        );
        inner.tasks.swap_remove(index);
        if let Some(&moved) = inner.tasks.get(index) {
            // SAFETY: `moved` is in this list, alive because the list holds a reference.
            let moved = unsafe { moved.as_ref() };
            // SAFETY: its index is guarded by the lock we hold.
            moved.index.with_mut(|i| unsafe { *i = index as u32 });
        }
        // SAFETY: as above.
        task.header().index.with_mut(|i| unsafe { *i = UNLISTED });
        let cap = inner.tasks.capacity();
        if cap > RETAINED_CAPACITY && inner.tasks.len() < cap / 4 {
            // A burst of a million tasks must not pin its vector for the runtime's life.
            inner.tasks.shrink_to(cap / 2);
        }
        if !inner.names.is_empty() {
            inner.names.remove(&task.id());
        }
        true
    }

    /// Refuses further `bind`s and hands back every task in the list, each with the list's
    /// reference, for the caller to `shutdown`.
    pub(crate) fn close_and_drain(&self) -> Vec<RawTask> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let mut inner = lock(shard);
            inner.closed = true;
            inner.names.clear();
            out.extend(std::mem::take(&mut inner.tasks).into_iter().map(|ptr| {
                // SAFETY: the list's reference keeps the task alive; it now travels in the
                // returned vector. Its index is guarded by the lock we hold.
                let task = unsafe { RawTask::from_raw(ptr) };
                // SAFETY: as above.
                task.header().index.with_mut(|i| unsafe { *i = UNLISTED });
                task
            }));
        }
        out
    }

    /// Number of live tasks; `block_on` futures are not counted (`main_future.rs`).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).tasks.len()).sum()
    }

    /// The ids of every live task and running `block_on` future.
    pub(crate) fn ids(&self) -> Vec<TaskId> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let inner = lock(shard);
            // SAFETY: every task in the list is alive (the list holds a reference).
            out.extend(inner.tasks.iter().map(|ptr| unsafe { ptr.as_ref() }.id));
        }
        out.extend(lock(&self.mains).iter().map(|m| m.id));
        out
    }

    /// Tasks ever spawned here (`block_on` futures are not spawned).
    pub(crate) fn spawned(&self) -> u64 {
        self.shards.iter().map(|s| lock(s).spawned).sum()
    }

    /// The name of live task `id`, if it has one; a running `block_on` future is "main".
    pub(crate) fn name(&self, id: TaskId) -> Option<String> {
        let named = self
            .shard(id)
            .lock()
            .unwrap()
            .names
            .get(&id)
            .map(|n| n.to_string());
        named.or_else(|| {
            let mains = lock(&self.mains);
            mains
                .iter()
                .any(|m| m.id == id)
                .then(|| MAIN_NAME.to_owned())
        })
    }

    /// A copy of every live task's metadata, and of every running `block_on` future's.
    /// `monitor` is debug mode's, if on: it knows which tasks are in a slow poll, and keeps
    /// their sampled busy time.
    ///
    /// Holds one shard's lock at a time, for one pass over it (no allocation per task
    /// beyond names), so spawns and completions in that shard wait at most that long.
    pub(crate) fn snapshot(&self, observer: Option<&dyn Observer>) -> Vec<TaskInfo> {
        let slow = observer.map(|o| o.slow_tasks()).unwrap_or_default();
        let busy = observer.map(|o| o.busy_times());
        let now = super::clock::coarse_now_ns();
        let mut out = Vec::new();
        for shard in &self.shards {
            let inner = lock(shard);
            out.reserve(inner.tasks.len());
            for &ptr in &inner.tasks {
                // SAFETY: every task in the list is alive (the list holds a reference).
                let h = unsafe { ptr.as_ref() };
                // The record of the latest poll, if it is done: a poll in progress has
                // not counted itself yet, so its record reads as none. Relaxed: a
                // statistic, as in `info`.
                let latest = h.polls.load(Relaxed).checked_sub(1);
                // SAFETY: as above; the slot is read through its sequence lock.
                let wait = latest.and_then(|poll| unsafe { (h.vtable.wait)(ptr, poll) });
                out.push(info(h, wait, &inner.names, &slow, now, busy.as_ref()));
            }
        }
        let mains = lock(&self.mains);
        out.extend(mains.iter().map(|m| m.info(&slow, now, busy.as_ref())));
        out
    }
}

/// One task's `TaskInfo`.
fn info(
    h: &Header,
    wait: Option<WaitRecord>,
    names: &HashMap<TaskId, Box<str>>,
    slow: &[TaskId],
    now: u64,
    busy: Option<&HashMap<TaskId, u64>>,
) -> TaskInfo {
    let s = h.state.load();
    let state = if s.is(COMPLETE) {
        TaskState::Complete
    } else if s.is(RUNNING) {
        if slow.contains(&h.id) {
            TaskState::SlowPoll
        } else {
            TaskState::Running
        }
    } else if s.is(NOTIFIED) {
        TaskState::Scheduled
    } else {
        TaskState::Idle
    };
    // Who can still wake an idle task: each waker holds a reference (state.rs), beside the
    // list's and the JoinHandle's. None left means no wake can ever come.
    let floor = 1 + usize::from(s.is(JOIN_INTEREST));
    let lost_wake = state == TaskState::Idle && !s.is(CANCELLED) && s.refs() <= floor;
    TaskInfo {
        id: h.id,
        name: names.get(&h.id).map(|n| n.to_string()),
        location: h.location,
        state,
        cancelled: s.is(CANCELLED),
        polls: u64::from(h.polls.load(Relaxed)),
        busy: busy.map(|b| Duration::from_nanos(b.get(&h.id).copied().unwrap_or(0))),
        age: Duration::from_nanos(now.saturating_sub(h.spawned_ns)),
        parent: h.parent,
        lost_wake,
        wait,
    }
}
