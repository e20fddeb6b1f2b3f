//! Printing task dumps on a signal (`Runtime::dump_on`, `EDDY_DUMP_ON_SIGNAL`).
//!
//! The handler does one async-signal-safe thing: it writes the signal's number to a pipe.
//! A dedicated thread (started with the first registration) blocks reading that pipe and
//! prints the dump of every live runtime registered for the signal. A thread of its own,
//! not a task, so a dump still comes out when every worker is stuck in a slow poll, which
//! is when it is needed most.

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::sync::{Mutex, OnceLock, PoisonError, Weak};

use nix::errno::Errno;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

use super::{Handle, Inner};

struct Globals {
    write: std::io::PipeWriter,
    /// Runtimes to dump, by signal, and the signals whose handler is installed.
    registry: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    runtimes: Vec<(libc::c_int, Weak<Inner>)>,
    installed: Vec<libc::c_int>,
}

/// Set once; the handler reads it with `get`, a lock-free atomic load.
static GLOBALS: OnceLock<Globals> = OnceLock::new();

/// Prints `handle`'s dump to stderr each time `signal` arrives, for as long as the runtime
/// lives.
pub(super) fn register(handle: &Handle, signal: libc::c_int) -> io::Result<()> {
    let sig = Signal::try_from(signal).map_err(io::Error::from)?;
    let globals = globals()?;
    let mut registry = globals
        .registry
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    registry.runtimes.retain(|(_, rt)| rt.strong_count() > 0);
    if !registry.installed.contains(&signal) {
        let action = SigAction::new(
            SigHandler::Handler(on_signal),
            // Restart interrupted system calls, so the signal does not make other threads'
            // blocking calls fail with EINTR.
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        // SAFETY: `on_signal` only performs async-signal-safe operations (an atomic load in
        // `OnceLock::get`, write(2), saving and restoring errno) and lives as long as the
        // process. The previous action is replaced, not called.
        unsafe { sigaction(sig, &action) }.map_err(io::Error::from)?;
        registry.installed.push(signal);
    }
    registry
        .runtimes
        .push((signal, std::sync::Arc::downgrade(&handle.inner)));
    Ok(())
}

fn globals() -> io::Result<&'static Globals> {
    static INIT: Mutex<()> = Mutex::new(());
    let _init = INIT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(g) = GLOBALS.get() {
        return Ok(g);
    }
    let (mut read, write) = std::io::pipe()?;
    // The handler must never block: a full pipe already holds a pending dump request.
    crate::signal::set_nonblocking(write.as_raw_fd())?;
    std::thread::Builder::new()
        .name("eddy-dump".to_owned())
        .spawn(move || {
            let mut byte = [0u8; 1];
            while let Ok(1) = read.read(&mut byte) {
                dump_all(libc::c_int::from(byte[0]));
            }
        })?;
    Ok(GLOBALS.get_or_init(|| Globals {
        write,
        registry: Mutex::new(Registry::default()),
    }))
}

/// Prints the dump of every live runtime registered for `signal`.
fn dump_all(signal: libc::c_int) {
    let Some(globals) = GLOBALS.get() else {
        return;
    };
    let runtimes: Vec<_> = globals
        .registry
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

extern "C" fn on_signal(signal: libc::c_int) {
    // write(2) may set errno, and the interrupted code may be about to read it.
    let saved = Errno::last_raw();
    if let Some(globals) = GLOBALS.get() {
        // Signal numbers fit a byte on every platform eddy supports.
        let byte = signal as u8;
        // SAFETY: write(2) is async-signal-safe; the fd is the pipe's write end, owned by
        // GLOBALS and never closed; the buffer is one valid byte. A full pipe (EAGAIN) drops
        // this request, and the dumps already queued cover it.
        let _ = unsafe { libc::write(globals.write.as_raw_fd(), (&raw const byte).cast(), 1) };
    }
    Errno::set_raw(saved);
}
