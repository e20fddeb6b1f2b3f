//! Where the time driver reads the time: the system's monotonic clock, or a manual one.

use std::fmt;
use std::time::{Duration, Instant};

use crate::loom::sync::{Arc, Mutex, lock};

/// A source of monotonic time for the time driver.
///
/// The driver reads it when it converts a relative duration into a deadline
/// ([`Handle::now`](crate::Handle::now)) and when it decides what is due
/// ([`Driver::process`](crate::Driver::process)). [`SystemClock`] is the real one;
/// [`ManualClock`] moves only when told to, which makes timer tests deterministic.
pub trait Clock: Send + Sync + 'static {
    /// The current time. Successive calls must never go backwards.
    fn now(&self) -> Instant;
}

/// The operating system's monotonic clock ([`Instant::now`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that stands still until [`advance`](Self::advance) moves it.
///
/// Clones share the same time, so a test keeps one clone and gives the other to the driver.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// use eddy_timer::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let start = clock.now();
/// clock.advance(Duration::from_millis(5));
/// assert_eq!(clock.now() - start, Duration::from_millis(5));
/// ```
#[derive(Clone)]
pub struct ManualClock {
    now: Arc<Mutex<Instant>>,
}

impl ManualClock {
    /// A manual clock that starts at the current real time.
    pub fn new() -> Self {
        Self::starting_at(Instant::now())
    }

    /// A manual clock that starts at `start`.
    pub fn starting_at(start: Instant) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward by `by`. An advance past the end of `Instant`'s range stops at
    /// the latest representable instant instead of panicking.
    pub fn advance(&self, by: Duration) {
        let mut now = lock(&self.now);
        *now = crate::saturating_add(*now, by);
    }

    /// Sets the clock to `to`, if that is not earlier than the current reading (the clock is
    /// monotonic); an earlier `to` is ignored.
    pub fn set(&self, to: Instant) {
        let mut now = lock(&self.now);
        if to > *now {
            *now = to;
        }
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *lock(&self.now)
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now", &*lock(&self.now))
            .finish()
    }
}

/// A clock that can stand still: real time until [`pause`](Self::pause), then only what
/// [`advance`](Self::advance) adds, and real time again from [`resume`](Self::resume) on,
/// continuing from where it stood. A runtime's virtual time (`eddy`'s
/// `Builder::start_paused`) is one of these; clones share it.
///
/// ```
/// use std::time::Duration;
///
/// use eddy_timer::{Clock, VirtualClock};
///
/// let clock = VirtualClock::paused();
/// let start = clock.now();
/// std::thread::sleep(Duration::from_millis(2));
/// assert_eq!(clock.now(), start, "paused: real time does not move it");
/// clock.advance(Duration::from_secs(3600));
/// assert_eq!(clock.now() - start, Duration::from_secs(3600));
/// clock.resume();
/// assert!(clock.now() >= start + Duration::from_secs(3600));
/// ```
#[derive(Clone)]
pub struct VirtualClock {
    state: Arc<Mutex<Virtual>>,
}

#[derive(Debug)]
struct Virtual {
    /// The clock's reading at `real`.
    reading: Instant,
    /// The real time of the last pause or resume.
    real: Instant,
    paused: bool,
}

impl Virtual {
    fn now(&self) -> Instant {
        if self.paused {
            self.reading
        } else {
            crate::saturating_add(self.reading, self.real.elapsed())
        }
    }
}

impl VirtualClock {
    /// A clock that starts now, paused.
    pub fn paused() -> Self {
        let now = Instant::now();
        Self {
            state: Arc::new(Mutex::new(Virtual {
                reading: now,
                real: now,
                paused: true,
            })),
        }
    }

    /// Stops the clock at its current reading (nothing if it is paused already).
    pub fn pause(&self) {
        let mut v = lock(&self.state);
        if !v.paused {
            v.reading = v.now();
            v.paused = true;
        }
    }

    /// Lets the clock follow real time again, from its current reading (nothing if it
    /// runs already).
    pub fn resume(&self) {
        let mut v = lock(&self.state);
        if v.paused {
            v.real = Instant::now();
            v.paused = false;
        }
    }

    /// Whether the clock stands still.
    pub fn is_paused(&self) -> bool {
        lock(&self.state).paused
    }

    /// Moves the clock forward by `by`, paused or not (saturating at the end of
    /// `Instant`'s range).
    pub fn advance(&self, by: Duration) {
        let mut v = lock(&self.state);
        v.reading = crate::saturating_add(v.reading, by);
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        lock(&self.state).now()
    }
}

impl fmt::Debug for VirtualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = lock(&self.state);
        f.debug_struct("VirtualClock")
            .field("now", &v.now())
            .field("paused", &v.paused)
            .finish()
    }
}

#[cfg(all(test, not(eddy_loom)))]
mod tests;
