//! Loom models of the oneshot protocol: every interleaving of the two halves at three
//! preemptions. Payloads are loom `Arc`s, so loom also fails a model that leaks a value or
//! frees it twice.

use loom::future::block_on;
use loom::sync::Arc as LoomArc;
use loom::thread;

use super::*;

/// A send on one thread reaches a receiver awaiting on another: the receiver's waker is
/// never lost between its check and its store, and the value arrives intact.
#[test]
fn send_vs_poll() {
    loom::model(|| {
        let (tx, rx) = channel();
        let sender = thread::spawn(move || tx.send(7).unwrap());
        assert_eq!(block_on(rx), Ok(7));
        sender.join().unwrap();
    });
}

/// A sender dropped without sending always wakes the awaiting receiver with `RecvError`.
#[test]
fn sender_drop_vs_poll() {
    loom::model(|| {
        let (tx, rx) = channel::<u8>();
        let sender = thread::spawn(move || drop(tx));
        assert_eq!(block_on(rx), Err(RecvError(())));
        sender.join().unwrap();
    });
}

/// Send racing the receiver's drop: either the send fails and hands the value back, or it
/// succeeds and the receiver's drop frees the value; in both orders the value is dropped
/// exactly once (loom checks the `Arc`), and `is_closed` agrees with the outcome.
#[test]
fn send_vs_receiver_drop() {
    loom::model(|| {
        let (tx, rx) = channel();
        let payload = LoomArc::new(());
        let sent = LoomArc::clone(&payload);
        let sender = thread::spawn(move || tx.send(sent).is_ok());
        drop(rx);
        let accepted = sender.join().unwrap();
        // Whichever way it went, no copy of the payload is left anywhere but here.
        assert_eq!(LoomArc::strong_count(&payload), 1, "accepted: {accepted}");
    });
}

/// A sender awaiting `closed` always wakes when the receiver is dropped on another thread.
#[test]
fn closed_vs_receiver_drop() {
    loom::model(|| {
        let (mut tx, rx) = channel::<u8>();
        let receiver = thread::spawn(move || drop(rx));
        block_on(tx.closed());
        assert!(tx.is_closed());
        receiver.join().unwrap();
    });
}

/// A receiver that closed and still awaits is always woken by the send that its close made
/// fail, and sees `RecvError`; the refused value goes back to the sender.
#[test]
fn close_then_poll_vs_failing_send() {
    loom::model(|| {
        let (tx, mut rx) = channel::<u8>();
        rx.close();
        let sender = thread::spawn(move || tx.send(3));
        assert_eq!(block_on(rx), Err(RecvError(())));
        assert_eq!(sender.join().unwrap(), Err(3));
    });
}
