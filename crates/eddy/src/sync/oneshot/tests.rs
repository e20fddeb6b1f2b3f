use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::*;

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

fn poll_rx<T>(rx: &mut Receiver<T>, waker: &Waker) -> Poll<Result<T, RecvError>> {
    Pin::new(rx).poll(&mut Context::from_waker(waker))
}

#[test]
fn send_wakes_a_pending_receiver_once() {
    let (tx, mut rx) = channel();
    let (count, waker) = counting_waker();
    assert_eq!(poll_rx(&mut rx, &waker), Poll::Pending);
    assert_eq!(poll_rx(&mut rx, &waker), Poll::Pending);
    tx.send(7).unwrap();
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert_eq!(poll_rx(&mut rx, &waker), Poll::Ready(Ok(7)));
    // After the value is taken, the channel reports closed instead of hanging.
    assert_eq!(poll_rx(&mut rx, &waker), Poll::Ready(Err(RecvError(()))));
}

#[test]
fn sender_drop_wakes_the_receiver_with_an_error() {
    let (tx, mut rx) = channel::<u8>();
    let (count, waker) = counting_waker();
    assert_eq!(poll_rx(&mut rx, &waker), Poll::Pending);
    drop(tx);
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert_eq!(poll_rx(&mut rx, &waker), Poll::Ready(Err(RecvError(()))));
}

#[test]
fn try_recv_reports_each_state() {
    let (tx, mut rx) = channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send("hi").unwrap();
    assert_eq!(rx.try_recv(), Ok("hi"));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn send_after_close_gives_the_value_back() {
    let (tx, mut rx) = channel();
    assert!(!tx.is_closed());
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(tx.send(String::from("late")), Err(String::from("late")));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn a_value_sent_before_close_can_still_be_received() {
    let (tx, mut rx) = channel();
    tx.send(1).unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn closed_wakes_when_the_receiver_drops() {
    let (mut tx, rx) = channel::<()>();
    let (count, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    assert_eq!(tx.poll_closed(&mut cx), Poll::Pending);
    drop(rx);
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert_eq!(tx.poll_closed(&mut cx), Poll::Ready(()));
    assert!(tx.is_closed());
}

#[test]
fn an_unread_value_is_dropped_with_the_receiver() {
    let value = Arc::new(());
    let (tx, rx) = channel();
    tx.send(Arc::clone(&value)).unwrap();
    assert_eq!(Arc::strong_count(&value), 2);
    drop(rx);
    assert_eq!(Arc::strong_count(&value), 1);
}

#[test]
fn errors_say_what_happened() {
    assert!(
        RecvError(())
            .to_string()
            .contains("dropped without sending")
    );
    assert!(TryRecvError::Empty.to_string().contains("no value"));
    assert!(TryRecvError::Closed.to_string().contains("closed"));
}

#[test]
fn a_failed_send_wakes_a_closed_receiver_still_waiting() {
    let (tx, mut rx) = channel();
    let (count, waker) = counting_waker();
    rx.close();
    assert_eq!(poll_rx(&mut rx, &waker), Poll::Pending);
    assert_eq!(tx.send(5), Err(5));
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert_eq!(poll_rx(&mut rx, &waker), Poll::Ready(Err(RecvError(()))));
}
