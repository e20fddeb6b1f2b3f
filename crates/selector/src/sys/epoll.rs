//! Linux backend: edge-triggered epoll, an eventfd notifier, nanosecond timeouts
//! (`epoll_pwait2` for the timeouts `epoll_wait`'s milliseconds cannot say).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::time::Duration;

use super::{RawEvents, cvt, explain};
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::{Event, Interest, Token};

#[derive(Debug)]
pub(crate) struct Selector {
    ep: OwnedFd,
    /// Written by `notify`; registered edge-triggered under `Token::RESERVED`.
    eventfd: OwnedFd,
    /// Cleared the first time `epoll_pwait2` answers `ENOSYS` (kernels before 5.11) or
    /// `EPERM` (seccomp filters that predate it); from then on the sub-millisecond timeouts
    /// too go through `epoll_wait`, rounded up to whole milliseconds. Relaxed: a stale
    /// `true` costs one failed call.
    has_pwait2: AtomicBool,
}

impl Selector {
    pub(crate) fn new() -> io::Result<Selector> {
        // SAFETY: `epoll_create1` takes no pointers and `EPOLL_CLOEXEC` is a valid flag.
        let ep = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `ep` was just returned by the kernel and nothing else owns it.
        let ep = unsafe { OwnedFd::from_raw_fd(ep) };
        // SAFETY: `eventfd` takes no pointers; the flags are valid.
        let efd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: `efd` was just returned by the kernel and nothing else owns it.
        let eventfd = unsafe { OwnedFd::from_raw_fd(efd) };
        let selector = Selector {
            ep,
            eventfd,
            // Miri emulates epoll_wait but not the epoll_pwait2 syscall, so under Miri the
            // selector starts on the millisecond path its ENOSYS fallback would take.
            has_pwait2: AtomicBool::new(!cfg!(miri)),
        };
        // Never read: with EPOLLET every write to the eventfd is a new edge, so one `notify`
        // is one wake-up, and wakes that land before the next `select` coalesce into one.
        selector.ctl(
            libc::EPOLL_CTL_ADD,
            efd,
            (libc::EPOLLIN | libc::EPOLLET) as u32,
            Token::RESERVED,
        )?;
        Ok(selector)
    }

    pub(crate) fn register(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, epoll_flags(interest), token)
            .map_err(|e| explain(e, fd))
    }

    pub(crate) fn reregister(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, epoll_flags(interest), token)
            .map_err(|e| explain(e, fd))
    }

    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, Token(0))
            .map_err(|e| explain(e, fd))
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, flags: u32, token: Token) -> io::Result<()> {
        // Kernels before 2.6.9 require a non-null event even for EPOLL_CTL_DEL.
        let mut event = libc::epoll_event {
            events: flags,
            u64: token.0 as u64,
        };
        // SAFETY: `self.ep` is an open epoll fd and `event` is a valid, writable
        // `epoll_event` for the duration of the call. A bad `fd` is reported as an error.
        cvt(unsafe { libc::epoll_ctl(self.ep.as_raw_fd(), op, fd, &mut event) }).map(drop)
    }

    pub(crate) fn select(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
    ) -> io::Result<bool> {
        events.clear();
        // `epoll_wait` where its millisecond timeout is exact: no timeout, zero (the polls
        // between task polls) and whole milliseconds. `epoll_pwait2` copies a timespec in
        // from user memory, which measured 100-120 ns a call on the bench machine
        // (docs/benchmarks.md, "Where the floor is"); it is kept for the sub-millisecond
        // timeouts only it can express.
        let pwait2 = if fits_epoll_wait(timeout) {
            None
        } else {
            self.pwait2(events, timeout)
        };
        let n = match pwait2 {
            Some(result) => result?,
            None => self.wait(events, timeout)?,
        };
        Ok(events.set_filled(n, |e| e.u64 == Token::RESERVED.0 as u64))
    }

    /// `epoll_pwait2`, or `None` if this kernel does not have it.
    fn pwait2(&self, events: &mut Events, timeout: Option<Duration>) -> Option<io::Result<usize>> {
        if !self.has_pwait2.load(Ordering::Relaxed) {
            return None;
        }
        let ts = timeout.map(KernelTimespec::from);
        let ts_ptr = ts
            .as_ref()
            .map_or(ptr::null(), |ts| ts as *const KernelTimespec);
        let (buf, capacity) = events.out();
        // SAFETY: `buf` holds `capacity` writable events; `ts_ptr` is null or points at
        // a live `__kernel_timespec`; a null signal mask means "leave the mask alone" (the size is
        // then ignored). The raw syscall avoids needing glibc 2.35's wrapper.
        let n = unsafe {
            libc::syscall(
                libc::SYS_epoll_pwait2,
                self.ep.as_raw_fd(),
                buf,
                capacity,
                ts_ptr,
                ptr::null::<libc::sigset_t>(),
                0usize,
            )
        };
        if n >= 0 {
            return Some(Ok(n as usize));
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::ENOSYS | libc::EPERM) => {
                self.has_pwait2.store(false, Ordering::Relaxed);
                None
            }
            _ => Some(Err(err)),
        }
    }

    /// `epoll_wait`, whose timeout is whole milliseconds: rounded up, so it never returns
    /// before the timeout, and capped at `i32::MAX` ms (the caller waits again for the rest).
    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        let ms = match timeout {
            None => -1,
            Some(t) => {
                libc::c_int::try_from(t.as_nanos().div_ceil(1_000_000)).unwrap_or(libc::c_int::MAX)
            }
        };
        let (buf, capacity) = events.out();
        // SAFETY: `buf` holds `capacity` writable events and `self.ep` is open.
        let n = unsafe { libc::epoll_wait(self.ep.as_raw_fd(), buf, capacity, ms) };
        cvt(n).map(|n| n as usize)
    }

    pub(crate) fn notify(&self) -> io::Result<()> {
        let one: u64 = 1;
        loop {
            // SAFETY: `eventfd` is open and the buffer is a live 8-byte value, as eventfd requires.
            let n = unsafe { libc::write(self.eventfd.as_raw_fd(), (&raw const one).cast(), 8) };
            if n == 8 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::Interrupted => continue,
                // The counter is about to overflow (2^64 - 2 wakes never read): reset it by
                // reading, then write again. The pending edge is already queued.
                io::ErrorKind::WouldBlock => {
                    let mut sink: u64 = 0;
                    // SAFETY: `eventfd` is open and `sink` is a live, writable 8-byte value.
                    unsafe { libc::read(self.eventfd.as_raw_fd(), (&raw mut sink).cast(), 8) };
                }
                _ => return Err(err),
            }
        }
    }
}

