//! `Event` and `Events`: what one `select` call reports, in a buffer reused across calls.

use std::fmt;

use crate::{Token, sys};

/// One readiness report for one registration.
///
/// The flags say what the kernel saw; they are hints for the reactor above, which must
/// still try the operation and handle `WouldBlock`. On kqueue a registration that is both
/// readable and writable yields two events with the same token, one per filter.
#[derive(Copy, Clone, PartialEq, Eq)]
pub struct Event {
    token: Token,
    flags: u8,
}

impl Event {
    pub(crate) const READABLE: u8 = 1 << 0;
    pub(crate) const WRITABLE: u8 = 1 << 1;
    pub(crate) const ERROR: u8 = 1 << 2;
    pub(crate) const READ_CLOSED: u8 = 1 << 3;
    pub(crate) const WRITE_CLOSED: u8 = 1 << 4;
    pub(crate) const PRIORITY: u8 = 1 << 5;

    pub(crate) const fn new(token: Token, flags: u8) -> Event {
        Event { token, flags }
    }

    /// The token the fd was registered with.
    pub const fn token(&self) -> Token {
        self.token
    }

    /// A read may make progress: data, a pending connection, or priority data.
    ///
    /// End-of-stream is reported by [`is_read_closed`](Event::is_read_closed) and may come
    /// without this flag; a reader should treat either as "try to read now".
    pub const fn is_readable(&self) -> bool {
        self.flags & Event::READABLE != 0
    }

    /// A write may make progress, or a non-blocking connect finished (check `SO_ERROR`).
    pub const fn is_writable(&self) -> bool {
        self.flags & Event::WRITABLE != 0
    }

    /// The fd has a pending error (`EPOLLERR`, kqueue `EV_ERROR` or an `EV_EOF` carrying an
    /// errno). Read it with `SO_ERROR` or by trying the operation.
    pub const fn is_error(&self) -> bool {
        self.flags & Event::ERROR != 0
    }

    /// The read half is closed: the peer shut down its write side or hung up, so a read
    /// returns end-of-stream once buffered data is drained.
    pub const fn is_read_closed(&self) -> bool {
        self.flags & Event::READ_CLOSED != 0
    }

    /// The write half is closed: the peer is gone (a pipe without readers, a reset socket),
    /// so a write fails.
    pub const fn is_write_closed(&self) -> bool {
        self.flags & Event::WRITE_CLOSED != 0
    }

    /// Priority (out-of-band) data is ready: `EPOLLPRI`. Never set on kqueue.
    pub const fn is_priority(&self) -> bool {
        self.flags & Event::PRIORITY != 0
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("token", &self.token)
            .field("readable", &self.is_readable())
            .field("writable", &self.is_writable())
            .field("error", &self.is_error())
            .field("read_closed", &self.is_read_closed())
            .field("write_closed", &self.is_write_closed())
            .field("priority", &self.is_priority())
            .finish()
    }
}

/// A preallocated buffer of events, filled by [`Selector::select`](crate::Selector::select).
///
/// The capacity bounds how many events one call returns; readiness that does not fit stays
/// pending in the kernel and comes back on the next call. `select` allocates nothing.
pub struct Events {
    pub(crate) sys: sys::Events,
    pub(crate) notified: bool,
}

impl Events {
    /// A buffer for up to `capacity` events per call. A capacity of 0 is rounded up to 1,
    /// since the kernel rejects an empty buffer.
    pub fn with_capacity(capacity: usize) -> Events {
        Events {
            sys: sys::Events::with_capacity(capacity.max(1)),
            notified: false,
        }
    }

    /// The most events one `select` call can return.
    pub fn capacity(&self) -> usize {
        self.sys.capacity()
    }

    /// How many events the last `select` returned.
    pub fn len(&self) -> usize {
        self.sys.len()
    }

    /// Whether the last `select` returned no event (it timed out, or only the notifier fired).
    pub fn is_empty(&self) -> bool {
        self.sys.len() == 0
    }

    /// Whether the last `select` was woken by the [`Notifier`](crate::Notifier). Notifier
    /// wakes are not listed as events.
    pub fn is_notified(&self) -> bool {
        self.notified
    }

    /// Forgets the events of the last call.
    pub fn clear(&mut self) {
        self.sys.clear();
        self.notified = false;
    }

    /// The events of the last call, in the kernel's order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            events: self,
            next: 0,
        }
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = Event;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Iterator over the events of one `select` call, from [`Events::iter`].
#[derive(Debug)]
pub struct Iter<'a> {
    events: &'a Events,
    next: usize,
}

impl Iterator for Iter<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        if self.next == self.events.len() {
            return None;
        }
        let event = self.events.sys.get(self.next);
        self.next += 1;
        Some(event)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.events.len() - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Iter<'_> {}
