//! The crate's door to concurrency primitives: eddy-wake's shared shim (std normally, loom
//! under `cfg(eddy_loom)`).

pub(crate) use eddy_wake::loom::sync;

#[cfg(all(test, eddy_loom))]
pub(crate) use eddy_wake::loom::counting_waker;
