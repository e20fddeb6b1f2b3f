//! Graceful shutdown: `CancellationToken`, `TaskTracker`, and the example server drained by
//! a real SIGTERM.

mod sigterm;
mod token;
mod tracker;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Sets its flag when dropped: the future that owns it has been dropped.
struct DropFlag(Arc<AtomicBool>);

impl DropFlag {
    /// A flag, and the guard that sets it.
    fn new() -> (Arc<AtomicBool>, DropFlag) {
        let dropped = Arc::new(AtomicBool::new(false));
        (Arc::clone(&dropped), DropFlag(dropped))
    }
}

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}
