//! The task's single allocation: the header every queue and waker points at, and the typed
//! cell behind it.
//!
//! `Cell<F, S>` is `#[repr(C)]` with the [`Header`] first, so a `NonNull<Header>` is also a
//! pointer to the whole cell; the header's vtable recovers `F` and `S` when the typed code
//! runs. Field ownership is set by the state word (see `state.rs`); the owned-task links are
//! guarded by the owning [`OwnedTasks`](super::list::OwnedTasks) lock.

use std::future::Future;
use std::panic::Location;
use std::ptr::NonNull;
use std::task::Waker;

use eddy_wake::wait::{WaitRecord, WaitSlot};

use crate::loom::cell::TrackedCell;
use crate::loom::sync::atomic::AtomicU32;

use super::harness;
use super::id::TaskId;
use super::state::State;

/// The scheduler a task belongs to, as the task sees it.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// Queues a task that became runnable. Takes over the `Notified`'s reference.
    fn schedule(&self, task: Notified);

    /// The scheduler's owned-task list.
    fn owned(&self) -> &super::OwnedTasks;

    /// Removes a completed task from the scheduler's owned-task list. Returns `true` when
    /// it was there, handing the list's reference to the caller.
    fn release(&self, task: &RawTask) -> bool {
        self.owned().remove(task)
    }

    /// Debug mode's monitor, when it is on: the poll harness reports every poll to it.
    fn observer(&self) -> Option<&dyn super::Observer> {
        None
    }

    /// The name live task `id` was spawned with, if any (for `JoinHandle`'s `Debug`).
    fn name(&self, id: TaskId) -> Option<String> {
        self.owned().name(id)
    }
}

/// The part of a task every queue, waker and handle can see without knowing its types.
#[repr(C)]
pub(crate) struct Header {
    /// Flags and reference count; see `state.rs`.
    pub(crate) state: State,
    /// The typed operations for this task's future and scheduler.
    pub(crate) vtable: &'static Vtable,
    /// Unique for the life of the process.
    pub(crate) id: TaskId,
    /// Where `spawn` was called.
    pub(crate) location: &'static Location<'static>,
    /// The task whose poll spawned this one, if any (task dumps print the tree).
    pub(crate) parent: Option<TaskId>,
    /// When it was spawned, on the coarse clock (`clock.rs`), for its age in dumps.
    pub(crate) spawned_ns: u64,
    /// Number of polls so far. Written by the poller (the `RUNNING` holder) with a load
    /// and a store, read by snapshots (Relaxed: a statistic, not a synchronisation point).
    pub(crate) polls: AtomicU32,
    /// Position in the owned-task list's vector, or `UNLISTED`; guarded by that list's
    /// lock (`list.rs`).
    pub(crate) index: TrackedCell<u32>,
}

/// `Header::index` of a task that is not in its owned-task list.
pub(crate) const UNLISTED: u32 = u32::MAX;

/// The typed operations of one `Cell<F, S>`.
pub(crate) struct Vtable {
    /// Runs the task once (consumes a `Notified` reference).
    pub(crate) poll: unsafe fn(NonNull<Header>),
    /// Hands a `Notified` to the task's scheduler (consumes a reference).
    pub(crate) schedule: unsafe fn(NonNull<Header>),
    /// Frees the allocation (reference count reached zero).
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    /// Moves the output into `*mut Poll<Result<T, JoinError>>` or registers the waker.
    pub(crate) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    /// The `JoinHandle` is dropped (consumes its reference).
    pub(crate) drop_join_handle: unsafe fn(NonNull<Header>),
    /// Runtime shutdown: drops the future if nobody runs it (consumes the list's reference).
    pub(crate) shutdown: unsafe fn(NonNull<Header>),
    /// The task's name, asked of its scheduler (names live in its task list, not here).
    pub(crate) name: unsafe fn(NonNull<Header>) -> Option<String>,
    /// What the task's poll number `poll` waited on (`eddy_wake::wait`), for snapshots.
    pub(crate) wait: unsafe fn(NonNull<Header>, u32) -> Option<WaitRecord>,
}

