//! Wait records: what each task is waiting on, for task dumps.
//!
//! When a leaf future (a socket operation, a timer, a `JoinHandle`, a channel, ...) returns
//! `Pending`, it calls [`record`] with a static description of the operation ([`WaitOp`]),
//! one number naming the resource (an fd, a task id, a signal number, ...) and the
//! `#[track_caller]` location of the `.await`. The record lands in the [`WaitSlot`] of the
//! task being polled, which a scheduler marks with [`enter`] around each poll; a dump reads
//! every task's slot with [`WaitSlot::read`] from any thread, without stopping anyone.
//!
//! It lives here, beside the cooperative budget, for the same reason: the socket and timer
//! crates record without knowing the executor, and outside an eddy scheduler (a future
//! polled by another executor) [`record`] does nothing.
//!
//! # Semantics
//!
//! - **The last wait of a poll wins.** A poll may see several leaf futures return `Pending`
//!   (a `select` of two reads, a `JoinSet` polling its handles and then itself); the last
//!   one is what the poll returned `Pending` on, so its record stays. A future that polls
//!   children and wants its own record to stand records after polling them; one that wants
//!   a child's record to stand polls its own helpers inside [`quiet`].
//! - **A poll that records nothing leaves no record**: the task then waits on something
//!   eddy does not know (a future from another crate), and a stale record would mislead.
//!   A record carries the number of the poll that made it, and a reader asks for the
//!   record of the task's latest poll; an older one reads as none. So ending a poll costs
//!   no write.
//! - **Since** is when the record was made (the start of the current wait), on a clock the
//!   schedulers set with [`set_clock_ms`] after every park and every few dozen polls, so
//!   reading it costs a load, not a clock read. It is exact to within the time since the
//!   scheduler last set it.
//!
//! # Protocol
//!
//! The slot is a sequence lock with one writer at a time: the thread polling the task
//! (polls of one task are ordered by the task's state word, so successive writers see each
//! other's stores). The writer makes `seq` odd, stores the fields, then stores `seq` even
//! (Release). A reader loads `seq` (Acquire), the fields, and `seq` again after an Acquire
//! fence, and keeps the read only if both loads saw the same even value; otherwise it
//! retries a few times and then reports the slot as unreadable. Readers never block the
//! writer. `loom_tests` checks that a read never pairs one record's operation with
//! another's resource or site.
//!
//! # Cost
//!
//! Per `Pending`: a thread-local load, one relaxed load of the clock and six plain stores
//! into the task's own slot (no locked instruction): 0.9–1.8 ns on the 2-core machine of
//! docs/benchmarks.md. Per poll: the scheduler's [`enter`], a thread-local swap and its
//! restore, which do not touch the slot. Memory: a slot is four words (32
//! bytes) in every task. (Storing the operation and site as 32-bit offsets would save 8
//! bytes, but measured 2.5 ns per record instead of 0.9.)

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Instant;

use crate::loom::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::loom::sync::atomic::{AtomicPtr, AtomicU64, fence};

/// What kind of resource a wait is on, which says what its [`WaitRecord::object`] means.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum WaitKind {
    /// A file descriptor's readiness: the object is the fd.
    Fd,
    /// A timer: the object is the nanoseconds left until its deadline when recorded.
    Timer,
    /// Another task's completion: the object is that task's id.
    Task,
    /// A value one other task will send (a oneshot): the object is the id of the task the
    /// sending side was created in, or last used in with [`SENDER_USED`] set (evidence that
    /// the task holds it); 0 when unknown.
    Sender,
    /// A notification anyone holding the notifier may send: the object is 0.
    Notify,
    /// Any of a set of tasks: the object is how many are in the set.
    AnyTask,
    /// A signal's delivery: the object is the signal number.
    Signal,
    /// A child process's exit: the object is its pid.
    Process,
    /// Something else; the operation's name says what. The object is 0.
    Other,
}

