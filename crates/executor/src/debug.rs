//! Debug mode's monitor: a watchdog that reports a slow poll while it is still running,
//! and sampled busy time per task.
//!
//! # Protocol
//!
//! - Every thread that polls tasks of a monitored scheduler owns a `Slot` (registered on its
//!   first poll, kept in a thread-local). Around each poll the thread writes the task's id
//!   and spawn location into its slot under a sequence lock: `seq` is even between polls
//!   and odd while one runs; the watchdog keeps a read only if `seq` was the same odd value
//!   before and after it.
//! - The future a `block_on` drives is observed the same way, under its own id and the
//!   location `block_on` was called from (`begin_main`, from `task/main_future.rs`), on
//!   whichever thread runs `block_on`: a multi-thread runtime's caller registers a slot of
//!   its own, as a worker does. A `block_on` nested in a poll of the same scheduler on the
//!   same thread (a multi-thread runtime's task or main future calling its `block_on`) is
//!   not observed: the outer poll, which is the one holding the thread, keeps the slot.
//! - The watchdog thread wakes every tick (`threshold / 10`, clamped to 1–10 ms), stores the
//!   time since the monitor started in `now_ns`, and reads every slot. A slot seen polling
//!   the same `seq` for longer than the threshold is reported (lower bound: the time since
//!   the tick that first saw it), once; when that `seq` is gone, the end is reported with
//!   the duration estimated to within a tick. The polling thread never reads a clock.
//! - Busy time is sampled, the way a profiler samples: at each tick the watchdog charges
//!   the time since the previous tick to the task each slot is polling. A task that runs
//!   for a whole tick is charged about that; one that never runs across a tick is charged
//!   nothing; summed over many ticks each task gets its share of the loop.
//! - Cost on the polling thread with debug mode on: a thread-local lookup and four plain
//!   stores into its own slot per poll, no clock and no locked instruction. With debug
//!   mode off: the `Option` branch in the poll harness, nothing else.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::loom::cell::TrackedCell;
use crate::loom::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::loom::sync::atomic::{AtomicPtr, AtomicU64, fence};
use crate::loom::unmodelled::lock;
use crate::task::raw::Header;
use crate::task::{OwnedTasks, TaskId};
use std::sync::PoisonError;

/// The default slow-poll threshold: asyncio's `slow_callback_duration`.
pub const DEFAULT_SLOW_POLL_THRESHOLD: Duration = Duration::from_millis(100);

/// Shortest and longest watchdog tick.
const MIN_TICK: Duration = Duration::from_millis(1);
const MAX_TICK: Duration = Duration::from_millis(10);

/// Receives slow-poll reports, on the watchdog thread; keep it short.
pub type SlowPollHook = Arc<dyn Fn(&SlowPoll) + Send + Sync>;

/// Debug mode's settings for one scheduler.
#[derive(Clone)]
pub struct DebugConfig {
    threshold: Duration,
    hook: Option<SlowPollHook>,
}

impl DebugConfig {
    /// Debug mode with the default threshold, reporting to stderr.
    pub fn new() -> DebugConfig {
        DebugConfig {
            threshold: DEFAULT_SLOW_POLL_THRESHOLD,
            hook: None,
        }
    }

    /// A poll running longer than `threshold` is reported (at least 1 ms: the watchdog's
    /// finest tick).
    pub fn slow_poll_threshold(mut self, threshold: Duration) -> DebugConfig {
        self.threshold = threshold.max(MIN_TICK);
        self
    }

    /// Sends reports to `hook` instead of stderr.
    pub fn on_slow_poll(mut self, hook: SlowPollHook) -> DebugConfig {
        self.hook = Some(hook);
        self
    }

    /// The slow-poll threshold.
    pub fn threshold(&self) -> Duration {
        self.threshold
    }

    fn tick(&self) -> Duration {
        (self.threshold / 10).clamp(MIN_TICK, MAX_TICK)
    }
}

