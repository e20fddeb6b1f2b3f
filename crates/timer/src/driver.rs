//! The time driver: a wheel of wakers, the clock that moves it, and the runtime's hooks.
//!
//! # Protocol
//!
//! All timer state lives in [`Inner::state`], one lock: the wheel of wakers, the id of the
//! driver's thread, the unpark callback and the shutdown flag. Futures on any thread lock it
//! to register, re-arm, reset or cancel their entry; the runtime's thread locks it to ask how
//! long it may sleep ([`Driver::next_timeout`]) and to fire what is due
//! ([`Driver::process`]). Wakers are cloned in and woken or dropped only after the lock is
//! released, so a waker's code never runs under it.
//!
//! The driver's thread is the one that last called `next_timeout` (the one about to park).
//! A registration that makes a timer the earliest calls the unpark callback only when it
//! comes from another thread: the parked thread sleeps until the old earliest deadline and
//! must be woken to sleep less. From the driver's own thread no wake is needed, because that
//! thread calls `next_timeout` again before it parks and sees the new timer then. This
//! saves a syscall (an eventfd write) per timer for every timer a task on the runtime's own
//! thread creates.

use std::fmt;
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::clock::{Clock, SystemClock};
use crate::handle::Handle;
use crate::loom::sync::{Arc, Mutex, MutexGuard};
use crate::loom::thread::{self, ThreadId};
use crate::wheel::{TimerKey, Wheel};

/// The default tick: 1 ms.
const DEFAULT_TICK: Duration = Duration::from_millis(1);
/// The finest tick the builder accepts.
const MIN_TICK: Duration = Duration::from_micros(100);
/// The coarsest tick the builder accepts.
const MAX_TICK: Duration = Duration::from_secs(1);

/// The unpark callback a runtime installs.
type Unpark = Arc<dyn Fn() + Send + Sync>;

/// Owns the timer wheel for one runtime: tells it how long it may sleep and fires what is due.
///
/// The runtime keeps the `Driver`; futures reach it through [`Handle`]s. A runtime's loop is:
///
/// 1. [`next_timeout`](Self::next_timeout): how long may this thread block?
/// 2. block in the selector (or a condvar) for at most that long;
/// 3. [`process`](Self::process): wake the tasks whose timers are due.
///
/// Dropping the driver wakes every task still waiting on one of its timers; such a timer
/// panics when polled again, with a message saying its runtime is gone.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// use eddy_timer::{Driver, ManualClock};
///
/// let clock = ManualClock::new();
/// let mut driver = Driver::builder().clock(clock.clone()).build();
/// assert_eq!(driver.next_timeout(), None, "no timers: sleep until something else happens");
///
/// let _guard = driver.handle().enter();
/// let mut sleep = Box::pin(eddy_timer::sleep(Duration::from_millis(3)));
/// let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// assert!(sleep.as_mut().poll(&mut cx).is_pending());
/// assert_eq!(driver.next_timeout(), Some(Duration::from_millis(3)));
///
/// clock.advance(Duration::from_millis(3));
/// assert_eq!(driver.process(), 1);
/// assert!(sleep.as_mut().poll(&mut cx).is_ready());
/// # use std::future::Future;
/// ```
pub struct Driver {
    handle: Handle,
    /// Wakers taken out of the wheel by `process`, woken after the lock is released. Kept to
    /// reuse its allocation.
    fired: Vec<Waker>,
}

/// Configures a [`Driver`].
pub struct Builder {
    tick: Duration,
    clock: Option<Box<dyn Clock>>,
}

/// What the driver shares with every [`Handle`].
pub(crate) struct Inner {
    clock: Box<dyn Clock>,
    /// Tick 0.
    start: Instant,
    /// Length of one tick in nanoseconds; between 100 µs and 1 s.
    tick_nanos: u64,
    /// Everything that changes; see the module docs.
    state: Mutex<State>,
}

/// The lock-protected part of the driver.
pub(crate) struct State {
    pub(crate) wheel: Wheel<Waker>,
    /// The thread that last asked `next_timeout`: the one that parks.
    driver_thread: Option<ThreadId>,
    /// Installed by the runtime; wakes the driver's thread from its park.
    unpark: Option<Unpark>,
    /// Set when the `Driver` is dropped.
    shutdown: bool,
    /// Counters for [`TimerMetrics`], kept under the lock `process` already holds.
    stats: Stats,
}

