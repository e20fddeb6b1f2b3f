//! eddy: an async I/O runtime for Rust, written from the system calls up, with Python
//! asyncio's ideas — an event loop, tasks, sleep, cancellation, timeouts.
//!
//! ```
//! use std::time::Duration;
//!
//! // asyncio.run(main())
//! eddy::run(async {
//!     // asyncio.create_task(...) three times, then await the tasks: the sleeps overlap,
//!     // so every task has started before the first one finishes.
//!     let tasks: Vec<_> = (0..3)
//!         .map(|i| eddy::spawn(async move {
//!             let started = std::time::Instant::now();
//!             eddy::sleep(Duration::from_millis(30)).await;
//!             (i, started, std::time::Instant::now())
//!         }))
//!         .collect();
//!     let mut runs = Vec::new();
//!     for task in tasks {
//!         runs.push(task.await.unwrap());
//!     }
//!     let last_start = runs.iter().map(|r| r.1).max().unwrap();
//!     let first_end = runs.iter().map(|r| r.2).min().unwrap();
//!     assert!(last_start < first_end, "the three sleeps ran concurrently");
//!
//!     // asyncio.wait_for(..., timeout): the slow future is cancelled (dropped).
//!     let slow = eddy::sleep(Duration::from_secs(10));
//!     assert!(eddy::timeout(Duration::from_millis(10), slow).await.is_err());
//! });
//! ```
//!
//! | asyncio | eddy |
//! | --- | --- |
//! | `asyncio.run(main())` | [`run`] |
//! | the event loop by hand | [`Runtime::builder`], [`Runtime::block_on`], [`Handle::current`] |
//! | `asyncio.create_task(coro)`, `await task` | [`spawn`] → [`JoinHandle`](task::JoinHandle), `.await` |
//! | `task.cancel()`, `CancelledError` | `handle.abort()`, [`JoinError::Cancelled`](task::JoinError) |
//! | `await asyncio.sleep(s)` | [`sleep`], [`sleep_until`] |
//! | `asyncio.wait_for(aw, t)` | [`timeout`] → `Err(Elapsed)` |
//! | `Future()` + `set_result` | [`sync::oneshot`] |
//! | `gather`, `TaskGroup` | [`future::join_all`], [`task::JoinSet`], [`task::TaskGroup`] |
//! | timing decorator | [`time::timed`] |
//! | `run_in_executor` | [`spawn_blocking`] |
//! | a mocked `loop.time()` in tests | [`Builder::start_paused`], [`time::advance`] |
//! | testing every interleaving | [`testing::check`] (a seed sweep; `EDDY_SEED=n` replays) |
//! | `create_subprocess_exec`, `proc.communicate()` | [`process::Command::spawn`], [`process::Child::wait_with_output`] |
//! | `loop.connect_read_pipe(..., sys.stdin)` | [`io::stdin`], [`io::stdout`] |
//! | `loop.add_signal_handler(SIGTERM, ...)` | [`signal::signal`]`(SignalKind::terminate())` |
//! | `asyncio.timeout`-style cancellation scopes, graceful shutdown (`TaskGroup` + `add_signal_handler(SIGTERM, ...)`) | [`sync::CancellationToken`], [`task::TaskTracker`] (docs/shutdown.md) |
//!
//! The pieces are crates of their own, re-exported here for people who want them alone:
//! [`selector`] (epoll/kqueue), [`timer`] (the timer wheel), [`executor`] (tasks and
//! schedulers) and [`net`] (the reactor and sockets). `docs/asyncio-guide.md` walks through
//! asyncio's concepts one by one with runnable examples.

pub mod debug;
mod loom;
pub mod runtime;
pub mod task;
pub mod time;

pub mod future;
pub mod io;
pub mod process;
pub mod signal;
pub mod sync;
pub mod testing;

use std::future::Future;

pub use eddy_executor as executor;
pub use eddy_selector as selector;
pub use eddy_timer as timer;
pub use runtime::{Builder, Handle, Runtime};
pub use task::{spawn, spawn_blocking, spawn_local, yield_now};
pub use time::{interval, sleep, sleep_until, timeout};

/// Sockets: TCP, UDP, Unix, and `Async<T>` for any fd (the eddy-net crate).
pub mod net {
    pub use eddy_net::*;
}

/// Runs `future` to completion on a new current-thread runtime and returns its output —
/// asyncio's `asyncio.run(main())`.
///
/// Like asyncio's loop, the runtime is one thread: every task runs on the thread that
/// calls `run`, so `!Send` futures ([`spawn_local`]) work and there is nothing to
/// synchronise. For a server that should use every core, build a multi-thread runtime:
/// `eddy::Runtime::builder().multi_thread().build()?.block_on(future)`.
///
/// When `future` completes, the runtime shuts down: tasks still pending are cancelled.
///
/// # Panics
///
/// If the runtime cannot be created (the process is out of file descriptors), if called
/// from inside a runtime (`.await` the future instead), or if `future` panics.
#[track_caller]
pub fn run<F: Future>(future: F) -> F::Output {
    // Refused before a whole runtime is built for nothing, and in the caller's terms.
    runtime::refuse_nested("`eddy::run`");
    let rt = match Runtime::builder().current_thread().build() {
        Ok(rt) => rt,
        Err(e) => panic!("eddy::run could not start a runtime: {e}"),
    };
    rt.block_on(future)
}
