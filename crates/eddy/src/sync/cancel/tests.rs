//! Unit tests of the token tree: links, unlinking and wakes, seen from inside.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::*;
use crate::loom::sync::atomic::Ordering;
use crate::sync::waker_list::counting_waker;

fn poll<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(waker))
}

#[test]
fn dropped_children_are_unlinked_from_a_long_lived_parent() {
    let parent = CancellationToken::new();
    for _ in 0..10_000 {
        let child = parent.child_token();
        let clone = child.clone();
        drop(child);
        assert_eq!(tree::children(parent.node()), 1, "a clone keeps the child");
        drop(clone);
    }
    assert_eq!(tree::children(parent.node()), 0);
}

#[test]
fn a_dropped_childs_children_move_up_to_its_parent() {
    let root = CancellationToken::new();
    let middle = root.child_token();
    let leaf = middle.child_token();
    drop(middle);
    assert_eq!(
        tree::children(root.node()),
        1,
        "the leaf moved under the root"
    );
    root.cancel();
    assert!(leaf.is_cancelled());
    assert_eq!(
        tree::children(root.node()),
        0,
        "a cancelled node has no children"
    );
}

#[test]
fn a_dropped_root_lets_go_of_its_children() {
    let root = CancellationToken::new();
    let child = root.child_token();
    let root_node = Arc::clone(root.node());
    drop(root);
    assert_eq!(
        tree::children(&root_node),
        0,
        "no parent ↔ child cycle is left"
    );
    assert!(!child.is_cancelled());
    child.cancel();
    assert!(child.is_cancelled());
}

#[test]
fn cancel_wakes_every_registered_waiter_once() {
    let token = CancellationToken::new();
    let (count, waker) = counting_waker();
    let mut waiting: Vec<_> = (0..3).map(|_| token.cancelled()).collect();
    for fut in &mut waiting {
        assert_eq!(poll(fut, &waker), Poll::Pending);
        assert_eq!(
            poll(fut, &waker),
            Poll::Pending,
            "a re-poll takes no new slot"
        );
    }
    let dropped = waiting.pop();
    drop(dropped);
    token.cancel();
    token.cancel();
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        2,
        "the dropped waiter was forgotten"
    );
    for fut in &mut waiting {
        assert_eq!(poll(fut, &waker), Poll::Ready(()));
    }
}

#[test]
fn a_deep_chain_cancels_without_recursion() {
    let root = CancellationToken::new();
    let mut chain = vec![root.child_token()];
    for _ in 0..100_000 {
        let next = chain.last().unwrap().child_token();
        chain.push(next);
    }
    root.cancel();
    assert!(chain.last().unwrap().is_cancelled());
    // Dropping from the leaf up unlinks each in turn, so no long `Arc` chain drops at once.
    while chain.pop().is_some() {}
}
