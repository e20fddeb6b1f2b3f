//! `eddy::sync::oneshot` and `Notify` across threads and tasks.

use std::future::Future;
use std::time::Duration;

use eddy::future::{join_all, race};
use eddy::sync::Notify;
use eddy::sync::oneshot::{self, RecvError, TryRecvError};
use eddy_executor::CurrentThread;

#[test]
fn a_value_sent_from_another_thread_wakes_the_awaiting_task() {
    let executor = CurrentThread::new();
    let (tx, rx) = oneshot::channel();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        tx.send(String::from("set_result")).unwrap();
    });
    assert_eq!(executor.block_on(rx), Ok(String::from("set_result")));
    sender.join().unwrap();
}

#[test]
fn a_task_sets_the_result_another_awaits() {
    let executor = CurrentThread::new();
    let (tx, rx) = oneshot::channel();
    let producer = executor.spawn(async move {
        tx.send(42).unwrap();
    });
    let value = executor.block_on(async move {
        let value = rx.await;
        producer.await.unwrap();
        value
    });
    assert_eq!(value, Ok(42));
}

#[test]
fn a_sender_dropped_on_another_thread_reports_recv_error() {
    let executor = CurrentThread::new();
    let (tx, rx) = oneshot::channel::<u32>();
    let dropper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        drop(tx);
    });
    let err: RecvError = executor.block_on(rx).unwrap_err();
    assert!(err.to_string().contains("dropped without sending"), "{err}");
    dropper.join().unwrap();

    // try_recv agrees once the sender is gone.
    let (tx, mut rx) = oneshot::channel::<()>();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn a_producer_stops_when_the_consumer_goes_away() {
    let executor = CurrentThread::new();
    let (mut tx, rx) = oneshot::channel::<u64>();
    let consumer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        drop(rx);
    });
    // The producer's "work" never finishes by itself; `closed` ends it.
    let outcome = executor.block_on(async {
        race(
            async {
                std::future::pending::<()>().await;
                "finished the work"
            },
            async {
                tx.closed().await;
                "consumer gone"
            },
        )
        .await
    });
    assert_eq!(outcome, "consumer gone");
    assert!(tx.is_closed());
    assert_eq!(tx.send(1), Err(1));
    consumer.join().unwrap();
}

#[test]
fn many_channels_between_threads_deliver_every_value() {
    let executor = CurrentThread::new();
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..2_000).map(|_| oneshot::channel()).unzip();
    let producer = std::thread::spawn(move || {
        for (i, tx) in senders.into_iter().enumerate().rev() {
            tx.send(i).unwrap();
        }
    });
    let values = executor.block_on(join_all(receivers));
    producer.join().unwrap();
    assert_eq!(values, (0..2_000).map(Ok).collect::<Vec<_>>());
}

#[test]
fn notify_one_from_another_thread_wakes_the_waiting_task() {
    let notify = std::sync::Arc::new(Notify::new());
    let other = std::sync::Arc::clone(&notify);
    let notifier = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        other.notify_one();
    });
    CurrentThread::new().block_on(notify.notified());
    notifier.join().unwrap();
}

#[test]
fn notify_waiters_wakes_every_registered_waiter_once() {
    let notify = Notify::new();
    let woken = std::cell::Cell::new(0);
    let waiter = || async {
        notify.notified().await;
        woken.set(woken.get() + 1);
    };
    let futures: Vec<std::pin::Pin<Box<dyn Future<Output = ()>>>> = vec![
        Box::pin(waiter()),
        Box::pin(waiter()),
        Box::pin(waiter()),
        // join_all's first poll runs in input order: the three waiters register first.
        Box::pin(async { notify.notify_waiters() }),
    ];
    CurrentThread::new().block_on(join_all(futures));
    assert_eq!(woken.get(), 3);
    // Nothing was stored for later waiters.
    let mut late = std::pin::pin!(notify.notified());
    assert!(
        late.as_mut()
            .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
            .is_pending()
    );
}