/// The future, or what it left behind.
pub(crate) enum Stage<F: Future> {
    Running(F),
    Done(F::Output),
    /// Boxed twice so the stage stays two words for small futures: a thin pointer here.
    Panicked(Box<Box<dyn std::any::Any + Send + 'static>>),
    Cancelled,
    Consumed,
}

/// The whole task allocation.
#[repr(C)]
pub(crate) struct Cell<F: Future, S> {
    pub(crate) header: Header,
    pub(crate) scheduler: S,
    /// What the last poll waited on: written by the poller, read by snapshots
    /// (`eddy_wake::wait`'s sequence lock). Outside the header, which is kept to one cache
    /// line for the queues.
    pub(crate) wait: WaitSlot,
    /// Owned as `state.rs` says: by the `JoinHandle` while `JOIN_WAKER` is clear and the
    /// task is not complete, by the task while `JOIN_WAKER` is set.
    pub(crate) join_waker: TrackedCell<Option<Waker>>,
    /// Owned by the `RUNNING` holder until `COMPLETE`, then by the output's reader.
    pub(crate) stage: TrackedCell<Stage<F>>,
}

/// An untyped, counted pointer to a task. It does not own a reference by itself: the
/// wrappers ([`Notified`], the `JoinHandle`, wakers, the owned list) do.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

// SAFETY: a RawTask is an address; every access through it follows the state-word protocol,
// which hands the future and output between threads with AcqRel. Futures that are not Send
// never reach another thread: only `spawn_local` creates them, and its scheduler polls and
// drops them on its own thread (wakes from elsewhere only push the pointer to a queue).
unsafe impl Send for RawTask {}
// SAFETY: as above. Through a shared RawTask, threads read the header's fields fixed at
// creation (vtable, id, location, parent, spawn time) and use its atomics (state, polls);
// the one cell in the header, `index`, is touched only under the owned list's lock
// (list.rs), and the future and output only by the holder of RUNNING or COMPLETE.
unsafe impl Sync for RawTask {}

impl RawTask {
    /// Allocates a task holding `future`, in the initial state of `state.rs` (three
    /// references: owned list, `JoinHandle`, first `Notified`).
    pub(crate) fn new<F, S>(
        future: F,
        scheduler: S,
        id: TaskId,
        location: &'static Location<'static>,
        parent: Option<TaskId>,
    ) -> RawTask
    where
        F: Future + 'static,
        S: Schedule,
    {
        let cell = Box::new(Cell {
            header: Header {
                state: State::new(),
                vtable: harness::vtable::<F, S>(),
                id,
                location,
                parent,
                spawned_ns: super::clock::coarse_now_ns(),
                polls: AtomicU32::new(0),
                index: TrackedCell::new(UNLISTED),
            },
            scheduler,
            wait: WaitSlot::new(),
            join_waker: TrackedCell::new(None),
            stage: TrackedCell::new(Stage::Running(future)),
        });
        let ptr = NonNull::from(Box::leak(cell)).cast::<Header>();
        RawTask { ptr }
    }

    /// # Safety
    /// `ptr` points at a live task header.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> RawTask {
        RawTask { ptr }
    }

    pub(crate) fn header_ptr(self) -> NonNull<Header> {
        self.ptr
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: every RawTask in circulation is backed by a reference (held by whoever
        // handed it out), so the allocation is live while `self` is used.
        unsafe { self.ptr.as_ref() }
    }

    pub(crate) fn id(self) -> TaskId {
        self.header().id
    }

    /// Runs the task once. Consumes the caller's `Notified` reference.
    pub(crate) fn poll(self) {
        // SAFETY: the vtable belongs to this header's cell, and the caller gives up the
        // `Notified` reference the function consumes.
        unsafe { (self.header().vtable.poll)(self.ptr) }
    }

    /// Hands the task to its scheduler. Consumes one reference (which becomes the queued
    /// `Notified`'s).
    pub(crate) fn schedule(self) {
        // SAFETY: as in `poll`; the caller transitioned the state to NOTIFIED and owns the
        // reference being handed over.
        unsafe { (self.header().vtable.schedule)(self.ptr) }
    }

    /// The task's name, while it is alive and if it was given one.
    pub(crate) fn name(self) -> Option<String> {
        // SAFETY: as in `poll`; the caller holds a reference, so the cell is alive.
        unsafe { (self.header().vtable.name)(self.ptr) }
    }

    /// Shuts the task down. Consumes the owned list's reference.
    pub(crate) fn shutdown(self) {
        // SAFETY: as in `poll`; the caller took the task out of its owned list and owns
        // the list's reference.
        unsafe { (self.header().vtable.shutdown)(self.ptr) }
    }

    /// Drops one reference, freeing the task if it was the last.
    pub(crate) fn drop_reference(self) {
        if self.header().state.ref_dec() {
            // SAFETY: the count reached zero: nobody else can reach the allocation.
            unsafe { (self.header().vtable.dealloc)(self.ptr) }
        }
    }
}

/// A task in a run queue: owns one reference and is the only way to poll a task.
#[derive(Debug)]
pub(crate) struct Notified(RawTask);

impl Notified {
    /// Runs the task once.
    pub(crate) fn run(self) {
        let raw = self.0;
        std::mem::forget(self);
        raw.poll();
    }

    /// # Safety
    /// `raw` must carry a reference that this `Notified` takes over, and the task must be
    /// NOTIFIED (queued) on behalf of that reference.
    pub(crate) unsafe fn from_raw(raw: RawTask) -> Notified {
        Notified(raw)
    }

    /// The task, for identity and metadata (the reference stays with this `Notified`).
    pub(crate) fn raw(&self) -> RawTask {
        self.0
    }
}

impl Drop for Notified {
    /// A queued task dropped unrun (scheduler shutdown): only its reference goes away.
    fn drop(&mut self) {
        self.0.drop_reference();
    }
}

#[cfg(not(eddy_loom))]
const _: () = assert!(
    std::mem::size_of::<Header>() <= 64,
    "the task header must fit in one cache line"
);

impl Notified {
    /// Gives up the `Notified` as a `RawTask` that still carries its reference.
    pub(crate) fn into_raw(self) -> RawTask {
        let raw = self.0;
        std::mem::forget(self);
        raw
    }

    /// Gives up the `Notified` as a bare pointer that still owns its reference (for the
    /// LIFO slot's `AtomicPtr`); `Notified::from_raw(RawTask::from_raw(p))` takes it back.
    pub(crate) fn into_raw_ptr(self) -> *mut Header {
        let p = self.0.header_ptr().as_ptr();
        std::mem::forget(self);
        p
    }
}
