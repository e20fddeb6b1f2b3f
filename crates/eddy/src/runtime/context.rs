//! Which runtime this thread belongs to: the thread-local behind `Handle::current`.

use std::cell::{Cell, RefCell};

use super::Handle;

thread_local! {
    /// A stack, so entering inside an entered scope restores the outer runtime on exit.
    static CURRENT: RefCell<Vec<Handle>> = const { RefCell::new(Vec::new()) };
    /// Set while this thread drives a runtime (a worker, or inside `block_on`): blocking on
    /// another runtime here would stall every task this thread is responsible for.
    static DRIVING: Cell<bool> = const { Cell::new(false) };
}

pub(crate) fn push(handle: Handle) {
    CURRENT.with(|c| c.borrow_mut().push(handle));
}

pub(crate) fn pop() {
    // `try_with`: during thread teardown the slot may already be gone.
    let _ = CURRENT.try_with(|c| c.borrow_mut().pop());
}

pub(crate) fn current() -> Option<Handle> {
    CURRENT
        .try_with(|c| c.borrow().last().cloned())
        .ok()
        .flatten()
}

/// Whether this thread drives a runtime now (a worker, or inside `block_on`).
pub(crate) fn is_driving() -> bool {
    DRIVING.try_with(Cell::get).unwrap_or(false)
}

/// Marks this thread as driving a runtime until the guard drops.
pub(crate) struct Driving {
    was: bool,
}

impl Driving {
    /// # Panics
    ///
    /// If this thread already drives a runtime: that is a nested `block_on`.
    #[track_caller]
    pub(crate) fn enter() -> Driving {
        if DRIVING.with(Cell::get) {
            panic!(
                "eddy: `block_on` was called from inside a runtime, which would block the \
                 thread that runs this runtime's tasks. `.await` the future instead, or run it \
                 on a blocking thread: `eddy::spawn_blocking(move || rt.block_on(fut))`"
            );
        }
        Driving {
            was: DRIVING.with(|d| d.replace(true)),
        }
    }

    /// Marks a worker thread for its whole life.
    pub(crate) fn worker() {
        DRIVING.with(|d| d.set(true));
    }
}

impl Drop for Driving {
    fn drop(&mut self) {
        let _ = DRIVING.try_with(|d| d.set(self.was));
    }
}