/// Buckets of the lateness histogram: on time (within the tick), then 1, 2–3, 4–7, ...
/// ticks late, the last one open-ended.
const LATENESS_BUCKETS: usize = 12;

#[derive(Default)]
struct Stats {
    fired: u64,
    late: [u64; LATENESS_BUCKETS],
}

/// What a timer driver has done: from [`Driver::metrics`] or [`Handle::metrics`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TimerMetrics {
    /// Timers armed now.
    pub live: usize,
    /// Timers fired so far (cancelled ones never fire).
    pub fired: u64,
    /// The driver's tick, the unit of lateness.
    pub tick: Duration,
    /// How late timers fired, as `(up_to, count)`: `count` timers fired less than `up_to`
    /// after their deadline's tick (`None`: the open-ended last bucket). Bucket 0 is "on
    /// time": within the deadline's own tick; then 1, 2–3, 4–7, ... ticks late.
    pub lateness: Vec<(Option<Duration>, u64)>,
}

impl State {
    /// Takes every timer due at `tick` out of the wheel into `fired`, counting how late
    /// each one is.
    fn fire_due(&mut self, tick: u64, fired: &mut Vec<Waker>) {
        let State { wheel, stats, .. } = self;
        wheel.advance_with_deadlines(tick, |_, deadline, waker| {
            stats.record(tick.saturating_sub(deadline));
            fired.push(waker);
        });
    }
}

impl Stats {
    fn record(&mut self, ticks_late: u64) {
        self.fired += 1;
        let bucket = (u64::BITS - ticks_late.leading_zeros()) as usize;
        self.late[bucket.min(LATENESS_BUCKETS - 1)] += 1;
    }

    fn metrics(&self, live: usize, tick: Duration) -> TimerMetrics {
        let lateness = self
            .late
            .iter()
            .enumerate()
            .map(|(i, &count)| {
                let up_to = (i + 1 < LATENESS_BUCKETS).then(|| tick * (1u32 << i));
                (up_to, count)
            })
            .collect();
        TimerMetrics {
            live,
            fired: self.fired,
            tick,
            lateness,
        }
    }
}

/// How a registration or reset ended.
pub(crate) enum Armed {
    /// In the wheel under this key.
    Key(TimerKey),
    /// The deadline has already passed; nothing was registered.
    Due,
}

impl Driver {
    /// A driver on the system clock with 1 ms ticks.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder to choose the tick and the clock.
    pub fn builder() -> Builder {
        Builder {
            tick: DEFAULT_TICK,
            clock: None,
        }
    }

    /// A handle for futures to register timers with this driver.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Installs the callback that wakes the runtime's thread while it is blocked, replacing
    /// any earlier one.
    ///
    /// It is called, outside any lock, when a timer registered from another thread becomes
    /// the earliest one, and never for a timer registered on the driver's own thread (see
    /// [`next_timeout`](Self::next_timeout)). It must be cheap and must not block: writing
    /// the selector's eventfd is the intended use.
    pub fn set_unpark(&self, unpark: impl Fn() + Send + Sync + 'static) {
        self.handle.inner.lock().unpark = Some(Arc::new(unpark));
    }

    /// How long the calling thread may block before a timer is due; `None` if no timer is
    /// live. Call it right before blocking: the calling thread becomes the driver's thread,
    /// whose own timer registrations never trigger the unpark callback.
    ///
    /// The timeout never ends before the earliest deadline's tick; it may end earlier than the
    /// deadline of a timer far away, which then moves to a finer level of the wheel at the next
    /// [`process`](Self::process).
    pub fn next_timeout(&self) -> Option<Duration> {
        let inner = &self.handle.inner;
        let next = {
            let mut state = inner.lock();
            state.driver_thread = Some(thread::current().id());
            state.wheel.next_expiration()
        }?;
        let target = u128::from(next) * u128::from(inner.tick_nanos);
        let now = inner.since_start(inner.clock.now());
        Some(crate::duration_from_nanos(target.saturating_sub(now)))
    }

