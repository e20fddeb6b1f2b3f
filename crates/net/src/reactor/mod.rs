//! The reactor: turns selector events into task wake-ups.
//!
//! A [`Reactor`] owns the [`Selector`] and the event buffer; a [`Handle`] (cheap to clone,
//! `Send + Sync`) is what resources hold to register themselves. One thread at a time turns
//! the reactor (`turn` takes `&mut self`); any thread may register, deregister or
//! [`unpark`](Handle::unpark) it meanwhile.
//!
//! # Locks
//!
//! `Shared::registry` (the slab of records) is locked by `register`/`deregister` and once per
//! `turn` while events are dispatched. Wakers are collected while it is held and woken
//! after it is released, because waking can drop a task, whose future can drop a socket,
//! whose drop deregisters, which locks the registry.

mod current;
#[cfg(all(test, eddy_loom))]
mod loom_tests;
mod ready;
mod registry;
pub(crate) mod scheduled_io;

use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::task::Waker;
use std::time::Duration;

use eddy_selector::{Events, Interest, Notifier, Selector, Token};

pub use current::EnterGuard;
pub use ready::Ready;
use registry::Registry;
use scheduled_io::ScheduledIo;

use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use crate::loom::sync::{Arc, Mutex, lock};

/// Runs a blocking job (a DNS lookup) somewhere it may block, such as a thread pool's
/// thread. An error means the job was not started (and was dropped).
pub type BlockingSpawner =
    std::sync::Arc<dyn Fn(Box<dyn FnOnce() + Send>) -> io::Result<()> + Send + Sync>;

/// The I/O driver: waits for readiness and wakes the tasks that wait for it.
///
/// ```
/// use std::time::Duration;
///
/// let mut reactor = eddy_net::Reactor::new()?;
/// let handle = reactor.handle();
/// let _guard = handle.enter(); // sockets created on this thread now find the reactor
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let listener = eddy_net::TcpListener::from_std(listener)?;
/// assert_eq!(reactor.turn(Some(Duration::ZERO))?, 0);
/// # drop(listener);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Reactor {
    shared: Arc<Shared>,
    events: Events,
    wake: Vec<Waker>,
}

/// A reference to a [`Reactor`]: registers resources and wakes the reactor from any thread.
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    selector: Selector,
    notifier: Notifier,
    registry: Mutex<Registry>,
    /// Set when the reactor is dropped: new registrations fail.
    shut_down: AtomicBool,
    blocking: BlockingSpawner,
    /// Counts fds closed by eddy resources; a listener out of descriptors waits for it to
    /// move. SeqCst with `starving`: a closer bumps this then reads `starving`, a waiter
    /// bumps `starving` then reads this, so one of them sees the other.
    fd_close_epoch: AtomicUsize,
    starving: AtomicUsize,
    /// Wakers of listeners waiting for a descriptor to be freed.
    starved: Mutex<Vec<Waker>>,
    /// Counters for [`IoMetrics`]; written only by the thread in `turn` (`&mut Reactor`).
    stats: TurnStats,
}

/// Buckets of the events-per-turn histogram: 0, 1, 2–3, 4–7, ..., 512 and more.
const EVENT_BUCKETS: usize = 11;

struct TurnStats {
    turns: AtomicUsize,
    events: AtomicUsize,
    per_turn: [AtomicUsize; EVENT_BUCKETS],
}

impl TurnStats {
    /// One turn that saw `events` events. Only the turning thread writes, so each counter is
    /// a load and a store; Relaxed: statistics, read by `metrics` without ordering.
    fn record(&self, events: usize) {
        let bump = |c: &AtomicUsize, n: usize| {
            c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
        };
        bump(&self.turns, 1);
        bump(&self.events, events);
        let bucket = (usize::BITS - events.leading_zeros()) as usize;
        bump(&self.per_turn[bucket.min(EVENT_BUCKETS - 1)], 1);
    }
}

/// What a reactor has done: from [`Handle::metrics`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IoMetrics {
    /// I/O resources (sockets, `Async` fds) registered now.
    pub registered: usize,
    /// Turns of the reactor (waits in the selector, blocking or not).
    pub turns: u64,
    /// Readiness events dispatched over all turns.
    pub events: u64,
    /// Events per turn, as `(up_to, turns)`: `turns` turns saw fewer than `up_to` events
    /// (`None`: the open-ended last bucket). Buckets: 0, 1, 2–3, 4–7, ... events.
    pub events_per_turn: Vec<(Option<u64>, u64)>,
}

