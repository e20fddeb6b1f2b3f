//! Signals as streams and futures: [`signal`] for any catchable signal, [`ctrl_c`] for
//! `SIGINT`.
//!
//! asyncio's `loop.add_signal_handler(signal.SIGTERM, callback)` becomes a [`Signal`] you
//! can await in a loop or race against the rest of the program: when it resolves, stop
//! accepting work, drain, and return from `main`.
//!
//! ```
//! use eddy::signal::{SignalKind, signal};
//!
//! eddy::run(async {
//!     // Listening starts here: a SIGUSR1 from now on is reported by `recv`.
//!     let mut usr1 = signal(SignalKind::user_defined1())?;
//!     // (Here the program signals itself.)
//!     // SAFETY: raise has no preconditions; the handler `signal` installed catches it.
//!     unsafe { libc::raise(libc::SIGUSR1) };
//!     usr1.recv().await;
//!     println!("SIGUSR1: reloading the configuration");
//!     std::io::Result::Ok(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # How it works: one handler per signal, one pipe, one thread
//!
//! A signal handler may only call async-signal-safe functions, so it cannot wake a task
//! directly (a waker may lock, allocate, or run arbitrary code). The first listener of a
//! signal installs, once per process, a handler that counts the delivery (an atomic add),
//! writes one byte to a non-blocking pipe, and calls the handler that was installed before
//! it, if that was a function. A dispatcher thread (`eddy-signal`, started with the first
//! listener of any signal) blocks reading the pipe and wakes the listeners of every signal
//! whose count moved. So listeners work on any runtime, on several at once, or on none
//! (any waker will do), and `Runtime::dump_on` shares the same handlers: asking for
//! `SIGINT` dumps and a `ctrl_c` future at once gives both.
//!
//! # What a listener sees
//!
//! - Every delivery after the listener was made is reported to it, and to every other live
//!   listener of that signal: one `SIGTERM` resolves all of them.
//! - Deliveries coalesce: two that arrive before the listener is polled again are reported
//!   once, as the kernel itself merges a signal that arrives twice before it is handled.
//! - Deliveries before the listener was made, or while no listener exists, are not
//!   reported to later listeners.
//!
//! # The default behaviour is gone for good
//!
//! Once a signal's handler is installed, the signal's default action (for `SIGINT` and
//! `SIGTERM`, terminating the process) no longer happens, for as long as the process
//! lives, even when no listener exists: a signal that arrives when nobody listens is
//! swallowed. This is what tokio does too; restoring the default when the last listener
//! goes would kill a program between two `ctrl_c` calls, in the middle of its graceful
//! shutdown. A program that wants a second Ctrl-C to force the exit can listen again and
//! call `std::process::exit` when it resolves. A handler that other code installed before
//! eddy's is kept and called after eddy's, with the same arguments; one installed after
//! eddy's replaces it (and then eddy's listeners hear nothing), as with any handler.

mod delivery;
mod registry;

use std::future::{Future, poll_fn};
use std::io;
use std::os::fd::RawFd;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use delivery::{Delivery, Listener};
use eddy_wake::wait::{self, WaitKind, WaitOp};

/// A task awaiting [`Signal::recv`] waits on its signal, for task dumps.
static RECV: WaitOp = WaitOp::new(WaitKind::Signal, "Signal::recv");

/// Which signal to listen for: a signal number, with constructors for the common ones.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// The signal with number `signal` (a `libc::SIG*` constant). Whether it can be listened
    /// for is checked by [`signal`].
    pub const fn from_raw(signal: libc::c_int) -> SignalKind {
        SignalKind(signal)
    }

    /// The signal's number.
    pub const fn as_raw(self) -> libc::c_int {
        self.0
    }

    /// `SIGINT`: Ctrl-C in a terminal.
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// `SIGTERM`: the polite request to stop, from `kill`, systemd, Docker or Kubernetes.
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGHUP`: the terminal went away; daemons take it as "reload the configuration".
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGQUIT`: Ctrl-\ in a terminal.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGUSR1`, free for the program's own use.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`, free for the program's own use.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGCHLD`: a child process stopped or exited.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// `SIGWINCH`: the terminal's window changed size.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }

    /// `SIGALRM`: an `alarm` or `setitimer` timer expired.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// `SIGPIPE`: a write to a pipe or socket with no reader (Rust programs ignore it by
    /// default, so writes fail with `EPIPE` instead).
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    fn name(self) -> Option<&'static str> {
        const NAMES: [(libc::c_int, &str); 16] = [
            (libc::SIGINT, "SIGINT"),
            (libc::SIGTERM, "SIGTERM"),
            (libc::SIGHUP, "SIGHUP"),
            (libc::SIGQUIT, "SIGQUIT"),
            (libc::SIGUSR1, "SIGUSR1"),
            (libc::SIGUSR2, "SIGUSR2"),
            (libc::SIGCHLD, "SIGCHLD"),
            (libc::SIGWINCH, "SIGWINCH"),
            (libc::SIGALRM, "SIGALRM"),
            (libc::SIGPIPE, "SIGPIPE"),
            (libc::SIGKILL, "SIGKILL"),
            (libc::SIGSTOP, "SIGSTOP"),
            (libc::SIGSEGV, "SIGSEGV"),
            (libc::SIGBUS, "SIGBUS"),
            (libc::SIGILL, "SIGILL"),
            (libc::SIGFPE, "SIGFPE"),
        ];
        NAMES.iter().find(|(s, _)| *s == self.0).map(|(_, n)| *n)
    }
}

