//! The process-wide signal registry: one handler per signal, one self-pipe, one dispatcher
//! thread, shared by every listener ([`super::signal`], [`super::ctrl_c`]) and by
//! `Runtime::dump_on`.
//!
//! - A signal's handler is installed the first time anything asks for the signal, and stays
//!   for the life of the process. It does three async-signal-safe things: count the delivery
//!   ([`Delivery::record`]), write one byte to the self-pipe (the doorbell), and call the
//!   handler that was installed before it, if that was a function (chaining).
//! - The dispatcher thread (`eddy-signal`, started with the registry) blocks reading the
//!   pipe. On each wake it looks at every installed signal's generation and, for each one
//!   that moved, runs its callbacks (the dump) and then wakes its listeners. A thread
//!   rather than a reactor registration, so listeners on any number of runtimes, or on none,
//!   share one pipe without draining it from under each other, and a dump still comes out
//!   when every worker is stuck.

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::sync::{OnceLock, PoisonError};

use nix::errno::Errno;

use super::delivery::Delivery;
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::loom::sync::{Mutex, lock};

/// The highest signal number the registry has a slot for (Linux's real-time signals end at
/// 64; other platforms stop earlier and their `sigaction` refuses the rest).
const MAX_SIGNAL: usize = 64;

/// One signal's state.
pub(super) struct Slot {
    /// Its deliveries and the wakers of its listeners.
    pub(super) delivery: Delivery,
    /// Set (Release) once this registry's handler is installed for the signal; read
    /// (Acquire) by the dispatcher, which ignores signals it does not handle.
    installed: AtomicBool,
    /// The handler installed before ours, called after ours: its address (`sa_sigaction`),
    /// or 0 when it was `SIG_DFL` or `SIG_IGN` (nothing to call). Written before ours is
    /// installed, so the handler never reads a half-set pair.
    previous: AtomicUsize,
    /// Whether `previous` takes three arguments (`SA_SIGINFO`).
    previous_siginfo: AtomicBool,
    /// What the dispatcher runs for each delivery besides waking listeners.
    callbacks: Mutex<Vec<fn(libc::c_int)>>,
}

struct Registry {
    /// The pipe's write end, owned here and never closed, so the handler's fd stays valid.
    write: std::io::PipeWriter,
    /// Indexed by signal number; slot 0 is unused.
    slots: Box<[Slot]>,
}

/// Set once; the handler reads it with `get`, a lock-free atomic load.
static REGISTRY: OnceLock<Registry> = OnceLock::new();

/// Serializes creating the registry and installing handlers, so each happens once even
/// when the first calls race. A std mutex: a `static` needs a `const` constructor (and
/// loom cannot model signal delivery anyway).
static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Signals a handler must not take: the kernel refuses the first two, and the rest are
/// raised by a faulting instruction, which returning from a handler would run again.
const FORBIDDEN: [libc::c_int; 6] = [
    libc::SIGKILL,
    libc::SIGSTOP,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
];

/// The slot of `signal`, with this registry's handler installed.
///
/// # Errors
///
/// `InvalidInput` for a number that is not a signal or one that cannot be handled (the
/// message names it); the system's error if the pipe, the thread or `sigaction` fails.
pub(super) fn slot(signal: libc::c_int) -> io::Result<&'static Slot> {
    if FORBIDDEN.contains(&signal) {
        let name = super::SignalKind::from_raw(signal);
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{name} cannot be handled: the kernel does not let a program catch SIGKILL or \
                 SIGSTOP, and SIGSEGV, SIGBUS, SIGILL and SIGFPE come from a faulting \
                 instruction that would run again after the handler"
            ),
        ));
    }
    let index = usize::try_from(signal)
        .ok()
        .filter(|&n| (1..=MAX_SIGNAL).contains(&n))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{signal} is not a signal number (they run from 1 to {MAX_SIGNAL})"),
            )
        })?;
    let _install = INSTALL.lock().unwrap_or_else(PoisonError::into_inner);
    let registry = registry()?;
    let slot = &registry.slots[index];
    // Acquire: pairs with the Release store below (an earlier install).
    if !slot.installed.load(Ordering::Acquire) {
        install(signal, slot)?;
    }
    Ok(slot)
}

/// Adds `callback` to what the dispatcher runs each time `signal` arrives, installing the
/// handler if needed.
pub(super) fn add_callback(signal: libc::c_int, callback: fn(libc::c_int)) -> io::Result<()> {
    let slot = slot(signal)?;
    lock(&slot.callbacks).push(callback);
    Ok(())
}

/// The registry, created with its pipe and dispatcher thread on first use. Called with
/// `INSTALL` held.
fn registry() -> io::Result<&'static Registry> {
    if let Some(registry) = REGISTRY.get() {
        return Ok(registry);
    }
    let (read, write) = std::io::pipe()?;
    // The handler must never block: a full pipe already holds a pending wake.
    super::set_nonblocking(write.as_raw_fd())?;
    // Started before the registry is published, so a thread that cannot start leaves
    // nothing behind and the next call tries again (published first, a failed start would
    // leave a registry whose listeners nobody wakes). The thread looks at the registry
    // only after a byte arrives, and only a handler that found the registry writes one.
    std::thread::Builder::new()
        .name("eddy-signal".to_owned())
        .spawn(move || dispatch(read))?;
    Ok(REGISTRY.get_or_init(|| Registry {
        write,
        slots: (0..=MAX_SIGNAL)
            .map(|_| Slot {
                delivery: Delivery::new(),
                installed: AtomicBool::new(false),
                previous: AtomicUsize::new(0),
                previous_siginfo: AtomicBool::new(false),
                callbacks: Mutex::new(Vec::new()),
            })
            .collect(),
    }))
}

