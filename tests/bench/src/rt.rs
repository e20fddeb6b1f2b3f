//! The one trait every task workload is written against, so eddy, tokio and smol run the
//! very same code and differ only in the runtime underneath.

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

/// A runtime under test: how to run a root future, spawn, yield, sleep and block.
pub(crate) trait Rt {
    /// Runs `f` on a fresh runtime with `workers` threads (0: the current-thread flavour)
    /// and drops the runtime afterwards. On a multi-thread runtime `f` runs inside a
    /// spawned task, so the workload spawns from a worker, not from the `block_on` thread.
    fn run<F>(workers: usize, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Runs `f` with a handle from which another OS thread may spawn (`spawn_remote`).
    fn run_remote(workers: usize, tasks: usize) -> Duration;

    /// Spawns `f` on the current runtime; the returned future is the task's output.
    fn spawn<F>(f: F) -> impl Future<Output = F::Output> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns `f` and lets it run on its own (smol's `Task` cancels when dropped).
    fn spawn_detached<F>(f: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// Runs `f` on the runtime's blocking pool.
    fn spawn_blocking<R: Send + 'static>(
        f: impl FnOnce() -> R + Send + 'static,
    ) -> impl Future<Output = R> + Send + 'static;

    /// Gives the other tasks a turn.
    fn yield_now() -> impl Future<Output = ()> + Send;

    /// A timer for `d`; boxed by the caller when it must be polled by hand.
    fn sleep(d: Duration) -> impl Future + Send + 'static;
}

/// eddy, through its facade.
pub(crate) struct Eddy;
/// tokio 1.x.
pub(crate) struct Tokio;
/// smol: async-executor on the calling thread, async-io's reactor and timers.
pub(crate) struct Smol;

thread_local! {
    /// Set by [`with_eddy_debug`]: eddy runtimes built meanwhile have debug mode on.
    static EDDY_DEBUG: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with debug mode on for the eddy runtimes it builds (the debug-mode cost rows).
pub(crate) fn with_eddy_debug<T>(f: impl FnOnce() -> T) -> T {
    EDDY_DEBUG.with(|d| d.set(true));
    let out = f();
    EDDY_DEBUG.with(|d| d.set(false));
    out
}

fn eddy_rt(workers: usize) -> eddy::Runtime {
    let builder = eddy::Runtime::builder().debug(EDDY_DEBUG.with(std::cell::Cell::get));
    let builder = if workers == 0 {
        builder.current_thread()
    } else {
        builder.multi_thread().worker_threads(workers)
    };
    builder.build().expect("eddy runtime builds")
}

impl Rt for Eddy {
    fn run<F>(workers: usize, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let rt = eddy_rt(workers);
        if workers == 0 {
            rt.block_on(f)
        } else {
            rt.block_on(async { eddy::spawn(f).await.expect("bench task panicked") })
        }
    }

    fn run_remote(workers: usize, tasks: usize) -> Duration {
        let rt = eddy_rt(workers);
        let handle = rt.handle().clone();
        let spawner = std::thread::spawn(move || {
            let start = std::time::Instant::now();
            let handles: Vec<_> = (0..tasks).map(|_| handle.spawn(async {})).collect();
            (start, handles)
        });
        let (start, handles) = spawner.join().expect("spawner thread");
        rt.block_on(async move {
            for h in handles {
                h.await.expect("no-op task");
            }
        });
        start.elapsed()
    }

    fn spawn<F>(f: F) -> impl Future<Output = F::Output> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = eddy::spawn(f);
        async move { handle.await.expect("bench task panicked") }
    }

    fn spawn_detached<F>(f: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(eddy::spawn(f));
    }

    fn spawn_blocking<R: Send + 'static>(
        f: impl FnOnce() -> R + Send + 'static,
    ) -> impl Future<Output = R> + Send + 'static {
        let handle = eddy::spawn_blocking(f);
        async move { handle.await.expect("blocking closure panicked") }
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        eddy::yield_now()
    }

    fn sleep(d: Duration) -> impl Future + Send + 'static {
        eddy::sleep(d)
    }
}

fn tokio_rt(workers: usize) -> tokio::runtime::Runtime {
    let mut builder = if workers == 0 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(workers);
        b
    };
    builder.enable_all().build().expect("tokio runtime builds")
}

impl Rt for Tokio {
    fn run<F>(workers: usize, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let rt = tokio_rt(workers);
        if workers == 0 {
            rt.block_on(f)
        } else {
            rt.block_on(async { tokio::spawn(f).await.expect("bench task panicked") })
        }
    }

    fn run_remote(workers: usize, tasks: usize) -> Duration {
        let rt = tokio_rt(workers);
        let handle = rt.handle().clone();
        let spawner = std::thread::spawn(move || {
            let start = std::time::Instant::now();
            let handles: Vec<_> = (0..tasks).map(|_| handle.spawn(async {})).collect();
            (start, handles)
        });
        let (start, handles) = spawner.join().expect("spawner thread");
        rt.block_on(async move {
            for h in handles {
                h.await.expect("no-op task");
            }
        });
        start.elapsed()
    }

    fn spawn<F>(f: F) -> impl Future<Output = F::Output> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = tokio::spawn(f);
        async move { handle.await.expect("bench task panicked") }
    }

    fn spawn_detached<F>(f: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(tokio::spawn(f));
    }

    fn spawn_blocking<R: Send + 'static>(
        f: impl FnOnce() -> R + Send + 'static,
    ) -> impl Future<Output = R> + Send + 'static {
        let handle = tokio::task::spawn_blocking(f);
        async move { handle.await.expect("blocking closure panicked") }
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }

    fn sleep(d: Duration) -> impl Future + Send + 'static {
        tokio::time::sleep(d)
    }
}

thread_local! {
    /// The executor `Smol::spawn` uses on this thread: set by `Smol::run` for its duration.
    /// Each run leaks one small executor, so no run sees another's leftover tasks.
    static SMOL_EX: Cell<Option<&'static smol::Executor<'static>>> = const { Cell::new(None) };
}

impl Rt for Smol {
    fn run<F>(workers: usize, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        assert_eq!(workers, 0, "the bench runs smol on the calling thread only");
        let ex: &'static smol::Executor<'static> = Box::leak(Box::new(smol::Executor::new()));
        SMOL_EX.with(|c| c.set(Some(ex)));
        let out = smol::block_on(ex.run(f));
        SMOL_EX.with(|c| c.set(None));
        out
    }

    fn run_remote(_workers: usize, _tasks: usize) -> Duration {
        unreachable!("smol has no 2-worker flavour in this bench")
    }

    fn spawn<F>(f: F) -> impl Future<Output = F::Output> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let ex = SMOL_EX
            .with(Cell::get)
            .expect("Smol::spawn runs inside Smol::run");
        ex.spawn(f)
    }

    fn spawn_detached<F>(f: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let ex = SMOL_EX
            .with(Cell::get)
            .expect("Smol::spawn_detached runs inside Smol::run");
        ex.spawn(f).detach();
    }

    fn spawn_blocking<R: Send + 'static>(
        f: impl FnOnce() -> R + Send + 'static,
    ) -> impl Future<Output = R> + Send + 'static {
        smol::unblock(f)
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        smol::future::yield_now()
    }

    fn sleep(d: Duration) -> impl Future + Send + 'static {
        smol::Timer::after(d)
    }
}
