//! Which runtime this thread belongs to: the thread-local behind `Handle::current`.

use std::cell::{Cell, RefCell};

use eddy_wake::EnteredStack;

use super::Handle;

thread_local! {
    /// The runtimes entered on this thread; a guard dropped out of order takes out its own
    /// entry, not the top one, so the runtime of the innermost guard still alive is current.
    static CURRENT: RefCell<EnteredStack<Handle>> = const { RefCell::new(EnteredStack::new()) };
    /// Set while this thread drives a runtime (a worker, or inside `block_on`): blocking on
    /// another runtime here would stall every task this thread is responsible for.
    static DRIVING: Cell<bool> = const { Cell::new(false) };
}

/// Makes `handle` the current runtime; returns the number to pass to [`pop`].
pub(crate) fn push(handle: Handle) -> u64 {
    // `try_with`: during thread teardown (a runtime dropped from a thread-local's
    // destructor) the slot may be gone; the scope then enters nothing (entry 0).
    CURRENT
        .try_with(|c| c.borrow_mut().push(handle))
        .unwrap_or(0)
}

/// Ends the scope [`push`] numbered `entry`, wherever it is in the stack.
pub(crate) fn pop(entry: u64) {
    let _ = CURRENT.try_with(|c| c.borrow_mut().remove(entry));
}

pub(crate) fn current() -> Option<Handle> {
    CURRENT.try_with(|c| c.borrow().current()).ok().flatten()
}

/// Whether this thread drives a runtime now (a worker, or inside `block_on`).
pub(crate) fn is_driving() -> bool {
    DRIVING.try_with(Cell::get).unwrap_or(false)
}

/// Panics, naming `what` and the fix, if this thread drives a runtime already: blocking
/// it on another future would stall every task it is responsible for. Debug mode reports
/// the call first, with the task that made it.
#[track_caller]
pub(crate) fn refuse_nested(what: &str) {
    if is_driving() {
        report_blocking_call(what);
        panic!(
            "eddy: {what} was called from inside a runtime, which would block the thread that \
             runs this runtime's tasks. `.await` the future instead, or run it on a blocking \
             thread: `eddy::spawn_blocking(move || rt.block_on(fut))`"
        );
    }
}

/// Marks this thread as driving a runtime until the guard drops.
pub(crate) struct Driving {
    was: bool,
}

impl Driving {
    /// `what` names the call the user made (`Runtime::block_on`, `eddy::run`).
    ///
    /// # Panics
    ///
    /// If this thread already drives a runtime: that is a nested `block_on`.
    #[track_caller]
    pub(crate) fn enter(what: &str) -> Driving {
        refuse_nested(what);
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

/// Reports a blocking call eddy can see (a `block_on` inside a task) in debug mode.
#[track_caller]
fn report_blocking_call(what: &str) {
    let Some(handle) = Handle::try_current().ok() else {
        return;
    };
    if !handle.debug_enabled() {
        return;
    }
    let at = std::panic::Location::caller();
    let task = eddy_executor::current_task_id().map_or_else(
        || "outside any task".to_owned(),
        |id| {
            let info = handle.tasks().into_iter().find(|t| t.id == id);
            match info {
                Some(eddy_executor::TaskInfo {
                    name: Some(name),
                    location,
                    ..
                }) => format!("inside task {id} \"{name}\" (spawned at {location})"),
                Some(info) => format!("inside task {id} (spawned at {})", info.location),
                None => format!("inside task {id}"),
            }
        },
    );
    eprintln!(
        "eddy debug: blocking call: {what} at {at} {task} on thread {}; it would stall every \
         task on this thread",
        std::thread::current().name().unwrap_or("<unnamed>")
    );
}
