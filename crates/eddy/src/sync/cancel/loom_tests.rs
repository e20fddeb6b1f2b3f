//! Loom models of the token tree: no cancel is lost, to a waiter or to a child.

use loom::future::block_on;
use loom::thread;

use super::*;

/// `cancel` on another thread completes a `cancelled()` future, whether it lands before the
/// future's first look at the flag, between that look and its registration, or after it.
#[test]
fn cancel_racing_a_first_poll_never_loses_the_wake() {
    loom::model(|| {
        let token = CancellationToken::new();
        let other = token.clone();
        let canceller = thread::spawn(move || other.cancel());
        block_on(token.cancelled());
        assert!(token.is_cancelled());
        canceller.join().unwrap();
    });
}

/// A parent cancelled while one child token is being created and another (with a child of
/// its own) is being dropped: every live descendant ends cancelled, and no parent ↔ child
/// link is left behind (loom's leak check fails on a leaked `Arc` cycle).
#[test]
fn cancel_racing_child_creation_and_drop_cancels_the_child() {
    loom::model(|| {
        let parent = CancellationToken::new();
        let doomed = parent.child_token();
        let grandchild = doomed.child_token();
        let (creator_parent, canceller) = (parent.clone(), parent.clone());
        let creator = thread::spawn(move || {
            let child = creator_parent.child_token();
            block_on(child.cancelled());
        });
        let dropper = thread::spawn(move || drop(doomed));
        canceller.cancel();
        dropper.join().unwrap();
        assert!(
            grandchild.is_cancelled(),
            "the grandchild of a dropped child was missed"
        );
        creator.join().unwrap();
    });
}
