//! The watchdog thread: reads every slot each tick, reports slow polls while they run and
//! when they end, and samples busy time (see the module docs of `debug/`).

use std::panic::Location;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use super::monitor::{PRUNE_EVERY, State};
use super::slot::{Seen, Slot};
use super::{NativeStack, SlowPoll};
use crate::loom::sync::atomic::Ordering::Relaxed;
use crate::loom::unmodelled::lock;
use crate::task::TaskId;

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

pub(super) struct Watchdog {
    state: Arc<State>,
    tracks: Vec<Track>,
    prev_tick: u64,
    ticks: u64,
}

impl Watchdog {
    pub(super) fn new(state: Arc<State>) -> Watchdog {
        Watchdog {
            state,
            tracks: Vec::new(),
            prev_tick: 0,
            ticks: 0,
        }
    }

    pub(super) fn run(mut self) {
        loop {
            // The predicate is checked under the lock before waiting, so a stop set while we
            // scanned is seen now rather than a tick later.
            let stop = {
                let guard = crate::loom::sync::lock(&self.state.stop);
                let (guard, _) = self
                    .state
                    .stopped
                    .wait_timeout_while(guard, self.state.tick, |stop| !*stop)
                    .unwrap_or_else(PoisonError::into_inner);
                *guard
            };
            // After a stop too: the final scan sees everything done before `Monitor::stop`.
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
        // Read before the slots themselves. A slot is forgotten only if its thread had
        // exited before this scan read it: the read then sees that thread's last poll end,
        // so a slow poll that ended as its thread exited (a worker joined at shutdown) still
        // gets its end report. A thread that exits during the scan is forgotten by the next.
        let exited: Vec<bool> = slots.iter().map(|s| s.has_exited()).collect();
        for slot in &slots {
            let i = match self.tracks.iter().position(|t| Arc::ptr_eq(&t.slot, slot)) {
                Some(i) => i,
                None => {
                    self.tracks.push(Track {
                        slot: slot.clone(),
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
        let gone: Vec<&Arc<Slot>> = slots
            .iter()
            .zip(&exited)
            .filter_map(|(slot, &exited)| exited.then_some(slot))
            .collect();
        if gone.is_empty() {
            return;
        }
        let is_gone = |s: &Arc<Slot>| gone.iter().any(|g| Arc::ptr_eq(g, s));
        lock(&self.state.slots).retain(|s| !is_gone(s));
        self.tracks.retain(|t| !is_gone(&t.slot));
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
                let mut report = self.report(i, now, false);
                report.stack = self.native_stack(i);
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
            stack: None,
        }
    }

    /// The stack of the thread in track `i`'s poll, captured now (`signal.rs`) and
    /// symbolised here. Kept only if the slot still shows the same poll after the capture:
    /// the handler ran between two reads of one odd `seq`, so inside that poll.
    #[cfg(all(feature = "native-stacks", target_os = "linux", not(eddy_loom)))]
    fn native_stack(&mut self, i: usize) -> Option<NativeStack> {
        let t = &self.tracks[i];
        let (seq, _, _) = t.seen?;
        let ips = super::signal::capture_stack(t.slot.capture.as_ref()?)?;
        if ips.is_empty() || !self.still_in(i, seq) {
            return None;
        }
        let stack = super::stack::resolve(&ips);
        // The first symbolisation in a process reads the debug info (half a second for a
        // small debug build) with no tick meanwhile: a poll seen still running afterwards
        // is not estimated to have ended inside that pause.
        self.still_in(i, seq);
        Some(stack)
    }

    /// Whether track `i`'s slot still shows the poll numbered `seq`; if so, notes that it
    /// was seen now (the time its end is estimated from).
    #[cfg(all(feature = "native-stacks", target_os = "linux", not(eddy_loom)))]
    fn still_in(&mut self, i: usize, seq: u64) -> bool {
        let seen =
            matches!(self.tracks[i].slot.read(), Seen::Polling { seq: now, .. } if now == seq);
        if seen {
            self.tracks[i].last = self.state.start.elapsed().as_nanos() as u64;
        }
        seen
    }

    /// Native stacks are off or unsupported here: reports carry none.
    #[cfg(not(all(feature = "native-stacks", target_os = "linux", not(eddy_loom))))]
    fn native_stack(&mut self, _i: usize) -> Option<NativeStack> {
        None
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
