//! A worker's run queue: a fixed ring buffer the owner pushes to and pops from, and other
//! workers steal half of.
//!
//! # Protocol
//!
//! The design follows the Chase–Lev work-stealing deque (Chase & Lev, "Dynamic Circular
//! Work-Stealing Deque", SPAA 2005) in spirit and tokio's variant in detail: the owner works
//! at both ends, FIFO (it pops from the head, like thieves), and a thief claims a whole
//! batch in two steps so the owner never overwrites slots still being copied.
//!
//! - `tail` (u32): written only by the owner, after it has written the slot (Release);
//!   thieves read it with Acquire, which makes the slot contents visible.
//! - `head` (u64) packs two u32 indices, `(steal, real)`. Entries in `[real, tail)` are
//!   queued. Entries in `[steal, real)` are being copied by a thief. When no steal is in
//!   progress `steal == real`.
//! - Owner `pop`: CAS `real` to `real + 1` (and `steal` with it when equal); the won slot is
//!   the owner's.
//! - Owner `push`: free space is `CAPACITY - (tail - steal)`: slots a thief is copying stay
//!   reserved. When full and no steal is in progress, the owner claims half the queue with
//!   one CAS on `head` and moves it, plus the new task, to the global queue (overflow).
//!   When full during a steal, the new task alone goes to the global queue.
//! - Thief `steal_into`: (1) if `steal != real` another thief is busy: give up; (2) CAS
//!   `(s, r)` to `(s, r + n)` with `n` = half of `tail - r`, rounded up, claiming `[r, r+n)`;
//!   (3) copy those slots into its own queue; (4) CAS `steal` up to `real`, releasing the
//!   slots to the owner (AcqRel: its reads happen-before the owner's later writes).
//! - Indices wrap; `CAPACITY` is a power of two below 2^32, so wrapping subtraction gives
//!   lengths. An ABA on `head` needs 2^32 operations between a thief's load and CAS.

use std::mem::MaybeUninit;

use crate::loom::cell::TrackedCell;
use crate::loom::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use crate::loom::sync::atomic::{AtomicU32, AtomicU64};
use crate::task::{Notified, RawTask};

/// Slots per worker queue.
#[cfg(not(eddy_loom))]
pub(crate) const CAPACITY: usize = 256;
/// Small under loom so overflow is reachable in a model.
#[cfg(eddy_loom)]
pub(crate) const CAPACITY: usize = 4;
const MASK: u32 = CAPACITY as u32 - 1;

/// A fixed-capacity work-stealing queue of tasks.
pub(crate) struct Local {
    head: AtomicU64,
    tail: AtomicU32,
    slots: Box<[TrackedCell<MaybeUninit<RawTask>>]>,
}

// SAFETY: the slots are only reached through the protocol in the module doc, which gives
// each slot one writer at a time and orders reads after writes through `head` and `tail`;
// the tasks in them are `Send` (RawTask).
unsafe impl Sync for Local {}
// SAFETY: as above; moving the queue moves plain task pointers.
unsafe impl Send for Local {}

fn pack(steal: u32, real: u32) -> u64 {
    (u64::from(steal) << 32) | u64::from(real)
}

fn unpack(v: u64) -> (u32, u32) {
    ((v >> 32) as u32, v as u32)
}

/// Where overflowing tasks go: the scheduler's global queue.
pub(crate) trait Overflow {
    /// Takes a batch of tasks (each owning its reference).
    fn push_batch(&self, tasks: Vec<Notified>);
}

/// A task `push` could not place, with the indices it read (`head`'s two halves, `tail`).
struct Full {
    task: Notified,
    steal: u32,
    real: u32,
    tail: u32,
}

impl Local {
    pub(crate) fn new() -> Local {
        Local {
            head: AtomicU64::new(0),
            tail: AtomicU32::new(0),
            slots: (0..CAPACITY)
                .map(|_| TrackedCell::new(MaybeUninit::uninit()))
                .collect(),
        }
    }

