//! macOS, FreeBSD and NetBSD backend: kqueue with `EV_CLEAR` (edge-triggered), `EVFILT_USER` notifier.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;
use std::{mem, ptr};

use super::{RawEvents, cvt, explain};
use crate::{Event, Interest, Token};

/// The `EVFILT_USER` identifier the notifier triggers. User filters live in their own
/// namespace, so 0 cannot clash with an fd.
const NOTIFY_IDENT: libc::uintptr_t = 0;

/// `kevent`'s `filter` and `flags` field types: 16-bit on macOS and FreeBSD, 32-bit on
/// NetBSD, whose `kevent` call also counts its lists in `size_t`, not `int`.
#[cfg(not(target_os = "netbsd"))]
type Filter = i16;
#[cfg(not(target_os = "netbsd"))]
type Flags = u16;
#[cfg(target_os = "netbsd")]
type Filter = u32;
#[cfg(target_os = "netbsd")]
type Flags = u32;

#[derive(Debug)]
pub(crate) struct Selector {
    kq: OwnedFd,
}

impl Selector {
    pub(crate) fn new() -> io::Result<Selector> {
        // SAFETY: `kqueue` takes no arguments.
        let kq = cvt(unsafe { libc::kqueue() })?;
        // SAFETY: `kq` was just returned by the kernel and nothing else owns it.
        let kq = unsafe { OwnedFd::from_raw_fd(kq) };
        // kqueue() has no close-on-exec flag of its own on macOS.
        // SAFETY: `kq` is open; F_SETFD with FD_CLOEXEC takes an int argument.
        cvt(unsafe { libc::fcntl(kq.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) })?;
        let selector = Selector { kq };
        let mut changes = [change(
            NOTIFY_IDENT,
            libc::EVFILT_USER,
            libc::EV_ADD | libc::EV_CLEAR,
            Token::RESERVED,
        )];
        selector.apply(&mut changes, &[])?;
        Ok(selector)
    }

    pub(crate) fn register(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        let flags = libc::EV_ADD | libc::EV_CLEAR;
        let mut changes = [change(0, 0, 0, token); 2];
        let mut n = 0;
        if interest.is_readable() || interest.is_priority() {
            changes[n] = change(fd as libc::uintptr_t, libc::EVFILT_READ, flags, token);
            n += 1;
        }
        if interest.is_writable() {
            changes[n] = change(fd as libc::uintptr_t, libc::EVFILT_WRITE, flags, token);
            n += 1;
        }
        // EPIPE: a pipe whose reader is gone; the write filter still reports it as an event.
        self.apply(&mut changes[..n], &[libc::EPIPE])
            .map(drop)
            .map_err(|e| explain(e, fd))
    }