impl WaitKind {
    /// A lower-case name, as dumps and their JSON spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            WaitKind::Fd => "fd",
            WaitKind::Timer => "timer",
            WaitKind::Task => "task",
            WaitKind::Sender => "sender",
            WaitKind::Notify => "notify",
            WaitKind::AnyTask => "any_task",
            WaitKind::Signal => "signal",
            WaitKind::Process => "process",
            WaitKind::Other => "other",
        }
    }

    /// The kind [`as_str`](Self::as_str) spells `name`.
    pub fn from_name(name: &str) -> Option<WaitKind> {
        Some(match name {
            "fd" => WaitKind::Fd,
            "timer" => WaitKind::Timer,
            "task" => WaitKind::Task,
            "sender" => WaitKind::Sender,
            "notify" => WaitKind::Notify,
            "any_task" => WaitKind::AnyTask,
            "signal" => WaitKind::Signal,
            "process" => WaitKind::Process,
            "other" => WaitKind::Other,
            _ => return None,
        })
    }
}

/// In a [`WaitKind::Sender`] record's object: the sending side was used in that task, not
/// only created there.
pub const SENDER_USED: u64 = 1 << 63;

/// One operation that can wait, described once as a `static`:
/// `static READ: WaitOp = WaitOp::new(WaitKind::Fd, "TcpStream::read");`
#[derive(Debug)]
pub struct WaitOp {
    kind: WaitKind,
    name: &'static str,
}

impl WaitOp {
    /// An operation named `name` (as users write it: `"TcpStream::read"`).
    pub const fn new(kind: WaitKind, name: &'static str) -> WaitOp {
        WaitOp { kind, name }
    }

    /// The resource kind.
    pub fn kind(&self) -> WaitKind {
        self.kind
    }

    /// The operation's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// One task's wait, as [`WaitSlot::read`] found it.
#[derive(Clone, Copy, Debug)]
pub struct WaitRecord {
    /// What is waiting.
    pub op: &'static WaitOp,
    /// The resource; what it means depends on `op.kind()` ([`WaitKind`]).
    pub object: u64,
    /// Where the waiting future was awaited (or created, for futures made by a
    /// `#[track_caller]` function).
    pub site: &'static Location<'static>,
    /// When the wait began, in milliseconds on the clock the scheduler sets
    /// ([`set_clock_ms`]); compare with `wrapping_sub` (it wraps after 49 days).
    pub since_ms: u32,
}

/// Where a task's scheduler keeps its wait record: one per task (and per `block_on`).
pub struct WaitSlot {
    /// Bits 0–15: the sequence (odd while written). 16–31: the low bits of the number of
    /// the poll that recorded. 32–63: `since_ms`.
    head: AtomicU64,
    /// The operation, or null for no record.
    op: AtomicPtr<WaitOp>,
    object: AtomicU64,
    site: AtomicPtr<Location<'static>>,
}

impl fmt::Debug for WaitSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitSlot").finish_non_exhaustive()
    }
}

/// How many times [`WaitSlot::read`] retries a read that raced a write.
const READ_TRIES: usize = 4;

/// The sequence's bits in `head`.
const SEQ: u64 = 0xffff;

