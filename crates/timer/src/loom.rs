//! The crate's door to concurrency primitives: eddy-wake's shared shim (std normally, loom
//! under `cfg(eddy_loom)`).

pub(crate) use eddy_wake::loom::thread;

pub(crate) mod sync {
    pub(crate) use eddy_wake::loom::sync::{Mutex, MutexGuard, lock};
    // loom's `Arc` cannot hold unsized values (`Arc<dyn Fn()>`, the driver's unpark
    // callback); reference counting is not part of any protocol the models check, so std's
    // `Arc` serves both builds.
    pub(crate) use std::sync::Arc;
}