impl Reactor {
    /// A reactor with a 1,024-event buffer, running blocking jobs (DNS lookups) on a new
    /// thread each.
    ///
    /// # Errors
    ///
    /// The system's error if the selector cannot be created (for example `EMFILE`).
    pub fn new() -> io::Result<Reactor> {
        // A thread per lookup: the runtime facade installs its blocking pool instead.
        Reactor::with_blocking_spawner(std::sync::Arc::new(|job| {
            std::thread::Builder::new()
                .name("eddy-net-blocking".into())
                .spawn(job)
                .map(drop)
        }))
    }

    /// A reactor that hands blocking jobs (DNS lookups) to `spawner`, for example a
    /// runtime's blocking pool.
    ///
    /// # Errors
    ///
    /// The system's error if the selector cannot be created.
    pub fn with_blocking_spawner(spawner: BlockingSpawner) -> io::Result<Reactor> {
        let selector = Selector::new()?;
        let notifier = selector.notifier();
        Ok(Reactor {
            shared: Arc::new(Shared {
                selector,
                notifier,
                registry: Mutex::new(Registry::default()),
                shut_down: AtomicBool::new(false),
                blocking: spawner,
                fd_close_epoch: AtomicUsize::new(0),
                starving: AtomicUsize::new(0),
                starved: Mutex::new(Vec::new()),
                stats: TurnStats {
                    turns: AtomicUsize::new(0),
                    events: AtomicUsize::new(0),
                    per_turn: std::array::from_fn(|_| AtomicUsize::new(0)),
                },
            }),
            events: Events::with_capacity(1024),
            wake: Vec::with_capacity(64),
        })
    }

    /// A handle for registering resources and waking this reactor.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Waits for readiness (at most `timeout`; `None` waits until an event or an
    /// [`unpark`](Handle::unpark)), records it, and wakes every task waiting for it.
    /// Returns how many wakers were woken.
    ///
    /// # Errors
    ///
    /// Only unexpected selector errors.
    pub fn turn(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        self.shared.selector.select(&mut self.events, timeout)?;
        self.shared.stats.record(self.events.len());
        // A turn that only timed out or was unparked has nothing to dispatch: skip the lock.
        if !self.events.is_empty() {
            let registry = lock(&self.shared.registry);
            for event in &self.events {
                // A stale token (a resource dropped after the kernel queued its event) finds
                // nothing, or a slot with a newer generation: either way it is dropped.
                if let Some(io) = registry.get(event.token()) {
                    io.set_ready(Ready::from_event(&event), &mut self.wake);
                }
            }
        }
        let woken = self.wake.len();
        for waker in self.wake.drain(..) {
            waker.wake();
        }
        Ok(woken)
    }

    /// How many resources are registered.
    pub fn registered(&self) -> usize {
        lock(&self.shared.registry).len()
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        self.shared.shut_down.store(true, Ordering::Release);
        // Wake every task still waiting: their resources now report an error instead of
        // waiting forever for a reactor that will never turn again.
        let mut wake = Vec::new();
        for io in lock(&self.shared.registry).drain() {
            io.shutdown(&mut wake);
        }
        for waker in wake {
            waker.wake();
        }
    }
}

impl Handle {
    /// The reactor entered on this thread (see [`Handle::enter`]).
    ///
    /// # Errors
    ///
    /// An error of kind [`Other`](io::ErrorKind::Other) saying what to do, if no reactor is
    /// entered on this thread.
    pub fn current() -> io::Result<Handle> {
        current::current()
    }

    /// The reactor entered on this thread, for socket constructors: they panic outside a
    /// runtime, as `eddy::spawn` does, rather than return an error.
    #[track_caller]
    pub(crate) fn entered() -> Handle {
        current::entered()
    }

    /// Makes this reactor the current one on this thread until the guard is dropped, so
    /// sockets created here register with it. Guards nest.
    pub fn enter(&self) -> EnterGuard {
        current::enter(self.clone())
    }

    /// Resources registered, turns, events and events per turn.
    pub fn metrics(&self) -> IoMetrics {
        let stats = &self.shared.stats;
        let load = |c: &AtomicUsize| c.load(Ordering::Relaxed) as u64;
        IoMetrics {
            registered: lock(&self.shared.registry).len(),
            turns: load(&stats.turns),
            events: load(&stats.events),
            events_per_turn: stats
                .per_turn
                .iter()
                .enumerate()
                .map(|(i, c)| ((i + 1 < EVENT_BUCKETS).then(|| 1u64 << i), load(c)))
                .collect(),
        }
    }