impl Default for DebugConfig {
    fn default() -> Self {
        DebugConfig::new()
    }
}

impl fmt::Debug for DebugConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DebugConfig")
            .field("threshold", &self.threshold)
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

/// One slow-poll report: sent once while the poll is still running (`finished == false`),
/// and once more when it ends.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SlowPoll {
    /// The task being polled.
    pub task: TaskId,
    /// Its name, if it was given one ("main" for a `block_on` future).
    pub name: Option<String>,
    /// Where it was spawned (for a main task, where `block_on` was called).
    pub location: &'static Location<'static>,
    /// The thread polling it.
    pub thread: String,
    /// How long the poll has run (so far, or in all when `finished`), to within one
    /// watchdog tick.
    pub elapsed: Duration,
    /// The threshold it crossed.
    pub threshold: Duration,
    /// `false` while the poll still runs; `true` in the report sent when it ended.
    pub finished: bool,
}

impl fmt::Display for SlowPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "eddy debug: ")?;
        if self.finished {
            write!(f, "slow poll ended: ")?;
        } else {
            write!(f, "slow poll: ")?;
        }
        write!(f, "task {}", self.task)?;
        if let Some(name) = &self.name {
            write!(f, " \"{name}\"")?;
        }
        write!(f, " (spawned at {})", self.location)?;
        if self.finished {
            write!(f, " ran for {:.1?}", self.elapsed)?;
        } else {
            write!(
                f,
                " has been running for {:.1?} (threshold {:?})",
                self.elapsed, self.threshold
            )?;
        }
        write!(f, " on thread {}", self.thread)?;
        if !self.finished {
            write!(
                f,
                "; it blocks every task on that thread: move blocking work to spawn_blocking"
            )?;
        }
        Ok(())
    }
}

/// One polling thread's view for the watchdog; see the module docs for the protocol.
pub(crate) struct Slot {
    seq: AtomicU64,
    task: AtomicU64,
    location: AtomicPtr<Location<'static>>,
    thread: String,
    /// The owning thread's copy of `seq`, so it never loads the atomic it alone writes.
    mine: TrackedCell<u64>,
}

// SAFETY: `mine` is only touched by the thread that owns the slot (`begin`/`end`, called
// from that thread's polls); everything else in the slot is atomic or immutable.
unsafe impl Sync for Slot {}
// SAFETY: as above; the owner registers the slot and only its own thread writes `mine`.
unsafe impl Send for Slot {}

/// What the watchdog read from a slot.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Seen {
    Idle,
    Polling {
        seq: u64,
        task: u64,
        location: &'static Location<'static>,
    },
    /// The slot changed while it was read: look again next tick.
    Torn,
}

impl Slot {
    pub(crate) fn new(thread: String) -> Slot {
        Slot {
            seq: AtomicU64::new(0),
            task: AtomicU64::new(0),
            location: AtomicPtr::new(std::ptr::null_mut()),
            thread,
            mine: TrackedCell::new(0),
        }
    }

    /// Whether the owning thread (the caller) is inside a poll it began here. Not on the
    /// task poll path: `mine` is only brought up to date by `end`, and this loads `seq`.
    fn in_poll(&self) -> bool {
        // Relaxed: only the caller stores `seq`, and a thread always sees its own latest
        // store.
        !self.seq.load(Relaxed).is_multiple_of(2)
    }

