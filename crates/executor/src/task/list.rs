//! `OwnedTasks`: every live task of one scheduler, for shutdown and snapshots.
//!
//! An intrusive doubly linked list through `Header::links`, under one mutex. The list owns
//! one reference to each task in it (state.rs). A task enters at spawn (`bind`) and leaves
//! when it completes (`remove`, from `complete`) or at shutdown (`close_and_drain`). After
//! `close`, `bind` refuses new tasks, so shutdown cannot miss one spawned concurrently.
//! Names live in a side table here rather than in every task's header: most tasks have none.

use std::collections::HashMap;
use std::future::Future;
use std::panic::Location;
use std::ptr::NonNull;
use std::time::Duration;

use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::Ordering::Relaxed;

use super::id::{Builder, TaskId, TaskInfo, TaskState};
use super::join::JoinHandle;
use super::raw::{Header, Notified, RawTask, Schedule};
use super::state::{CANCELLED, COMPLETE, NOTIFIED, RUNNING};

/// The live tasks of one scheduler.
pub(crate) struct OwnedTasks {
    inner: Mutex<Inner>,
}

struct Inner {
    head: Option<NonNull<Header>>,
    len: usize,
    closed: bool,
    names: HashMap<TaskId, Box<str>>,
}

// SAFETY: the raw pointers in `Inner` are task headers the list holds references to; they
// are only followed under the mutex, and task headers are themselves Send + Sync.
unsafe impl Send for Inner {}

impl OwnedTasks {
    pub(crate) fn new() -> OwnedTasks {
        OwnedTasks {
            inner: Mutex::new(Inner {
                head: None,
                len: 0,
                closed: false,
                names: HashMap::new(),
            }),
        }
    }

    /// Creates a task and adds it to the list. Returns its `JoinHandle` and, unless the list
    /// is closed (the task was then cancelled on the spot), the `Notified` to queue.
    pub(crate) fn bind<F, S>(
        &self,
        future: F,
        scheduler: S,
        builder: Builder<'_>,
        location: &'static Location<'static>,
    ) -> (JoinHandle<F::Output>, Option<Notified>)
    where
        F: Future + 'static,
        S: Schedule,
    {
        let id = TaskId::next();
        let raw = RawTask::new(future, scheduler, id, location);
        // SAFETY: a new task carries one reference for its JoinHandle (state.rs INITIAL),
        // and its output type is F::Output.
        let join = unsafe { JoinHandle::new(raw) };
        // SAFETY: and one for its first Notified; it starts NOTIFIED.
        let notified = unsafe { Notified::from_raw(raw) };
        let mut inner = self.inner.lock().unwrap();
        if inner.closed {
            drop(inner);
            // The list's reference goes to shutdown, which cancels the future at once.
            raw.shutdown();
            drop(notified);
            return (join, None);
        }
        if let Some(name) = builder.name {
            inner.names.insert(id, name.into());
        }
        let head = inner.head;
        // SAFETY: links and `listed` are guarded by the list lock, which we hold; the task
        // is new and `head` (if any) is in this list.
        raw.header().links.with_mut(|l| unsafe {
            (*l).prev = None;
            (*l).next = head;
        });
        if let Some(h) = head {
            // SAFETY: as above.
            let h = unsafe { h.as_ref() };
            // SAFETY: as above.
            h.links
                .with_mut(|l| unsafe { (*l).prev = Some(raw.header_ptr()) });
        }
        // SAFETY: as above.
        raw.header().listed.with_mut(|b| unsafe { *b = true });
        inner.head = Some(raw.header_ptr());
        inner.len += 1;
        (join, Some(notified))
    }

    /// Takes `task` out of the list. `true` when it was there: the list's reference is the
    /// caller's now.
    pub(crate) fn remove(&self, task: &RawTask) -> bool {
        let mut inner = self.inner.lock().unwrap();
        // SAFETY: guarded by the list lock, held.
        let listed = task.header().listed.with(|b| unsafe { *b });
        if !listed {
            return false;
        }
        // SAFETY: the task is in this list (only its own scheduler's list ever holds it).
        unsafe { inner.unlink(task.header_ptr()) };
        if !inner.names.is_empty() {
            inner.names.remove(&task.id());
        }
        true
    }

    /// Refuses further `bind`s and hands back every task in the list, each with the list's
    /// reference, for the caller to `shutdown`.
    pub(crate) fn close_and_drain(&self) -> Vec<RawTask> {
        let mut inner = self.inner.lock().unwrap();
        inner.closed = true;
        let mut out = Vec::with_capacity(inner.len);
        while let Some(head) = inner.head {
            // SAFETY: head is in this list, whose lock we hold.
            unsafe { inner.unlink(head) };
            // SAFETY: the list's reference keeps it alive; it now travels in `out`.
            out.push(unsafe { RawTask::from_raw(head) });
        }
        inner.names.clear();
        out
    }

    /// Number of live tasks.
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().unwrap().len
    }

    /// A copy of every live task's metadata.
    pub(crate) fn snapshot(&self) -> Vec<TaskInfo> {
        let inner = self.inner.lock().unwrap();
        let mut out = Vec::with_capacity(inner.len);
        let mut cur = inner.head;
        while let Some(ptr) = cur {
            // SAFETY: every task in the list is alive (the list holds a reference), and
            // the links are guarded by the lock we hold.
            let h = unsafe { ptr.as_ref() };
            let s = h.state.load();
            let state = if s.is(COMPLETE) {
                TaskState::Complete
            } else if s.is(RUNNING) {
                TaskState::Running
            } else if s.is(NOTIFIED) {
                TaskState::Scheduled
            } else {
                TaskState::Idle
            };
            out.push(TaskInfo {
                id: h.id,
                name: inner.names.get(&h.id).map(|n| n.to_string()),
                location: h.location,
                state,
                cancelled: s.is(CANCELLED),
                polls: u64::from(h.polls.load(Relaxed)),
                busy: Duration::from_nanos(h.busy_ns.load(Relaxed)),
            });
            // SAFETY: as above.
            cur = h.links.with(|l| unsafe { (*l).next });
        }
        out
    }
}

impl Inner {
    /// # Safety
    /// `ptr` is a task in this list and the caller holds the list lock (`&mut self`).
    unsafe fn unlink(&mut self, ptr: NonNull<Header>) {
        // SAFETY: forwarded: the task is alive and its links are ours under the lock.
        let h = unsafe { ptr.as_ref() };
        // SAFETY: as above.
        let (prev, next) = h
            .links
            .with_mut(|l| unsafe { ((*l).prev.take(), (*l).next.take()) });
        match prev {
            Some(p) => {
                // SAFETY: neighbours are list members too.
                let p = unsafe { p.as_ref() };
                // SAFETY: as above.
                p.links.with_mut(|l| unsafe { (*l).next = next });
            }
            None => self.head = next,
        }
        if let Some(n) = next {
            // SAFETY: as above.
            let n = unsafe { n.as_ref() };
            // SAFETY: as above.
            n.links.with_mut(|l| unsafe { (*l).prev = prev });
        }
        // SAFETY: as above.
        h.listed.with_mut(|b| unsafe { *b = false });
        self.len -= 1;
    }
}
