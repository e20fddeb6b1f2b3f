//! One polling thread's slot: the sequence lock the watchdog reads (see the module docs of
//! `debug/`).

use std::panic::Location;
use std::sync::Arc;

use super::capture::Capture;
use crate::loom::cell::TrackedCell;
use crate::loom::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, fence};
use crate::task::PollEnd;

/// One polling thread's view for the watchdog; see the module docs for the protocol.
pub(crate) struct Slot {
    seq: AtomicU64,
    task: AtomicU64,
    location: AtomicPtr<Location<'static>>,
    pub(super) thread: String,
    /// The owning thread's copy of `seq`, so it never loads the atomic it alone writes.
    mine: TrackedCell<u64>,
    /// Set as the owning thread exits (`exit`), after its last poll: from then on the slot
    /// never changes, and the watchdog forgets it once it has read it.
    exited: AtomicBool,
    /// The owning thread's stack-capture buffer (shared by its slots in every monitor), and
    /// with it the thread id to signal; recorded once, on that thread, as it registers.
    /// `None` where native stacks are off or unsupported, and in the loom models.
    #[cfg_attr(
        not(all(feature = "native-stacks", target_os = "linux")),
        allow(dead_code, reason = "read only where native stacks are built")
    )]
    pub(super) capture: Option<Arc<Capture>>,
}

// SAFETY: `mine` is only touched by the thread that owns the slot (`begin`/`end`, called
// from that thread's polls); everything else in the slot is atomic or immutable.
unsafe impl Sync for Slot {}
// SAFETY: as above; the owner registers the slot and only its own thread writes `mine`.
unsafe impl Send for Slot {}

/// What the watchdog read from a slot.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Seen {
    Idle,
    Polling {
        seq: u64,
        task: u64,
        location: &'static Location<'static>,
    },
    /// The slot changed while it was read: look again next tick.
    Torn,
}

impl Slot {
    pub(crate) fn new(thread: String, capture: Option<Arc<Capture>>) -> Slot {
        Slot {
            seq: AtomicU64::new(0),
            task: AtomicU64::new(0),
            location: AtomicPtr::new(std::ptr::null_mut()),
            thread,
            mine: TrackedCell::new(0),
            exited: AtomicBool::new(false),
            capture,
        }
    }

    /// The owning thread is exiting and will never poll with this slot again.
    pub(super) fn exit(&self) {
        // Release: the watchdog's load in `has_exited` that sees this sees the last `end`.
        self.exited.store(true, Release);
    }

    /// Whether the owning thread has exited (`exit`); the watchdog's.
    pub(super) fn has_exited(&self) -> bool {
        // Acquire: pairs with the Release store in `exit`, so a read after this one sees
        // the thread's last `end`.
        self.exited.load(Acquire)
    }

    /// Whether the owning thread (the caller) is inside a poll it began here. Not on the
    /// task poll path: `mine` is only brought up to date by `end`, and this loads `seq`.
    pub(super) fn in_poll(&self) -> bool {
        // Relaxed: only the caller stores `seq`, and a thread always sees its own latest
        // store.
        !self.seq.load(Relaxed).is_multiple_of(2)
    }

    /// The owning thread starts a poll; returns the odd sequence number to pass to `end`.
    #[inline]
    pub(crate) fn begin(&self, task: u64, location: &'static Location<'static>) -> u64 {
        // SAFETY: only the owning thread (the caller) touches `mine`.
        let s = self.mine.with(|m| unsafe { *m });
        // Polls of one scheduler never nest on a thread: a nested current-thread `block_on`
        // is refused before it polls anything, and `begin_main` skips a main future polled
        // inside another poll. If one did, the inner poll would reuse this number: the
        // watchdog could misname that poll, nothing worse. (`mine` is even here whatever
        // happens, as only `end` writes it; the check guards that invariant.)
        debug_assert!(
            s.is_multiple_of(2),
            "invariant: `mine` is even between polls"
        );
        // Release fence: a reader that sees the stores below also sees `seq` at `s` or
        // later (its Acquire fence pairs with this one), so it cannot mistake them for the
        // previous poll's, which it read under `s - 1`.
        fence(Release);
        self.task.store(task, Relaxed);
        self.location
            .store(std::ptr::from_ref(location).cast_mut(), Relaxed);
        // Release: a reader that sees `s + 1` sees the stores above.
        self.seq.store(s + 1, Release);
        s + 1
    }

    /// The owning thread ends the poll whose `begin` returned `seq`.
    #[inline]
    pub(crate) fn end(&self, seq: u64) {
        // Release: ordered before the next `begin`'s fence, which is what lets a reader tell
        // the two polls apart.
        self.seq.store(seq + 1, Release);
        // SAFETY: only the owning thread (the caller) touches `mine`.
        self.mine.with_mut(|m| unsafe { *m = seq + 1 });
    }

    /// The watchdog's read.
    pub(crate) fn read(&self) -> Seen {
        // Acquire: pairs with the Release store of the odd `seq` in `begin`.
        let s1 = self.seq.load(Acquire);
        if s1.is_multiple_of(2) {
            return Seen::Idle;
        }
        let task = self.task.load(Relaxed);
        let location = self.location.load(Relaxed);
        // Acquire fence: if the loads above saw a later `begin`'s stores, the load below
        // sees that `begin`'s `seq` or later (pairs with its Release fence).
        fence(Acquire);
        let s2 = self.seq.load(Relaxed);
        if s1 != s2 {
            return Seen::Torn;
        }
        // SAFETY: `begin` stored a `&'static Location` before publishing `s1`, and the
        // sequence check proves this is that store's value.
        let location = unsafe { &*location };
        Seen::Polling {
            seq: s1,
            task,
            location,
        }
    }
}

impl PollEnd for Slot {
    #[inline]
    fn end(&self, token: u64) {
        Slot::end(self, token);
    }
}
