//! `Builder`: the flavour and settings of a new runtime.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use eddy_executor::debug::SlowPollHook;
use eddy_executor::{
    BlockingPool, CurrentThread, DebugConfig, MultiThread, Scheduler, SlowPoll, Spawner,
    WorkerHooks,
};

use eddy_timer::VirtualClock;

use super::driver::{Driver, VirtualTime};
use super::{EnterGuard, Flavor, Handle, Inner, Runtime, context};
use crate::loom::sync::atomic::AtomicBool;

type Hook = Arc<dyn Fn() + Send + Sync>;

thread_local! {
    /// A worker's entered runtime, for the life of the worker thread.
    static WORKER_CONTEXT: RefCell<Option<EnterGuard>> = const { RefCell::new(None) };
}

/// Options for a [`Runtime`]; from [`Runtime::builder`].
///
/// ```
/// use std::time::Duration;
///
/// let rt = eddy::Runtime::builder()
///     .multi_thread()
///     .worker_threads(2)
///     .thread_name("server")
///     .timer_tick(Duration::from_micros(500))
///     .build()?;
/// let on_a_worker = rt.block_on(async {
///     eddy::spawn(async { std::thread::current().name().map(str::to_owned) }).await.unwrap()
/// });
/// assert!(on_a_worker.unwrap().starts_with("server-"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Builder {
    flavor: Flavor,
    worker_threads: Option<usize>,
    pub(super) timer_tick: Duration,
    pub(super) thread_name: String,
    pub(super) max_blocking_threads: Option<usize>,
    on_thread_start: Option<Hook>,
    on_thread_stop: Option<Hook>,
    debug: bool,
    slow_poll_threshold: Duration,
    on_slow_poll: Option<SlowPollHook>,
    start_paused: bool,
    io_grace: Duration,
    seed: Option<u64>,
    task_hook: Option<crate::task::SharedHook>,
    on_pending_at_shutdown: Option<crate::debug::PendingHook>,
}

/// The environment variable that seeds the scheduling of every current-thread runtime
/// whose builder set no seed ([`Builder::seed`]).
pub(crate) const SEED_VAR: &str = "EDDY_SEED";

/// How long a paused runtime waits for real I/O before it moves its clock, by default.
const DEFAULT_IO_GRACE: Duration = Duration::from_millis(5);

impl Builder {
    pub(super) fn new() -> Builder {
        Builder {
            flavor: Flavor::CurrentThread,
            worker_threads: None,
            timer_tick: Duration::from_millis(1),
            thread_name: "eddy".to_owned(),
            max_blocking_threads: None,
            on_thread_start: None,
            on_thread_stop: None,
            debug: false,
            slow_poll_threshold: crate::debug::DEFAULT_SLOW_POLL_THRESHOLD,
            on_slow_poll: None,
            start_paused: false,
            io_grace: DEFAULT_IO_GRACE,
            seed: None,
            task_hook: None,
            on_pending_at_shutdown: None,
        }
    }

    /// Virtual time (current-thread runtimes): the runtime's clock stands still from the
    /// start, moved only by [`eddy::time::advance`](crate::time::advance) and, whenever the
    /// runtime has nothing to run, by a jump straight to the next timer's deadline. An hour
    /// of sleeps, timeouts and intervals then takes as long as the work between them.
    /// [`eddy::time::resume`](crate::time::resume) lets it follow real time again. Every
    /// timer, [`eddy::time::now`](crate::time::now) and [`timed`](crate::time::timed)
    /// read it; debug mode's slow-poll watchdog does not (a slow poll is slow in real
    /// time).
    ///
    /// The clock never jumps past work that runs in real time:
    /// - while a [`spawn_blocking`](crate::spawn_blocking) job is queued or running, the
    ///   runtime waits for it in real time;
    /// - while any fd is registered (a socket, a pipe, a child process), the runtime first
    ///   waits up to [`io_grace`](Builder::io_grace) (5 ms) of real time for I/O, and jumps
    ///   only if none came;
    /// - a wake from another thread (a task spawned or woken from outside) is run before
    ///   the clock moves.
    ///
    /// What it cannot see: a plain thread of yours that will wake a task later. Run such
    /// work through `spawn_blocking`, or [`resume`](crate::time::resume) while it runs.
    pub fn start_paused(mut self, paused: bool) -> Builder {
        self.start_paused = paused;
        self
    }

