//! The reactor entered on this thread: how a socket constructor finds its reactor.

use std::cell::RefCell;
use std::io;
use std::marker::PhantomData;

use super::Handle;

thread_local! {
    /// A stack, so entering inside an entered scope restores the outer reactor on exit.
    static CURRENT: RefCell<Vec<Handle>> = const { RefCell::new(Vec::new()) };
}

/// Keeps a reactor entered on this thread; dropping it restores the previous one.
///
/// Not `Send`: it must be dropped on the thread that entered.
#[must_use = "the reactor stays entered only while the guard lives"]
#[derive(Debug)]
pub struct EnterGuard {
    _not_send: PhantomData<*const ()>,
}

pub(super) fn enter(handle: Handle) -> EnterGuard {
    CURRENT.with(|current| current.borrow_mut().push(handle));
    EnterGuard {
        _not_send: PhantomData,
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        // `try_with`: during thread teardown the slot may already be gone, and then there is
        // nothing left to restore.
        let _ = CURRENT.try_with(|current| current.borrow_mut().pop());
    }
}

pub(super) fn current() -> io::Result<Handle> {
    CURRENT
        .try_with(|current| current.borrow().last().cloned())
        .ok()
        .flatten()
        .ok_or_else(|| {
            io::Error::other(
                "no eddy reactor is running on this thread: create sockets inside `eddy::run(...)` \
                 or `Runtime::block_on(...)`, or enter a reactor with `eddy_net::Handle::enter()`",
            )
        })
}
