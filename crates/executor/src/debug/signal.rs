//! The stack-capture signal (Linux, feature `native-stacks`): its handler, installed once per
//! process, and the watchdog's side: request, signal the thread, wait a bounded time.
//!
//! **Why the handler is async-signal-safe.** It reads a `const` thread-local without a
//! destructor (a plain TLS load: no lazy initialisation, no allocation; the owning thread
//! wrote it when it registered its slot, so even a `dlopen`ed copy of eddy has its TLS block
//! allocated by then), does atomic operations and plain stores into the preallocated
//! buffer (`capture.rs`), and walks the stack with `backtrace::trace_unsynchronized`. That is
//! a thin wrapper over the platform unwinder's `_Unwind_Backtrace` (libgcc's on Linux), which
//! allocates nothing and calls back per frame; the callback only stores the frame's address.
//! The synchronised `backtrace::trace` is not usable: it takes a process-wide lock, which the
//! interrupted thread may hold. libgcc's unwinder itself is thread-safe, which is all the
//! unsynchronised variant asks; pprof-rs samples stacks from a `SIGPROF` handler the same
//! way. The handler saves and restores `errno`. Nothing in it formats, allocates or locks.
//!
//! **Known limits.** The unwinder looks up each frame's unwind tables. With glibc 2.35 or
//! later and libgcc from GCC 12 or later that lookup is `_dl_find_object`, which is
//! async-signal-safe; older pairs fall back to `dl_iterate_phdr`, which takes the loader's
//! lock: a thread interrupted while it holds that lock (inside `dlopen`, `dlclose` or
//! `dl_iterate_phdr`, rare in a poll) would deadlock in the handler. Code without unwind
//! tables (hand-written assembly without CFI) ends the walk early. The handler runs on the
//! thread's own stack (no `SA_ONSTACK`): the unwinder needs a few KiB, more than a
//! `sigaltstack` of `SIGSTKSZ` is sure to have left.
//!
//! **The signal** is `SIGRTMIN + 8` (42 on glibc, which keeps the first two real-time
//! signals for itself): real-time signals are the ones POSIX leaves to applications, and an
//! application that uses some mostly takes the first. It is installed with `SA_SIGINFO |
//! SA_RESTART`: a system call the signal interrupts restarts where the kernel allows it;
//! `nanosleep` and a few others return `EINTR` whatever the flags (std's `thread::sleep`
//! sleeps again for what is left). If the signal already has a handler (or is ignored) when
//! debug mode first needs it, eddy leaves it alone and reports carry no stack; so too if the
//! application replaces eddy's handler later. Either is said once on stderr.

use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::io;
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use super::capture::{Capture, MAX_FRAMES};
use crate::loom::unmodelled::lock;

/// How long the watchdog waits for a thread to answer: far more than a capture takes (tens
/// of microseconds natively), little enough that a thread which never answers (the signal
/// blocked, the thread gone) delays the watchdog's next tick only this much.
pub(super) const ANSWER_WITHIN: Duration = Duration::from_millis(50);

/// The signal's offset from `SIGRTMIN` (module docs).
const OFFSET: c_int = 8;

thread_local! {
    /// This thread's capture buffer, for its signal handler: set when the thread registers
    /// its first slot, cleared by its `ThreadSlots` destructor before the buffer can go.
    /// `const` and without a destructor, so reaching it is a plain thread-local load.
    static CAPTURE: Cell<*const Capture> = const { Cell::new(std::ptr::null()) };
}

/// Whether the handler is installed: `Err` says why not, printed once.
static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
/// One capture in flight in the process at a time, so each capture has one requester (the
/// protocol in `capture.rs` relies on it) whatever the number of monitors.
static REQUESTS: Mutex<()> = Mutex::new(());
/// The application replaced eddy's handler: said once.
static REPLACED: Once = Once::new();

/// Points this thread's signal handler at `capture` (null: none). The owner must keep the
/// capture alive until it sets null again.
pub(super) fn set_thread_capture(capture: *const Capture) {
    // A thread-local of its own, written by its thread: the handler on this thread sees
    // the store (it runs between this thread's instructions). The watchdog learns of the
    // buffer only through the slot list's lock, taken after this, so it cannot signal
    // before the store is done.
    let _ = CAPTURE.try_with(|c| c.set(capture));
}

/// The kernel thread id of the calling thread, what `tgkill` addresses.
pub(super) fn current_tid() -> i32 {
    // SAFETY: `gettid` has no preconditions and cannot fail.
    unsafe { libc::gettid() }
}

fn signal() -> c_int {
    libc::SIGRTMIN() + OFFSET
}

