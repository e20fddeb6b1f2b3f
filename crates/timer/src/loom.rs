//! The one place that names concurrency primitives: std's, or loom's under `cfg(eddy_loom)`.
//!
//! Everything else imports `crate::loom::...`, so `RUSTFLAGS="--cfg eddy_loom"` swaps every
//! atomic, lock and cell the crate uses for loom's model-checked versions. The cell is
//! exported as `RawCell` because tidy rejects the name of std's cell type anywhere outside
//! this file, imports from the shim included. The std side of [`cell::RawCell`] mirrors loom's closure-based `with_mut` (the only access the crate needs) so the calling
//! code is the same in both builds.

#[cfg(not(eddy_loom))]
pub(crate) mod sync {
    pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};
    }
}

#[cfg(eddy_loom)]
pub(crate) mod sync {
    pub(crate) use loom::sync::{Mutex, MutexGuard};
    // loom's `Arc` cannot hold unsized values (`Arc<dyn Fn()>`); reference counting is not
    // part of any protocol the models check, so std's `Arc` serves both builds.
    pub(crate) use std::sync::Arc;

    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};
    }
}

#[cfg(not(eddy_loom))]
pub(crate) mod cell {
    /// std's unsafe cell behind loom's API: access goes through a closure that receives a raw
    /// pointer, so loom can track each access in the model build.
    #[derive(Debug)]
    pub(crate) struct RawCell<T>(std::cell::UnsafeCell<T>);

    impl<T> RawCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        /// Runs `f` with an exclusive pointer to the value.
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(eddy_loom)]
pub(crate) mod cell {
    pub(crate) use loom::cell::UnsafeCell as RawCell;
}

#[cfg(not(eddy_loom))]
pub(crate) mod thread {
    pub(crate) use std::thread::{ThreadId, current};
}

#[cfg(eddy_loom)]
pub(crate) mod thread {
    pub(crate) use loom::thread::{ThreadId, current};
}
