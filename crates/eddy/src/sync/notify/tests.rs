use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::*;
use crate::loom::sync::atomic::{AtomicUsize, Ordering};

#[derive(Default)]
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<Counter>, Waker) {
    let counter = Arc::new(Counter::default());
    (Arc::clone(&counter), Waker::from(counter))
}

fn poll(fut: &mut Notified<'_>, waker: &Waker) -> Poll<()> {
    Pin::new(fut).poll(&mut Context::from_waker(waker))
}

#[test]
fn notify_one_before_the_wait_leaves_one_permit() {
    let notify = Notify::new();
    let (_, waker) = counting_waker();
    notify.notify_one();
    notify.notify_one();
    assert_eq!(poll(&mut notify.notified(), &waker), Poll::Ready(()));
    // Permits do not add up.
    let mut second = notify.notified();
    assert_eq!(poll(&mut second, &waker), Poll::Pending);
}

#[test]
fn notify_one_wakes_the_oldest_waiter_only() {
    let notify = Notify::new();
    let (first_count, first_waker) = counting_waker();
    let (second_count, second_waker) = counting_waker();
    let mut first = notify.notified();
    let mut second = notify.notified();
    assert_eq!(poll(&mut first, &first_waker), Poll::Pending);
    assert_eq!(poll(&mut second, &second_waker), Poll::Pending);
    notify.notify_one();
    assert_eq!(first_count.0.load(Ordering::SeqCst), 1);
    assert_eq!(second_count.0.load(Ordering::SeqCst), 0);
    assert_eq!(poll(&mut second, &second_waker), Poll::Pending);
    assert_eq!(poll(&mut first, &first_waker), Poll::Ready(()));
    assert!(!lock(&notify.state).permit);
}

#[test]
fn notify_waiters_wakes_the_registered_and_stores_nothing() {
    let notify = Notify::new();
    let (count, waker) = counting_waker();
    let mut a = notify.notified();
    let mut b = notify.notified();
    let mut late = notify.notified();
    assert_eq!(poll(&mut a, &waker), Poll::Pending);
    assert_eq!(poll(&mut b, &waker), Poll::Pending);
    notify.notify_waiters();
    assert_eq!(count.0.load(Ordering::SeqCst), 2);
    assert_eq!(poll(&mut a, &waker), Poll::Ready(()));
    assert_eq!(poll(&mut b, &waker), Poll::Ready(()));
    assert_eq!(poll(&mut late, &waker), Poll::Pending);
}

#[test]
fn a_chosen_waiter_dropped_passes_the_notification_on() {
    let notify = Notify::new();
    let (_, waker) = counting_waker();
    let (next_count, next_waker) = counting_waker();
    let mut chosen = notify.notified();
    let mut next = notify.notified();
    assert_eq!(poll(&mut chosen, &waker), Poll::Pending);
    assert_eq!(poll(&mut next, &next_waker), Poll::Pending);
    notify.notify_one();
    drop(chosen);
    assert_eq!(next_count.0.load(Ordering::SeqCst), 1);
    assert_eq!(poll(&mut next, &next_waker), Poll::Ready(()));
}

#[test]
fn a_chosen_waiter_dropped_alone_leaves_the_permit() {
    let notify = Notify::new();
    let (_, waker) = counting_waker();
    let mut chosen = notify.notified();
    assert_eq!(poll(&mut chosen, &waker), Poll::Pending);
    notify.notify_one();
    drop(chosen);
    assert_eq!(poll(&mut notify.notified(), &waker), Poll::Ready(()));
}

#[test]
fn a_waiting_waiter_dropped_unregisters() {
    let notify = Notify::new();
    let (_, waker) = counting_waker();
    let mut gone = notify.notified();
    assert_eq!(poll(&mut gone, &waker), Poll::Pending);
    drop(gone);
    assert!(lock(&notify.state).waiters.is_empty());
    // Nobody waits, so the notification becomes the permit.
    notify.notify_one();
    assert!(lock(&notify.state).permit);
}