impl WaitSlot {
    /// An empty slot.
    #[cfg(not(eddy_loom))]
    pub const fn new() -> WaitSlot {
        WaitSlot {
            head: AtomicU64::new(0),
            op: AtomicPtr::new(std::ptr::null_mut()),
            object: AtomicU64::new(0),
            site: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// An empty slot.
    #[cfg(eddy_loom)]
    pub fn new() -> WaitSlot {
        WaitSlot {
            head: AtomicU64::new(0),
            op: AtomicPtr::new(std::ptr::null_mut()),
            object: AtomicU64::new(0),
            site: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Stores a record made by poll number `poll`. Only the thread polling the slot's task
    /// calls it (module docs).
    #[inline]
    fn write(&self, op: &'static WaitOp, object: u64, site: &'static Location<'static>, poll: u32) {
        // Relaxed: only the current writer stores `head`, and earlier writers' stores
        // happen before this one (the task's state word orders its polls).
        let head = self.head.load(Relaxed);
        let odd = (head + 1) & SEQ;
        self.head.store((head & !SEQ) | odd, Relaxed);
        // Release: a reader that sees any field store below also sees the odd `seq`.
        fence(Release);
        self.op.store(std::ptr::from_ref(op).cast_mut(), Relaxed);
        self.object.store(object, Relaxed);
        self.site
            .store(std::ptr::from_ref(site).cast_mut(), Relaxed);
        let poll = u64::from(poll) & 0xffff;
        // Release: a reader that sees the even `seq` sees the fields stored before it.
        self.head.store(
            (u64::from(now_ms_cached()) << 32) | (poll << 16) | ((odd + 1) & SEQ),
            Release,
        );
    }

    /// The sequence number: it moves with every write (the writer's own view).
    #[inline]
    fn seq(&self) -> u16 {
        // Relaxed: the writer's own last store (see `write`); the thread polling the task
        // is the only writer.
        (self.head.load(Relaxed) & SEQ) as u16
    }

    /// The record made by poll number `poll` (the task's poll count before its latest
    /// poll), from any thread. `None` when that poll recorded nothing (it waited on
    /// something eddy does not know, or did not wait), or when every try raced a write (the
    /// task is being polled at that moment, busily). A record of an earlier poll is never
    /// returned; one made 65,536 polls earlier cannot be told apart.
    pub fn read(&self, poll: u32) -> Option<WaitRecord> {
        for _ in 0..READ_TRIES {
            // Acquire: pairs with the writer's final Release store of `head`.
            let before = self.head.load(Acquire);
            if before & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let op = self.op.load(Relaxed);
            let object = self.object.load(Relaxed);
            let site = self.site.load(Relaxed);
            // Acquire: if a field load above saw a newer write, the load of `head` below
            // sees at least that write's odd store (pairs with the writer's Release fence).
            fence(Acquire);
            if self.head.load(Relaxed) != before {
                continue;
            }
            if (before >> 16) & 0xffff != u64::from(poll) & 0xffff {
                return None;
            }
            // SAFETY: non-null pointers here were stored by `write` from `&'static`
            // references, which live forever and are never written through.
            let (op, site) = unsafe { (op.as_ref()?, site.as_ref()?) };
            return Some(WaitRecord {
                op,
                object,
                site,
                since_ms: (before >> 32) as u32,
            });
        }
        None
    }
}

impl Default for WaitSlot {
    fn default() -> Self {
        WaitSlot::new()
    }
}

/// The slot of the task this thread is polling, and that poll's number.
#[derive(Clone, Copy)]
struct Current {
    slot: *const WaitSlot,
    poll: u32,
}

const NONE: Current = Current {
    slot: std::ptr::null(),
    poll: 0,
};

#[cfg(not(eddy_loom))]
thread_local! {
    /// Null outside a poll and in `quiet`.
    static CURRENT: Cell<Current> = const { Cell::new(NONE) };
}

// loom runs model threads on one OS thread, so std's thread-locals would be shared.
#[cfg(eddy_loom)]
loom::thread_local! {
    static CURRENT: Cell<Current> = Cell::new(NONE);
}

/// For schedulers: leaf futures polled until the guard drops record into `slot`, as made
/// by the task's poll number `poll` (its poll count so far; a reader asks for the record
/// of the latest poll). The previous mark is restored on drop, so a nested `block_on`
/// unwinds correctly. Touches only this thread's thread-local, not the slot.
#[inline]
pub fn enter(slot: &WaitSlot, poll: u32) -> Entered<'_> {
    let prev = CURRENT.with(|c| c.replace(Current { slot, poll }));
    Entered {
        prev,
        _slot: std::marker::PhantomData,
    }
}

/// From [`enter`]: ends the poll's recording.
pub struct Entered<'a> {
    prev: Current,
    _slot: std::marker::PhantomData<&'a WaitSlot>,
}

impl Drop for Entered<'_> {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
    }
}

impl fmt::Debug for Entered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entered").finish_non_exhaustive()
    }
}

/// Runs `f` on the slot being recorded into, if any, with the poll's number.
#[inline]
fn with_current<R>(f: impl FnOnce(&WaitSlot, u32) -> R) -> Option<R> {
    let cur = CURRENT.with(Cell::get);
    // SAFETY: a non-null mark points at the slot `enter` borrowed, which its guard keeps
    // alive until it replaces the mark, after the poll `f` runs in.
    unsafe { cur.slot.as_ref() }.map(|slot| f(slot, cur.poll))
}

