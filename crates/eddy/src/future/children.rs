//! A set of pinned child futures with one waker each, so a parent polls only the children
//! that were woken since its last poll.
//!
//! Each child's waker holds its index and the shared [`ReadyQueue`]; waking it pushes the
//! index (once, however many times it is woken) and wakes the parent's last waker. A parent
//! poll swaps the queue out under the lock and polls exactly those children, so with N
//! children and one wake-up the work is O(1), not O(N), and gathering 100,000 futures stays
//! linear overall.

use std::future::Future;
use std::pin::Pin;
// std's `Arc`, not `crate::loom`'s: `std::task::Wake` is implemented for `std::sync::Arc` only.
use std::sync::Arc as StdArc;
use std::task::{Context, Poll, Wake, Waker};

use crate::loom::sync::{Mutex, lock};

#[cfg(all(test, eddy_loom))]
mod loom_tests;

/// The children of a combinator. `Unpin` whatever `F` is: the futures live in a boxed slice
/// that is never resized, so each one stays where it was put until it is dropped in place.
pub(super) struct Children<F> {
    /// `None` once the child completed (it is dropped in place at that moment).
    futures: Pin<Box<[Option<F>]>>,
    /// `wakers[i]` wakes child `i`; built once, cloned by the child when it waits.
    wakers: Box<[Waker]>,
    queue: StdArc<ReadyQueue>,
    /// Scratch space for the indices one poll handles; kept to reuse its allocation.
    batch: Vec<usize>,
}

/// Which children were woken, and whom to tell. Only locked for a push or a swap.
struct ReadyQueue {
    state: Mutex<QueueState>,
}

struct QueueState {
    /// Children woken since the parent last took the list, each at most once.
    woken: Vec<usize>,
    /// `queued[i]` is true while `i` is in `woken`: repeated wakes of one child push once.
    queued: Vec<bool>,
    /// The parent's waker from its latest pending poll.
    parent: Option<Waker>,
}

/// The waker of child `index`.
struct ChildWaker {
    index: usize,
    queue: StdArc<ReadyQueue>,
}

impl Wake for ChildWaker {
    fn wake(self: StdArc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &StdArc<Self>) {
        let parent = {
            let mut state = lock(&self.queue.state);
            if state.queued[self.index] {
                // Already queued, and the parent was woken when it was queued.
                return;
            }
            state.queued[self.index] = true;
            state.woken.push(self.index);
            state.parent.clone()
        };
        if let Some(parent) = parent {
            parent.wake();
        }
    }
}

impl<F: Future> Children<F> {
    /// Takes ownership of `futures`; all of them are polled on the first poll.
    pub(super) fn new(futures: impl IntoIterator<Item = F>) -> Children<F> {
        let futures: Box<[Option<F>]> = futures.into_iter().map(Some).collect();
        let len = futures.len();
        let queue = StdArc::new(ReadyQueue {
            state: Mutex::new(QueueState {
                woken: (0..len).collect(),
                queued: vec![true; len],
                parent: None,
            }),
        });
        let wakers = (0..len)
            .map(|index| {
                Waker::from(StdArc::new(ChildWaker {
                    index,
                    queue: StdArc::clone(&queue),
                }))
            })
            .collect();
        Children {
            futures: Box::into_pin(futures),
            wakers,
            queue,
            batch: Vec::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.wakers.len()
    }

    /// Polls every child woken since the last call, handing each output to `on_ready` with
    /// the child's index. Stops early, leaving the rest queued, when `on_ready` returns
    /// `true`. Records `cx`'s waker first, so a child woken during or after this call wakes
    /// the parent.
    pub(super) fn poll_woken(
        &mut self,
        cx: &mut Context<'_>,
        mut on_ready: impl FnMut(usize, F::Output) -> bool,
    ) {
        {
            let mut state = lock(&self.queue.state);
            match &state.parent {
                Some(parent) if parent.will_wake(cx.waker()) => {}
                _ => state.parent = Some(cx.waker().clone()),
            }
            std::mem::swap(&mut self.batch, &mut state.woken);
            for &index in &self.batch {
                state.queued[index] = false;
            }
        }
        let mut batch = std::mem::take(&mut self.batch);
        let mut stopped_at = None;
        for (position, &index) in batch.iter().enumerate() {
            let mut slot = slot(&mut self.futures, index);
            let Some(future) = slot.as_mut().as_pin_mut() else {
                // Completed already; a stale wake.
                continue;
            };
            let mut child_cx = Context::from_waker(&self.wakers[index]);
            if let Poll::Ready(output) = future.poll(&mut child_cx) {
                // Drop the finished future now, in place, rather than with the combinator.
                slot.set(None);
                if on_ready(index, output) {
                    stopped_at = Some(position + 1);
                    break;
                }
            }
        }
        if let Some(done) = stopped_at {
            // Put back what this poll did not get to, so a later poll still sees it.
            let mut state = lock(&self.queue.state);
            for &index in &batch[done..] {
                if !state.queued[index] {
                    state.queued[index] = true;
                    state.woken.push(index);
                }
            }
        }
        batch.clear();
        self.batch = batch;
    }
}

/// Child `index`'s slot, pinned.
fn slot<F>(futures: &mut Pin<Box<[Option<F>]>>, index: usize) -> Pin<&mut Option<F>> {
    // SAFETY: the boxed slice is pinned and never reallocated, resized or moved out of; its
    // elements are only ever replaced through `Pin::set`, which drops the old value in place.
    // So an element, once pinned here, stays at its address until it is dropped.
    unsafe { futures.as_mut().map_unchecked_mut(|all| &mut all[index]) }
}
