//! How a child's exit is noticed: a pollable fd that becomes readable when it exits (a
//! pidfd on Linux, a kqueue with `EVFILT_PROC` on macOS and the BSDs), or `SIGCHLD`.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::ExitStatus;
use std::task::{Context, Poll, ready};

use eddy_net::Async;

use crate::signal::{Signal, SignalKind, signal};

/// The environment variable that forces the `SIGCHLD` path.
const FORCE_VAR: &str = "EDDY_PROCESS_WATCH";

/// One child's exit, as something the reactor can wait on.
#[derive(Debug)]
pub(crate) enum ExitWatch {
    /// Readable once the child has exited.
    Fd(Async<OwnedFd>),
    /// A `SIGCHLD` listener: each delivery, the child's pid is checked.
    Sigchld(Signal),
}

impl ExitWatch {
    /// Watches the child `pid` (ours, not yet reaped).
    pub(crate) fn new(pid: u32, reactor: &eddy_net::Handle) -> io::Result<ExitWatch> {
        let forced = std::env::var_os(FORCE_VAR).is_some_and(|v| v == "sigchld");
        if !forced && let Some(fd) = exit_fd(pid)? {
            return Ok(ExitWatch::Fd(Async::with_handle(fd, reactor)?));
        }
        // The listener exists before the first `waitpid` check (`poll_exit`), so an exit
        // after that check raises a `SIGCHLD` this listener reports.
        Ok(ExitWatch::Sigchld(signal(SignalKind::child())?))
    }

    /// Ready with the status once `child` has exited (and is reaped).
    pub(crate) fn poll_exit(
        &mut self,
        cx: &mut Context<'_>,
        child: &mut std::process::Child,
    ) -> Poll<io::Result<ExitStatus>> {
        match self {
            ExitWatch::Fd(fd) => fd.poll_read_with(cx, |_| match child.try_wait()? {
                Some(status) => Ok(status),
                // Not exited: wait for the fd's next readiness (a spurious one is possible
                // after a wake for another reason; the reactor clears it on `WouldBlock`).
                None => Err(io::ErrorKind::WouldBlock.into()),
            }),
            ExitWatch::Sigchld(sigchld) => loop {
                if let Some(status) = child.try_wait()? {
                    return Poll::Ready(Ok(status));
                }
                ready!(sigchld.poll_recv(cx));
            },
        }
    }
}

/// A pidfd for `pid`; `None` where the kernel has none (before Linux 5.3, or refused by a
/// seccomp filter or an emulator), so the caller falls back to `SIGCHLD`.
#[cfg(target_os = "linux")]
fn exit_fd(pid: u32) -> io::Result<Option<OwnedFd>> {
    let pid = libc::pid_t::try_from(pid).expect("invariant: a process id fits in pid_t");
    // SAFETY: pidfd_open takes a pid and flags (none) and returns a new fd or -1; it reads
    // and writes no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd == -1 {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ENOSYS | libc::EPERM | libc::EINVAL) => Ok(None),
            _ => Err(err),
        };
    }
    let fd = libc::c_int::try_from(fd).expect("invariant: an fd fits in c_int");
    // pidfd_open always sets close-on-exec, so no exec'd child inherits it; PIDFD_NONBLOCK
    // is not needed: the fd is only polled, never read.
    // SAFETY: the fd was just returned by pidfd_open and is owned by nobody else.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// A kqueue of the child's own with an `EVFILT_PROC`/`NOTE_EXIT` filter for `pid`: the
/// kqueue fd is readable once the event is pending. `None` if the process already exited
/// (`ESRCH`): the `SIGCHLD` path's first check then finds its status at once.
#[cfg(any(target_os = "macos", target_os = "freebsd", target_os = "netbsd"))]
fn exit_fd(pid: u32) -> io::Result<Option<OwnedFd>> {
    // SAFETY: kqueue takes no arguments and returns a new fd or -1.
    let kq = unsafe { libc::kqueue() };
    if kq == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the fd was just returned by kqueue and is owned by nobody else.
    let kq = unsafe { OwnedFd::from_raw_fd(kq) };
    set_cloexec(&kq)?;
    // SAFETY: an all-zero kevent is a valid value of the plain C struct; the fields that
    // matter are set below.
    let mut change: libc::kevent = unsafe { std::mem::zeroed() };
    change.ident = pid as libc::uintptr_t;
    change.filter = libc::EVFILT_PROC;
    change.flags = libc::EV_ADD | libc::EV_ONESHOT;
    change.fflags = libc::NOTE_EXIT;
    // SAFETY: one valid change, no event buffer (nevents 0), no timeout: kevent only reads
    // `change`.
    let r = unsafe {
        libc::kevent(
            std::os::fd::AsRawFd::as_raw_fd(&kq),
            &change,
            1,
            std::ptr::null_mut(),
            0,
            std::ptr::null(),
        )
    };
    if r == -1 {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ESRCH) => Ok(None),
            _ => Err(err),
        };
    }
    Ok(Some(kq))
}

// No third platform: eddy-selector itself builds only for Linux, macOS, FreeBSD and NetBSD.

#[cfg(any(target_os = "macos", target_os = "freebsd", target_os = "netbsd"))]
fn set_cloexec(fd: &OwnedFd) -> io::Result<()> {
    let fd = std::os::fd::AsRawFd::as_raw_fd(fd);
    // SAFETY: F_SETFD with FD_CLOEXEC on an fd this module owns changes only its flag.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