/// Records that the task being polled waits on `op` for `object`, awaited at `site`. For
/// leaf futures, when they return `Pending`. Does nothing outside an eddy scheduler's poll
/// and inside [`quiet`].
#[inline]
pub fn record(op: &'static WaitOp, object: u64, site: &'static Location<'static>) {
    with_current(|slot, poll| slot.write(op, object, site, poll));
}

/// `poll`, having [`record`]ed `op` on `object` at `site` if it is `Pending`: for the
/// `poll_*` methods of leaf futures.
#[inline]
pub fn pending<T>(
    poll: std::task::Poll<T>,
    op: &'static WaitOp,
    object: u64,
    site: &'static Location<'static>,
) -> std::task::Poll<T> {
    if poll.is_pending() {
        record(op, object, site);
    }
    poll
}

/// Where the current poll's record stands: for a future that records only if what it
/// wraps did not ([`Mark::record_if_silent`]).
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    seq: Option<u16>,
}

impl Mark {
    /// The record as it is now.
    #[inline]
    pub fn now() -> Mark {
        Mark {
            seq: with_current(|slot, _| slot.seq()),
        }
    }

    /// Records `op` unless something recorded since the mark was taken (a timeout whose
    /// wrapped future said what it waits on lets that stand).
    #[inline]
    pub fn record_if_silent(
        self,
        op: &'static WaitOp,
        object: u64,
        site: &'static Location<'static>,
    ) {
        with_current(|slot, poll| {
            if self.seq == Some(slot.seq()) {
                slot.write(op, object, site, poll);
            }
        });
    }
}

/// Runs `f` with recording off: for a future's own helpers whose waits should not
/// replace the record of what it wraps.
#[inline]
pub fn quiet<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Current);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CURRENT.with(|c| {
        c.replace(Current {
            slot: std::ptr::null(),
            ..c.get()
        })
    }));
    f()
}

/// A future that records `op` whenever the future it wraps returns `Pending`: from [`on`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct On<F> {
    future: F,
    op: &'static WaitOp,
    object: u64,
    site: &'static Location<'static>,
}

/// Wraps `future` so that each `Pending` it returns records `op`, `object` and `site` (after
/// whatever its inner futures recorded). For `async` operations of `#[track_caller]`
/// functions: `wait::on(&READ, fd, Location::caller(), async move { ... })`.
pub fn on<F: Future>(
    op: &'static WaitOp,
    object: u64,
    site: &'static Location<'static>,
    future: F,
) -> On<F> {
    On {
        future,
        op,
        object,
        site,
    }
}

impl<F: Future> Future for On<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: never moved out of `self`, and `On` has
        // no Drop of its own; the other fields are `Copy` and not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        let poll = future.poll(cx);
        if poll.is_pending() {
            record(this.op, this.object, this.site);
        }
        poll
    }
}

#[inline]
fn now_ms_cached() -> u32 {
    crate::loom::wait_clock_ms()
}

/// The zero of [`encode_instant`]: its first use in the process.
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// A deadline as a record's object (`WaitKind::Timer`): nanoseconds after the clock's zero
/// (0 for an instant before it). Timers on a paused or virtual clock encode their virtual
/// instant; [`decode_instant`] gives it back, to compare with that clock's `now`.
pub fn encode_instant(instant: Instant) -> u64 {
    instant.saturating_duration_since(origin()).as_nanos() as u64
}

/// The instant [`encode_instant`] encoded as `object`.
pub fn decode_instant(object: u64) -> Instant {
    origin() + std::time::Duration::from_nanos(object)
}

/// For schedulers: `now_ms` becomes the time new records get (`WaitRecord::since_ms`).
/// Call it after every park and every few dozen polls (module docs), with any cheap clock
/// in milliseconds (eddy's executor passes its coarse clock, which its dumps compare
/// against); only differences of its values mean anything.
#[inline]
pub fn set_clock_ms(now_ms: u32) {
    crate::loom::set_wait_clock_ms(now_ms);
}

#[cfg(all(test, not(eddy_loom)))]
mod tests;

#[cfg(all(test, eddy_loom))]
mod loom_tests;
