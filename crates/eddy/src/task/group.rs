//! `TaskGroup`: structured concurrency with asyncio 3.11's semantics.

use std::any::Any;
use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::Location;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};

use eddy_wake::wait::{self, WaitKind, WaitOp};

use super::{JoinError, JoinHandle, JoinSet};

/// A task in [`TaskGroup::wait`] waits on any of the group's children.
static WAIT: WaitOp = WaitOp::new(WaitKind::AnyTask, "TaskGroup::wait");

/// A scope of tasks that succeed or fail together — asyncio's `TaskGroup`.
///
/// - [`wait`](TaskGroup::wait) waits for every child and returns their outputs in spawn
///   order.
/// - The first child that returns `Err` or panics cancels all its siblings; `wait` then
///   returns every failure (siblings cancelled by it are not failures).
/// - Cancelling the scope cascades: dropping the group, or the `wait` future, aborts every
///   child still running.
/// - A child may add siblings while the group is being awaited, through a
///   [`GroupSpawner`] (asyncio's `tg.create_task` from inside a child).
///
/// ```
/// use std::time::Duration;
///
/// eddy::run(async {
///     let mut group = eddy::task::TaskGroup::new();
///     group.spawn(async { Ok::<_, String>(1) });
///     group.spawn(async {
///         eddy::sleep(Duration::from_millis(10)).await;
///         Err("the second child failed".to_owned())
///     });
///     group.spawn(async {
///         eddy::sleep(Duration::from_secs(60)).await; // cancelled by the failure
///         Ok(3)
///     });
///     let err = group.wait().await.unwrap_err();
///     assert_eq!(err.failures.len(), 1);
///     assert!(matches!(&err.failures[0], eddy::task::Failure::Error(e) if e == "the second child failed"));
/// });
/// ```
pub struct TaskGroup<T, E> {
    set: JoinSet<(usize, Result<T, E>)>,
    shared: Arc<Mutex<Shared<T, E>>>,
}

/// What the group and its [`GroupSpawner`]s share.
struct Shared<T, E> {
    /// Children spawned and not yet taken into the group's set by `wait`.
    incoming: Vec<JoinHandle<(usize, Result<T, E>)>>,
    /// Children spawned so far: the next one's index in the outputs.
    spawned: usize,
    /// Set once the group takes no more children.
    closed: Option<GroupClosed>,
    /// The running `wait`, woken when a child arrives.
    waker: Option<Waker>,
}

/// Spawns children into a [`TaskGroup`] from anywhere, including its own children while the
/// group is being awaited — asyncio's `tg.create_task` called inside a task of `tg`. Get one
/// with [`TaskGroup::spawner`]; it is cheap to clone and may move to any task or thread.
///
/// ```
/// eddy::run(async {
///     let mut group = eddy::task::TaskGroup::<u32, String>::new();
///     let spawner = group.spawner();
///     group.spawn(async move {
///         // A child adds a sibling while the group is being awaited.
///         spawner.spawn(async { Ok(2) }).map_err(|e| e.to_string())?;
///         Ok(1)
///     });
///     assert_eq!(group.wait().await.unwrap(), vec![1, 2]);
/// });
/// ```
pub struct GroupSpawner<T, E> {
    shared: Arc<Mutex<Shared<T, E>>>,
}

/// Why a [`GroupSpawner`] refused a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupClosed {
    /// The group's `wait` returned, or the group was dropped (asyncio: "TaskGroup is
    /// finished").
    Finished,
    /// A child failed and the group is cancelling the others (asyncio: "TaskGroup is
    /// shutting down").
    ShuttingDown,
}

/// Why a [`TaskGroup`] failed: every child that failed, in the order they finished.
#[derive(Debug)]
#[non_exhaustive]
pub struct GroupError<E> {
    /// Each failure: a child's `Err`, or its panic.
    pub failures: Vec<Failure<E>>,
}

/// One child's failure in a [`TaskGroup`].
#[non_exhaustive]
pub enum Failure<E> {
    /// The child returned `Err`.
    Error(E),
    /// The child panicked; the payload is what `panic!` was given.
    Panic(Box<dyn Any + Send + 'static>),
}

/// Locks the shared state, ignoring poisoning: no code panics while holding the lock
/// except `spawn` outside a runtime, which has changed nothing by then.
fn lock<T, E>(shared: &Mutex<Shared<T, E>>) -> MutexGuard<'_, Shared<T, E>> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T: Send + 'static, E: Send + 'static> TaskGroup<T, E> {
    /// An empty group.
    pub fn new() -> TaskGroup<T, E> {
        TaskGroup {
            set: JoinSet::new(),
            shared: Arc::new(Mutex::new(Shared {
                incoming: Vec::new(),
                spawned: 0,
                closed: None,
                waker: None,
            })),
        }
    }

