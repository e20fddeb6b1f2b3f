//! loom models of the waker slot: a wake racing a register or a take is never lost.
//!
//! Each model has a waiting side that registers and then checks a flag, and a waking side
//! that sets the flag and then wakes. Whatever the interleaving, the waiter either sees the
//! flag or its (latest) waker is woken.

use std::sync::Arc;

use loom::sync::atomic::AtomicUsize;
use loom::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use loom::thread;

use super::AtomicWaker;
use crate::loom::counting_waker;

#[test]
fn wake_racing_register_is_not_lost() {
    loom::model(|| {
        let slot = Arc::new(AtomicWaker::new());
        let flag = Arc::new(AtomicUsize::new(0));
        let (woken, waker) = counting_waker();
        let t = {
            let (slot, flag) = (Arc::clone(&slot), Arc::clone(&flag));
            thread::spawn(move || {
                flag.store(1, Release);
                slot.wake();
            })
        };
        slot.register(&waker);
        let seen = flag.load(Acquire) == 1;
        t.join().unwrap();
        assert!(seen || woken.0.load(Relaxed) == 1, "lost wake-up");
    });
}

#[test]
fn wake_racing_a_waker_swap_reaches_the_new_waker() {
    loom::model(|| {
        let slot = Arc::new(AtomicWaker::new());
        let flag = Arc::new(AtomicUsize::new(0));
        let (_, old) = counting_waker();
        let (woken, new) = counting_waker();
        slot.register(&old);
        let t = {
            let (slot, flag) = (Arc::clone(&slot), Arc::clone(&flag));
            thread::spawn(move || {
                flag.store(1, Release);
                slot.wake();
            })
        };
        // The task moved: it registers another waker, then checks.
        slot.register(&new);
        let seen = flag.load(Acquire) == 1;
        t.join().unwrap();
        assert!(
            seen || woken.0.load(Relaxed) >= 1,
            "the new waker missed the wake"
        );
    });
}

#[test]
fn take_racing_register_hands_over_the_waker_or_the_wake() {
    loom::model(|| {
        let slot = Arc::new(AtomicWaker::new());
        let flag = Arc::new(AtomicUsize::new(0));
        let (woken, waker) = counting_waker();
        let t = {
            let (slot, flag) = (Arc::clone(&slot), Arc::clone(&flag));
            thread::spawn(move || {
                flag.store(1, Release);
                // Take now, wake later (as the driver does after releasing its lock).
                let taken = slot.take();
                if let Some(w) = taken {
                    w.wake();
                }
            })
        };
        slot.register(&waker);
        let seen = flag.load(Acquire) == 1;
        t.join().unwrap();
        assert!(seen || woken.0.load(Relaxed) == 1, "lost wake-up");
        // The slot is usable afterwards: never stuck in REGISTERING or WAKING.
        slot.register(&waker);
        slot.wake();
    });
}

#[test]
fn two_wakers_and_a_register_leave_the_slot_consistent() {
    loom::model(|| {
        let slot = Arc::new(AtomicWaker::new());
        let (woken, waker) = counting_waker();
        slot.register(&waker);
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let slot = Arc::clone(&slot);
                thread::spawn(move || slot.wake())
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(
            woken.0.load(Relaxed),
            1,
            "exactly one of the two wakes delivers"
        );
        assert!(slot.take().is_none());
    });
}

/// The contract without the flag re-check: once `register(w)` and a concurrent `wake` have
/// both returned, `w` has been woken, or it is still in the slot (the wake ran before the
/// register stored it, and the next wake reaches it). This is what the registrar's own wake
/// after its failed compare-exchange guarantees: without it, a take landing while the slot
/// is REGISTERING hands the wake to the registrar, which would empty the slot and drop `w`
/// unwoken. (The register-then-check models above cannot see that: their Acquire re-check
/// already sees the flag.)
#[test]
fn a_wake_during_register_reaches_the_waker_or_leaves_it_stored() {
    loom::model(|| {
        let slot = Arc::new(AtomicWaker::new());
        let (woken, waker) = counting_waker();
        let t = {
            let slot = Arc::clone(&slot);
            thread::spawn(move || slot.wake())
        };
        slot.register(&waker);
        t.join().unwrap();
        let stored = slot.take().is_some();
        assert!(
            woken.0.load(Relaxed) >= 1 || stored,
            "the wake was lost: the waker was neither woken nor left in the slot"
        );
    });
}
