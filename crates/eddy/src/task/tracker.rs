//! `TaskTracker`: the tasks a program must wait for before it exits, with a grace period
//! and a report of what had to be cancelled.
//!
//! # Protocol
//!
//! One `Mutex<State>` per tracker (shared by its clones) holds everything:
//!
//! - `tasks`: one [`Entry`] per tracked task whose future has not been dropped yet, under
//!   a key that is never reused. The spawner inserts it *before* spawning (so the task can
//!   never end before its entry exists) and fills in the task's id and abort handle once
//!   `spawn` returns; the task's [`Mark`], which its future owns, removes it when the future
//!   is dropped (it returned, panicked, or was cancelled). So `tasks` holds only live
//!   tasks: O(live) memory however many the tracker spawned.
//! - `closed`: set by `close` (and `shutdown`); `wait` completes when `closed` holds and
//!   `tasks` is empty at once. A `wait` checks that and registers its waker under the lock;
//!   the `close` or the last removal that makes it true takes every waker under the lock
//!   (loom: `a_task_ending_racing_close_wakes_the_waiter`).
//! - `shutdown`: `Some` while a [`shutdown`](TaskTracker::shutdown) runs; each removal
//!   records there how its task ended. Once its grace period is over the shutdown sets
//!   `aborting`, takes every abort handle and aborts them outside the lock; a spawner that
//!   fills in its handle after that aborts its task itself, so no task slips through.
//!
//! Wakers, abort handles and entries are dropped or used after the lock is released.

mod report;

#[cfg(all(test, eddy_loom))]
mod loom_tests;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

pub use report::{CancelledTask, ShutdownReport};

use super::{AbortHandle, JoinHandle, TaskId};
use crate::loom::sync::{Arc, Mutex, lock};
use crate::runtime::Handle;
use crate::sync::waker_list::{Key, WakerList};

/// The tasks a program waits for before it exits, and the one call that drains them on
/// shutdown.
///
/// Spawn through the tracker ([`spawn`](TaskTracker::spawn),
/// [`spawn_named`](TaskTracker::spawn_named)) instead of [`eddy::spawn`](crate::spawn);
/// then [`shutdown`](TaskTracker::shutdown) closes it, gives the tasks a grace period to
/// finish, cancels the rest and reports each one it cancelled by id, name and spawn site.
/// [`wait`](TaskTracker::wait) is the same without the deadline. With a
/// [`CancellationToken`](crate::sync::CancellationToken) telling the tasks to stop taking
/// new work, it is asyncio's `TaskGroup` + `loop.add_signal_handler(SIGTERM, ...)` shutdown
/// (docs/shutdown.md).
///
/// Unlike a [`JoinSet`](super::JoinSet) it keeps no task's output (tasks are detached: a
/// task's memory goes as soon as it ends), so a server may spawn millions of connections
/// through one tracker; and unlike a [`TaskGroup`](super::TaskGroup) one task's failure
/// does not cancel the others. Clones share the tracker.
///
/// ```
/// use eddy::task::TaskTracker;
/// use std::time::Duration;
///
/// eddy::run(async {
///     let tracker = TaskTracker::new();
///     tracker.spawn(eddy::sleep(Duration::from_millis(5)));
///     tracker.spawn_named("stuck", std::future::pending::<()>());
///     let report = tracker.shutdown(Duration::from_millis(50)).await;
///     assert_eq!(report.finished(), 1);
///     assert_eq!(report.cancelled()[0].name(), Some("stuck"));
///     println!("{report}");
/// });
/// ```
#[derive(Clone)]
pub struct TaskTracker {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
}

struct State {
    closed: bool,
    next_key: u64,
    /// Every tracked task whose future is alive; see the module docs.
    tasks: BTreeMap<u64, Entry>,
    /// `wait` futures.
    waiters: WakerList,
    /// What the running shutdown has seen end.
    shutdown: Option<Outcomes>,
}

/// One live tracked task.
struct Entry {
    name: Option<String>,
    location: &'static Location<'static>,
    /// Filled in when `spawn` returns.
    id: Option<TaskId>,
    /// Filled in when `spawn` returns; taken by a shutdown that aborts.
    abort: Option<AbortHandle>,
}

/// How the tasks that ended during a shutdown ended.
#[derive(Default)]
struct Outcomes {
    /// Past the grace period: every task still listed is being aborted.
    aborting: bool,
    finished: usize,
    panicked: usize,
    cancelled: Vec<CancelledTask>,
}

/// How far a tracked future got, as its [`Mark`] sees it when the future is dropped.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Progress {
    /// Not inside a poll, not finished: a drop now is a cancellation.
    Pending,
    /// Inside a poll: a drop now means the poll unwound (a panic).
    Polling,
    /// The future returned its output.
    Done,
}

