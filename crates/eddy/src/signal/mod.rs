//! Signals as futures: `ctrl_c()` for graceful shutdown.
//!
//! asyncio's `loop.add_signal_handler(signal.SIGINT, callback)` becomes a future you can
//! race against the rest of the program: when it resolves, stop accepting work, drain, and
//! return from `main`.
//!
//! # How it works: the self-pipe trick
//!
//! A signal handler may only call async-signal-safe functions, so it cannot wake a task
//! directly (a waker may lock, allocate, or run arbitrary code). Instead, the first
//! [`ctrl_c`] call installs, once per process, a `SIGINT` handler that does two
//! async-signal-safe things: it bumps a generation counter, then writes one byte to a
//! non-blocking pipe. Each pending `ctrl_c` future waits for that pipe to become readable
//! through the reactor, like any socket ([`eddy_net::Async`] over its own duplicate of the
//! read end).
//!
//! Several futures may wait at once, even on different reactors: each waiter resolves once
//! the generation differs from the one it saw on its first poll, so one `SIGINT` resolves
//! every future pending at that moment, and a byte left over from an earlier signal never
//! resolves a later future. A resolving waiter drains the pipe, which can hide the bytes
//! from reactors that have not looked yet (epoll reports only what is still readable when
//! it is asked), so it also wakes every other waiter through a shared waiter list.
//!
//! # The default behaviour is gone for good
//!
//! Once the handler is installed, `SIGINT` no longer kills the process, for as long as the
//! process lives, even when no `ctrl_c` future is pending: a Ctrl-C that arrives when
//! nobody waits is swallowed. This is what tokio does too; the alternative (restoring the
//! default action when the last waiter goes) would kill a program between two `ctrl_c`
//! calls, in the middle of its graceful shutdown. A program that wants a second Ctrl-C to
//! force the exit can call `ctrl_c` again and `std::process::exit` when it resolves. A
//! handler installed earlier by other code is replaced, not chained.

mod delivery;

use std::future::poll_fn;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::OnceLock;

use eddy_net::{Async, Handle};
use nix::errno::Errno;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

use delivery::{Delivery, Waiter};

/// Waits for the next `SIGINT` (Ctrl-C in a terminal).
///
/// The first call installs the process-wide handler described in the [module
/// docs](self), which **replaces the default "terminate the process" action for the rest of
/// the process's life**. The future counts signals from its first poll: a `SIGINT` that
/// arrived before then does not resolve it. Any number of `ctrl_c` futures may be pending at
/// once, on any number of threads and reactors; one signal resolves them all. Each pending
/// future holds one file descriptor (a duplicate of the pipe's read end).
///
/// # Errors
///
/// - Kind [`Other`](io::ErrorKind::Other), if no reactor is entered on the thread of the first
///   poll (the message says how to enter one): the handler is not installed then.
/// - The system's error if the pipe cannot be created or duplicated (for example `EMFILE`),
///   or the reactor refuses the registration or has shut down.
///
/// # Panics
///
/// Never.
///
/// ```
/// use std::pin::pin;
/// use std::task::{Context, Poll, Waker};
/// use std::time::Duration;
///
/// let mut reactor = eddy_net::Reactor::new()?;
/// let _guard = reactor.handle().enter();
///
/// // A server's shape: serve until Ctrl-C, then shut down gracefully.
/// let mut main = pin!(async {
///     let serve = async {
///         // ... accept connections forever ...
///         std::future::pending::<std::io::Result<()>>().await
///     };
///     eddy::future::race(serve, eddy::signal::ctrl_c()).await?;
///     println!("Ctrl-C: draining connections, then exiting");
///     std::io::Result::Ok(())
/// });
///
/// // (Here the program presses Ctrl-C itself, once the future is waiting.)
/// let mut cx = Context::from_waker(Waker::noop());
/// assert!(main.as_mut().poll(&mut cx).is_pending());
/// std::thread::spawn(|| {
///     // SAFETY: raise has no preconditions; the handler ctrl_c installed catches SIGINT.
///     unsafe { libc::raise(libc::SIGINT) };
/// });
///
/// // The smallest executor: poll the one future, turn the reactor while it waits.
/// loop {
///     if let Poll::Ready(result) = main.as_mut().poll(&mut cx) {
///         break result?;
///     }
///     reactor.turn(Some(Duration::from_secs(5)))?;
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    // Ask for the reactor first, so a call outside any runtime fails without changing how
    // the process reacts to Ctrl-C.
    let handle = Handle::current()?;
    let globals = install()?;
    let mut waiter = Waiter::new(&globals.delivery);
    let reader = Async::with_handle(globals.read.try_clone()?, &handle)?;
    poll_fn(|cx| {
        waiter.poll(
            cx,
            |cx| reader.poll_read_with(cx, |mut pipe| drain(&mut pipe)),
            || {
                let _ = drain(&mut reader.get_ref());
            },
        )
    })
    .await
}