/// Installs the handler for `signal`, keeping the previous one to chain to. Called with
/// `INSTALL` held.
fn install(signal: libc::c_int, slot: &Slot) -> io::Result<()> {
    // The action in place now, kept before ours replaces it so that a delivery right after
    // the switch already chains.
    // SAFETY: an all-zero `sigaction` is a valid value of the C struct (no handler, empty
    // mask, no flags); it is only written to here.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only reads the current one into `current`, a valid
    // `sigaction` this frame owns.
    if unsafe { libc::sigaction(signal, std::ptr::null(), &mut current) } != 0 {
        return Err(invalid_signal(signal, io::Error::last_os_error()));
    }
    keep_previous(slot, &current);
    // SAFETY: as above.
    let mut ours: libc::sigaction = unsafe { std::mem::zeroed() };
    ours.sa_sigaction = on_signal as *const () as libc::sighandler_t;
    // Restart interrupted system calls, so a signal does not make other threads' blocking
    // calls fail with EINTR; three-argument form, to pass `siginfo` on to a chained handler.
    ours.sa_flags = libc::SA_RESTART | libc::SA_SIGINFO;
    // SAFETY: `sa_mask` is a valid `sigset_t` this frame owns.
    unsafe { libc::sigemptyset(&mut ours.sa_mask) };
    // SAFETY: as above.
    let mut replaced: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: `on_signal` performs only async-signal-safe operations (atomic loads and an
    // add, write(2), errno saved and restored, and the previous handler, which was already
    // installed as a handler for this signal) and lives as long as the process; `ours` and
    // `replaced` are valid structs this frame owns.
    if unsafe { libc::sigaction(signal, &ours, &mut replaced) } != 0 {
        return Err(invalid_signal(signal, io::Error::last_os_error()));
    }
    if replaced.sa_sigaction != current.sa_sigaction {
        // Another library changed the action between the two calls: chain to that one.
        keep_previous(slot, &replaced);
    }
    // Release: pairs with the Acquire loads in `slot` and `dispatch`.
    slot.installed.store(true, Ordering::Release);
    Ok(())
}

fn keep_previous(slot: &Slot, action: &libc::sigaction) {
    let handler = action.sa_sigaction;
    let callable = handler != libc::SIG_DFL && handler != libc::SIG_IGN;
    // SeqCst: the flag is set before the address, and the handler reads the address
    // first, so it never calls a handler with the wrong argument count.
    slot.previous_siginfo
        .store(action.sa_flags & libc::SA_SIGINFO != 0, Ordering::SeqCst);
    slot.previous
        .store(if callable { handler } else { 0 }, Ordering::SeqCst);
}

fn invalid_signal(signal: libc::c_int, e: io::Error) -> io::Error {
    if e.raw_os_error() == Some(libc::EINVAL) {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{signal} is not a signal this system lets a program handle"),
        )
    } else {
        e
    }
}

/// The handler installed for every registered signal.
extern "C" fn on_signal(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // write(2) may set errno, and the interrupted code may be about to read it.
    let saved = Errno::last_raw();
    if let Some(registry) = REGISTRY.get()
        && let Some(slot) = usize::try_from(signal)
            .ok()
            .and_then(|i| registry.slots.get(i))
    {
        slot.delivery.record();
        let byte = signal as u8;
        // SAFETY: write(2) is async-signal-safe; the fd is the pipe's write end, owned by
        // the registry and never closed; the buffer is one valid byte. A full pipe (EAGAIN)
        // is fine: the dispatcher reads every generation on its next wake.
        let _ = unsafe { libc::write(registry.write.as_raw_fd(), (&raw const byte).cast(), 1) };
        // SeqCst: pairs with `keep_previous` (address read first, then the flag).
        let previous = slot.previous.load(Ordering::SeqCst);
        if previous != 0 {
            if slot.previous_siginfo.load(Ordering::SeqCst) {
                // SAFETY: `previous` was installed with SA_SIGINFO, so it is a function of
                // this signature, still valid (handlers are not unloaded), and it was
                // written to be called from a signal handler for this signal.
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { std::mem::transmute(previous) };
                f(signal, info, context);
            } else {
                // SAFETY: as above, for a one-argument handler (installed without SA_SIGINFO).
                let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(previous) };
                f(signal);
            }
        }
    }
    Errno::set_raw(saved);
}

/// The dispatcher thread's body: on every doorbell, runs the callbacks of each signal whose
/// generation moved, then wakes its listeners.
fn dispatch(mut read: std::io::PipeReader) {
    let mut dispatched = [0usize; MAX_SIGNAL + 1];
    let mut buf = [0u8; 64];
    loop {
        match read.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("eddy: the signal dispatcher stops: reading its pipe failed: {e}");
                return;
            }
        }
        // Always set by now: only a handler that found the registry writes to the pipe.
        let Some(registry) = REGISTRY.get() else {
            continue;
        };
        for (index, slot) in registry.slots.iter().enumerate() {
            // Acquire: pairs with `install`'s Release.
            if !slot.installed.load(Ordering::Acquire) {
                continue;
            }
            let now = slot.delivery.generation();
            if now == dispatched[index] {
                continue;
            }
            dispatched[index] = now;
            // Callbacks first: a dump then shows the tasks as the signal found them, and is
            // out before a listener that ends the program is woken.
            let callbacks = lock(&slot.callbacks).clone();
            for callback in callbacks {
                callback(index as libc::c_int);
            }
            slot.delivery.wake_all();
        }
    }
}