    /// The owning thread starts a poll; returns the odd sequence number to pass to `end`.
    #[inline]
    pub(crate) fn begin(&self, task: u64, location: &'static Location<'static>) -> u64 {
        // SAFETY: only the owning thread (the caller) touches `mine`.
        let s = self.mine.with(|m| unsafe { *m });
        // Polls of one scheduler never nest on a thread: a nested current-thread `block_on`
        // is refused before it polls anything, and `begin_main` skips a main future polled
        // inside another poll. If one did, the inner poll would reuse this number: the
        // watchdog could misname that poll, nothing worse. (`mine` is even here whatever
        // happens, as only `end` writes it; the check guards that invariant.)
        debug_assert!(
            s.is_multiple_of(2),
            "invariant: `mine` is even between polls"
        );
        // Release fence: a reader that sees the stores below also sees `seq` at `s` or
        // later (its Acquire fence pairs with this one), so it cannot mistake them for the
        // previous poll's, which it read under `s - 1`.
        fence(Release);
        self.task.store(task, Relaxed);
        self.location
            .store(std::ptr::from_ref(location).cast_mut(), Relaxed);
        // Release: a reader that sees `s + 1` sees the stores above.
        self.seq.store(s + 1, Release);
        s + 1
    }

    /// The owning thread ends the poll whose `begin` returned `seq`.
    #[inline]
    pub(crate) fn end(&self, seq: u64) {
        // Release: ordered before the next `begin`'s fence, which is what lets a reader tell
        // the two polls apart.
        self.seq.store(seq + 1, Release);
        // SAFETY: only the owning thread (the caller) touches `mine`.
        self.mine.with_mut(|m| unsafe { *m = seq + 1 });
    }

    /// The watchdog's read.
    pub(crate) fn read(&self) -> Seen {
        // Acquire: pairs with the Release store of the odd `seq` in `begin`.
        let s1 = self.seq.load(Acquire);
        if s1.is_multiple_of(2) {
            return Seen::Idle;
        }
        let task = self.task.load(Relaxed);
        let location = self.location.load(Relaxed);
        // Acquire fence: if the loads above saw a later `begin`'s stores, the load below
        // sees that `begin`'s `seq` or later (pairs with its Release fence).
        fence(Acquire);
        let s2 = self.seq.load(Relaxed);
        if s1 != s2 {
            return Seen::Torn;
        }
        // SAFETY: `begin` stored a `&'static Location` before publishing `s1`, and the
        // sequence check proves this is that store's value.
        let location = unsafe { &*location };
        Seen::Polling {
            seq: s1,
            task,
            location,
        }
    }
}

/// A poll under observation: from [`Monitor::begin`].
pub(crate) struct Observed<'a> {
    slot: &'a Slot,
    seq: u64,
}

impl Observed<'_> {
    /// The poll returned.
    #[inline]
    pub(crate) fn end(self) {
        self.slot.end(self.seq);
    }
}

/// What the watchdog and the polling threads share.
struct State {
    /// Distinguishes monitors in the thread-local slot cache.
    id: u64,
    config: DebugConfig,
    tick: Duration,
    start: Instant,
    slots: Mutex<Vec<Arc<Slot>>>,
    /// Tasks in a reported, unfinished slow poll (for dumps).
    slow: Mutex<Vec<TaskId>>,
    slow_polls: AtomicU64,
    stop: Mutex<bool>,
    stopped: Condvar,
    /// The scheduler's task list, for names in reports and pruning `busy`.
    tasks: OnceLock<Arc<OwnedTasks>>,
    /// Sampled busy time per task, in nanoseconds (see the module docs).
    busy: Mutex<HashMap<TaskId, u64>>,
}

/// Ticks between two prunings of `busy` (entries of tasks that are gone).
const PRUNE_EVERY: u64 = 1024;

/// Debug mode's monitor for one scheduler; see the module docs.
pub struct Monitor {
    state: Arc<State>,
    watchdog: Mutex<Option<std::thread::JoinHandle<()>>>,
}

thread_local! {
    /// This thread's slot in each monitor it has polled for.
    static SLOTS: RefCell<ThreadSlots> = const { RefCell::new(ThreadSlots(Vec::new())) };
    /// The last `(monitor id, slot)` used on this thread: the per-poll fast path. A `const`
    /// cell without a destructor, so reaching it is a plain thread-local load.
    static LAST: Cell<(u64, *const Slot)> = const { Cell::new((0, std::ptr::null())) };
}

