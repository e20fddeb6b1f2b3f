//! The runtime's driver: the reactor and the timer wheel behind the executor's park seam.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use eddy_executor::{BlockingPool, Park, Unpark};
use eddy_net::Reactor;
use eddy_timer::VirtualClock;

use crate::loom::sync::atomic::{AtomicBool, Ordering};

/// What a worker with nothing to run does: sleep in the selector until the earliest timer
/// or an I/O event, then fire the timers that are due. The executor wakes it through
/// [`DriverUnpark`] (the selector's notifier).
pub(crate) struct Driver {
    reactor: Reactor,
    timers: eddy_timer::Driver,
    /// Virtual time (`Builder::start_paused`): the clock the timers read, moved to the next
    /// deadline when the runtime would otherwise sleep.
    virtual_time: Option<VirtualTime>,
}

/// What auto-advance needs to know before it moves the clock.
pub(crate) struct VirtualTime {
    pub(crate) clock: VirtualClock,
    /// Jobs on the pool run in real time: while one is queued or running, time waits.
    pub(crate) blocking: Arc<BlockingPool>,
    /// How long to wait for real I/O, while any fd is registered, before moving the clock.
    pub(crate) io_grace: Duration,
    /// Raised by every unpark: a task or the main future was woken from another thread.
    pub(crate) remote_wake: Arc<AtomicBool>,
}

/// How often a runtime whose clock waits for a blocking job looks again.
const JOB_POLL: Duration = Duration::from_millis(1);

/// Wakes a thread parked in the [`Driver`]: one eventfd write (kqueue: `NOTE_TRIGGER`).
/// Under virtual time it also raises the driver's `remote_wake` flag first, so the driver
/// does not move the clock past a wake it has not yet run.
pub(crate) struct DriverUnpark {
    reactor: eddy_net::Handle,
    remote_wake: Option<Arc<AtomicBool>>,
}

impl Unpark for DriverUnpark {
    fn unpark(&self) {
        if let Some(flag) = &self.remote_wake {
            // SeqCst: read back by the driver after it read the blocking pool's counters;
            // a job's wake is raised before its thread counts as idle (see
            // `advance_instead_of_sleeping`).
            flag.store(true, Ordering::SeqCst);
        }
        self.reactor.unpark();
    }
}

impl Driver {
    pub(crate) fn new(
        reactor: Reactor,
        timers: eddy_timer::Driver,
        virtual_time: Option<VirtualTime>,
    ) -> Driver {
        let unpark = reactor.handle();
        // The timer driver calls this only when a timer registered from another thread
        // becomes the earliest; a timer set from the driving thread writes no eventfd.
        timers.set_unpark(move || unpark.unpark());
        Driver {
            reactor,
            timers,
            virtual_time,
        }
    }

    /// The runtime has nothing to run and its clock stands still: instead of sleeping until
    /// the next timer, make its deadline now — unless real work could still wake a task
    /// first. Returns `false` (nothing done) when the clock runs or no timer is set.
    fn advance_instead_of_sleeping(&mut self) -> bool {
        let Driver {
            reactor,
            timers,
            virtual_time,
        } = self;
        let Some(vt) = virtual_time else {
            return false;
        };
        if !vt.clock.is_paused() {
            return false;
        }
        let Some(wait) = timers.next_timeout() else {
            return false;
        };
        vt.remote_wake.store(false, Ordering::SeqCst);
        let jobs = vt.blocking.metrics();
        let real_wait = if jobs.busy + jobs.queued > 0 {
            // A job's completion wakes its task: wait for it in real time, looking again
            // every millisecond (its thread may count as busy a moment after the wake).
            Some(JOB_POLL)
        } else if reactor.registered() > 0 {
            Some(vt.io_grace.min(wait))
        } else {
            None
        };
        let woken = match real_wait {
            Some(real) => turn_reactor(reactor, Some(real)),
            // Nothing real pending: collect ready I/O without waiting, then jump.
            None => turn_reactor(reactor, Some(Duration::ZERO)),
        };
        let jobs_pending = {
            let jobs = vt.blocking.metrics();
            jobs.busy + jobs.queued > 0
        };
        // Read after the pool's counters: a job's thread raises its task's wake before it
        // counts as idle, so a job seen finished has its wake seen here.
        let remote = vt.remote_wake.swap(false, Ordering::SeqCst);
        if woken == 0 && !jobs_pending && !remote {
            vt.clock.advance(wait);
        }
        timers.process();
        true
    }

    fn turn(&mut self, limit: Option<Duration>) {
        if limit.is_none() && self.advance_instead_of_sleeping() {
            return;
        }
        let timer = self.timers.next_timeout();
        let timeout = match (timer, limit) {
            (Some(timer), Some(limit)) => Some(timer.min(limit)),
            (timer, limit) => timer.or(limit),
        };
        turn_reactor(&mut self.reactor, timeout);
        // No timer was live before the wait, so none can be due that this thread has not
        // been told of: one registered during the wait from another thread unparked us, and
        // the next park's `next_timeout` sees it (with a zero timeout if it is already due).
        // Skipping `process` saves a lock per park for a runtime that uses no timers.
        if timer.is_some() {
            self.timers.process();
        }
    }
}

/// Turns the reactor; returns how many wakers its events woke.
fn turn_reactor(reactor: &mut Reactor, timeout: Option<Duration>) -> usize {
    match reactor.turn(timeout) {
        Ok(woken) => woken,
        // The selector fails only on a broken epoll/kqueue fd; a runtime cannot go on
        // without it, and a silent spin would be worse than saying so.
        Err(e) => report_broken_selector(&e),
    }
}

fn report_broken_selector(e: &io::Error) -> ! {
    panic!("eddy's selector failed ({e}); the runtime cannot wait for I/O any more");
}

impl Park for Driver {
    type Unpark = DriverUnpark;

    fn unpark(&self) -> DriverUnpark {
        DriverUnpark {
            reactor: self.reactor.handle(),
            remote_wake: self
                .virtual_time
                .as_ref()
                .map(|vt| Arc::clone(&vt.remote_wake)),
        }
    }

    fn park(&mut self) {
        self.turn(None);
    }

    fn park_timeout(&mut self, timeout: Duration) {
        self.turn(Some(timeout));
    }
}
