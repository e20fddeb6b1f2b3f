//! `Interest`: which readiness a registration asks for; never empty.

use std::fmt;
use std::num::NonZeroU8;
use std::ops;

/// The readiness a registration wants to hear about.
///
/// An `Interest` is never empty: the constants below are the only way to make one, `|`
/// combines them, and [`Interest::remove`] returns `None` rather than an empty value. A
/// registration that wants nothing should be deregistered instead.
///
/// ```
/// use eddy_selector::Interest;
///
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// assert_eq!(both.remove(Interest::WRITABLE), Some(Interest::READABLE));
/// assert_eq!(Interest::READABLE.remove(Interest::READABLE), None);
/// ```
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct Interest(NonZeroU8);

const READABLE: u8 = 0b001;
const WRITABLE: u8 = 0b010;
const PRIORITY: u8 = 0b100;

impl Interest {
    /// Data (or a connection, or end-of-stream) is ready to be read.
    pub const READABLE: Interest = Interest(NonZeroU8::new(READABLE).unwrap());
    /// Buffer space is free for a write, or a non-blocking connect finished.
    pub const WRITABLE: Interest = Interest(NonZeroU8::new(WRITABLE).unwrap());
    /// Out-of-band or priority data (`EPOLLPRI`: TCP urgent data, some device files).
    ///
    /// kqueue has no separate filter for it: there the interest is served by the read
    /// filter, so a priority registration reports plain readability.
    pub const PRIORITY: Interest = Interest(NonZeroU8::new(PRIORITY).unwrap());

    /// Both interests together (the same as `self | other`).
    #[must_use]
    pub const fn add(self, other: Interest) -> Interest {
        self.or(other)
    }

    const fn or(self, other: Interest) -> Interest {
        // `a | b` of two non-zero values is non-zero, so `new` cannot fail here.
        match NonZeroU8::new(self.0.get() | other.0.get()) {
            Some(bits) => Interest(bits),
            None => self,
        }
    }

    /// `self` without `other`, or `None` if nothing would be left.
    #[must_use]
    pub const fn remove(self, other: Interest) -> Option<Interest> {
        match NonZeroU8::new(self.0.get() & !other.0.get()) {
            Some(bits) => Some(Interest(bits)),
            None => None,
        }
    }

    /// Whether readability is asked for.
    pub const fn is_readable(self) -> bool {
        self.0.get() & READABLE != 0
    }

    /// Whether writability is asked for.
    pub const fn is_writable(self) -> bool {
        self.0.get() & WRITABLE != 0
    }

    /// Whether priority data is asked for.
    pub const fn is_priority(self) -> bool {
        self.0.get() & PRIORITY != 0
    }
}

impl ops::BitOr for Interest {
    type Output = Interest;

    fn bitor(self, other: Interest) -> Interest {
        self.or(other)
    }
}

impl ops::BitOrAssign for Interest {
    fn bitor_assign(&mut self, other: Interest) {
        *self = self.or(other);
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (READABLE, "READABLE"),
            (WRITABLE, "WRITABLE"),
            (PRIORITY, "PRIORITY"),
        ];
        let mut first = true;
        for (bit, name) in names {
            if self.0.get() & bit != 0 {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}