    /// Fires every timer whose deadline has passed on the driver's clock; returns how many.
    ///
    /// With no live timer it returns 0 at once, without reading the clock: a runtime that
    /// calls this after every park pays one uncontended lock for it when it uses no timers.
    /// The wheel is then not advanced; the next registration into the empty wheel advances
    /// it first (see `Inner::register`), so placement stays relative to the present.
    pub fn process(&mut self) -> usize {
        let inner = &self.handle.inner;
        {
            let mut state = inner.lock();
            if state.wheel.is_empty() {
                return 0;
            }
            let tick = inner.now_tick(inner.clock.now());
            state.fire_due(tick, &mut self.fired);
        }
        self.wake_fired()
    }

    /// Fires every timer whose deadline is at or before `now`; returns how many.
    ///
    /// A `now` earlier than the last one processed fires nothing new.
    pub fn process_at(&mut self, now: Instant) -> usize {
        let inner = &self.handle.inner;
        let tick = inner.now_tick(now);
        inner.lock().fire_due(tick, &mut self.fired);
        self.wake_fired()
    }

    /// Wakes what `process` took out of the wheel, after the lock is released.
    fn wake_fired(&mut self) -> usize {
        let fired = &mut self.fired;
        let count = fired.len();
        for waker in fired.drain(..) {
            waker.wake();
        }
        count
    }

    /// Live timers, timers fired and how late they fired.
    pub fn metrics(&self) -> TimerMetrics {
        self.handle.metrics()
    }

    /// Number of live timers.
    pub fn len(&self) -> usize {
        self.handle.inner.lock().wheel.len()
    }

    /// Whether no timer is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for Driver {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Wake every waiting task so none sleeps forever on a timer that can no longer fire;
        // their next poll sees `shutdown` and panics with an explanation. Dropping the wakers
        // also breaks waker -> task -> Sleep -> Handle cycles, so nothing leaks.
        let fired = &mut self.fired;
        {
            let mut state = self.handle.inner.lock();
            state.shutdown = true;
            state.unpark = None;
            state.wheel.advance(u64::MAX, |_, waker| fired.push(waker));
        }
        for waker in fired.drain(..) {
            waker.wake();
        }
    }
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// The length of one tick, the driver's resolution: 1 ms by default. Values are clamped
    /// into 100 µs ..= 1 s and rounded down to whole nanoseconds (documented saturation, not
    /// an error).
    pub fn tick(mut self, tick: Duration) -> Self {
        self.tick = tick.clamp(MIN_TICK, MAX_TICK);
        self
    }

    /// The clock to read: [`SystemClock`] by default, [`ManualClock`](crate::ManualClock) in
    /// tests.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Box::new(clock));
        self
    }

    /// Builds the driver. The calling thread is its thread until another calls
    /// [`Driver::next_timeout`].
    pub fn build(self) -> Driver {
        let clock = self.clock.unwrap_or_else(|| Box::new(SystemClock));
        let start = clock.now();
        // Clamped to 1 s above, so it fits.
        let tick_nanos = u64::try_from(self.tick.as_nanos()).unwrap_or(u64::MAX);
        let inner = Inner {
            clock,
            start,
            tick_nanos,
            state: Mutex::new(State {
                wheel: Wheel::new(),
                driver_thread: Some(thread::current().id()),
                unpark: None,
                shutdown: false,
                stats: Stats::default(),
            }),
        };
        Driver {
            handle: Handle::from_inner(Arc::new(inner)),
            fired: Vec::new(),
        }
    }
}

impl Default for Builder {
    fn default() -> Self {
        Driver::builder()
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("tick", &self.tick)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// Locks the state, ignoring poisoning: no code panics while holding the lock except
    /// through an internal-invariant panic, after which the wheel is still consistent.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        crate::loom::sync::lock(&self.state)
    }

    /// Reads the clock.
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Length of one tick.
    pub(crate) fn tick(&self) -> Duration {
        Duration::from_nanos(self.tick_nanos)
    }

    pub(crate) fn metrics(&self) -> TimerMetrics {
        let state = self.lock();
        state.stats.metrics(state.wheel.len(), self.tick())
    }