    pub(crate) fn reregister(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        let want = |yes: bool| {
            if yes {
                libc::EV_ADD | libc::EV_CLEAR
            } else {
                libc::EV_DELETE
            }
        };
        let mut changes = [
            change(
                fd as libc::uintptr_t,
                libc::EVFILT_READ,
                want(interest.is_readable() || interest.is_priority()),
                token,
            ),
            change(
                fd as libc::uintptr_t,
                libc::EVFILT_WRITE,
                want(interest.is_writable()),
                token,
            ),
        ];
        // ENOENT: deleting a filter that was not registered before.
        self.apply(&mut changes, &[libc::ENOENT, libc::EPIPE])
            .map(drop)
            .map_err(|e| explain(e, fd))
    }

    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        let mut changes = [
            change(
                fd as libc::uintptr_t,
                libc::EVFILT_READ,
                libc::EV_DELETE,
                Token(0),
            ),
            change(
                fd as libc::uintptr_t,
                libc::EVFILT_WRITE,
                libc::EV_DELETE,
                Token(0),
            ),
        ];
        match self
            .apply(&mut changes, &[libc::ENOENT])
            .map_err(|e| explain(e, fd))?
        {
            2 => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("fd {fd} is not registered with this selector"),
            )),
            _ => Ok(()),
        }
    }

    /// Submits `changes` with `EV_RECEIPT`, so the kernel answers each one in place instead
    /// of draining pending events. Returns how many failed with an errno in `ignore`; any
    /// other failure is the error.
    fn apply(&self, changes: &mut [libc::kevent], ignore: &[libc::c_int]) -> io::Result<usize> {
        for change in changes.iter_mut() {
            change.flags |= libc::EV_RECEIPT;
        }
        let n = changes.len();
        // SAFETY: `kq` is open; the change list and the receipt list are the same live
        // buffer of `n` events, which kevent allows; a null timeout is fine with receipts.
        cvt(unsafe {
            libc::kevent(
                self.kq.as_raw_fd(),
                changes.as_ptr(),
                n as _,
                changes.as_mut_ptr(),
                n as _,
                ptr::null(),
            )
        })?;
        let mut ignored = 0;
        for receipt in changes.iter() {
            if receipt.flags & libc::EV_ERROR != 0 && receipt.data != 0 {
                let errno = receipt.data as libc::c_int;
                if ignore.contains(&errno) {
                    ignored += 1;
                } else {
                    return Err(io::Error::from_raw_os_error(errno));
                }
            }
        }
        Ok(ignored)
    }

    pub(crate) fn select(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
    ) -> io::Result<bool> {
        events.clear();
        let ts = timeout.map(timespec);
        let ts_ptr = ts
            .as_ref()
            .map_or(ptr::null(), |ts| ts as *const libc::timespec);
        let (buf, capacity) = events.out();
        // SAFETY: `kq` is open; `buf` holds `capacity` writable events; `ts_ptr` is null
        // (wait forever) or points at a live `timespec`.
        let n = unsafe {
            libc::kevent(
                self.kq.as_raw_fd(),
                ptr::null(),
                0,
                buf,
                capacity as _,
                ts_ptr,
            )
        };
        let n = cvt(n)? as usize;
        Ok(events.set_filled(n, |e| e.filter == libc::EVFILT_USER))
    }

    pub(crate) fn notify(&self) -> io::Result<()> {
        let mut trigger = [change(NOTIFY_IDENT, libc::EVFILT_USER, 0, Token::RESERVED)];
        trigger[0].fflags = libc::NOTE_TRIGGER;
        self.apply(&mut trigger, &[]).map(drop)
    }
}

/// A relative timeout as a `timespec`, saturating at the largest representable value.
pub(crate) fn timespec(timeout: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        // Below one billion, so it fits every platform's `c_long`.
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    }
}

/// A change-list entry for `ident`/`filter`, carrying `token` as its user data.
fn change(ident: libc::uintptr_t, filter: Filter, flags: Flags, token: Token) -> libc::kevent {
    let mut kev = zeroed_kevent();
    kev.ident = ident;
    kev.filter = filter;
    kev.flags = flags;
    // A pointer on macOS and FreeBSD, an `intptr_t` on NetBSD: a tag either way.
    kev.udata = token.0 as _;
    kev
}

fn zeroed_kevent() -> libc::kevent {
    // SAFETY: `kevent` is plain data (integers, a pointer used only as an opaque tag, and on
    // FreeBSD an array of integers), so all-zero bytes are a valid value.
    unsafe { mem::zeroed() }
}

pub(crate) type Events = RawEvents<libc::kevent>;

impl Events {
    pub(crate) fn with_capacity(capacity: usize) -> Events {
        RawEvents::filled_with(capacity, zeroed_kevent())
    }

    pub(crate) fn get(&self, i: usize) -> Event {
        let raw = self.entry(i);
        let eof = raw.flags & libc::EV_EOF != 0;
        let mut flags = 0;
        if raw.filter == libc::EVFILT_READ {
            flags |= Event::READABLE;
            if eof {
                flags |= Event::READ_CLOSED;
            }
        }
        if raw.filter == libc::EVFILT_WRITE {
            flags |= Event::WRITABLE;
            if eof {
                flags |= Event::WRITE_CLOSED;
            }
        }
        // With EV_EOF, `fflags` carries the socket's pending errno, if any.
        if raw.flags & libc::EV_ERROR != 0 || (eof && raw.fflags != 0) {
            flags |= Event::ERROR;
        }
        Event::new(Token(raw.udata as usize), flags)
    }
}

// SAFETY: the only pointer in `kevent` is `udata`, which eddy uses as an integer tag (the
// token) and never dereferences, so the buffer can move between and be shared by threads.
unsafe impl Send for RawEvents<libc::kevent> {}
// SAFETY: as for `Send`: no method dereferences `udata`.
unsafe impl Sync for RawEvents<libc::kevent> {}
