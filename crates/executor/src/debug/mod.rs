//! Debug mode's monitor: a watchdog that reports a slow poll while it is still running,
//! with the stuck thread's native stack, and sampled busy time per task.
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
//! - A thread that exits marks its slots exited (`Slot::exit`, from its thread-local's
//!   destructor). A scan forgets a slot only if it was marked before the scan read it, so
//!   that read saw the thread's last poll end (and the end of a slow one is reported).
//! - Stopping (`Monitor::stop`) sets `stop` under its lock and notifies `stopped`. The
//!   watchdog waits for its tick while `stop` is unset, checked under the same lock, so a
//!   stop set while it scans is seen before it waits again; it then scans once more and
//!   exits, so that final scan sees everything the polling threads did before `stop`.
//! - Busy time is sampled, the way a profiler samples: at each tick the watchdog charges
//!   the time since the previous tick to the task each slot is polling. A task that runs
//!   for a whole tick is charged about that; one that never runs across a tick is charged
//!   nothing; summed over many ticks each task gets its share of the loop.
//! - Cost on the polling thread with debug mode on: a thread-local lookup and four plain
//!   stores into its own slot per poll, no clock and no locked instruction. With debug
//!   mode off: the `Option` branch in the poll harness, nothing else.
//!
//! # Native stacks (Linux, feature `native-stacks`)
//!
//! - As a thread registers its first slot it makes its `Capture` (`capture.rs`): a
//!   preallocated buffer of return addresses, a state word, and its kernel thread id. It
//!   points a `const` thread-local at it (read by its signal handler) and every slot of the
//!   thread, in any monitor, holds it. Once per thread, never per poll. Its `ThreadSlots`
//!   destructor clears the thread-local before the buffer can be freed.
//! - When the watchdog first reports a slow poll it installs the handler if it is not yet
//!   (once per process, `SIGRTMIN + 8`, `SA_SIGINFO | SA_RESTART`, only if the signal has
//!   no handler yet), takes the process-wide request lock, moves the capture `IDLE` →
//!   `REQUESTED` and sends the signal to that thread (`tgkill`).
//! - The handler, on the stuck thread, claims the request (`REQUESTED` → `CAPTURING`),
//!   walks the stack into the buffer (`_Unwind_Backtrace`, through
//!   `backtrace::trace_unsynchronized`; nothing allocates or locks), notes how many frames
//!   are its own, and publishes `DONE`.
//! - The watchdog waits at most `signal::ANSWER_WITHIN` (50 ms) for `DONE`, copies the
//!   addresses out (→ `IDLE`), and keeps them only if the slot still shows the same odd
//!   `seq` (so the handler ran inside that poll). It symbolises them on its own thread
//!   (`stack.rs`, with the `backtrace` crate) into [`SlowPoll::stack`].
//! - If the thread never answers (it blocks the signal, it has exited) the watchdog gives
//!   up: `REQUESTED` → `IDLE`, so a late handler finds no request and touches nothing. A
//!   handler caught mid-capture (`CAPTURING`) keeps the buffer; the next request is
//!   refused (that report has no stack) until it has stored `DONE`. The table in
//!   `capture.rs` lists who owns the buffer in each state; the loom models check it.
//!
//! # Layout
//!
//! - `mod.rs`: the settings ([`DebugConfig`]) and the report ([`SlowPoll`]).
//! - `slot.rs`: one polling thread's slot, the sequence lock above.
//! - `capture.rs`: one thread's stack-capture buffer and its hand-over protocol.
//! - `signal.rs`: the capture signal: its handler, installing it, the watchdog's request
//!   and bounded wait (Linux with `native-stacks` only).
//! - `stack.rs`: the stack a report carries ([`NativeStack`], [`Frame`]), how it prints, and
//!   symbolising.
//! - `monitor.rs`: the [`Monitor`] a scheduler holds: the thread-local slot lookup, the
//!   observer interface the task module calls (`task/observe.rs`), and what dumps ask.
//! - `watchdog.rs`: the thread that reads the slots, reports and samples busy time.

// The protocol is built everywhere (the loom models check it), but only Linux with
// `native-stacks` signals threads to use it.
#[cfg_attr(
    not(all(feature = "native-stacks", target_os = "linux")),
    allow(dead_code)
)]
mod capture;
mod monitor;
#[cfg(all(feature = "native-stacks", target_os = "linux", not(eddy_loom)))]
mod signal;
mod slot;
mod stack;
mod watchdog;

use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use crate::task::TaskId;

pub use monitor::Monitor;
pub use stack::{Frame, NativeStack};

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
    /// The polling thread's native stack, captured as the poll was first reported (so in
    /// the report with `finished == false` only). `None` without the `native-stacks`
    /// feature, off Linux, or when the capture failed (docs/debugging.md, "Where a stuck
    /// thread is").
    pub stack: Option<NativeStack>,
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
            if let Some(stack) = &self.stack {
                let user = if stack.user_index.is_some() {
                    "; => marks the first frame of your code"
                } else {
                    ""
                };
                write!(
                    f,
                    "\n  the thread's stack (innermost first{user}):\n{stack}"
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(all(test, eddy_loom))]
mod loom_tests;