    /// How long a runtime with paused time waits for real I/O before it jumps its clock to
    /// the next timer, while any fd is registered (default 5 ms, real time).
    pub fn io_grace(mut self, grace: Duration) -> Builder {
        self.io_grace = grace;
        self
    }

    /// Seeded scheduling (current-thread runtimes): the order in which runnable tasks run,
    /// and so which of several simultaneous wakes goes first, is drawn from `seed` instead
    /// of first-in first-out. The same seed and program give the same order of polls, run
    /// after run (with virtual time and no outside timing: other threads, real I/O); other
    /// seeds give other legal orders, which is how [`eddy::testing`](crate::testing) finds
    /// ordering bugs. `EDDY_SEED=n` in the environment seeds every current-thread runtime
    /// whose builder set no seed.
    pub fn seed(mut self, seed: u64) -> Builder {
        self.seed = Some(seed);
        self
    }

    /// Turns debug mode on (asyncio's `debug=True`): slow polls are reported while they
    /// run, a `block_on` inside a task is reported with its call site, and the tasks still
    /// pending at shutdown are listed (lost wakes flagged). The environment variable
    /// `EDDY_DEBUG=1` turns it on too, without a rebuild. See [`crate::debug`].
    ///
    /// With debug mode off the cost is one predictable branch per poll; with it on, a few
    /// stores per poll and a watchdog thread that wakes every `threshold / 10` (1–10 ms).
    pub fn debug(mut self, on: bool) -> Builder {
        self.debug = on;
        self
    }

    /// How long a poll may run before debug mode reports it: 100 ms by default, like
    /// asyncio's `slow_callback_duration`, and at least 1 ms. `EDDY_SLOW_POLL_MS` overrides
    /// it.
    pub fn slow_poll_threshold(mut self, threshold: Duration) -> Builder {
        self.slow_poll_threshold = threshold;
        self
    }

    /// Sends debug mode's slow-poll reports to `hook` (called on the watchdog thread; keep
    /// it short) instead of printing them on stderr. Does not turn debug mode on by itself.
    pub fn on_slow_poll(mut self, hook: impl Fn(&SlowPoll) + Send + Sync + 'static) -> Builder {
        self.on_slow_poll = Some(Arc::new(hook));
        self
    }

    /// Sends debug mode's shutdown listing (the tasks still pending when the runtime shuts
    /// down, lost wakes flagged) to `hook` instead of printing it on stderr. Called on the
    /// thread that shuts the runtime down, only when the listing is not empty. Does not turn
    /// debug mode on by itself.
    pub fn on_pending_at_shutdown(
        mut self,
        hook: impl Fn(&crate::debug::Dump) + Send + Sync + 'static,
    ) -> Builder {
        self.on_pending_at_shutdown = Some(Arc::new(hook));
        self
    }

    /// Lets `hook` see every spawned task and run each of its polls (a tracing span per
    /// task, a profiler): see [`TaskHook`](crate::task::TaskHook) for what is hooked. With
    /// no hook (the default) spawning pays nothing for this.
    pub fn task_hook(mut self, hook: Arc<dyn crate::task::TaskHook>) -> Builder {
        self.task_hook = Some(hook);
        self
    }

    /// One thread runs everything: the one that calls `block_on`, as in asyncio. The default.
    pub fn current_thread(mut self) -> Builder {
        self.flavor = Flavor::CurrentThread;
        self
    }

    /// Tasks run on a pool of work-stealing worker threads (one per core unless
    /// [`worker_threads`](Builder::worker_threads) says otherwise).
    pub fn multi_thread(mut self) -> Builder {
        self.flavor = Flavor::MultiThread;
        self
    }

    /// The number of worker threads of a multi-thread runtime (at least 1).
    pub fn worker_threads(mut self, n: usize) -> Builder {
        self.worker_threads = Some(n.max(1));
        self
    }

