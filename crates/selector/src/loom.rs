//! The crate's door to concurrency primitives: eddy-wake's shared shim (std normally, loom
//! under `cfg(eddy_loom)`).
//!
//! The selector's only atomic is a per-selector cache of whether the kernel has
//! `epoll_pwait2`; it is switched too, so that a loom model which builds a real `Selector`
//! (the reactor's models may) sees every atomic it touches.

pub(crate) use eddy_wake::loom::sync;
