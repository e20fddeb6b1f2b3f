//! `TaskGroup`: structured concurrency with asyncio 3.11's semantics.

use std::any::Any;
use std::fmt;
use std::future::Future;

use super::{JoinError, JoinSet};

/// A scope of tasks that succeed or fail together — asyncio's `TaskGroup`.
///
/// - [`wait`](TaskGroup::wait) waits for every child and returns their outputs in spawn
///   order.
/// - The first child that returns `Err` or panics cancels all its siblings; `wait` then
///   returns every failure (siblings cancelled by it are not failures).
/// - Cancelling the scope cascades: dropping the group, or the `wait` future, aborts every
///   child still running.
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
    spawned: usize,
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

impl<T: Send + 'static, E: Send + 'static> TaskGroup<T, E> {
    /// An empty group.
    pub fn new() -> TaskGroup<T, E> {
        TaskGroup {
            set: JoinSet::new(),
            spawned: 0,
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
        let index = self.spawned;
        self.spawned += 1;
        self.set.spawn(async move { (index, future.await) });
    }

    /// Waits for every child. Returns their outputs in spawn order, or every failure if any
    /// child failed (the others were cancelled as soon as the first failure came in).
    ///
    /// # Errors
    ///
    /// [`GroupError`] listing each child's `Err` or panic.
    pub async fn wait(mut self) -> Result<Vec<T>, GroupError<E>> {
        let mut outputs: Vec<Option<T>> = (0..self.spawned).map(|_| None).collect();
        let mut failures = Vec::new();
        while let Some(joined) = self.set.join_next().await {
            let failure = match joined {
                Ok((index, Ok(value))) => {
                    outputs[index] = Some(value);
                    continue;
                }
                Ok((_, Err(e))) => Failure::Error(e),
                Err(JoinError::Panicked(payload)) => Failure::Panic(payload),
                // Cancelled by the group itself after a failure (or aborted from outside).
                Err(_) => continue,
            };
            if failures.is_empty() {
                self.set.abort_all();
            }
            failures.push(failure);
        }
        if failures.is_empty() {
            Ok(outputs.into_iter().flatten().collect())
        } else {
            Err(GroupError { failures })
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
            .field("running", &self.set.len())
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
