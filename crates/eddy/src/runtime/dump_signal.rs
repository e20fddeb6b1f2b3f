//! Printing task dumps on a signal (`Runtime::dump_on`, `EDDY_DUMP_ON_SIGNAL`).
//!
//! The signal's handler is the one every eddy listener shares (`signal/registry.rs`): it
//! counts the delivery and rings a pipe, and eddy's signal thread, woken by it, runs
//! [`dump_all`] for the signal beside waking the signal's listeners. A thread of its own,
//! not a task, so a dump still comes out when every worker is stuck in a slow poll, which
//! is when it is needed most; and one handler, so `dump_on(SIGINT)` and `ctrl_c()` in one
//! program both work.

use std::io;
use std::sync::{Mutex, PoisonError, Weak};

use super::{Handle, Inner};

/// Runtimes to dump, by signal, and the signals whose callback is registered.
#[derive(Default)]
struct Registry {
    runtimes: Vec<(libc::c_int, Weak<Inner>)>,
    signals: Vec<libc::c_int>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    runtimes: Vec::new(),
    signals: Vec::new(),
});

/// Prints `handle`'s dump to stderr each time `signal` arrives, for as long as the runtime
/// lives.
pub(super) fn register(handle: &Handle, signal: libc::c_int) -> io::Result<()> {
    let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    registry.runtimes.retain(|(_, rt)| rt.strong_count() > 0);
    if !registry.signals.contains(&signal) {
        crate::signal::on_delivery(signal, dump_all)?;
        registry.signals.push(signal);
    }
    registry
        .runtimes
        .push((signal, std::sync::Arc::downgrade(&handle.inner)));
    Ok(())
}

/// Prints the dump of every live runtime registered for `signal` (on eddy's signal thread).
fn dump_all(signal: libc::c_int) {
    let runtimes: Vec<_> = REGISTRY
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .runtimes
        .iter()
        .filter(|(s, _)| *s == signal)
        .filter_map(|(_, rt)| rt.upgrade())
        .collect();
    for inner in runtimes {
        let handle = Handle { inner };
        eprint!("eddy: signal {signal}: {}", handle.dump());
    }
}
