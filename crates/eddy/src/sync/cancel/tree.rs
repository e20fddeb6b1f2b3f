//! The tree of cancellation nodes behind `CancellationToken`: one node per token and its
//! clones, linked to its parent and its children.
//!
//! # Protocol
//!
//! Each [`Node`] has a `Mutex<State>` and a `cancelled` flag.
//!
//! - `cancelled` goes from `false` to `true` once, stored (Release) under the node's lock
//!   by [`cancel`]; [`Node::is_cancelled`] loads it (Acquire) without the lock, and every
//!   other reader loads it under the lock.
//! - `State::children` and each child's `State::parent` are kept in step: while `P` is
//!   not cancelled, `P.children` holds child `C` under key `k` exactly when `C.parent` is
//!   `(P, k)`. Both sides change together, holding both locks.
//! - A cancelled node has no children (cancelling takes them and cancels them) and never
//!   gains one: [`child`] of a cancelled node is a new cancelled node. Its former children
//!   keep their link to it until their last handle goes ([`release`]), so a node with no
//!   parent is a root: one that was never a child, or whose parent's handles are gone.
//! - `State::waiters` holds the wakers of `cancelled()` futures; a future checks `cancelled`
//!   and registers under the lock, and `cancel` sets the flag and takes the wakers under it,
//!   so a registration either sees the flag or is taken (loom:
//!   `cancel_racing_a_first_poll_never_loses_the_wake`).
//!
//! Locks nest only from a parent to its child: `release` holds the parent, then the node,
//! then each of the node's children (`cancel` and `child` hold one lock at a time).
//! Nothing holds a child while it locks its parent (`release` reads the parent under the
//! child's lock, lets go, and locks the two in order, checking the link is still there).
//! Since a parent is always created before its children, and a node only ever moves up to
//! its grandparent, that is a fixed order (oldest first): no deadlock.
//!
//! When the last handle of a node goes, [`release`] moves its children to its parent, so
//! cancelling a grandparent still reaches a grandchild whose parent token was dropped, and
//! unlinks the node, so a long-lived parent holds only its live children (loom:
//! `cancel_racing_child_creation_and_drop_cancels_the_child`). A node with no parent drops
//! the links to its children instead, since nothing can cancel it any more. Either way the
//! parent ↔ child `Arc` cycle is broken.

use std::collections::BTreeMap;
use std::mem;
use std::task::{Context, Poll, Waker};

use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::loom::sync::{Arc, Mutex, lock};
use crate::sync::waker_list::{Key, WakerList};

/// One token and its clones; see the module docs.
pub(super) struct Node {
    /// Set once by `cancel`, under `state`'s lock.
    cancelled: AtomicBool,
    state: Mutex<State>,
}

struct State {
    /// The parent and this node's key among its children.
    parent: Option<(Arc<Node>, u64)>,
    children: BTreeMap<u64, Arc<Node>>,
    /// The key the next child gets; keys are never reused.
    next_key: u64,
    waiters: WakerList,
}

impl Node {
    /// A node with no parent.
    pub(super) fn root() -> Arc<Node> {
        Node::with(None, false)
    }

    fn with(parent: Option<(Arc<Node>, u64)>, cancelled: bool) -> Arc<Node> {
        Arc::new(Node {
            cancelled: AtomicBool::new(cancelled),
            state: Mutex::new(State {
                parent,
                children: BTreeMap::new(),
                next_key: 0,
                waiters: WakerList::new(),
            }),
        })
    }

    /// Whether the node has been cancelled.
    pub(super) fn is_cancelled(&self) -> bool {
        // Acquire: pairs with `cancel`'s Release store, so whatever the canceller did before
        // cancelling is visible to a task that saw the flag.
        self.cancelled.load(Ordering::Acquire)
    }

    /// `Ready` once the node is cancelled; otherwise registers `cx`'s waker under `key`.
    pub(super) fn poll_cancelled(&self, key: &mut Option<Key>, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_cancelled() {
            return Poll::Ready(());
        }
        let mut state = lock(&self.state);
        // Looked at again under the lock, which `cancel` holds to set it: from here until the
        // registration below, the flag cannot change.
        if self.cancelled.load(Ordering::Relaxed) {
            return Poll::Ready(());
        }
        state.waiters.register(key, cx.waker());
        Poll::Pending
    }

    /// Forgets the waker a `cancelled()` future registered, when it is dropped.
    pub(super) fn forget(&self, key: Option<Key>) {
        if key.is_some() {
            lock(&self.state).waiters.remove(key);
        }
    }
}

/// A new child of `parent`, cancelled at once if `parent` is.
pub(super) fn child(parent: &Arc<Node>) -> Arc<Node> {
    let mut state = lock(&parent.state);
    if parent.cancelled.load(Ordering::Relaxed) {
        return Node::with(None, true);
    }
    let key = state.next_key;
    state.next_key += 1;
    let node = Node::with(Some((Arc::clone(parent), key)), false);
    state.children.insert(key, Arc::clone(&node));
    node
}

/// Cancels `node` and every node below it, waking every waiter. Idempotent.
pub(super) fn cancel(node: &Arc<Node>) {
    // A stack, not recursion: a deep chain of child tokens must not overflow the stack.
    let mut pending = vec![Arc::clone(node)];
    while let Some(node) = pending.pop() {
        let wakers: Vec<Waker> = {
            let mut state = lock(&node.state);
            if node.cancelled.load(Ordering::Relaxed) {
                continue;
            }
            // Release: pairs with `is_cancelled`'s Acquire load.
            node.cancelled.store(true, Ordering::Release);
            // The children keep their link to this node until their last handle goes
            // (`release` drops it then): a child taken here is not a root, and must not
            // let go of its own children before this loop cancels it.
            pending.extend(mem::take(&mut state.children).into_values());
            state.waiters.take_all()
        };
        for waker in wakers {
            waker.wake();
        }
    }
}

/// The last handle of `node` is gone: moves its children to its parent and unlinks it (or,
/// with no parent, drops its links to its children).
pub(super) fn release(node: &Arc<Node>) {
    loop {
        let parent = lock(&node.state)
            .parent
            .as_ref()
            .map(|(p, _)| Arc::clone(p));
        let Some(parent) = parent else {
            // A root (or a node born cancelled, with no children): nothing can cancel it
            // any more, so its children become roots. A link to a parent is never added
            // to a node that has none, so none appears while the lock is not held.
            let mut state = lock(&node.state);
            for (_, child) in mem::take(&mut state.children) {
                lock(&child.state).parent = None;
            }
            return;
        };
        let mut parent_state = lock(&parent.state);
        let mut state = lock(&node.state);
        let key = match &state.parent {
            Some((p, key)) if Arc::ptr_eq(p, &parent) => *key,
            // Moved up to a grandparent while no lock was held: look again.
            _ => continue,
        };
        state.parent = None;
        if parent.cancelled.load(Ordering::Relaxed) {
            // The parent's `cancel` took this node and cancels it (or has): its children
            // stay, for that cancel to reach. Dropping the link broke the only cycle.
            return;
        }
        parent_state.children.remove(&key);
        for (_, child) in mem::take(&mut state.children) {
            let key = parent_state.next_key;
            parent_state.next_key += 1;
            lock(&child.state).parent = Some((Arc::clone(&parent), key));
            parent_state.children.insert(key, child);
        }
        return;
    }
}

/// How many children `node` links to, for tests.
#[cfg(test)]
pub(super) fn children(node: &Node) -> usize {
    lock(&node.state).children.len()
}