/// Owned by a tracked task's future; its drop, which comes after the future's own (fields
/// drop in order), removes the task's entry.
struct Mark {
    inner: Arc<Inner>,
    key: u64,
    progress: Progress,
}

/// A tracked task's future: the user's future and its [`Mark`].
struct Tracked<F> {
    future: F,
    mark: Mark,
}

impl TaskTracker {
    /// An open tracker with no tasks.
    pub fn new() -> TaskTracker {
        TaskTracker {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    closed: false,
                    next_key: 0,
                    tasks: BTreeMap::new(),
                    waiters: WakerList::new(),
                    shutdown: None,
                }),
            }),
        }
    }

    /// Spawns `future` on the current runtime, as [`eddy::spawn`](crate::spawn), and
    /// tracks it. The spawn site recorded (for dumps and the shutdown report) is the
    /// caller's line.
    ///
    /// A closed tracker still tracks what it spawns: [`wait`](TaskTracker::wait) then waits
    /// for it too, and a shutdown past its grace period cancels it at once.
    ///
    /// # Panics
    ///
    /// Outside a runtime; the message says to use `eddy::run` or `Handle::enter`.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_on(None, future)
    }

    /// Spawns `future` as a task named `name` (see [`spawn_named`](super::spawn_named)) and
    /// tracks it; the name shows in the shutdown report.
    ///
    /// # Panics
    ///
    /// Outside a runtime; the message says to use `eddy::run` or `Handle::enter`.
    #[track_caller]
    pub fn spawn_named<F>(&self, name: &str, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_on(Some(name), future)
    }

    #[track_caller]
    fn spawn_on<F>(&self, name: Option<&str>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // First, so a spawn outside a runtime panics before anything is listed.
        let handle = Handle::current();
        let mark = Inner::track(&self.inner, name.map(str::to_owned), Location::caller());
        let key = mark.key;
        let tracked = Tracked { future, mark };
        let task = match name {
            Some(name) => handle.spawn_named(name, tracked),
            None => handle.spawn(tracked),
        };
        self.inner.started(key, task.id(), task.abort_handle());
        task
    }

    /// Closes the tracker: from now on [`wait`](TaskTracker::wait) completes as soon as no
    /// tracked task is left. Spawning still works (see [`spawn`](TaskTracker::spawn)).
    /// Idempotent.
    pub fn close(&self) {
        let wakers = {
            let mut state = lock(&self.inner.state);
            state.closed = true;
            state.take_wakers_if_done()
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Whether [`close`](TaskTracker::close) (or [`shutdown`](TaskTracker::shutdown)) was
    /// called.
    pub fn is_closed(&self) -> bool {
        lock(&self.inner.state).closed
    }

    /// How many tracked tasks are alive (their future not yet dropped).
    pub fn len(&self) -> usize {
        lock(&self.inner.state).tasks.len()
    }

    /// Whether no tracked task is alive.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A future that completes once the tracker is closed and every tracked task has ended
    /// (its future dropped, so its cleanup has run). It never completes on an open tracker:
    /// call [`close`](TaskTracker::close) first, or before it completes. Cancel-safe, and
    /// needs no runtime.
    pub fn wait(&self) -> TrackerWait<'_> {
        TrackerWait {
            tracker: self,
            key: None,
        }
    }

    /// Drains the tracker: closes it, waits up to `grace` for the tracked tasks to end on
    /// their own, then cancels the rest (as [`JoinHandle::abort`] does), waits until their
    /// futures have been dropped, and reports each task it cancelled and how many finished.
    ///
    /// Tell the tasks to wrap up first (cancel the
    /// [`CancellationToken`](crate::sync::CancellationToken) they watch), so the grace
    /// period is spent finishing work in hand, not waiting for work that never ends. A
    /// `grace` too large for the timer saturates (waits for ever); `Duration::ZERO` cancels
    /// at once whatever has not already ended.
    ///
    /// The report counts what ended while the shutdown ran; run one at a time (a second
    /// shutdown running alongside reports only what ended after the first returned).
    ///
    /// # Panics
    ///
    /// When first polled outside a runtime (it needs the runtime's timer).
    pub async fn shutdown(&self, grace: Duration) -> ShutdownReport {
        let wakers = {
            let mut state = lock(&self.inner.state);
            state.closed = true;
            state.shutdown.get_or_insert_with(Outcomes::default);
            state.take_wakers_if_done()
        };
        wakers.into_iter().for_each(Waker::wake);
        if crate::time::timeout(grace, self.wait()).await.is_err() {
            let aborts: Vec<AbortHandle> = {
                let mut state = lock(&self.inner.state);
                if let Some(outcomes) = &mut state.shutdown {
                    outcomes.aborting = true;
                }
                state
                    .tasks
                    .values_mut()
                    .filter_map(|entry| entry.abort.take())
                    .collect()
            };
            for task in &aborts {
                task.abort();
            }
            drop(aborts);
            self.wait().await;
        }
        let outcomes = lock(&self.inner.state).shutdown.take().unwrap_or_default();
        ShutdownReport::new(
            grace,
            outcomes.finished,
            outcomes.panicked,
            outcomes.cancelled,
        )
    }
}

