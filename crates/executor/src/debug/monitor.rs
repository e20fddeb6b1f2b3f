//! The monitor a scheduler holds in debug mode: this thread's slot, the observer
//! interface the task module calls, and what snapshots ask.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::DebugConfig;
use super::capture::Capture;
use super::slot::Slot;
use super::watchdog::Watchdog;
use crate::loom::sync::atomic::AtomicU64;
use crate::loom::sync::atomic::Ordering::Relaxed;
use crate::loom::unmodelled::lock;
use crate::loom::{sync, thread};
use crate::task::{Observation, Observer, OwnedTasks, TaskId};

/// What the watchdog and the polling threads share.
pub(super) struct State {
    /// Distinguishes monitors in the thread-local slot cache.
    pub(super) id: u64,
    pub(super) config: DebugConfig,
    pub(super) tick: Duration,
    pub(super) start: Instant,
    pub(super) slots: Mutex<Vec<Arc<Slot>>>,
    /// Tasks in a reported, unfinished slow poll (for dumps).
    pub(super) slow: Mutex<Vec<TaskId>>,
    pub(super) slow_polls: AtomicU64,
    /// Set once, by `Monitor::stop`; the watchdog's tick waits on `stopped` while it is
    /// unset. Loom's types under `eddy_loom` (the stop protocol is modelled), unlike the
    /// tables, which are only ever held across plain code.
    pub(super) stop: sync::Mutex<bool>,
    pub(super) stopped: sync::Condvar,
    /// The scheduler's task list, for names in reports and pruning `busy`.
    pub(super) tasks: OnceLock<Arc<OwnedTasks>>,
    /// Sampled busy time per task, in nanoseconds (see the module docs).
    pub(super) busy: Mutex<HashMap<TaskId, u64>>,
}

/// Ticks between two prunings of `busy` (entries of tasks that are gone).
pub(super) const PRUNE_EVERY: u64 = 1024;

/// Debug mode's monitor for one scheduler; see the module docs.
pub struct Monitor {
    state: Arc<State>,
    /// Loom's under `eddy_loom` too: `stop` holds it across the join.
    watchdog: sync::Mutex<Option<thread::JoinHandle<()>>>,
}

thread_local! {
    /// This thread's slot in each monitor it has polled for.
    static SLOTS: RefCell<ThreadSlots> = const {
        RefCell::new(ThreadSlots {
            slots: Vec::new(),
            capture: None,
        })
    };
    /// The last `(monitor id, slot)` used on this thread: the per-poll fast path. A `const`
    /// cell without a destructor, so reaching it is a plain thread-local load.
    static LAST: Cell<(u64, *const Slot)> = const { Cell::new((0, std::ptr::null())) };
}

/// Keeps this thread's slots and its stack-capture buffer alive; when the thread exits,
/// clears the fast-path cache, so no poll during thread teardown can follow it to a freed
/// slot, points the signal handler away from the buffer, and marks each slot exited for
/// the watchdog.
struct ThreadSlots {
    slots: Vec<(u64, Arc<Slot>)>,
    /// Made with the thread's first slot; every slot of this thread shares it.
    capture: Option<Arc<Capture>>,
}

impl ThreadSlots {
    /// This thread's capture buffer, made (and shown to its signal handler) the first time;
    /// `None` where native stacks are off or unsupported.
    fn capture(&mut self) -> Option<Arc<Capture>> {
        #[cfg(all(feature = "native-stacks", target_os = "linux", not(eddy_loom)))]
        if self.capture.is_none() {
            let capture = Arc::new(Capture::new(super::signal::current_tid()));
            super::signal::set_thread_capture(Arc::as_ptr(&capture));
            self.capture = Some(capture);
        }
        self.capture.clone()
    }
}

impl Drop for ThreadSlots {
    fn drop(&mut self) {
        let _ = LAST.try_with(|l| l.set((0, std::ptr::null())));
        // Before `capture` goes (with `self`): a signal from now on finds no buffer.
        #[cfg(all(feature = "native-stacks", target_os = "linux", not(eddy_loom)))]
        super::signal::set_thread_capture(std::ptr::null());
        // No poll on this thread reaches these slots any more (`LAST` is clear, `SLOTS` is
        // going): the watchdog may forget each one after its next read.
        for (_, slot) in &self.slots {
            slot.exit();
        }
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
                stop: sync::Mutex::new(false),
                stopped: sync::Condvar::new(),
                tasks: OnceLock::new(),
                busy: Mutex::new(HashMap::new()),
            }),
            watchdog: sync::Mutex::new(None),
        }
    }

    /// Starts the watchdog thread; `tasks` is the scheduler's task list (names for
    /// reports, and which tasks are still alive).
    pub(crate) fn start(&self, tasks: Arc<OwnedTasks>) {
        let _ = self.state.tasks.set(tasks);
        let state = self.state.clone();
        let thread = thread::Builder::new()
            .name("eddy-watchdog".to_owned())
            .spawn(move || Watchdog::new(state).run());
        match thread {
            Ok(t) => *sync::lock(&self.watchdog) = Some(t),
            Err(e) => eprintln!(
                "eddy debug: could not start the slow-poll watchdog thread ({e}); slow polls \
                 will not be reported"
            ),
        }
    }

    /// Stops the watchdog and waits for it: it scans once more first, so what the polling
    /// threads did before this call is reported (a slow poll in progress, the end of one).
    pub(crate) fn stop(&self) {
        *sync::lock(&self.state.stop) = true;
        self.state.stopped.notify_all();
        if let Some(t) = sync::lock(&self.watchdog).take()
            && t.thread().id() != thread::current().id()
        {
            let _ = t.join();
        }
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
                let slots = &slots.borrow().slots;
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
                // The capture buffer (with this thread's id, to signal it) is recorded here,
                // on the thread, once; the poll path never touches it.
                let capture = SLOTS
                    .try_with(|slots| slots.borrow_mut().capture())
                    .ok()
                    .flatten();
                let slot = Arc::new(Slot::new(name, capture));
                lock(&self.state.slots).push(slot.clone());
                let kept = SLOTS.try_with(|slots| {
                    slots.borrow_mut().slots.push((id, slot.clone()));
                });
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

    /// What the watchdog shares, for the models (a slot registered directly, the clock).
    #[cfg(all(test, eddy_loom))]
    pub(super) fn state(&self) -> &Arc<State> {
        &self.state
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

impl Observer for Monitor {
    #[inline]
    fn begin(&self, id: TaskId, location: &'static Location<'static>) -> Observation<'_> {
        // SAFETY: the slot is kept alive by this thread's `SLOTS` entry until the thread
        // exits (whose destructor clears `LAST` first), or for good (`register_slot`), and
        // the poll runs on this thread.
        let slot = unsafe { &*self.slot() };
        let seq = slot.begin(id.as_u64(), location);
        Observation::new(slot, seq)
    }

    fn begin_main(
        &self,
        id: TaskId,
        location: &'static Location<'static>,
    ) -> Option<Observation<'_>> {
        // SAFETY: as in `begin`.
        let slot = unsafe { &*self.slot() };
        if slot.in_poll() {
            return None;
        }
        let seq = slot.begin(id.as_u64(), location);
        Some(Observation::new(slot, seq))
    }

    fn slow_tasks(&self) -> Vec<TaskId> {
        lock(&self.state.slow).clone()
    }

    fn busy_times(&self) -> HashMap<TaskId, u64> {
        lock(&self.state.busy).clone()
    }
}
