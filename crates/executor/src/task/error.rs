//! `JoinError`: why a task produced no output.

use std::any::Any;
use std::fmt;

/// Why awaiting a [`JoinHandle`](crate::JoinHandle) gave no output (asyncio's
/// `CancelledError`, or the exception a task raised).
#[non_exhaustive]
pub enum JoinError {
    /// The task was aborted (or its runtime shut down) before it finished; its future was
    /// dropped without being polled again.
    Cancelled,
    /// The task's `poll` panicked (or its future's destructor did, while it was being
    /// cancelled). Holds the panic payload.
    Panicked(Box<dyn Any + Send + 'static>),
}

impl JoinError {
    /// `true` when the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// `true` when the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked(_))
    }

    /// The panic payload, to re-raise with [`std::panic::resume_unwind`].
    ///
    /// # Panics
    /// When the task was cancelled rather than panicked; check [`is_panic`](Self::is_panic)
    /// or use [`try_into_panic`](Self::try_into_panic).
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic().unwrap_or_else(|_| {
            panic!(
                "JoinError::into_panic called on a cancelled task's error; check is_panic() first"
            )
        })
    }

    /// The panic payload, or the error back when the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self {
            JoinError::Panicked(p) => Ok(p),
            other => Err(other),
        }
    }

    fn message(&self) -> Option<&str> {
        match self {
            JoinError::Panicked(p) => p
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| p.downcast_ref::<String>().map(String::as_str)),
            JoinError::Cancelled => None,
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("Cancelled"),
            JoinError::Panicked(_) => f
                .debug_tuple("Panicked")
                .field(&self.message().unwrap_or("<non-string payload>"))
                .finish(),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self, self.message()) {
            (JoinError::Cancelled, _) => f.write_str("task was cancelled"),
            (_, Some(m)) => write!(f, "task panicked: {m}"),
            (_, None) => f.write_str("task panicked"),
        }
    }
}

impl std::error::Error for JoinError {}