    /// Tasks queued (a snapshot; exact only for the owner).
    pub(crate) fn len(&self) -> usize {
        // Acquire: pairs with the AcqRel CAS on `head` and the Release store of `tail`.
        let (_, real) = unpack(self.head.load(Acquire));
        self.tail.load(Acquire).wrapping_sub(real) as usize
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Owner only: queues `task`, moving half the queue to `overflow` when full.
    ///
    /// # Safety
    /// Only the queue's owner thread calls `push` and `pop`.
    #[inline]
    pub(crate) unsafe fn push(&self, task: Notified, overflow: &dyn Overflow) {
        // The common case, a free slot, is inlined into the scheduler; a full queue or a
        // concurrent steal goes out of line.
        // SAFETY: forwarded owner-only precondition.
        if let Err(full) = unsafe { self.try_push(task) } {
            // SAFETY: as above.
            unsafe { self.push_slow(full, overflow) }
        }
    }

    /// Writes `task` into a free slot, or hands it back with what `push_slow` needs when
    /// the queue looked full.
    ///
    /// # Safety
    /// Owner only.
    #[inline(always)]
    unsafe fn try_push(&self, task: Notified) -> Result<(), Full> {
        // Acquire: pairs with thieves' AcqRel release of claimed slots (step 4).
        let (steal, real) = unpack(self.head.load(Acquire));
        // Relaxed: only this thread writes `tail`.
        let tail = self.tail.load(Relaxed);
        if tail.wrapping_sub(steal) < CAPACITY as u32 {
            let idx = (tail & MASK) as usize;
            // SAFETY: the slot is outside `[steal, tail)`, so no thief reads it, and only
            // the owner writes slots.
            self.slots[idx].with_mut(|p| unsafe { (*p).write(task.into_raw()) });
            // Release: pairs with the Acquire load of `tail` in `steal_into`.
            self.tail.store(tail.wrapping_add(1), Release);
            return Ok(());
        }
        Err(Full {
            task,
            steal,
            real,
            tail,
        })
    }

    /// `push` when the queue looked full: overflows half the queue, retrying the free-slot
    /// path whenever a thief got in first.
    ///
    /// # Safety
    /// Owner only.
    #[cold]
    #[inline(never)]
    unsafe fn push_slow(&self, full: Full, overflow: &dyn Overflow) {
        let mut full = full;
        loop {
            let Full {
                task,
                steal,
                real,
                tail,
            } = full;
            if steal != real {
                // A thief is copying: it will free space; send just this task away.
                overflow.push_batch(vec![task]);
                return;
            }
            // SAFETY: forwarded owner-only precondition.
            let task = match unsafe { self.push_overflow(task, real, tail, overflow) } {
                Ok(()) => return,
                Err(t) => t,
            };
            // SAFETY: as above.
            match unsafe { self.try_push(task) } {
                Ok(()) => return,
                Err(f) => full = f,
            }
        }
    }

    /// Claims half of a full queue and sends it, with `task`, to `overflow`.
    ///
    /// # Safety
    /// Owner only.
    unsafe fn push_overflow(
        &self,
        task: Notified,
        head: u32,
        tail: u32,
        overflow: &dyn Overflow,
    ) -> Result<(), Notified> {
        let n = CAPACITY as u32 / 2;
        debug_assert_eq!(tail.wrapping_sub(head), CAPACITY as u32);
        let next = head.wrapping_add(n);
        // AcqRel: claiming the slots; pairs with thieves' CAS on `head`.
        if self
            .head
            .compare_exchange(pack(head, head), pack(next, next), AcqRel, Acquire)
            .is_err()
        {
            // A thief or nobody changed head: retry the normal path.
            return Err(task);
        }
        let mut batch = Vec::with_capacity(n as usize + 1);
        for i in 0..n {
            let idx = (head.wrapping_add(i) & MASK) as usize;
            // SAFETY: the CAS made `[head, head + n)` ours; each slot holds a task written
            // by an earlier push.
            let raw = self.slots[idx].with(|p| unsafe { (*p).assume_init_read() });
            // SAFETY: the slot owned the task's queued reference, now moved out.
            batch.push(unsafe { Notified::from_raw(raw) });
        }
        batch.push(task);
        overflow.push_batch(batch);
        Ok(())
    }

    /// Owner only: takes the oldest task.
    ///
    /// # Safety
    /// Only the queue's owner thread calls `push` and `pop`.
    pub(crate) unsafe fn pop(&self) -> Option<Notified> {
        // Acquire: pairs with thieves' AcqRel CAS on `head`.
        let mut head = self.head.load(Acquire);
        let idx = loop {
            let (steal, real) = unpack(head);
            // Relaxed: only this thread writes `tail`.
            if real == self.tail.load(Relaxed) {
                return None;
            }
            let next_real = real.wrapping_add(1);
            let next = if steal == real {
                pack(next_real, next_real)
            } else {
                pack(steal, next_real)
            };
            // AcqRel: pairs with thieves' CAS on `head`.
            match self.head.compare_exchange(head, next, AcqRel, Acquire) {
                Ok(_) => break (real & MASK) as usize,
                Err(actual) => head = actual,
            }
        };
        // SAFETY: the CAS won slot `real`, which a push filled.
        let raw = self.slots[idx].with(|p| unsafe { (*p).assume_init_read() });
        // SAFETY: the slot owned the queued reference.
        Some(unsafe { Notified::from_raw(raw) })
    }

    /// Thief: moves about half of `self`'s tasks into `dst` and returns one of them to run.
    ///
    /// # Safety
    /// The caller is `dst`'s owner thread, `dst` is not `self`, and `dst` is empty.
    pub(crate) unsafe fn steal_into(&self, dst: &Local) -> Option<Notified> {
        // Relaxed: the caller owns `dst`'s tail.
        let dst_tail = dst.tail.load(Relaxed);
        // Acquire: pairs with thieves of `dst` releasing their claims.
        let (dst_steal, _) = unpack(dst.head.load(Acquire));
        if dst_tail.wrapping_sub(dst_steal) > CAPACITY as u32 / 2 {
            return None;
        }
        // Acquire: pairs with the owner's and other thieves' AcqRel CAS on `head`.
        let mut head = self.head.load(Acquire);
        let (first, n) = loop {
            let (steal, real) = unpack(head);
            if steal != real {
                return None;
            }
            // Acquire: pairs with the owner's Release store of `tail`: the slots are filled.
            let tail = self.tail.load(Acquire);
            let len = tail.wrapping_sub(real);
            let n = len - len / 2;
            if n == 0 || len > CAPACITY as u32 {
                return None;
            }
            // AcqRel: pairs with the owner's pop/overflow CAS and other thieves'.
            match self.head.compare_exchange(
                head,
                pack(steal, real.wrapping_add(n)),
                AcqRel,
                Acquire,
            ) {
                Ok(_) => break (real, n),
                Err(actual) => head = actual,
            }
        };
        for i in 0..n {
            let src_idx = (first.wrapping_add(i) & MASK) as usize;
            let dst_idx = (dst_tail.wrapping_add(i) & MASK) as usize;
            // SAFETY: `[first, first + n)` is claimed (in the steal range), so the owner
            // neither pops nor overwrites it until we release it below.
            let raw = self.slots[src_idx].with(|p| unsafe { (*p).assume_init_read() });
            // SAFETY: we own `dst` and this slot is beyond its tail, outside any range a
            // thief of `dst` reads (we checked `dst` has room).
            dst.slots[dst_idx].with_mut(|p| unsafe { (*p).write(raw) });
        }
        // Release the claimed slots: `steal` catches up with `real`.
        let mut head = self.head.load(Acquire);
        loop {
            let (steal, real) = unpack(head);
            debug_assert_eq!(steal, first);
            // AcqRel: our slot reads happen-before the owner reuses them (its Acquire load
            // of `head` in `push`).
            match self
                .head
                .compare_exchange(head, pack(real, real), AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(actual) => head = actual,
            }
        }
        // Keep the last stolen task to run now; publish the rest.
        let last = (dst_tail.wrapping_add(n - 1) & MASK) as usize;
        // SAFETY: written just above and not yet published.
        let raw = dst.slots[last].with(|p| unsafe { (*p).assume_init_read() });
        if n > 1 {
            // Release: pairs with `dst` thieves' Acquire of `tail`.
            dst.tail.store(dst_tail.wrapping_add(n - 1), Release);
        }
        // SAFETY: the slot owned the queued reference.
        Some(unsafe { Notified::from_raw(raw) })
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        // Shutdown drains queues before dropping them; anything left is released here so no
        // reference leaks.
        // SAFETY: `&mut self`: nobody else can reach the queue.
        while let Some(task) = unsafe { self.pop() } {
            drop(task);
        }
    }
}

#[cfg(all(test, eddy_loom))]
mod loom_tests;
#[cfg(all(test, not(eddy_loom), not(miri)))]
mod proptests;
#[cfg(all(test, not(eddy_loom)))]
mod tests;
