//! `CancellationToken` through its public API, on both runtime flavours and plain threads.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use eddy::sync::CancellationToken;

use super::DropFlag;
use crate::support::runtimes;

/// Polls `fut` once with a waker that does nothing.
fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn cancelling_reaches_every_clone_and_descendant_but_never_a_parent() {
    let root = CancellationToken::new();
    let clone = root.clone();
    let (left, right) = (root.child_token(), root.child_token());
    let left_leaf = left.child_token();

    left.cancel();
    assert!(left.is_cancelled() && left_leaf.is_cancelled());
    assert!(
        !root.is_cancelled() && !right.is_cancelled(),
        "a child's cancel went up or sideways"
    );

    clone.cancel();
    assert!(root.is_cancelled() && right.is_cancelled());
    // A child made after its parent was cancelled starts cancelled.
    assert!(root.child_token().is_cancelled());
    root.cancel(); // Idempotent.
    assert_eq!(format!("{root:?}"), "CancellationToken { cancelled: true }");
    assert_eq!(
        format!("{:?}", CancellationToken::new()),
        "CancellationToken { cancelled: false }"
    );
}

#[test]
fn a_grandchild_is_cancelled_even_after_its_parent_token_was_dropped() {
    let root = CancellationToken::new();
    let middle = root.child_token();
    let leaf = middle.child_token();
    drop(middle);
    root.cancel();
    assert!(leaf.is_cancelled());
}

#[test]
fn cancelled_completes_at_once_when_already_cancelled() {
    let token = CancellationToken::new();
    token.cancel();
    assert_eq!(poll_once(pin!(token.cancelled())), Poll::Ready(()));
    assert_eq!(
        poll_once(pin!(token.clone().cancelled_owned())),
        Poll::Ready(())
    );
    assert_eq!(
        poll_once(pin!(token.child_token().cancelled())),
        Poll::Ready(())
    );
}

#[test]
fn dropping_a_cancelled_future_loses_nothing() {
    let token = CancellationToken::new();
    for _ in 0..3 {
        // Registered, then dropped: as when it loses a race or a timeout.
        let mut fut = pin!(token.cancelled());
        assert!(poll_once(fut.as_mut()).is_pending());
    }
    token.cancel();
    assert_eq!(poll_once(pin!(token.cancelled())), Poll::Ready(()));
    for rt in runtimes() {
        let token = CancellationToken::new();
        let canceller = token.clone();
        rt.block_on(async move {
            // Lose a few races against a timer first.
            for _ in 0..3 {
                let lost = eddy::timeout(Duration::from_millis(1), token.cancelled()).await;
                assert!(lost.is_err());
            }
            std::thread::spawn(move || canceller.cancel());
            token.cancelled().await;
        });
    }
}

#[test]
fn cancel_from_a_plain_thread_wakes_every_waiting_task() {
    for rt in runtimes() {
        let token = CancellationToken::new();
        let woken = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let waiters: Vec<_> = (0..20)
                .map(|i| {
                    // Half wait on children, half on the token itself; all `'static`.
                    let fut = if i % 2 == 0 {
                        token.child_token().cancelled_owned()
                    } else {
                        token.clone().cancelled_owned()
                    };
                    let woken = Arc::clone(&woken);
                    eddy::spawn(async move {
                        fut.await;
                        woken.fetch_add(1, Ordering::SeqCst);
                    })
                })
                .collect();
            eddy::sleep(Duration::from_millis(10)).await;
            assert_eq!(woken.load(Ordering::SeqCst), 0, "woken before the cancel");
            let canceller = token.clone();
            std::thread::spawn(move || canceller.cancel())
                .join()
                .unwrap();
            for waiter in waiters {
                waiter.await.unwrap();
            }
        });
        assert_eq!(woken.load(Ordering::SeqCst), 20);
    }
}

#[test]
fn a_drop_guard_cancels_unless_disarmed() {
    let token = CancellationToken::new();
    let disarmed = token.clone().drop_guard().disarm();
    assert!(!token.is_cancelled() && !disarmed.is_cancelled());
    {
        let _guard = token.clone().drop_guard();
        assert!(!token.is_cancelled());
    }
    assert!(token.is_cancelled(), "the guard's drop cancelled the token");
    // A guard dropped by a panic's unwinding cancels too.
    let token = CancellationToken::new();
    let guard = token.clone().drop_guard();
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _guard = guard;
        panic!("scope left by a panic");
    }));
    assert!(token.is_cancelled());
}

#[test]
fn run_until_cancelled_returns_the_output_or_drops_the_future() {
    for rt in runtimes() {
        rt.block_on(async {
            let token = CancellationToken::new();
            assert_eq!(token.run_until_cancelled(async { 7 }).await, Some(7));

            // Cancelled mid-way: `None`, and the future was dropped where it waited.
            let (dropped, flag) = DropFlag::new();
            let canceller = token.clone();
            eddy::spawn(async move {
                eddy::sleep(Duration::from_millis(5)).await;
                canceller.cancel();
            });
            let slow = async move {
                let _flag = flag;
                eddy::sleep(Duration::from_secs(60)).await;
                1
            };
            assert_eq!(token.run_until_cancelled(slow).await, None);
            assert!(dropped.load(Ordering::SeqCst));

            // Already cancelled: the future is not polled at all.
            let never = async { unreachable!("polled after the token was cancelled") };
            assert_eq!(token.run_until_cancelled(never).await, None::<()>);
        });
    }
}

#[test]
fn the_futures_are_send_and_the_token_is_send_and_sync() {
    fn send<T: Send>(_: &T) {}
    fn send_sync<T: Send + Sync>(_: &T) {}
    let token = CancellationToken::new();
    send_sync(&token);
    send(&token.cancelled());
    send(&token.clone().cancelled_owned());
    send(&token.run_until_cancelled(async {}));
    send(&token.clone().drop_guard());
}
