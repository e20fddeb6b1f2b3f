//! Platform backends behind one private interface.
//!
//! Each backend file (`epoll.rs` on Linux, `kqueue.rs` on macOS, FreeBSD and NetBSD) exposes the
//! same names, and nothing else in the crate knows which one it got:
//!
//! - `Selector`: `new()`, `register(fd, Token, Interest)`, `reregister(fd, Token, Interest)`,
//!   `deregister(fd)`, `select(&mut Events, Option<Duration>) -> io::Result<bool>` (one
//!   system call; `Ok(true)` when the notifier fired, whose event is removed from the
//!   buffer; `EINTR` comes back as `ErrorKind::Interrupted` for the caller to retry), and
//!   `notify()`.
//! - `Events`: `with_capacity(n)`, `capacity()`, `len()`, `clear()`, `get(i) -> Event`.
//!
//! The shared rules — the reserved token, `EINTR` retries and "never return before the
//! timeout" — live once in `crate::selector`, above the backends.

use std::io;
use std::os::fd::RawFd;

#[cfg(target_os = "linux")]
mod epoll;
#[cfg(target_os = "linux")]
pub(crate) use epoll::{Events, Selector};

#[cfg(any(target_os = "macos", target_os = "freebsd", target_os = "netbsd"))]
mod kqueue;
#[cfg(any(target_os = "macos", target_os = "freebsd", target_os = "netbsd"))]
pub(crate) use kqueue::{Events, Selector};

#[cfg(not(any(
    target_os = "linux",
    target_os = "macos",
    target_os = "freebsd",
    target_os = "netbsd"
)))]
compile_error!("eddy-selector supports Linux (epoll), macOS, FreeBSD and NetBSD (kqueue)");

/// Turns a C-style `-1`-on-error return into an `io::Error` from `errno`.
pub(crate) fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Rewrites the errors a caller causes by passing a bad fd into kinds it can match on.
///
/// `EEXIST` (already registered), `ENOENT` (not registered) and `EINVAL` already map to
/// `AlreadyExists`, `NotFound` and `InvalidInput`. `EBADF` and `EPERM` do not map to a
/// stable kind (or to a misleading one), so they become `InvalidInput` with a message that
/// names the fd.
pub(crate) fn explain(err: io::Error, fd: RawFd) -> io::Error {
    match err.raw_os_error() {
        Some(libc::EBADF) => io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("fd {fd} is not an open file descriptor ({err})"),
        ),
        Some(libc::EPERM) => io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "fd {fd} does not support readiness notification, as regular files and directories do not ({err})"
            ),
        ),
        _ => err,
    }
}

/// A backend's event records, preallocated once: the system call writes into `buf`, and
/// `len` says how many entries the last call filled.
pub(crate) struct RawEvents<T> {
    buf: Vec<T>,
    len: usize,
}

impl<T: Copy> RawEvents<T> {
    /// `capacity` copies of `empty`, capped so that the count always fits the system
    /// call's `int`.
    fn filled_with(capacity: usize, empty: T) -> RawEvents<T> {
        let capacity = capacity.min(libc::c_int::MAX as usize);
        RawEvents {
            buf: vec![empty; capacity],
            len: 0,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    /// Where the system call writes, and how many entries it may write.
    fn out(&mut self) -> (*mut T, libc::c_int) {
        (self.buf.as_mut_ptr(), self.buf.len() as libc::c_int)
    }

    /// Records that the kernel filled `n` entries, then removes the notifier's entry (if
    /// any) keeping the kernel's order of the rest, and says whether there was one. Each
    /// backend delivers at most one notifier entry per call: one epoll item, one kqueue
    /// user filter.
    fn set_filled(&mut self, n: usize, is_notifier: impl Fn(&T) -> bool) -> bool {
        self.len = n.min(self.buf.len());
        match self.buf[..self.len].iter().position(is_notifier) {
            Some(at) => {
                self.buf.copy_within(at + 1..self.len, at);
                self.len -= 1;
                true
            }
            None => false,
        }
    }

    fn entry(&self, i: usize) -> &T {
        &self.buf[..self.len][i]
    }
}
