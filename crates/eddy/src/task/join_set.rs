//! `JoinSet`: a set of tasks whose results come back as they finish.
//!
//! # Protocol
//!
//! Each member's `JoinHandle` is polled with its own waker, which records the member's slot
//! in `Ready::slots` (under its mutex) and then wakes the set's waker (`Ready::waker`). The
//! set registers its waker before it drains `slots`, so a member finishing between the two
//! is either drained now or wakes the set again. `join_next` polls only the members that
//! woke, so waiting on N tasks costs O(1) per completion, not O(N).

use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use eddy_executor::{AbortHandle, JoinError, JoinHandle};
use eddy_wake::wait::{self, WaitKind, WaitOp};

/// A task awaiting [`JoinSet::join_next`] waits on any of the set's tasks.
static JOIN_NEXT: WaitOp = WaitOp::new(WaitKind::AnyTask, "JoinSet::join_next");
use eddy_timer::AtomicWaker;

use crate::loom::sync::{Mutex, lock};

/// A set of spawned tasks, awaited in the order they finish. Dropping the set aborts every
/// task still in it (asyncio's `TaskGroup` cancels its children the same way).
///
/// ```
/// use std::time::Duration;
///
/// eddy::run(async {
///     let mut set = eddy::task::JoinSet::new();
///     for ms in [30u64, 10, 20] {
///         set.spawn(async move {
///             eddy::sleep(Duration::from_millis(ms)).await;
///             ms
///         });
///     }
///     let mut order = Vec::new();
///     while let Some(done) = set.join_next().await {
///         order.push(done.unwrap());
///     }
///     assert_eq!(order, [10, 20, 30]);
/// });
/// ```
pub struct JoinSet<T> {
    members: Vec<Option<Member<T>>>,
    free: Vec<usize>,
    len: usize,
    ready: Arc<Ready>,
}

struct Member<T> {
    handle: JoinHandle<T>,
    waker: Waker,
}

struct Ready {
    slots: Mutex<Vec<usize>>,
    waker: AtomicWaker,
}

struct SlotWaker {
    slot: usize,
    ready: Arc<Ready>,
}

impl Ready {
    fn new() -> Ready {
        Ready {
            slots: Mutex::new(Vec::new()),
            waker: AtomicWaker::new(),
        }
    }

    /// A member's side: record that `slot` woke, then wake the set.
    fn push(&self, slot: usize) {
        lock(&self.slots).push(slot);
        self.waker.wake();
    }

    /// The set's side: register to be woken, then take every slot recorded so far. A push
    /// that this take misses happens after the registration, so it wakes the set.
    fn take(&self, cx: &Context<'_>) -> Vec<usize> {
        self.waker.register(cx.waker());
        std::mem::take(&mut *lock(&self.slots))
    }
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.push(self.slot);
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            members: Vec::new(),
            free: Vec::new(),
            len: 0,
            ready: Arc::new(Ready::new()),
        }
    }

    /// How many tasks are in the set (running, or finished but not yet joined).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds an already spawned task to the set.
    pub fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let slot = self.free.pop().unwrap_or_else(|| {
            self.members.push(None);
            self.members.len() - 1
        });
        let waker = Waker::from(Arc::new(SlotWaker {
            slot,
            ready: Arc::clone(&self.ready),
        }));
        // Poll it once at the next join, which registers its waker.
        waker.wake_by_ref();
        self.members[slot] = Some(Member { handle, waker });
        self.len += 1;
        abort
    }

    /// Waits for the next task to finish and returns its result, or `None` when the set is
    /// empty. Cancel-safe: dropping the future loses no result.
    #[track_caller]
    pub fn join_next(&mut self) -> impl Future<Output = Option<Result<T, JoinError>>> {
        let site = Location::caller();
        poll_fn(move |cx| self.poll_join_next_at(cx, site))
    }

    /// Polls for the next finished task; see [`join_next`](JoinSet::join_next).
    #[track_caller]
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_at(cx, Location::caller())
    }

    /// [`poll_join_next`](JoinSet::poll_join_next), recording a wait at `site` if it is
    /// `Pending` (after the members' own records, so the set's stands).
    pub(crate) fn poll_join_next_at(
        &mut self,
        cx: &mut Context<'_>,
        site: &'static Location<'static>,
    ) -> Poll<Option<Result<T, JoinError>>> {
        let poll = self.poll_members(cx);
        if poll.is_pending() {
            wait::record(&JOIN_NEXT, self.len as u64, site);
        }
        poll
    }

    fn poll_members(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        if self.len == 0 {
            return Poll::Ready(None);
        }
        loop {
            let woken = self.ready.take(cx);
            if woken.is_empty() {
                return Poll::Pending;
            }
            let mut found = None;
            for (i, &slot) in woken.iter().enumerate() {
                // A wake can outlive its member (the slot was joined and reused): then this
                // polls the new member once, which is harmless.
                let Some(member) = self.members.get_mut(slot).and_then(Option::as_mut) else {
                    continue;
                };
                let mut member_cx = Context::from_waker(&member.waker);
                if let Poll::Ready(result) = Pin::new(&mut member.handle).poll(&mut member_cx) {
                    self.members[slot] = None;
                    self.free.push(slot);
                    self.len -= 1;
                    found = Some(result);
                    // Slots not looked at yet go back for the next call.
                    lock(&self.ready.slots).extend_from_slice(&woken[i + 1..]);
                    break;
                }
            }
            if let Some(result) = found {
                return Poll::Ready(Some(result));
            }
        }
    }

    /// Asks every task in the set to stop; each then finishes with `JoinError::Cancelled`
    /// (or its result, if it was already done). The tasks stay in the set until joined.
    pub fn abort_all(&self) {
        for member in self.members.iter().flatten() {
            member.handle.abort();
        }
    }

    /// Aborts every task and waits until all have finished.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Forgets every task without aborting them: they keep running, detached.
    pub fn detach_all(&mut self) {
        self.members.clear();
        self.free.clear();
        self.len = 0;
        lock(&self.ready.slots).clear();
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawns `future` on the current runtime and adds it to the set.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(crate::spawn(future))
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

#[cfg(all(test, eddy_loom))]
mod loom_tests {
    use std::task::Context;

    use super::Ready;
    use crate::loom::counting_waker;
    use crate::loom::sync::Arc;
    use crate::loom::sync::atomic::Ordering;

    /// A member finishing while the set looks for finished members: the set either takes
    /// the member's slot now or is woken to take it later.
    #[test]
    fn loom_tests_a_finishing_member_is_taken_or_wakes_the_set() {
        loom::model(|| {
            let ready = Arc::new(Ready::new());
            let member = {
                let ready = Arc::clone(&ready);
                loom::thread::spawn(move || ready.push(7))
            };
            let (counter, waker) = counting_waker();
            let taken = ready.take(&Context::from_waker(&waker));
            member.join().unwrap();
            if taken.is_empty() {
                assert_eq!(
                    counter.0.load(Ordering::SeqCst),
                    1,
                    "the set missed a finished member"
                );
                assert_eq!(ready.take(&Context::from_waker(&waker)), [7]);
            } else {
                assert_eq!(taken, [7]);
            }
        });
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len).finish()
    }
}