/// The kernel's `struct __kernel_timespec`, which `epoll_pwait2` takes: two 64-bit fields on
/// every architecture. libc's `timespec` is the C library's type, whose `tv_sec` (and
/// `tv_nsec`) are 32 bits on 32-bit targets such as i686; passing it there made the kernel
/// read both 32-bit fields as one 64-bit second count, so every timed wait slept for
/// centuries (found by running the suite on i686-unknown-linux-gnu).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct KernelTimespec {
    tv_sec: i64,
    tv_nsec: i64,
}

impl From<Duration> for KernelTimespec {
    /// A relative timeout, saturating at the largest representable second count.
    fn from(timeout: Duration) -> KernelTimespec {
        KernelTimespec {
            tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(timeout.subsec_nanos()),
        }
    }
}

/// Whether `epoll_wait`'s millisecond timeout says exactly `timeout`: none (wait for ever),
/// or a whole number of milliseconds that fits its `c_int`, zero included.
fn fits_epoll_wait(timeout: Option<Duration>) -> bool {
    timeout.is_none_or(|t| {
        t.subsec_nanos() % 1_000_000 == 0 && t.as_millis() <= libc::c_int::MAX as u128
    })
}

fn epoll_flags(interest: Interest) -> u32 {
    let mut flags = libc::EPOLLET;
    if interest.is_readable() {
        flags |= libc::EPOLLIN | libc::EPOLLRDHUP;
    }
    if interest.is_writable() {
        flags |= libc::EPOLLOUT;
    }
    if interest.is_priority() {
        flags |= libc::EPOLLPRI;
    }
    flags as u32
}

pub(crate) type Events = RawEvents<libc::epoll_event>;

impl Events {
    pub(crate) fn with_capacity(capacity: usize) -> Events {
        RawEvents::filled_with(capacity, libc::epoll_event { events: 0, u64: 0 })
    }

    pub(crate) fn get(&self, i: usize) -> Event {
        let raw = *self.entry(i);
        let bits = raw.events as libc::c_int;
        let has = |flag: libc::c_int| bits & flag != 0;
        let mut flags = 0;
        if has(libc::EPOLLIN) || has(libc::EPOLLPRI) {
            flags |= Event::READABLE;
        }
        if has(libc::EPOLLOUT) {
            flags |= Event::WRITABLE;
        }
        if has(libc::EPOLLERR) {
            flags |= Event::ERROR;
        }
        if has(libc::EPOLLHUP) || has(libc::EPOLLRDHUP) {
            flags |= Event::READ_CLOSED;
        }
        // A hang-up closes both halves. An error on a writable fd (a pipe whose reader is
        // gone reports EPOLLOUT | EPOLLERR), or an error alone, means writes will fail.
        if has(libc::EPOLLHUP)
            || (has(libc::EPOLLERR) && (has(libc::EPOLLOUT) || bits == libc::EPOLLERR))
        {
            flags |= Event::WRITE_CLOSED;
        }
        if has(libc::EPOLLPRI) {
            flags |= Event::PRIORITY;
        }
        Event::new(Token(raw.u64 as usize), flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every timeout `epoll_wait` can say exactly goes to it; only the ones it would have
    /// to round (a fraction of a millisecond, more than `c_int::MAX` ms) need
    /// `epoll_pwait2`.
    #[test]
    fn only_timeouts_epoll_wait_would_round_need_pwait2() {
        for exact in [None, Some(Duration::ZERO), Some(Duration::from_millis(1))]
            .into_iter()
            .chain([Some(Duration::from_millis(i32::MAX as u64))])
        {
            assert!(fits_epoll_wait(exact), "{exact:?}");
        }
        for rounded in [
            Duration::from_nanos(1),
            Duration::from_micros(1500),
            Duration::from_millis(i32::MAX as u64 + 1),
            Duration::MAX,
        ] {
            assert!(!fits_epoll_wait(Some(rounded)), "{rounded:?}");
        }
    }

    /// Regression: on i686 the timeout went to `epoll_pwait2` as libc's 8-byte `timespec`
    /// and every timed wait hung. The kernel's type is 16 bytes on every architecture.
    #[test]
    fn pwait2_timeout_has_the_kernel_layout_on_every_target() {
        assert_eq!(std::mem::size_of::<KernelTimespec>(), 16);
        let ts = KernelTimespec::from(Duration::new(3, 250));
        assert_eq!((ts.tv_sec, ts.tv_nsec), (3, 250));
        assert_eq!(KernelTimespec::from(Duration::MAX).tv_sec, i64::MAX);
    }
}
