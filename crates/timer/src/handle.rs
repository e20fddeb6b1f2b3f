//! How futures find their time driver: an explicit [`Handle`], or the one entered on this
//! thread.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use eddy_wake::EnteredStack;

use crate::driver::Inner;
use crate::loom::sync::Arc;

/// What the futures say when they find no driver. It speaks the facade's terms first:
/// most users meet timers through `eddy`.
pub(crate) const NO_DRIVER: &str = "no eddy runtime is running on this thread, so this timer \
     has no clock: await it inside `eddy::run(async { ... })` or `Runtime::block_on`, or enter \
     a runtime with `eddy::Handle::enter()` (with eddy-timer on its own: \
     `eddy_timer::Handle::enter()`)";

thread_local! {
    /// The drivers entered on this thread; a guard dropped out of order takes out its own
    /// entry, not the top one, so the driver of the innermost guard still alive is current.
    static CURRENT: RefCell<EnteredStack<Handle>> = const { RefCell::new(EnteredStack::new()) };
}

/// A cheap, cloneable reference to a [`Driver`](crate::Driver), usable from any thread.
///
/// Timer futures look up the handle entered on their thread ([`Handle::enter`]) the first
/// time they are polled; a runtime enters its driver's handle on each of its threads.
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: Arc<Inner>,
}

/// Returned by [`Handle::try_current`] when no driver is entered on this thread.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct NoDriver;

impl fmt::Display for NoDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(NO_DRIVER)
    }
}

impl std::error::Error for NoDriver {}

/// Keeps a [`Handle`] entered on this thread; dropping it ends that scope.
///
/// Guards nest, and the handle of the innermost guard still alive is current, whatever
/// order they are dropped in. It is `!Send`: it belongs to the thread it was entered on.
#[must_use = "the handle is entered only while the guard lives"]
pub struct EnterGuard {
    entry: u64,
    _not_send: PhantomData<*const ()>,
}

impl Handle {
    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        Self { inner }
    }

    /// Live timers, timers fired and how late they fired (see [`TimerMetrics`](crate::TimerMetrics)).
    pub fn metrics(&self) -> crate::TimerMetrics {
        self.inner.metrics()
    }

    /// The handle entered on this thread.
    ///
    /// # Panics
    ///
    /// If no driver is entered on this thread; the message says how to enter one. Use
    /// [`try_current`](Self::try_current) to get an error instead.
    #[track_caller]
    pub fn current() -> Self {
        match Self::try_current() {
            Ok(handle) => handle,
            Err(_) => panic!("{NO_DRIVER}"),
        }
    }

    /// The handle entered on this thread.
    ///
    /// # Errors
    ///
    /// [`NoDriver`] if none is entered.
    pub fn try_current() -> Result<Self, NoDriver> {
        CURRENT
            .try_with(|current| current.borrow().current())
            .ok()
            .flatten()
            .ok_or(NoDriver)
    }

    /// Makes this the current handle of the calling thread until the guard is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use eddy_timer::{Driver, Handle};
    ///
    /// let driver = Driver::new();
    /// assert!(Handle::try_current().is_err());
    /// {
    ///     let _guard = driver.handle().enter();
    ///     assert!(Handle::try_current().is_ok());
    /// }
    /// assert!(Handle::try_current().is_err());
    /// ```
    pub fn enter(&self) -> EnterGuard {
        // `try_with`: during thread teardown the slots may be gone; the guard then enters
        // nothing.
        let entry = CURRENT
            .try_with(|current| current.borrow_mut().push(self.clone()))
            .unwrap_or(0);
        EnterGuard {
            entry,
            _not_send: PhantomData,
        }
    }

    /// The current time on the driver's clock.
    pub fn now(&self) -> Instant {
        self.inner.now()
    }

    /// The driver's tick, its resolution.
    pub fn tick(&self) -> Duration {
        self.inner.tick()
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        // During thread teardown the slot may already be gone; there is nothing to restore.
        let _ = CURRENT.try_with(|current| current.borrow_mut().remove(self.entry));
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("tick", &self.inner.tick())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}