/// The signal handler: fills this thread's capture buffer if the watchdog asked for one.
extern "C" fn on_signal(_signal: c_int, _info: *mut libc::siginfo_t, _context: *mut c_void) {
    // SAFETY: `__errno_location` returns this thread's errno, valid for the thread's life.
    let errno = unsafe { *libc::__errno_location() };
    let capture = CAPTURE.try_with(Cell::get).unwrap_or(std::ptr::null());
    if !capture.is_null() {
        // SAFETY: the pointer is set only while the thread's `ThreadSlots` keeps the
        // capture's `Arc`, and cleared (on this thread, so never during this handler)
        // before it lets it go.
        let capture = unsafe { &*capture };
        capture.fill(record);
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// In the handler: stores the return addresses of this thread's stack into `ips`; returns
/// how many, and how many of the first are the capture's own (this handler, the unwinder's
/// frames above it, and the kernel's signal trampoline below it).
fn record(ips: &mut [usize; MAX_FRAMES]) -> (usize, usize) {
    let handler = on_signal as extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) as usize;
    let (mut len, mut skip, mut looking) = (0, 0, true);
    // SAFETY: `trace_unsynchronized` requires that nothing else relies on the unwinder
    // being called one thread at a time; libgcc's `_Unwind_Backtrace` is thread-safe. The
    // callback neither panics nor allocates.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            // The handler's frame is found by its start address (the unwind tables'), so
            // without symbols; its caller is the signal trampoline, then the interrupted
            // frame. Only the first few frames are looked at.
            if looking {
                if frame.symbol_address() as usize == handler {
                    skip = len + 2;
                    looking = false;
                } else if len >= 8 {
                    looking = false;
                }
            }
            match ips.get_mut(len) {
                Some(ip) => {
                    *ip = frame.ip() as usize;
                    len += 1;
                    len < MAX_FRAMES
                }
                None => false,
            }
        });
    }
    (len, skip)
}

/// Installs the handler, unless the signal already has one; `Err` says why not.
fn install() -> Result<(), String> {
    let signal = signal();
    if signal > libc::SIGRTMAX() {
        return Err(format!(
            "SIGRTMIN+{OFFSET} is past SIGRTMAX ({}) here",
            libc::SIGRTMAX()
        ));
    }
    let current = current_action(signal).map_err(|e| format!("sigaction failed: {e}"))?;
    if current.sa_sigaction != libc::SIG_DFL {
        return Err(format!(
            "signal SIGRTMIN+{OFFSET} ({signal}) already has a handler (or is ignored): the \
             application's, left in place"
        ));
    }
    // SAFETY: an all-zero `sigaction` is a valid value (no handler, no flags, empty mask);
    // the fields that matter are set below.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction =
        on_signal as extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) as libc::sighandler_t;
    action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
    // SAFETY: `sa_mask` is a valid `sigset_t` to initialise; `sigemptyset` cannot fail on
    // a valid pointer.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: `action` is initialised and its handler is async-signal-safe (module docs);
    // the old action is not asked for.
    let r = unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) };
    if r != 0 {
        return Err(format!("sigaction failed: {}", io::Error::last_os_error()));
    }
    Ok(())
}

/// The signal's current action.
fn current_action(signal: c_int) -> io::Result<libc::sigaction> {
    // SAFETY: all-zero is a valid `sigaction`, which the call overwrites.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only queries; `current` is a valid out-pointer.
    let r = unsafe { libc::sigaction(signal, std::ptr::null(), &mut current) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(current)
}

/// Whether eddy's handler is in place now: installs it the first time, and says once why
/// reports carry no stack if it cannot be.
fn ready() -> bool {
    let mut first = false;
    let installed = INSTALLED.get_or_init(|| {
        first = true;
        install()
    });
    match installed {
        Err(why) => {
            if first {
                eprintln!("eddy debug: slow-poll reports will carry no native stack: {why}");
            }
            false
        }
        Ok(()) => {
            let ours = on_signal as extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void)
                as libc::sighandler_t;
            let still = current_action(signal()).is_ok_and(|a| a.sa_sigaction == ours);
            if !still {
                REPLACED.call_once(|| {
                    eprintln!(
                        "eddy debug: slow-poll reports will carry no native stack: signal \
                         SIGRTMIN+{OFFSET} ({}) now has another handler, the application's",
                        signal()
                    );
                });
            }
            still
        }
    }
}

/// The watchdog's side: asks `capture`'s thread for its stack and waits for it at most
/// [`ANSWER_WITHIN`]. `None` if there is no handler, the buffer is still a late handler's,
/// the thread is gone, or it did not answer in time (it blocks the signal, say).
pub(super) fn capture_stack(capture: &Capture) -> Option<Vec<usize>> {
    if !ready() {
        return None;
    }
    let _one_at_a_time = lock(&REQUESTS);
    if !capture.request() {
        return None;
    }
    let pid = std::process::id() as libc::pid_t;
    // `tgkill` rather than `pthread_kill`: a thread id that has gone makes it fail with
    // `ESRCH` (or, reused, reaches another thread of this process, whose handler finds no
    // request of its own), where `pthread_kill` on a thread that has exited and been
    // joined is undefined behaviour.
    // SAFETY: a plain system call on integers.
    let sent = unsafe { libc::syscall(libc::SYS_tgkill, pid, capture.tid, signal()) };
    if sent != 0 {
        return capture.give_up();
    }
    let deadline = Instant::now() + ANSWER_WITHIN;
    let mut spins = 0u32;
    loop {
        if let Some(ips) = capture.take() {
            return Some(ips);
        }
        if Instant::now() >= deadline {
            return capture.give_up();
        }
        // The answer usually comes within microseconds: yield at first, then sleep.
        if spins < 100 {
            spins += 1;
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
}
