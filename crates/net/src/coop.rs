//! The cooperative budget hook: where a socket operation that keeps succeeding yields.
//!
//! A task reading a socket that always has data would never return `Pending` and would
//! starve the other tasks of its thread. The executor owns the budget (how many ready
//! operations a task may complete per poll); eddy-net, which knows no executor, asks it
//! through a hook that the runtime installs once ([`set_budget_hook`]; the eddy facade
//! installs eddy-executor's). Without a hook every operation proceeds.

use std::sync::OnceLock;
use std::task::{Context, Poll};

/// Spends one unit of the current task's budget: `Ready` to go on, or `Pending` after
/// arranging for the task to be polled again (the executor wakes it).
pub type BudgetHook = fn(&mut Context<'_>) -> Poll<()>;

static HOOK: OnceLock<BudgetHook> = OnceLock::new();

/// Installs the executor's budget check, consulted before every readiness-driven socket
/// operation. The first hook installed in the process stays; returns `false` if another
/// (different) hook was installed first.
pub fn set_budget_hook(hook: BudgetHook) -> bool {
    let installed = *HOOK.get_or_init(|| hook);
    std::ptr::fn_addr_eq(installed, hook)
}

/// Whether the current task may do one more I/O operation in this poll.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    match HOOK.get() {
        Some(hook) => hook(cx),
        None => Poll::Ready(()),
    }
}
