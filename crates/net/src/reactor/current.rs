//! The reactor entered on this thread: how a socket constructor finds its reactor.

use std::cell::RefCell;
use std::io;
use std::marker::PhantomData;

use eddy_wake::EnteredStack;

use super::Handle;

thread_local! {
    /// The reactors entered on this thread; a guard dropped out of order takes out its own
    /// entry, not the top one.
    static CURRENT: RefCell<EnteredStack<Handle>> = const { RefCell::new(EnteredStack::new()) };
}

/// Keeps a reactor entered on this thread; dropping it ends that scope. Guards nest, and
/// the reactor of the innermost guard still alive is current, whatever order they drop in.
///
/// Not `Send`: it must be dropped on the thread that entered.
#[must_use = "the reactor stays entered only while the guard lives"]
#[derive(Debug)]
pub struct EnterGuard {
    entry: u64,
    _not_send: PhantomData<*const ()>,
}

pub(super) fn enter(handle: Handle) -> EnterGuard {
    // `try_with`: during thread teardown the slots may be gone; the guard then enters
    // nothing.
    let entry = CURRENT
        .try_with(|current| current.borrow_mut().push(handle))
        .unwrap_or(0);
    EnterGuard {
        entry,
        _not_send: PhantomData,
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        // `try_with`: during thread teardown the slot may already be gone, and then there is
        // nothing left to restore.
        let _ = CURRENT.try_with(|current| current.borrow_mut().remove(self.entry));
    }
}

/// What a socket constructor says when no reactor is entered. It speaks the facade's terms
/// first: most users meet sockets through `eddy`.
const NO_REACTOR: &str = "no eddy runtime is running on this thread, so this socket has no \
     reactor to register with: create it inside `eddy::run(async { ... })` or \
     `Runtime::block_on`, or enter a runtime with `eddy::Handle::enter()` (with eddy-net on \
     its own: `eddy_net::Handle::enter()`)";

pub(super) fn current() -> io::Result<Handle> {
    CURRENT
        .try_with(|current| current.borrow().current())
        .ok()
        .flatten()
        .ok_or_else(|| io::Error::other(NO_REACTOR))
}

/// The reactor entered on this thread, for a socket constructor.
///
/// # Panics
///
/// If none is. A socket made outside a runtime is a mistake in the program, not an I/O
/// failure to handle, so it panics as `eddy::spawn` does there, with the same advice.
#[track_caller]
pub(super) fn entered() -> Handle {
    match current() {
        Ok(handle) => handle,
        Err(_) => panic!("{NO_REACTOR}"),
    }
}