/// Keeps this thread's slots alive; clears the fast-path cache when the thread exits, so
/// no poll during thread teardown can follow it to a freed slot.
struct ThreadSlots(Vec<(u64, Arc<Slot>)>);

impl Drop for ThreadSlots {
    fn drop(&mut self) {
        let _ = LAST.try_with(|l| l.set((0, std::ptr::null())));
    }
}

impl Monitor {
    /// A monitor whose watchdog has not started; [`start`](Self::start) starts it.
    pub(crate) fn new(config: DebugConfig) -> Monitor {
        let tick = config.tick();
        Monitor {
            state: Arc::new(State {
                id: crate::loom::next_monitor_id(),
                config,
                tick,
                start: Instant::now(),
                slots: Mutex::new(Vec::new()),
                slow: Mutex::new(Vec::new()),
                slow_polls: AtomicU64::new(0),
                stop: Mutex::new(false),
                stopped: Condvar::new(),
                tasks: OnceLock::new(),
                busy: Mutex::new(HashMap::new()),
            }),
            watchdog: Mutex::new(None),
        }
    }

    /// Starts the watchdog thread; `tasks` is the scheduler's task list (names for
    /// reports, and which tasks are still alive).
    pub(crate) fn start(&self, tasks: Arc<OwnedTasks>) {
        let _ = self.state.tasks.set(tasks);
        let state = self.state.clone();
        let thread = std::thread::Builder::new()
            .name("eddy-watchdog".to_owned())
            .spawn(move || Watchdog::new(state).run());
        match thread {
            Ok(t) => *lock(&self.watchdog) = Some(t),
            Err(e) => eprintln!(
                "eddy debug: could not start the slow-poll watchdog thread ({e}); slow polls \
                 will not be reported"
            ),
        }
    }

    /// Stops the watchdog and waits for it (it reports a slow poll in progress first).
    pub(crate) fn stop(&self) {
        *lock(&self.state.stop) = true;
        self.state.stopped.notify_all();
        if let Some(t) = lock(&self.watchdog).take()
            && t.thread().id() != std::thread::current().id()
        {
            let _ = t.join();
        }
    }

    /// A poll of the task behind `header` starts on this thread; call [`Observed::end`]
    /// when it returns.
    #[inline]
    pub(crate) fn begin(&self, header: &Header) -> Observed<'_> {
        // SAFETY: the slot is kept alive by this thread's `SLOTS` entry until the thread
        // exits (whose destructor clears `LAST` first), or for good (`register_slot`), and
        // the poll runs on this thread.
        let slot = unsafe { &*self.slot() };
        let seq = slot.begin(header.id.as_u64(), header.location);
        Observed { slot, seq }
    }

    /// A poll of the future of a `block_on` called at `location`, listed as task `id`,
    /// starts on this thread (`task/main_future.rs`); call [`Observed::end`] when it
    /// returns. `None` when this thread is already inside a poll for this monitor (a
    /// nested `block_on`; see the module docs). Apart from `begin`, so the task poll path
    /// pays nothing for that check.
    pub(crate) fn begin_main(
        &self,
        id: TaskId,
        location: &'static Location<'static>,
    ) -> Option<Observed<'_>> {
        // SAFETY: as in `begin`.
        let slot = unsafe { &*self.slot() };
        if slot.in_poll() {
            return None;
        }
        let seq = slot.begin(id.as_u64(), location);
        Some(Observed { slot, seq })
    }

    /// This thread's slot, registered on first use, from any thread (a worker, a
    /// current-thread runtime's `block_on` thread, a multi-thread runtime's `block_on`
    /// caller).
    #[inline]
    fn slot(&self) -> *const Slot {
        let (last, slot) = LAST.get();
        if last == self.state.id {
            return slot;
        }
        self.register_slot()
    }

    #[cold]
    fn register_slot(&self) -> *const Slot {
        let id = self.state.id;
        let found = SLOTS
            .try_with(|slots| {
                let slots = &slots.borrow().0;
                slots.iter().find(|(m, _)| *m == id).map(|(_, s)| s.clone())
            })
            .ok()
            .flatten();
        let slot = match found {
            Some(slot) => slot,
            None => {
                let me = std::thread::current();
                let name = me
                    .name()
                    .map_or_else(|| format!("{:?}", me.id()), str::to_owned);
                let slot = Arc::new(Slot::new(name));
                lock(&self.state.slots).push(slot.clone());
                let kept = SLOTS.try_with(|slots| slots.borrow_mut().0.push((id, slot.clone())));
                if kept.is_err() {
                    // Polling during thread teardown, after this thread's slots were freed:
                    // keep this one for good rather than hand out a dangling pointer.
                    std::mem::forget(slot.clone());
                }
                slot
            }
        };
        let ptr = Arc::as_ptr(&slot);
        LAST.set((id, ptr));
        ptr
    }

    /// Tasks in a slow poll right now.
    pub(crate) fn tasks_in_slow_poll(&self) -> Vec<TaskId> {
        lock(&self.state.slow).clone()
    }

    /// Sampled busy time of each task that has been charged any.
    pub(crate) fn busy_times(&self) -> HashMap<TaskId, u64> {
        lock(&self.state.busy).clone()
    }

    /// Slow polls reported so far.
    pub(crate) fn slow_polls(&self) -> u64 {
        // Relaxed: a statistic.
        self.state.slow_polls.load(Relaxed)
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor")
            .field("config", &self.state.config)
            .finish_non_exhaustive()
    }
}

