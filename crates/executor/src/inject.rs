//! The inject queue both schedulers share: tasks woken or spawned from a thread that does
//! not run them (and, on the multi-thread scheduler, local-queue overflow). A
//! mutex-protected FIFO with a length hint so empty checks skip the lock.

use std::collections::VecDeque;

use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::AtomicUsize;
use crate::loom::sync::atomic::Ordering::{Acquire, Release};
use crate::loom::sync::lock;
use crate::task::Notified;

pub(crate) struct Inject {
    inner: Mutex<Inner>,
    /// `queue.len()`, written under the lock (Release) and read without it (Acquire) so an
    /// empty check can skip the lock. A push it misses is covered by what follows every
    /// push: the multi-thread idle protocol's fences (`multi_thread/idle.rs`), or the
    /// current-thread driver's unpark.
    len: AtomicUsize,
}

struct Inner {
    queue: VecDeque<Notified>,
    closed: bool,
}

impl Inject {
    pub(crate) fn new() -> Inject {
        Inject {
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                closed: false,
            }),
            len: AtomicUsize::new(0),
        }
    }

    /// Tasks queued (a snapshot).
    pub(crate) fn len(&self) -> usize {
        // Acquire: pairs with the Release stores below, made under the lock.
        self.len.load(Acquire)
    }

    pub(crate) fn is_empty(&self) -> bool {
        // Acquire: pairs with the Release stores below, made under the lock.
        self.len.load(Acquire) == 0
    }

    /// Queues `task`; after `close` the task is dropped (only its reference: shutdown
    /// cancels the task itself). Returns `false` then.
    pub(crate) fn push(&self, task: Notified) -> bool {
        let mut inner = lock(&self.inner);
        if inner.closed {
            drop(inner);
            drop(task);
            return false;
        }
        inner.queue.push_back(task);
        // Release: pairs with the Acquire load in `is_empty`.
        self.len.store(inner.queue.len(), Release);
        true
    }

    pub(crate) fn pop(&self) -> Option<Notified> {
        if self.is_empty() {
            return None;
        }
        let mut inner = lock(&self.inner);
        let task = inner.queue.pop_front();
        // Release: pairs with the Acquire load in `is_empty`.
        self.len.store(inner.queue.len(), Release);
        task
    }

    /// Closes the queue and returns what was in it.
    pub(crate) fn close(&self) -> VecDeque<Notified> {
        let mut inner = lock(&self.inner);
        inner.closed = true;
        // Release: pairs with the Acquire load in `is_empty`.
        self.len.store(0, Release);
        std::mem::take(&mut inner.queue)
    }
}

impl Inject {
    /// Queues `tasks` in order; after `close` they are dropped (only their references).
    pub(crate) fn push_batch(&self, tasks: Vec<Notified>) {
        let mut inner = lock(&self.inner);
        if inner.closed {
            drop(inner);
            drop(tasks);
            return;
        }
        inner.queue.extend(tasks);
        // Release: pairs with the Acquire load in `is_empty`.
        self.len.store(inner.queue.len(), Release);
    }
}
