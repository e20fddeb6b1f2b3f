//! Loom models of `Notify`: no interleaving loses a notification.

use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;

use std::pin::pin;
use std::task::{Context, Waker};

use super::*;

/// `notify_one` on another thread always completes a waiter, whether it lands before the
/// waiter's first poll (as the permit) or after it registered (as a wake).
#[test]
fn notify_one_vs_first_poll() {
    loom::model(|| {
        let notify = Arc::new(Notify::new());
        let other = Arc::clone(&notify);
        let notifier = thread::spawn(move || other.notify_one());
        block_on(notify.notified());
        notifier.join().unwrap();
    });
}

/// `notify_waiters` on another thread completes every waiter registered before it.
#[test]
fn notify_waiters_vs_registered_waiters() {
    loom::model(|| {
        let notify = Arc::new(Notify::new());
        let mut a = pin!(notify.notified());
        let mut b = pin!(notify.notified());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(a.as_mut().poll(&mut cx).is_pending());
        assert!(b.as_mut().poll(&mut cx).is_pending());
        let other = Arc::clone(&notify);
        let notifier = thread::spawn(move || other.notify_waiters());
        block_on(async {
            a.await;
            b.await;
        });
        notifier.join().unwrap();
    });
}

/// A waiter dropped concurrently with `notify_one` never swallows the notification: if it
/// was chosen, its drop passes the notification to the other waiter.
#[test]
fn chosen_waiter_drop_vs_notify_one() {
    loom::model(|| {
        let notify = Arc::new(Notify::new());
        let mut dropped = Box::pin(notify.notified());
        let mut kept = pin!(notify.notified());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(dropped.as_mut().poll(&mut cx).is_pending());
        assert!(kept.as_mut().poll(&mut cx).is_pending());
        let other = Arc::clone(&notify);
        let notifier = thread::spawn(move || other.notify_one());
        drop(dropped);
        block_on(kept);
        notifier.join().unwrap();
    });
}
