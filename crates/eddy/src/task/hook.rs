//! Task hooks: instrumentation (a tracing layer, a profiler) sees each task's polls.
//!
//! A runtime built with [`Builder::task_hook`](crate::runtime::Builder::task_hook) wraps
//! every future given to [`eddy::spawn`](crate::spawn), [`spawn_named`](super::spawn_named)
//! or [`Handle::spawn`](crate::Handle::spawn) (and so every `JoinSet`, `TaskGroup` and
//! `TaskTracker` task) in a small future that asks the hook, at the task's first poll, for a
//! [`TaskPolls`], and runs each poll of the task inside [`TaskPolls::poll`]. The
//! `TaskPolls` is dropped with the task's future: when the task completes or is cancelled.
//! A runtime without a hook spawns the future as it is: the hook costs nothing unless set.
//!
//! Not hooked: the future of `block_on` (the "main" task), [`spawn_local`](super::spawn_local)
//! tasks, and blocking jobs.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use eddy::task::{SpawnedTask, TaskHook, TaskPolls};
//!
//! struct CountPolls(Arc<AtomicUsize>);
//! impl TaskPolls for CountPolls {
//!     fn poll(&self, poll: &mut dyn FnMut()) {
//!         self.0.fetch_add(1, Ordering::SeqCst);
//!         poll();
//!     }
//! }
//! struct Hook(Arc<AtomicUsize>);
//! impl TaskHook for Hook {
//!     fn spawned(&self, task: &SpawnedTask<'_>) -> Option<Box<dyn TaskPolls>> {
//!         (task.name == Some("counted")).then(|| Box::new(CountPolls(self.0.clone())) as _)
//!     }
//! }
//!
//! let polls = Arc::new(AtomicUsize::new(0));
//! let rt = eddy::Runtime::builder().task_hook(Arc::new(Hook(polls.clone()))).build()?;
//! rt.block_on(async {
//!     let task = eddy::task::spawn_named("counted", async { eddy::task::yield_now().await });
//!     task.await.unwrap();
//! });
//! assert_eq!(polls.load(Ordering::SeqCst), 2, "one poll before the yield, one after");
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::TaskId;

/// Sees tasks start; installed with [`Builder::task_hook`](crate::runtime::Builder::task_hook).
pub trait TaskHook: Send + Sync + 'static {
    /// Task `task` is about to be polled for the first time (on the thread that polls it).
    /// Return `None` to leave the task unobserved; otherwise each of its polls runs inside
    /// the returned value's [`TaskPolls::poll`], and the value is dropped with the task's
    /// future.
    fn spawned(&self, task: &SpawnedTask<'_>) -> Option<Box<dyn TaskPolls>>;
}

/// Runs one task's polls; from [`TaskHook::spawned`].
pub trait TaskPolls: Send + Sync + 'static {
    /// Runs one poll of the task: call `poll` exactly once (before it, enter a span; after
    /// it, leave it). Not calling it leaves the poll's result `Pending` with no wake
    /// registered, which loses the task: don't.
    fn poll(&self, poll: &mut dyn FnMut());
}

/// What a [`TaskHook`] learns about a task.
#[derive(Debug)]
#[non_exhaustive]
pub struct SpawnedTask<'a> {
    /// The task's id, as its `JoinHandle::id()` and task dumps show it.
    pub id: TaskId,
    /// Its name (`spawn_named`), if any.
    pub name: Option<&'a str>,
    /// Where it was spawned (the caller of `eddy::spawn`, through `#[track_caller]`).
    pub location: &'static Location<'static>,
    /// The size in bytes of the future as spawned (before the hook's wrapper).
    pub size: usize,
}

/// A hook, as the runtime holds it.
pub(crate) type SharedHook = Arc<dyn TaskHook>;

/// A spawned future with a hook: see the module docs.
pub(crate) struct Hooked<F> {
    // Boxed so that `Hooked` is `Unpin` and needs no unsafe projection: only runtimes with a
    // hook pay for the allocation.
    future: Pin<Box<F>>,
    state: State,
}

enum State {
    /// Not polled yet: what the hook will be told.
    Spawned {
        hook: SharedHook,
        name: Option<String>,
        location: &'static Location<'static>,
        size: usize,
    },
    /// Polled: the hook's answer.
    Observed(Option<Box<dyn TaskPolls>>),
}

impl<F: Future> Hooked<F> {
    pub(crate) fn new(
        hook: SharedHook,
        name: Option<&str>,
        location: &'static Location<'static>,
        future: F,
    ) -> Hooked<F> {
        let size = std::mem::size_of::<F>();
        Hooked {
            future: Box::pin(future),
            state: State::Spawned {
                hook,
                name: name.map(str::to_owned),
                location,
                size,
            },
        }
    }
}

impl<F: Future> Future for Hooked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        if let State::Spawned {
            hook,
            name,
            location,
            size,
        } = &this.state
        {
            let id = super::id().expect("invariant: a spawned future is polled as its task");
            let task = SpawnedTask {
                id,
                name: name.as_deref(),
                location,
                size: *size,
            };
            this.state = State::Observed(hook.spawned(&task));
        }
        match &this.state {
            State::Observed(Some(polls)) => {
                let mut result = Poll::Pending;
                let future = &mut this.future;
                polls.poll(&mut || result = future.as_mut().poll(cx));
                result
            }
            _ => this.future.as_mut().poll(cx),
        }
    }
}

impl<F> fmt::Debug for Hooked<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooked").finish_non_exhaustive()
    }
}
