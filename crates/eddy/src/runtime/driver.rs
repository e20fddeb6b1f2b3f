//! The runtime's driver: the reactor and the timer wheel behind the executor's park seam.

use std::io;
use std::time::Duration;

use eddy_executor::{Park, Unpark};
use eddy_net::Reactor;

/// What a worker with nothing to run does: sleep in the selector until the earliest timer
/// or an I/O event, then fire the timers that are due. The executor wakes it through
/// [`DriverUnpark`] (the selector's notifier).
pub(crate) struct Driver {
    reactor: Reactor,
    timers: eddy_timer::Driver,
}

/// Wakes a thread parked in the [`Driver`]: one eventfd write (kqueue: `NOTE_TRIGGER`).
pub(crate) struct DriverUnpark(eddy_net::Handle);

impl Unpark for DriverUnpark {
    fn unpark(&self) {
        self.0.unpark();
    }
}

impl Driver {
    pub(crate) fn new(reactor: Reactor, timers: eddy_timer::Driver) -> Driver {
        let unpark = reactor.handle();
        // The timer driver calls this only when a timer registered from another thread
        // becomes the earliest; a timer set from the driving thread writes no eventfd.
        timers.set_unpark(move || unpark.unpark());
        Driver { reactor, timers }
    }

    fn turn(&mut self, limit: Option<Duration>) {
        let timer = self.timers.next_timeout();
        let timeout = match (timer, limit) {
            (Some(timer), Some(limit)) => Some(timer.min(limit)),
            (timer, limit) => timer.or(limit),
        };
        if let Err(e) = self.reactor.turn(timeout) {
            // The selector fails only on a broken epoll/kqueue fd; a runtime cannot go on
            // without it, and a silent spin would be worse than saying so.
            report_broken_selector(&e);
        }
        // No timer was live before the wait, so none can be due that this thread has not
        // been told of: one registered during the wait from another thread unparked us, and
        // the next park's `next_timeout` sees it (with a zero timeout if it is already due).
        // Skipping `process` saves a lock per park for a runtime that uses no timers.
        if timer.is_some() {
            self.timers.process();
        }
    }
}

fn report_broken_selector(e: &io::Error) {
    panic!("eddy's selector failed ({e}); the runtime cannot wait for I/O any more");
}

impl Park for Driver {
    type Unpark = DriverUnpark;

    fn unpark(&self) -> DriverUnpark {
        DriverUnpark(self.reactor.handle())
    }

    fn park(&mut self) {
        self.turn(None);
    }

    fn park_timeout(&mut self, timeout: Duration) {
        self.turn(Some(timeout));
    }
}