impl Default for TaskTracker {
    fn default() -> TaskTracker {
        TaskTracker::new()
    }
}

impl fmt::Debug for TaskTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.inner.state);
        f.debug_struct("TaskTracker")
            .field("closed", &state.closed)
            .field("len", &state.tasks.len())
            .finish()
    }
}

impl State {
    /// Every `wait` waker, if `wait` may now complete.
    fn take_wakers_if_done(&mut self) -> Vec<Waker> {
        if self.closed && self.tasks.is_empty() {
            self.waiters.take_all()
        } else {
            Vec::new()
        }
    }
}

impl Inner {
    /// Lists a task about to be spawned; the returned mark goes into its future.
    fn track(
        inner: &Arc<Inner>,
        name: Option<String>,
        location: &'static Location<'static>,
    ) -> Mark {
        let mut state = lock(&inner.state);
        let key = state.next_key;
        state.next_key += 1;
        state.tasks.insert(
            key,
            Entry {
                name,
                location,
                id: None,
                abort: None,
            },
        );
        Mark {
            inner: Arc::clone(inner),
            key,
            progress: Progress::Pending,
        }
    }

    /// `spawn` returned: fills in the task's id and abort handle, or aborts it at once if
    /// a shutdown is already aborting.
    fn started(&self, key: u64, id: TaskId, abort: AbortHandle) {
        let abort_now = {
            let mut state = lock(&self.state);
            let aborting = state.shutdown.as_ref().is_some_and(|o| o.aborting);
            match state.tasks.get_mut(&key) {
                // It has already ended; the handle is of no use.
                None => None,
                Some(entry) => {
                    entry.id = Some(id);
                    if aborting {
                        Some(abort)
                    } else {
                        entry.abort = Some(abort);
                        None
                    }
                }
            }
        };
        if let Some(abort) = abort_now {
            abort.abort();
        }
    }

    /// A tracked future was dropped, having got as far as `progress`.
    fn ended(&self, key: u64, progress: Progress) {
        let (entry, wakers) = {
            let mut state = lock(&self.state);
            let mut entry = state
                .tasks
                .remove(&key)
                .expect("invariant: a task's entry is removed only by its own mark");
            if let Some(outcomes) = &mut state.shutdown {
                match progress {
                    Progress::Done => outcomes.finished += 1,
                    Progress::Polling => {
                        outcomes.finished += 1;
                        outcomes.panicked += 1;
                    }
                    Progress::Pending => outcomes.cancelled.push(CancelledTask::new(
                        entry.id,
                        entry.name.take(),
                        entry.location,
                    )),
                }
            }
            (entry, state.take_wakers_if_done())
        };
        // Its abort handle, outside the lock.
        drop(entry);
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl Drop for Mark {
    fn drop(&mut self) {
        self.inner.ended(self.key, self.progress);
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is pinned structurally: `Tracked` never moves it out or hands
        // out `&mut F`, has no `Drop` of its own, and is `Unpin` only when `F` is (the
        // auto impl; `Mark` is `Unpin`). `mark` is not pinned and is only assigned.
        let this = unsafe { self.get_unchecked_mut() };
        this.mark.progress = Progress::Polling;
        // SAFETY: as above, `this.future` stays where it is for as long as `self` is pinned.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        let poll = future.poll(cx);
        this.mark.progress = if poll.is_ready() {
            Progress::Done
        } else {
            Progress::Pending
        };
        poll
    }
}

/// The future of [`TaskTracker::wait`]: completes once the tracker is closed and empty.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct TrackerWait<'a> {
    tracker: &'a TaskTracker,
    /// The waker's slot in the tracker's waiter list, once registered.
    key: Option<Key>,
}

impl Future for TrackerWait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut state = lock(&this.tracker.inner.state);
        if state.closed && state.tasks.is_empty() {
            state.waiters.remove(this.key.take());
            return Poll::Ready(());
        }
        state.waiters.register(&mut this.key, cx.waker());
        Poll::Pending
    }
}

impl Drop for TrackerWait<'_> {
    fn drop(&mut self) {
        if self.key.is_some() {
            lock(&self.tracker.inner.state)
                .waiters
                .remove(self.key.take());
        }
    }
}

impl fmt::Debug for TrackerWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackerWait")
            .field("tracker", self.tracker)
            .finish_non_exhaustive()
    }
}