    /// Nanoseconds from tick 0 to `t`, or 0 for an earlier `t`.
    fn since_start(&self, t: Instant) -> u128 {
        t.saturating_duration_since(self.start).as_nanos()
    }

    /// The tick `now` falls in (rounded down): a timer fires when this reaches its deadline
    /// tick.
    fn now_tick(&self, now: Instant) -> u64 {
        let ticks = self.since_start(now) / u128::from(self.tick_nanos);
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }

    /// The first tick that starts at or after `deadline` (rounded up), so that a timer can
    /// never fire before its deadline.
    fn deadline_tick(&self, deadline: Instant) -> u64 {
        let ticks = self
            .since_start(deadline)
            .div_ceil(u128::from(self.tick_nanos));
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }

    /// Registers `waker` to be woken at `deadline`.
    pub(crate) fn register(&self, deadline: Instant, waker: &Waker) -> Armed {
        let tick = self.deadline_tick(deadline);
        let mut state = self.lock();
        state.check_running();
        if state.wheel.is_empty() {
            // `Driver::process` leaves an empty wheel where it was; catch it up to the
            // present, as a process on every park would have, so that a deadline already
            // reached is due at once and the timer lands on the level its distance from now
            // calls for. Nothing is live, so nothing fires.
            let now = self.now_tick(self.clock.now());
            state.wheel.advance(now, |_, _| {});
        }
        if tick <= state.wheel.elapsed() {
            return Armed::Due;
        }
        let earliest = state.wheel.next_expiration().is_none_or(|next| tick < next);
        let key = state.wheel.insert(tick, waker.clone());
        let unpark = if earliest {
            state.unpark_from_here()
        } else {
            None
        };
        drop(state);
        if let Some(unpark) = unpark {
            unpark();
        }
        Armed::Key(key)
    }

    /// Re-arms a registered timer: whether it has fired, and if not, makes sure `waker` is the
    /// one it will wake (cloning only when the stored one would wake another task).
    pub(crate) fn poll_key(&self, key: TimerKey, waker: &Waker) -> bool {
        let mut state = self.lock();
        state.check_running();
        match state.wheel.get_mut(key) {
            Some(stored) if stored.will_wake(waker) => false,
            Some(stored) => {
                let old = std::mem::replace(stored, waker.clone());
                drop(state);
                drop(old);
                false
            }
            None => true,
        }
    }

    /// Moves a registered timer to a new deadline. `None`: the key had already fired, so the
    /// caller must register anew.
    pub(crate) fn reset(&self, key: TimerKey, deadline: Instant) -> Option<Armed> {
        let tick = self.deadline_tick(deadline);
        let mut state = self.lock();
        state.check_running();
        if tick <= state.wheel.elapsed() {
            let waker = state.wheel.cancel(key);
            drop(state);
            return waker.map(|_| Armed::Due);
        }
        let earliest = state.wheel.next_expiration().is_none_or(|next| tick < next);
        state.wheel.reset(key, tick).ok()?;
        let unpark = if earliest {
            state.unpark_from_here()
        } else {
            None
        };
        drop(state);
        if let Some(unpark) = unpark {
            unpark();
        }
        Some(Armed::Key(key))
    }

    /// Cancels a timer; a stale key is ignored.
    pub(crate) fn cancel(&self, key: TimerKey) {
        let waker = self.lock().wheel.cancel(key);
        drop(waker);
    }
}

impl State {
    /// The unpark callback, if the calling thread is not the driver's thread.
    fn unpark_from_here(&self) -> Option<Unpark> {
        let unpark = self.unpark.as_ref()?;
        match self.driver_thread {
            Some(id) if id == thread::current().id() => None,
            _ => Some(Arc::clone(unpark)),
        }
    }

    /// Panics, with what happened and what to do, if the driver is gone.
    fn check_running(&self) {
        if self.shutdown {
            panic!(
                "eddy-timer: this timer's time driver has shut down (its runtime was dropped); \
                 create and poll timers only while their runtime is alive"
            );
        }
    }
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("tick", &self.tick())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(eddy_loom)))]
mod tests;

#[cfg(all(test, eddy_loom))]
mod loom_tests;
