//! One polling thread's stack-capture buffer and the handshake that hands it between the
//! watchdog and that thread's signal handler (see the module docs of `debug/`).
//!
//! `state` says who owns `frames`:
//!
//! | state       | owner of `frames` | moved on by                                                |
//! | ----------- | ----------------- | ---------------------------------------------------------- |
//! | `IDLE`      | the watchdog      | the watchdog's `request` (→ `REQUESTED`)                   |
//! | `REQUESTED` | nobody            | the handler's `fill` (→ `CAPTURING`), or `give_up` (→ `IDLE`) |
//! | `CAPTURING` | the handler       | the handler, when it has written the frames (→ `DONE`)     |
//! | `DONE`      | the watchdog      | `take` or `give_up` (→ `IDLE`), or a new `request`         |
//!
//! A handler that runs late (the watchdog gave up on it while the signal was blocked, or a
//! queued duplicate of the signal) finds `IDLE` or `DONE` and returns without touching the
//! buffer, or finds a newer `REQUESTED` and fills that: a stack of the same thread, taken
//! after that request was made, which is what the request asked for. The watchdog never
//! reuses the buffer while a handler may write it: `give_up` leaves a `CAPTURING` buffer to
//! its handler, and `request` refuses until that handler has set `DONE`. One thread requests
//! on a capture at a time (`signal.rs` serialises every request in the process), so
//! `request`, `take` and `give_up` never race each other.

use crate::loom::cell::TrackedCell;
use crate::loom::sync::atomic::AtomicU32;
use crate::loom::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

/// Return addresses kept per capture; deeper frames (the thread's start, mostly) are cut.
#[cfg(not(eddy_loom))]
pub(super) const MAX_FRAMES: usize = 128;
/// A small buffer under loom: the protocol is the same and every copy is explored.
#[cfg(eddy_loom)]
pub(super) const MAX_FRAMES: usize = 4;

const IDLE: u32 = 0;
const REQUESTED: u32 = 1;
const CAPTURING: u32 = 2;
const DONE: u32 = 3;

/// What a handler wrote: return addresses, innermost first.
pub(super) struct Frames {
    /// `ips[..len]` hold the frames.
    pub(super) len: usize,
    /// How many of the first frames are the capture's own (the handler, the unwinder and the
    /// kernel's signal trampoline), to drop; 0 if the handler did not find itself.
    pub(super) skip: usize,
    pub(super) ips: [usize; MAX_FRAMES],
}

/// A polling thread's capture buffer; see the module docs for the protocol.
pub(crate) struct Capture {
    state: AtomicU32,
    frames: TrackedCell<Frames>,
    /// The owning thread's kernel thread id (Linux `gettid`), what `tgkill` signals.
    pub(super) tid: i32,
}

// SAFETY: `frames` is only touched by whoever `state` says owns it (module docs): the
// handler between its claim (`REQUESTED` → `CAPTURING`) and `DONE`, the watchdog while the
// state is `IDLE` or `DONE`; each hand-over is a Release store or RMW read by an Acquire one.
unsafe impl Sync for Capture {}
// SAFETY: as above; `Frames` is plain integers.
unsafe impl Send for Capture {}

impl Capture {
    pub(crate) fn new(tid: i32) -> Capture {
        Capture {
            state: AtomicU32::new(IDLE),
            frames: TrackedCell::new(Frames {
                len: 0,
                skip: 0,
                ips: [0; MAX_FRAMES],
            }),
            tid,
        }
    }

    /// The watchdog asks for a capture (before signalling the thread). `false` if a handler
    /// still owns the buffer (it claimed an earlier request and has not finished): the
    /// watchdog must not touch it, and reports without a stack.
    pub(super) fn request(&self) -> bool {
        // Release (both): pairs with the handler's Acquire claim in `fill`, so the
        // watchdog's last read of the buffer happens before the handler's writes. From
        // `DONE` (a late handler finished after `give_up`) also Acquire: pairs with that
        // handler's Release store of `DONE`, so its writes are over before ours may begin.
        self.state
            .compare_exchange(IDLE, REQUESTED, Release, Relaxed)
            .or_else(|_| {
                self.state
                    .compare_exchange(DONE, REQUESTED, AcqRel, Relaxed)
            })
            .is_ok()
    }

    /// The signal handler, on the owning thread: claims a pending request and runs `write`
    /// on the buffer's frame array, which returns `(len, skip)`. Without a request (a late
    /// or duplicate signal) it does nothing. Async-signal-safe: atomics and plain stores.
    pub(super) fn fill(&self, write: impl FnOnce(&mut [usize; MAX_FRAMES]) -> (usize, usize)) {
        // Acquire: pairs with the Release in `request`; the watchdog is done reading.
        if self
            .state
            .compare_exchange(REQUESTED, CAPTURING, Acquire, Relaxed)
            .is_err()
        {
            return;
        }
        self.frames.with_mut(|f| {
            // SAFETY: the claim above made this handler the buffer's only user until it
            // stores `DONE` below (module docs): `request`, `take` and `give_up` leave a
            // `CAPTURING` buffer alone.
            let f = unsafe { &mut *f };
            let (len, skip) = write(&mut f.ips);
            f.len = len.min(MAX_FRAMES);
            f.skip = skip.min(f.len);
        });
        // Release: pairs with the Acquire loads in `take`, `give_up` and `request`, which
        // then see the frames written above.
        self.state.store(DONE, Release);
    }

    /// The watchdog, waiting: the frames (capture's own dropped) if the handler is done.
    pub(super) fn take(&self) -> Option<Vec<usize>> {
        // Acquire: pairs with the Release store of `DONE` in `fill`.
        if self.state.load(Acquire) != DONE {
            return None;
        }
        Some(self.read_and_release())
    }

    /// The watchdog stops waiting: withdraws a request no handler has claimed (a handler
    /// that runs later finds none), or takes the frames if the handler finished meanwhile.
    /// A handler still capturing keeps the buffer; the next `request` waits for its `DONE`.
    pub(super) fn give_up(&self) -> Option<Vec<usize>> {
        // Acquire on failure: pairs with the Release store of `DONE` in `fill`.
        match self
            .state
            .compare_exchange(REQUESTED, IDLE, Relaxed, Acquire)
        {
            Err(DONE) => Some(self.read_and_release()),
            Ok(_) | Err(_) => None,
        }
    }

    /// Copies the frames out of a `DONE` buffer and hands it back (`IDLE`).
    fn read_and_release(&self) -> Vec<usize> {
        let ips = self.frames.with(|f| {
            // SAFETY: the state is `DONE`, seen by an Acquire load: the handler has stopped
            // writing, and only this watchdog (requests are serialised) reads it now.
            let f = unsafe { &*f };
            f.ips[f.skip..f.len].to_vec()
        });
        // Relaxed: what orders this read before a handler's writes is the next `request`'s
        // Release (made by this thread, or by one the request lock orders after it), which
        // the handler's claim acquires.
        self.state.store(IDLE, Relaxed);
        ips
    }
}
