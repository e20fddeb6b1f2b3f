//! The crate's one door to concurrency primitives: std normally, loom under `cfg(eddy_loom)`.
//!
//! The selector's only atomic is a per-selector cache of whether the kernel has
//! `epoll_pwait2`; it is switched too, so that a loom model which builds a real `Selector`
//! (the reactor's models may) sees every atomic it touches.

#[cfg(not(eddy_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(eddy_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, Ordering};