    /// Wakes the thread blocked in [`Reactor::turn`] (or makes its next turn return at
    /// once). Safe from any thread; wakes coalesce.
    pub fn unpark(&self) {
        // The notifier fails only on a broken eventfd/kqueue; a lost unpark would hang the
        // runtime, so say so loudly rather than silently.
        if let Err(e) = self.shared.notifier.notify() {
            eprintln!("eddy-net: failed to wake the reactor: {e}");
        }
    }

    /// Runs `job` where it may block (the blocking spawner the reactor was built with).
    pub(crate) fn spawn_blocking(&self, job: Box<dyn FnOnce() + Send>) -> io::Result<()> {
        (self.shared.blocking)(job)
    }

    /// Called after an eddy resource closed its fd: wakes listeners that ran out of
    /// descriptors.
    pub(crate) fn fd_closed(&self) {
        self.shared.fd_close_epoch.fetch_add(1, Ordering::SeqCst);
        // The Dekker pair with `poll_fd_closed_since`'s fence: bump, fence, read `starving`
        // here; store `starving`, fence, re-read the epoch there. A fence rather than SeqCst
        // accesses alone, because loom models SeqCst fences but treats SeqCst accesses as
        // AcqRel (loom model `fd_close_racing_a_starved_listener_is_seen_or_wakes_it`).
        fence(Ordering::SeqCst);
        if self.shared.starving.load(Ordering::SeqCst) == 0 {
            return;
        }
        let waiters: Vec<Waker> = {
            let mut starved = lock(&self.shared.starved);
            self.shared.starving.store(0, Ordering::SeqCst);
            starved.drain(..).collect()
        };
        for waker in waiters {
            waker.wake();
        }
    }

    /// The current fd-close epoch.
    pub(crate) fn fd_close_epoch(&self) -> usize {
        self.shared.fd_close_epoch.load(Ordering::SeqCst)
    }

    /// Whether an eddy fd closed since `epoch`; if not, the task is woken when one does.
    pub(crate) fn poll_fd_closed_since(
        &self,
        cx: &mut std::task::Context<'_>,
        epoch: usize,
    ) -> bool {
        if self.fd_close_epoch() != epoch {
            return true;
        }
        {
            let mut starved = lock(&self.shared.starved);
            if !starved.iter().any(|w| w.will_wake(cx.waker())) {
                starved.push(cx.waker().clone());
            }
            self.shared.starving.store(starved.len(), Ordering::SeqCst);
        }
        // Pairs with the fence in `fd_closed`: one of the two sides sees the other.
        fence(Ordering::SeqCst);
        self.fd_close_epoch() != epoch
    }

    /// Registers `fd` for `interest` and returns its record and token.
    pub(crate) fn register(
        &self,
        fd: RawFd,
        interest: Interest,
    ) -> io::Result<(Arc<ScheduledIo>, Token)> {
        let io = Arc::new(ScheduledIo::new());
        let token = {
            let mut registry = lock(&self.shared.registry);
            // Checked under the registry lock: the reactor's drop sets the flag and then
            // drains the registry under this lock, so a record is either inserted before the
            // drain (which shuts it down) or refused here. Checked before the lock, a drop
            // landing in between would leave a record no one ever wakes (loom model
            // `register_racing_reactor_drop_fails_or_is_shut_down`).
            if self.shared.shut_down.load(Ordering::Acquire) {
                return Err(io::Error::other(
                    "the eddy reactor this handle belongs to has shut down; \
                     create the resource inside a running runtime",
                ));
            }
            registry.insert(Arc::clone(&io)).ok_or_else(|| {
                io::Error::new(io::ErrorKind::OutOfMemory, "the reactor's registry is full")
            })?
        };
        if let Err(e) = self.shared.selector.register(fd, token, interest) {
            lock(&self.shared.registry).remove(token);
            return Err(e);
        }
        Ok((io, token))
    }

    /// Changes the interest of a registered `fd`, keeping its token; readiness already
    /// true is reported again.
    pub(crate) fn reregister(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        self.shared.selector.reregister(fd, token, interest)
    }

    /// Deregisters `fd` (which must still be open) and frees its record.
    pub(crate) fn deregister(&self, fd: RawFd, token: Token) -> io::Result<()> {
        let removed = lock(&self.shared.registry).remove(token);
        // After shutdown the registry is empty; the fd may still be in the selector, which
        // is harmless because the selector is about to close.
        match removed {
            Some(_) => self.shared.selector.deregister(fd),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("registered", &self.registered())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}