/// The watchdog's memory of one slot.
struct Track {
    slot: Arc<Slot>,
    /// The poll being followed: its `seq`, task and location.
    seen: Option<(u64, u64, &'static Location<'static>)>,
    /// The task's name, looked up at the first report (the task may be gone at the end);
    /// a `block_on` future's is "main" (`OwnedTasks::name`).
    name: Option<String>,
    /// Tick times (ns from start): the last tick before the poll was seen, the first and
    /// the last that saw it.
    before: u64,
    first: u64,
    last: u64,
    reported: bool,
}

struct Watchdog {
    state: Arc<State>,
    tracks: Vec<Track>,
    prev_tick: u64,
    ticks: u64,
}

impl Watchdog {
    fn new(state: Arc<State>) -> Watchdog {
        Watchdog {
            state,
            tracks: Vec::new(),
            prev_tick: 0,
            ticks: 0,
        }
    }

    fn run(mut self) {
        loop {
            let stop = {
                let guard = lock(&self.state.stop);
                let (guard, _) = self
                    .state
                    .stopped
                    .wait_timeout_while(guard, self.state.tick, |stop| !*stop)
                    .unwrap_or_else(PoisonError::into_inner);
                *guard
            };
            let now = self.state.start.elapsed().as_nanos() as u64;
            self.scan(now);
            self.prev_tick = now;
            self.ticks += 1;
            if self.ticks.is_multiple_of(PRUNE_EVERY) {
                self.prune_busy();
            }
            if stop {
                return;
            }
        }
    }

    fn scan(&mut self, now: u64) {
        let slots = lock(&self.state.slots).clone();
        for slot in slots {
            let i = match self.tracks.iter().position(|t| Arc::ptr_eq(&t.slot, &slot)) {
                Some(i) => i,
                None => {
                    self.tracks.push(Track {
                        slot,
                        seen: None,
                        name: None,
                        before: self.prev_tick,
                        first: now,
                        last: now,
                        reported: false,
                    });
                    self.tracks.len() - 1
                }
            };
            self.check(i, now);
        }
        // Only now forget the slots of threads that exited, so a slow poll that ended as
        // its thread exited (a worker joined at shutdown) still gets its end report. A slot
        // is held by the monitor's list, its thread's thread-local until the thread exits,
        // and our track once we follow it. A slot registered after the clone above has no
        // track yet, so the count that marks a live thread depends on whether we track it
        // (counting a track we do not have would drop a thread that just registered, and
        // its polls would go unseen for good).
        let mut slots = lock(&self.state.slots);
        let tracks = &self.tracks;
        slots.retain(|s| {
            let tracked = tracks.iter().any(|t| Arc::ptr_eq(&t.slot, s));
            Arc::strong_count(s) > 1 + usize::from(tracked)
        });
        self.tracks
            .retain(|t| slots.iter().any(|s| Arc::ptr_eq(s, &t.slot)));
    }

