//! Bad input to the facade, on both flavours: `Duration::MAX`, `Duration::ZERO` and past
//! deadlines on a real runtime; a `JoinHandle` polled after it completed; sockets used
//! after their runtime is gone. Each gives its documented answer: never UB, never a hang.

use std::future::{Future, pending, ready};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use eddy::Runtime;
use eddy::net::{TcpListener, TcpStream};
use eddy::time::{Elapsed, sleep, sleep_until, timeout, timeout_at};

use crate::runtime::panic_message;
use crate::support::runtimes;

const MS: Duration = Duration::from_millis(1);

#[test]
fn duration_max_timeouts_return_the_output_and_max_sleeps_never_fire() {
    for rt in runtimes() {
        rt.block_on(async {
            assert_eq!(timeout(Duration::MAX, ready(5)).await, Ok(5));
            let slept = timeout(Duration::MAX, async {
                sleep(MS).await;
                "slept"
            })
            .await;
            assert_eq!(slept, Ok("slept"));
            // A MAX sleep is still pending when a short timeout around it elapses.
            assert!(matches!(
                timeout(10 * MS, sleep(Duration::MAX)).await,
                Err(Elapsed { .. })
            ));
            // And one left pending in a task does not hold up the runtime's shutdown.
            eddy::spawn(sleep(Duration::MAX));
        });
        drop(rt);
    }
}

#[test]
fn zero_durations_and_past_deadlines_complete_at_once() {
    for rt in runtimes() {
        rt.block_on(async {
            sleep(Duration::ZERO).await;
            let now = Instant::now();
            let long_ago = now.checked_sub(Duration::from_secs(3600)).unwrap_or(now);
            sleep_until(long_ago).await;
            // The future is polled before the deadline is looked at: a ready one wins.
            assert_eq!(timeout(Duration::ZERO, ready(1)).await, Ok(1));
            assert!(matches!(
                timeout(Duration::ZERO, pending::<()>()).await,
                Err(Elapsed { .. })
            ));
            assert!(matches!(
                timeout_at(long_ago, pending::<()>()).await,
                Err(Elapsed { .. })
            ));
        });
    }
}

/// Polling a `JoinHandle` again after it returned `Ready` breaks the `Future` contract; like
/// tokio's, eddy's handle panics then, with a message that names the mistake (documented
/// under `JoinHandle`'s "Panics"). The task and the runtime are unharmed.
#[test]
fn a_join_handle_polled_after_completion_panics_with_a_clear_message() {
    for rt in runtimes() {
        rt.block_on(async {
            let mut handle = eddy::spawn(async { 7 });
            assert_eq!((&mut handle).await.unwrap(), 7);
            assert!(handle.is_finished());
            let mut cx = Context::from_waker(Waker::noop());
            let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _ = Pin::new(&mut handle).poll(&mut cx);
            }));
            let message = panic_message(again.expect_err("a second poll must not succeed"));
            assert!(
                message.contains("JoinHandle polled after it returned Ready"),
                "{message}"
            );
            drop(handle);
            assert_eq!(eddy::spawn(async { 8 }).await.unwrap(), 8);
        });
    }
}

#[test]
fn sockets_used_after_their_runtime_is_gone_say_what_to_do() {
    for rt in runtimes() {
        let (listener, mut stream) = rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let stream = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            (listener, stream)
        });
        drop(rt);
        // Inside another runtime: an error at once, not a wait on a reactor that is gone.
        let other = Runtime::builder().current_thread().build().unwrap();
        let err = other.block_on(listener.accept()).unwrap_err();
        assert_shutdown_message(&err);
        let mut buf = [0u8; 8];
        let err = other.block_on(stream.read(&mut buf)).unwrap_err();
        assert_shutdown_message(&err);
        drop(other);
        // Outside any runtime too: the first poll answers.
        let mut cx = Context::from_waker(Waker::noop());
        match pin!(listener.accept()).poll(&mut cx) {
            Poll::Ready(Err(err)) => assert_shutdown_message(&err),
            other => panic!("expected the shutdown error at once, got {other:?}"),
        }
    }
}

fn assert_shutdown_message(err: &std::io::Error) {
    let message = err.to_string();
    assert!(
        message.contains("shut down") && message.contains("inside a running runtime"),
        "{message}"
    );
}

/// A timer has no error to return (`Sleep`'s output is `()`), so one polled after its
/// runtime is gone panics with what happened and what to do, as tokio's does, rather than
/// hang or fire early; dropping it afterwards is fine. Documented under `sleep`'s Panics.
#[test]
fn timers_polled_after_their_runtime_is_gone_panic_with_what_to_do() {
    for polled_before in [false, true] {
        let rt = Runtime::builder().current_thread().build().unwrap();
        let mut s = {
            let _entered = rt.handle().enter();
            let mut s = sleep(Duration::from_secs(3600));
            if polled_before {
                let mut cx = Context::from_waker(Waker::noop());
                assert!(s.poll_elapsed(&mut cx).is_pending());
            }
            s
        };
        drop(rt);
        let mut cx = Context::from_waker(Waker::noop());
        let polled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.poll_elapsed(&mut cx)));
        let message = panic_message(polled.expect_err("a timer without a driver must not wait"));
        assert!(
            message.contains("time driver has shut down")
                && message.contains("only while their runtime is alive"),
            "{message}"
        );
        drop(s);
    }
}
