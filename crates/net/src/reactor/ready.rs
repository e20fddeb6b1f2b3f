//! `Ready`: the readiness bits a record holds, and how an `Event` maps onto them.

use std::ops;

use eddy_selector::Event;

/// A set of readiness bits, as the reactor stores them per resource.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct Ready(usize);

impl Ready {
    /// Nothing is ready.
    pub const EMPTY: Ready = Ready(0);
    /// A read may make progress.
    pub const READABLE: Ready = Ready(1 << 0);
    /// A write may make progress.
    pub const WRITABLE: Ready = Ready(1 << 1);
    /// The peer closed its write side: reads return end-of-stream once drained. Sticky.
    pub const READ_CLOSED: Ready = Ready(1 << 2);
    /// The peer is gone for writes: writes fail. Sticky.
    pub const WRITE_CLOSED: Ready = Ready(1 << 3);
    /// An error is pending on the fd (`SO_ERROR`). Not sticky: the operation that reports
    /// the error takes it (`SO_ERROR` reads as zero afterwards), so a later `WouldBlock`
    /// clears this bit with the rest, and a new error raises a new edge.
    pub const ERROR: Ready = Ready(1 << 4);
    /// Priority (out-of-band) data is ready.
    pub const PRIORITY: Ready = Ready(1 << 5);
    /// The reactor is gone: every wait ends with an error. Sticky.
    pub(crate) const SHUTDOWN: Ready = Ready(1 << 6);

    /// All bits a reader wakes for.
    pub(crate) const READ_SIDE: Ready =
        Ready(Self::READABLE.0 | Self::READ_CLOSED.0 | Self::ERROR.0 | Self::SHUTDOWN.0);
    /// All bits a writer wakes for.
    pub(crate) const WRITE_SIDE: Ready =
        Ready(Self::WRITABLE.0 | Self::WRITE_CLOSED.0 | Self::ERROR.0 | Self::SHUTDOWN.0);
    /// Bits that, once set, stay set: a closed stream does not reopen. `ERROR` is not one
    /// of them: a pending error is reported once, by the first read or write to run, and a
    /// connected UDP socket lives on after an ICMP error, so a sticky `ERROR` would make
    /// every later wait ready at once, a busy loop of `WouldBlock`s.
    pub(crate) const STICKY: Ready =
        Ready(Self::READ_CLOSED.0 | Self::WRITE_CLOSED.0 | Self::SHUTDOWN.0);

    /// The number of bits `Ready` uses; the record's tick lives above them.
    pub(crate) const BITS: u32 = 7;
    pub(crate) const MASK: usize = (1 << Self::BITS) - 1;

    pub(crate) const fn from_usize(bits: usize) -> Ready {
        Ready(bits & Self::MASK)
    }

    pub(crate) const fn as_usize(self) -> usize {
        self.0
    }

    /// What a selector event reports, as readiness bits.
    pub(crate) fn from_event(event: &Event) -> Ready {
        let mut ready = Ready::EMPTY;
        if event.is_readable() {
            ready |= Ready::READABLE;
        }
        if event.is_writable() {
            ready |= Ready::WRITABLE;
        }
        if event.is_read_closed() {
            ready |= Ready::READ_CLOSED;
        }
        if event.is_write_closed() {
            ready |= Ready::WRITE_CLOSED;
        }
        if event.is_error() {
            ready |= Ready::ERROR;
        }
        if event.is_priority() {
            ready |= Ready::PRIORITY;
        }
        ready
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether any bit of `other` is set in `self`.
    pub const fn intersects(self, other: Ready) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether a read may make progress or would report end-of-stream.
    pub const fn is_readable(self) -> bool {
        self.intersects(Ready(Self::READABLE.0 | Self::READ_CLOSED.0))
    }

    /// Whether a write may make progress or would fail at once.
    pub const fn is_writable(self) -> bool {
        self.intersects(Ready(Self::WRITABLE.0 | Self::WRITE_CLOSED.0))
    }

    /// Whether the peer closed its write side.
    pub const fn is_read_closed(self) -> bool {
        self.intersects(Self::READ_CLOSED)
    }

    /// Whether writes can no longer succeed.
    pub const fn is_write_closed(self) -> bool {
        self.intersects(Self::WRITE_CLOSED)
    }

    /// Whether an error is pending.
    pub const fn is_error(self) -> bool {
        self.intersects(Self::ERROR)
    }

    /// Whether priority data is ready.
    pub const fn is_priority(self) -> bool {
        self.intersects(Self::PRIORITY)
    }

    pub(crate) const fn is_shutdown(self) -> bool {
        self.intersects(Self::SHUTDOWN)
    }
}

impl ops::BitOr for Ready {
    type Output = Ready;
    fn bitor(self, other: Ready) -> Ready {
        Ready(self.0 | other.0)
    }
}

impl ops::BitOrAssign for Ready {
    fn bitor_assign(&mut self, other: Ready) {
        self.0 |= other.0;
    }
}

impl ops::BitAnd for Ready {
    type Output = Ready;
    fn bitand(self, other: Ready) -> Ready {
        Ready(self.0 & other.0)
    }
}

impl ops::Sub for Ready {
    type Output = Ready;
    fn sub(self, other: Ready) -> Ready {
        Ready(self.0 & !other.0)
    }
}