    /// Forgets the busy time of tasks that are gone.
    fn prune_busy(&self) {
        let Some(tasks) = self.state.tasks.get() else {
            return;
        };
        let live: std::collections::HashSet<TaskId> = tasks.ids().into_iter().collect();
        self.state
            .busy
            .lock()
            .unwrap()
            .retain(|id, _| live.contains(id));
    }

    fn check(&mut self, i: usize, now: u64) {
        let prev_tick = self.prev_tick;
        let seen = self.tracks[i].slot.read();
        if let Seen::Polling { task, .. } = seen {
            let id = TaskId::from_u64(task);
            let mut busy = lock(&self.state.busy);
            let charged = busy.entry(id).or_insert(0);
            *charged = charged.saturating_add(now - prev_tick);
        }
        let same = matches!(
            (seen, self.tracks[i].seen),
            (Seen::Polling { seq, .. }, Some((s, _, _))) if seq == s
        );
        if same {
            let t = &mut self.tracks[i];
            t.last = now;
            if !t.reported && Duration::from_nanos(now - t.first) >= self.state.config.threshold {
                t.reported = true;
                let task = t.seen.map(|(_, task, _)| TaskId::from_u64(task));
                let tasks = self.state.tasks.get();
                self.tracks[i].name = task.and_then(|id| tasks.and_then(|t| t.name(id)));
                let report = self.report(i, now, false);
                lock(&self.state.slow).push(report.task);
                // Relaxed: a statistic.
                self.state.slow_polls.fetch_add(1, Relaxed);
                self.emit(&report);
            }
            return;
        }
        if seen == Seen::Torn {
            return;
        }
        if self.tracks[i].reported {
            let report = self.report(i, now, true);
            self.state
                .slow
                .lock()
                .unwrap()
                .retain(|&t| t != report.task);
            self.emit(&report);
        }
        let t = &mut self.tracks[i];
        t.reported = false;
        t.name = None;
        t.seen = match seen {
            Seen::Polling {
                seq,
                task,
                location,
            } => Some((seq, task, location)),
            _ => None,
        };
        t.before = prev_tick;
        t.first = now;
        t.last = now;
    }

    /// The report for track `i`. A running poll started after `before` and by `first`; a
    /// finished one ended after `last` and by `now`: each estimate is a midpoint.
    fn report(&self, i: usize, now: u64, finished: bool) -> SlowPoll {
        let t = &self.tracks[i];
        let (_, task, location) = t.seen.expect("invariant: a reported track follows a poll");
        let start = t.before.midpoint(t.first);
        let end = if finished { t.last.midpoint(now) } else { now };
        let task = TaskId::from_u64(task);
        SlowPoll {
            task,
            name: t.name.clone(),
            location,
            thread: t.slot.thread.clone(),
            elapsed: Duration::from_nanos(end.saturating_sub(start)),
            threshold: self.state.config.threshold,
            finished,
        }
    }

    fn emit(&self, report: &SlowPoll) {
        match &self.state.config.hook {
            Some(hook) => {
                // A panicking hook must not take the watchdog down with it.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(report)));
            }
            None => eprintln!("{report}"),
        }
    }
}

#[cfg(all(test, eddy_loom))]
mod loom_tests;