/// The process-wide state the handler reads. Set once, never freed or closed.
struct Globals {
    /// The read end; each waiter registers its own duplicate with its reactor.
    read: std::io::PipeReader,
    /// The write end, owned here and never closed, so the handler's raw fd stays valid.
    write: std::io::PipeWriter,
    /// How many `SIGINT`s arrived, and the pending futures' wakers (`delivery.rs`).
    delivery: Delivery,
}

/// Set before the handler is installed; the handler reads it with `get`, a lock-free atomic
/// load and so async-signal-safe.
static GLOBALS: OnceLock<Globals> = OnceLock::new();

/// Serializes installation, so the handler is installed once even when the first calls
/// race. A std mutex rather than `crate::loom`'s, because a `static` needs a `const`
/// constructor and loom cannot model signal delivery anyway.
static INSTALLED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);

/// Creates the pipe and installs the handler, once per process.
fn install() -> io::Result<&'static Globals> {
    let mut installed = INSTALLED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let (true, Some(globals)) = (*installed, GLOBALS.get()) {
        return Ok(globals);
    }
    let globals = match GLOBALS.get() {
        Some(globals) => globals,
        None => {
            let (read, write) = std::io::pipe()?;
            // The handler must never block: a full pipe already says "a signal came".
            set_nonblocking(write.as_raw_fd())?;
            set_nonblocking(read.as_raw_fd())?;
            GLOBALS.get_or_init(|| Globals {
                read,
                write,
                delivery: Delivery::new(),
            })
        }
    };
    let action = SigAction::new(
        SigHandler::Handler(on_sigint),
        // Restart interrupted system calls, so a Ctrl-C does not make other threads' blocking
        // reads fail with EINTR.
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: `on_sigint` only performs async-signal-safe operations (an atomic load in
    // `OnceLock::get`, an atomic add, write(2), and saving and restoring errno), and it
    // stays valid for the life of the process. The old action is dropped, not called.
    unsafe { sigaction(Signal::SIGINT, &action) }.map_err(io::Error::from)?;
    *installed = true;
    Ok(globals)
}

/// The `SIGINT` handler: bump the generation, then write one byte to the pipe.
extern "C" fn on_sigint(_signal: libc::c_int) {
    // write(2) may set errno, and the interrupted code may be about to read it.
    let saved = Errno::last_raw();
    if let Some(globals) = GLOBALS.get() {
        globals.delivery.record();
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; the fd is the pipe's write end, owned by
        // GLOBALS and never closed; the buffer is one valid byte. A full pipe (EAGAIN) is
        // fine: the unread bytes already wake the waiters, and the generation is counted.
        let _ = unsafe { libc::write(globals.write.as_raw_fd(), (&raw const byte).cast(), 1) };
    }
    Errno::set_raw(saved);
}

/// Reads everything in the pipe. `Ok` if anything was read, `WouldBlock` if it was empty.
fn drain(pipe: &mut impl Read) -> io::Result<()> {
    let mut buf = [0u8; 64];
    let mut total = 0;
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "invariant broken: the SIGINT pipe's write end was closed",
                ));
            }
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && total > 0 => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFL on a descriptor this module owns (the fresh pipe) reads its flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: F_SETFL with the flags just read plus O_NONBLOCK changes only the blocking mode.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