    /// The timer wheel's resolution: 1 ms by default, clamped into 100 µs ..= 1 s. A timer
    /// never fires early; it fires within one tick after its deadline, plus scheduling delay.
    pub fn timer_tick(mut self, tick: Duration) -> Builder {
        self.timer_tick = tick;
        self
    }

    /// The prefix of the runtime's thread names: workers are `{name}-{i}`, blocking
    /// threads `{name}-blocking`. Default `eddy`.
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        self.thread_name = name.into();
        self
    }

    /// The most threads the blocking pool starts (default 512).
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        self.max_blocking_threads = Some(n.max(1));
        self
    }

    /// Runs `hook` on each worker thread before it runs any task (multi-thread only: the
    /// current-thread runtime runs on the caller's thread).
    pub fn on_thread_start(mut self, hook: impl Fn() + Send + Sync + 'static) -> Builder {
        self.on_thread_start = Some(Arc::new(hook));
        self
    }

    /// Runs `hook` on each worker thread after its last task (multi-thread only).
    pub fn on_thread_stop(mut self, hook: impl Fn() + Send + Sync + 'static) -> Builder {
        self.on_thread_stop = Some(Arc::new(hook));
        self
    }

    /// Builds the runtime: its selector, timer wheel, scheduler and blocking pool.
    ///
    /// # Errors
    ///
    /// The system's error if the selector cannot be created (for example `EMFILE`).
    ///
    /// # Panics
    ///
    /// If the OS refuses to start a worker thread.
    pub fn build(self) -> io::Result<Runtime> {
        if self.flavor == Flavor::MultiThread && (self.start_paused || self.seed.is_some()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "virtual time (`start_paused`) and seeded scheduling (`seed`) need one thread \
                 deciding what runs next: build a current-thread runtime \
                 (`Runtime::builder().current_thread()`)",
            ));
        }
        let seed = match self.flavor {
            Flavor::CurrentThread => self.seed.or_else(seed_from_env),
            Flavor::MultiThread => None,
        };
        let Parts {
            driver,
            net,
            timer,
            blocking,
            clock,
        } = parts(&self)?;
        let settings = crate::debug::settings(self.debug, self.slow_poll_threshold);
        let debug = settings.enabled.then(|| {
            let config = DebugConfig::new().slow_poll_threshold(settings.threshold);
            match &self.on_slow_poll {
                Some(hook) => config.on_slow_poll(hook.clone()),
                None => config,
            }
        });
        let flavor = self.flavor;
        let debug_enabled = settings.enabled;
        let (task_hook, on_pending_at_shutdown) =
            (self.task_hook.clone(), self.on_pending_at_shutdown.clone());
        // The handle is made from the scheduler's spawner, once it exists, and before any
        // worker starts: each worker enters it in its start hook.
        let make_handle = move |spawner: Spawner| Handle {
            inner: Arc::new(Inner {
                spawner,
                net,
                timer,
                blocking,
                flavor,
                debug: debug_enabled,
                clock,
                seed,
                task_hook,
                on_pending_at_shutdown,
            }),
        };
        let (scheduler, handle) = match self.flavor {
            Flavor::CurrentThread => {
                let mut rt = CurrentThread::builder();
                if let Some(config) = debug {
                    rt = rt.debug(config);
                }
                if let Some(seed) = seed {
                    rt = rt.seed(seed);
                }
                let rt = rt.build_with_driver(driver);
                let handle = make_handle(rt.handle().into());
                (Scheduler::CurrentThread(rt), handle)
            }
            Flavor::MultiThread => {
                let mut workers = MultiThread::builder().thread_name(self.thread_name.clone());
                if let Some(n) = self.worker_threads {
                    workers = workers.worker_threads(n);
                }
                if let Some(config) = debug {
                    workers = workers.debug(config);
                }
                let (user_start, user_stop) =
                    (self.on_thread_start.clone(), self.on_thread_stop.clone());
                let mut made = None;
                let rt = workers.build_with_driver_and_hooks(driver, |scheduler| {
                    let handle = make_handle(scheduler.clone().into());
                    made = Some(handle.clone());
                    worker_hooks(handle, user_start, user_stop)
                });
                let handle = made.expect("invariant: the hooks are made before build returns");
                (Scheduler::MultiThread(rt), handle)
            }
        };
        let runtime = Runtime {
            scheduler: Some(scheduler),
            handle,
        };
        if let Some(signal) = settings.dump_signal
            && let Err(e) = runtime.dump_on(signal)
        {
            eprintln!("eddy: EDDY_DUMP_ON_SIGNAL: cannot catch signal {signal}: {e}");
        }
        Ok(runtime)
    }
}

