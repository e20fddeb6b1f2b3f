//! `Selector` and `Notifier`: the public face of the backend, and the rules shared by both.

use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{Events, Interest, Token, sys};

/// Waits for readiness on many fds at once: epoll on Linux, kqueue on macOS and FreeBSD.
///
/// Registrations are edge-triggered: an event reports a change of readiness, not a level.
/// After an event, the caller must read (or write, or accept) until the operation returns
/// `WouldBlock` before it waits again; otherwise readiness that was already reported is
/// never reported again. See `docs/selector.md` for the reasoning and the reactor's duties.
///
/// All methods take `&self`: a `Selector` can be shared between threads, so one thread can
/// register fds while another waits in [`select`](Selector::select).
///
/// # Registering fds
///
/// fds are passed as `RawFd`. Registering an fd does not take ownership of it; the caller
/// must [`deregister`](Selector::deregister) it before closing it. (The kernel forgets a
/// closed fd on its own only when no duplicate of it is open, so a forgotten deregistration
/// can keep reporting events for a token that no longer means anything.) An fd that is not
/// open is an error, never undefined behaviour.
#[derive(Debug)]
pub struct Selector {
    sys: Arc<sys::Selector>,
}

impl Selector {
    /// Creates a selector and its notifier's kernel object (an eventfd on Linux, an
    /// `EVFILT_USER` filter on kqueue). Both fds are close-on-exec.
    ///
    /// # Errors
    ///
    /// The system's error if it cannot create them, for example when the process is out of
    /// file descriptors (`EMFILE`).
    pub fn new() -> io::Result<Selector> {
        Ok(Selector {
            sys: Arc::new(sys::Selector::new()?),
        })
    }

    /// Starts reporting readiness of `fd` for `interest`, tagged with `token`.
    ///
    /// # Errors
    ///
    /// - [`InvalidInput`](io::ErrorKind::InvalidInput): `token` is [`Token::RESERVED`]; `fd`
    ///   is not an open file descriptor; `fd` cannot be polled (epoll refuses regular files
    ///   and directories); `fd` is this selector itself.
    /// - [`AlreadyExists`](io::ErrorKind::AlreadyExists): `fd` is already registered (epoll
    ///   only: kqueue cannot tell, and updates the registration instead).
    /// - Other kernel errors as they come, for example `ENOMEM` or `ENOSPC` (the per-user
    ///   limit of epoll watches).
    pub fn register(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        check_token(token)?;
        self.sys.register(fd, token, interest)
    }

    /// Changes the token or interest of a registered `fd`. Readiness that is already true
    /// is reported again after the change, which is how a caller re-arms an edge.
    ///
    /// # Errors
    ///
    /// As for [`register`](Selector::register), with [`NotFound`](io::ErrorKind::NotFound)
    /// when `fd` is not registered (epoll only: on kqueue this registers it).
    pub fn reregister(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        check_token(token)?;
        self.sys.reregister(fd, token, interest)
    }

    /// Stops reporting readiness of `fd`. Events already returned by a `select` stay in that
    /// caller's buffer.
    ///
    /// # Errors
    ///
    /// - [`NotFound`](io::ErrorKind::NotFound): `fd` is not registered.
    /// - [`InvalidInput`](io::ErrorKind::InvalidInput): `fd` is not an open file descriptor.
    pub fn deregister(&self, fd: RawFd) -> io::Result<()> {
        self.sys.deregister(fd)
    }

    /// Waits until at least one registered fd is ready, the [`Notifier`] fires, or
    /// `timeout` passes, and fills `events` with what is ready (at most its capacity; the
    /// rest stays pending for the next call).
    ///
    /// - `None` waits until an event or a notification.
    /// - `Some(Duration::ZERO)` checks once without blocking.
    /// - `Some(t)` never returns before `t` has passed unless an event or a notification
    ///   came. On Linux the wait has nanosecond resolution (`epoll_pwait2`, kernel 5.11+,
    ///   for a timeout with a fraction of a millisecond; `epoll_wait` says the others
    ///   exactly); on older kernels it is rounded up to whole milliseconds. A timeout too
    ///   large to add to the current `Instant` waits as `None` does.
    ///
    /// A signal that interrupts the wait (`EINTR`) is absorbed: the wait resumes for the
    /// time that remains.
    ///
    /// # Errors
    ///
    /// Only unexpected kernel errors (`EFAULT`, `EINVAL` on a corrupt selector); none is
    /// caused by what a caller passes in.
    pub fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.clear();
        if timeout == Some(Duration::ZERO) {
            // The reactor's "poll without sleeping" path: skip the clock entirely.
            loop {
                match self.sys.select(&mut events.sys, timeout) {
                    Ok(notified) => {
                        events.notified = notified;
                        return Ok(());
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut wait = deadline.and(timeout);
        loop {
            match self.sys.select(&mut events.sys, wait) {
                Ok(notified) if notified || !events.is_empty() => {
                    events.notified = notified;
                    return Ok(());
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            // Interrupted, or woke with nothing: the millisecond fallback caps its wait at
            // `i32::MAX` ms, so check the clock and wait out whatever is left.
            if let Some(deadline) = deadline {
                let now = Instant::now();
                if now >= deadline {
                    return Ok(());
                }
                wait = Some(deadline - now);
            }
        }
    }

    /// A handle that wakes this selector's [`select`](Selector::select) from any thread.
    pub fn notifier(&self) -> Notifier {
        Notifier {
            sys: Arc::clone(&self.sys),
        }
    }
}

/// Wakes a [`Selector::select`] blocked in another thread. Cheap to clone; `Send + Sync`.
///
/// Wakes coalesce: any number of [`notify`](Notifier::notify) calls before the next
/// `select` returns make that one `select` return (with
/// [`Events::is_notified`](crate::Events::is_notified) set) and leave nothing behind for
/// the call after it. A notification sent while no thread is in `select` is kept until the
/// next call, so a wake can never fall between a check and a wait. The notifier keeps the
/// kernel objects alive, so it stays safe to use after its `Selector` is dropped (the
/// wake then reaches nobody).
#[derive(Clone, Debug)]
pub struct Notifier {
    sys: Arc<sys::Selector>,
}

impl Notifier {
    /// Makes the current or next `select` return.
    ///
    /// # Errors
    ///
    /// Only unexpected kernel errors; a signal during the call is retried.
    pub fn notify(&self) -> io::Result<()> {
        self.sys.notify()
    }
}

fn check_token(token: Token) -> io::Result<()> {
    if token == Token::RESERVED {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "Token::RESERVED (usize::MAX) belongs to the selector's notifier; register with another token",
        ));
    }
    Ok(())
}