    /// Spawns a child on the current runtime.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F)
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        // The group is open until `wait`, which takes it by value, or its drop.
        spawn_child(&self.shared, future)
            .expect("invariant: a group is open until `wait` consumes it");
    }

    /// A handle that spawns children into this group from anywhere, even from a child
    /// while the group is being awaited; see [`GroupSpawner`].
    pub fn spawner(&self) -> GroupSpawner<T, E> {
        GroupSpawner {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Waits for every child, including those children add while it waits. Returns their
    /// outputs in spawn order, or every failure if any child failed (the others were
    /// cancelled as soon as the first failure came in, and spawners refuse new children
    /// from then on).
    ///
    /// # Errors
    ///
    /// [`GroupError`] listing each child's `Err` or panic.
    #[track_caller]
    pub fn wait(self) -> impl Future<Output = Result<Vec<T>, GroupError<E>>> {
        self.wait_at(Location::caller())
    }

    async fn wait_at(mut self, site: &'static Location<'static>) -> Result<Vec<T>, GroupError<E>> {
        let mut outputs: Vec<Option<T>> = Vec::new();
        let mut failures = Vec::new();
        poll_fn(|cx| {
            loop {
                {
                    // Under the lock, so a child spawned after this look wakes us, and the
                    // group closes only when no child is left anywhere.
                    let mut shared = lock(&self.shared);
                    for child in shared.incoming.drain(..) {
                        self.set.insert(child);
                    }
                    if self.set.is_empty() {
                        shared.closed = Some(GroupClosed::Finished);
                        shared.waker = None;
                        return Poll::Ready(());
                    }
                    if !shared
                        .waker
                        .as_ref()
                        .is_some_and(|w| w.will_wake(cx.waker()))
                    {
                        shared.waker = Some(cx.waker().clone());
                    }
                }
                let joined = match self.set.poll_join_next_at(cx, site) {
                    Poll::Pending => {
                        wait::record(&WAIT, self.set.len() as u64, site);
                        return Poll::Pending;
                    }
                    Poll::Ready(None) => continue,
                    Poll::Ready(Some(joined)) => joined,
                };
                let failure = match joined {
                    Ok((index, Ok(value))) => {
                        if outputs.len() <= index {
                            outputs.resize_with(index + 1, || None);
                        }
                        outputs[index] = Some(value);
                        continue;
                    }
                    Ok((_, Err(e))) => Failure::Error(e),
                    Err(JoinError::Panicked(payload)) => Failure::Panic(payload),
                    // Cancelled by the group itself after a failure (or aborted from outside).
                    Err(_) => continue,
                };
                if failures.is_empty() {
                    let mut shared = lock(&self.shared);
                    shared.closed = Some(GroupClosed::ShuttingDown);
                    for child in shared.incoming.drain(..) {
                        self.set.insert(child);
                    }
                    drop(shared);
                    self.set.abort_all();
                }
                failures.push(failure);
            }
        })
        .await;
        if failures.is_empty() {
            Ok(outputs.into_iter().flatten().collect())
        } else {
            Err(GroupError { failures })
        }
    }
}

/// Spawns `future` as child number `spawned` of the group behind `shared`, unless it is
/// closed. Under the lock, so a child is never spawned into a group that has finished.
#[track_caller]
fn spawn_child<T, E, F>(shared: &Mutex<Shared<T, E>>, future: F) -> Result<(), GroupClosed>
where
    T: Send + 'static,
    E: Send + 'static,
    F: Future<Output = Result<T, E>> + Send + 'static,
{
    let mut state = lock(shared);
    if let Some(closed) = state.closed {
        return Err(closed);
    }
    let index = state.spawned;
    let child = crate::spawn(async move { (index, future.await) });
    state.spawned += 1;
    state.incoming.push(child);
    let waker = state.waker.take();
    drop(state);
    if let Some(waker) = waker {
        waker.wake();
    }
    Ok(())
}

impl<T: Send + 'static, E: Send + 'static> GroupSpawner<T, E> {
    /// Spawns a child into the group, on the current runtime.
    ///
    /// # Errors
    ///
    /// [`GroupClosed`] once the group takes no more children: its `wait` returned or it was
    /// dropped, or a child failed and it is cancelling the rest. `future` is dropped.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Result<(), GroupClosed>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        spawn_child(&self.shared, future)
    }
}

impl<T, E> Clone for GroupSpawner<T, E> {
    fn clone(&self) -> Self {
        GroupSpawner {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T, E> fmt::Debug for GroupSpawner<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupSpawner")
            .field("closed", &lock(&self.shared).closed)
            .finish()
    }
}

impl fmt::Display for GroupClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GroupClosed::Finished => {
                "the task group is finished: its `wait` returned or it was dropped"
            }
            GroupClosed::ShuttingDown => {
                "the task group is shutting down: a child failed and the others are being cancelled"
            }
        })
    }
}

impl std::error::Error for GroupClosed {}

impl<T, E> Drop for TaskGroup<T, E> {
    fn drop(&mut self) {
        // Cancelling the scope cascades: children still queued here are aborted like those
        // in the set (whose own drop aborts them), and spawners refuse new ones.
        let mut shared = lock(&self.shared);
        shared.closed.get_or_insert(GroupClosed::Finished);
        for child in shared.incoming.drain(..) {
            child.abort();
        }
    }
}

impl<T: Send + 'static, E: Send + 'static> Default for TaskGroup<T, E> {
    fn default() -> TaskGroup<T, E> {
        TaskGroup::new()
    }
}

impl<T, E> fmt::Debug for TaskGroup<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field(
                "running",
                &(self.set.len() + lock(&self.shared).incoming.len()),
            )
            .finish()
    }
}

impl<E: fmt::Debug> fmt::Debug for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Error(e) => f.debug_tuple("Error").field(e).finish(),
            Failure::Panic(_) => f.write_str("Panic(..)"),
        }
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} task(s) of the group failed", self.failures.len())?;
        for failure in &self.failures {
            match failure {
                Failure::Error(e) => write!(f, "; {e}")?,
                Failure::Panic(_) => f.write_str("; a task panicked")?,
            }
        }
        Ok(())
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for GroupError<E> {}