impl std::fmt::Debug for SignalKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}"),
            None => write!(f, "signal {}", self.0),
        }
    }
}

impl std::fmt::Display for SignalKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// A listener for one signal: reports each delivery after it was made (see the [module
/// docs](self) for what it sees). Also a [`Stream`](futures_core::Stream) of `()`.
///
/// Dropping it stops listening; the signal's handler stays installed.
pub struct Signal {
    kind: SignalKind,
    listener: Listener<&'static Delivery>,
}

/// Starts listening for `kind`, installing its handler if this is the first listener in
/// the process. From this call on, every delivery of the signal is reported by
/// [`Signal::recv`].
///
/// Works on any runtime, on several, or on none: the wake comes from eddy's signal thread,
/// through whatever waker polled the listener.
///
/// # Errors
///
/// - [`InvalidInput`](io::ErrorKind::InvalidInput) for a number that is not a signal, or
///   one a program cannot or must not handle (`SIGKILL`, `SIGSTOP`, and the fault signals
///   `SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`); the message names it.
/// - The system's error if the pipe or the signal thread cannot be created (the first
///   call only), or `sigaction` fails.
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let slot = registry::slot(kind.0)?;
    Ok(Signal {
        kind,
        listener: Listener::new(&slot.delivery),
    })
}

impl Signal {
    /// Waits for the next delivery (deliveries that arrived since the last `recv`
    /// returned, or since the listener was made, count: several are reported as one).
    ///
    /// Cancel-safe: dropping the future loses nothing; a delivery it did not report is
    /// reported by the next `recv`.
    #[track_caller]
    pub fn recv(&mut self) -> impl Future<Output = ()> {
        let site = Location::caller();
        poll_fn(move |cx| self.poll_recv_at(cx, site))
    }

    /// [`recv`](Self::recv) as a poll function: `Ready` once a delivery came since the
    /// last `Ready`; otherwise registers `cx`'s waker and returns `Pending`.
    #[track_caller]
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_recv_at(cx, Location::caller())
    }

    /// [`poll_recv`](Self::poll_recv), recording the wait at `site` (eddy-wake's `wait`).
    fn poll_recv_at(&mut self, cx: &mut Context<'_>, site: &'static Location<'static>) -> Poll<()> {
        let poll = self.listener.poll(cx);
        if poll.is_pending() {
            wait::record(&RECV, self.kind.as_raw() as u64, site);
        }
        poll
    }

    /// The signal this listener listens for.
    pub fn kind(&self) -> SignalKind {
        self.kind
    }
}

impl futures_core::Stream for Signal {
    type Item = ();

    /// Never ends: each item is one (possibly coalesced) delivery.
    #[track_caller]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx).map(Some)
    }
}

impl std::fmt::Debug for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signal").field("kind", &self.kind).finish()
    }
}

/// Waits for the next `SIGINT` (Ctrl-C in a terminal): a [`signal`] listener for
/// [`SignalKind::interrupt`], made at the future's first poll.
///
/// The first listener installs the process-wide handler described in the [module
/// docs](self), which **replaces the default "terminate the process" action for the rest of
/// the process's life**. A `SIGINT` that arrived before the first poll does not resolve the
/// future. Any number of `ctrl_c` futures may be pending at once, on any number of threads
/// and runtimes; one signal resolves them all.
///
/// # Errors
///
/// The system's error if the pipe or the signal thread cannot be created, or `sigaction`
/// fails (the first listener in the process only).
///
/// ```no_run
/// // A server's shape: serve until Ctrl-C, then shut down gracefully.
/// eddy::run(async {
///     let serve = async {
///         // ... accept connections forever ...
///         std::future::pending::<std::io::Result<()>>().await
///     };
///     eddy::future::race(serve, eddy::signal::ctrl_c()).await?;
///     println!("Ctrl-C: draining connections, then exiting");
///     std::io::Result::Ok(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    signal(SignalKind::interrupt())?.recv().await;
    Ok(())
}

/// Adds `callback` to what eddy's signal thread runs each time `signal` arrives, installing
/// the handler if needed (`Runtime::dump_on`).
pub(crate) fn on_delivery(signal: libc::c_int, callback: fn(libc::c_int)) -> io::Result<()> {
    registry::add_callback(signal, callback)
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
