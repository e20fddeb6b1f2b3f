//! The reaper of children whose [`Child`](super::Child) was dropped before their status was
//! collected: without it each would stay a zombie until this process exits.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Dropped children not yet reaped, and whether the `SIGCHLD` callback that reaps them is
/// registered.
static ORPHANS: Mutex<Orphans> = Mutex::new(Orphans {
    children: Vec::new(),
    callback: false,
});

struct Orphans {
    children: Vec<std::process::Child>,
    callback: bool,
}

fn lock() -> MutexGuard<'static, Orphans> {
    // A panic while reaping leaves the list as it was: still right to use.
    ORPHANS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Takes `child` over: it is reaped now if it has exited, and otherwise at the first
/// `SIGCHLD` after it exits.
pub(crate) fn adopt(child: std::process::Child) {
    let mut orphans = lock();
    orphans.children.push(child);
    if !orphans.callback {
        // Registered before the check below, so an exit after the check raises a `SIGCHLD`
        // that runs `reap`. If it cannot be registered (no fd for the signal pipe), the
        // next adoption tries again; until then the child is reaped only by such a check.
        orphans.callback =
            crate::signal::on_delivery(libc::SIGCHLD, |_| reap_all(&mut lock())).is_ok();
    }
    reap_all(&mut orphans);
}

/// Collects the status of every orphan that has exited, and forgets it.
fn reap_all(orphans: &mut Orphans) {
    // An error (`ECHILD`: something else reaped it) also means there is nothing to wait for.
    orphans
        .children
        .retain_mut(|child| matches!(child.try_wait(), Ok(None)));
}