/// What each multi-thread worker runs first and last: it enters the runtime (so sockets,
/// timers and `eddy::spawn` find it there) and is marked as driving it, then the user's
/// hooks.
fn worker_hooks(
    handle: Handle,
    user_start: Option<Arc<dyn Fn() + Send + Sync>>,
    user_stop: Option<Arc<dyn Fn() + Send + Sync>>,
) -> WorkerHooks {
    WorkerHooks::new(
        move || {
            context::Driving::worker();
            let guard = handle.enter();
            WORKER_CONTEXT.with(|c| *c.borrow_mut() = Some(guard));
            if let Some(hook) = &user_start {
                hook();
            }
        },
        move || {
            if let Some(hook) = &user_stop {
                hook();
            }
            let _ = WORKER_CONTEXT.try_with(|c| c.borrow_mut().take());
        },
    )
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("flavor", &self.flavor)
            .field("worker_threads", &self.worker_threads)
            .field("timer_tick", &self.timer_tick)
            .field("thread_name", &self.thread_name)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("debug", &self.debug)
            .field("slow_poll_threshold", &self.slow_poll_threshold)
            .field("start_paused", &self.start_paused)
            .field("seed", &self.seed)
            .field("task_hook", &self.task_hook.is_some())
            .finish_non_exhaustive()
    }
}

/// What every flavour is built from.
struct Parts {
    driver: Driver,
    net: eddy_net::Handle,
    timer: eddy_timer::Handle,
    blocking: Arc<BlockingPool>,
    /// Virtual time's clock, under `start_paused`.
    clock: Option<VirtualClock>,
}

/// `EDDY_SEED`, if set; a value that is not a number is reported once per runtime and
/// ignored (a test run with a typo must not silently run unseeded).
fn seed_from_env() -> Option<u64> {
    let value = std::env::var(SEED_VAR).ok()?;
    match value.trim().parse() {
        Ok(seed) => Some(seed),
        Err(_) => {
            eprintln!("eddy: {SEED_VAR}={value:?} is not a number (0 to 2^64-1); ignored");
            None
        }
    }
}

/// Builds the pieces every flavour shares, in the order they depend on each other.
fn parts(builder: &Builder) -> io::Result<Parts> {
    let mut pool = BlockingPool::builder().thread_name(format!("{}-blocking", builder.thread_name));
    if let Some(max) = builder.max_blocking_threads {
        pool = pool.max_threads(max);
    }
    let blocking = Arc::new(pool.build());
    let dns_pool = Arc::clone(&blocking);
    // DNS lookups for sockets run on the runtime's blocking pool.
    let reactor = eddy_net::Reactor::with_blocking_spawner(Arc::new(move |job| {
        drop(dns_pool.spawn_blocking(job));
        Ok(())
    }))?;
    let clock = builder.start_paused.then(VirtualClock::paused);
    let mut timers = eddy_timer::Driver::builder().tick(builder.timer_tick);
    if let Some(clock) = &clock {
        timers = timers.clock(clock.clone());
    }
    let timers = timers.build();
    let virtual_time = clock.as_ref().map(|clock| VirtualTime {
        clock: clock.clone(),
        blocking: Arc::clone(&blocking),
        io_grace: builder.io_grace,
        remote_wake: Arc::new(AtomicBool::new(false)),
    });
    let (net, timer) = (reactor.handle(), timers.handle());
    Ok(Parts {
        driver: Driver::new(reactor, timers, virtual_time),
        net,
        timer,
        blocking,
        clock,
    })
}
