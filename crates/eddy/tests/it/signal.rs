//! `eddy::signal::ctrl_c` with real signals. Every test that raises `SIGINT` runs in a child
//! process (the test binary re-run with a flag), because the handler outlives the test.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use eddy::signal::ctrl_c;
use eddy_net::Reactor;

use crate::support::in_child_process;

/// A waker that records that it fired and interrupts the reactor's turn.
struct Flag {
    woken: AtomicBool,
    reactor: eddy_net::Handle,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.reactor.unpark();
    }
}

/// Polls `fut` like a real executor would: once, then again only after its waker fired,
/// turning `reactor` in between. Fails if it does not resolve in 10 s, so a lost wake-up
/// fails the test instead of being papered over by a spurious re-poll.
fn drive<T>(reactor: &mut Reactor, fut: impl Future<Output = T>) -> T {
    drive_with(reactor, fut, || {})
}

/// Like [`drive`], calling `after_first_poll` between the first poll and the first turn.
fn drive_with<T>(
    reactor: &mut Reactor,
    fut: impl Future<Output = T>,
    after_first_poll: impl FnOnce(),
) -> T {
    let mut fut = pin!(fut);
    let flag = Arc::new(Flag {
        woken: AtomicBool::new(false),
        reactor: reactor.handle(),
    });
    let waker = Waker::from(Arc::clone(&flag));
    if let Poll::Ready(value) = fut.as_mut().poll(&mut Context::from_waker(&waker)) {
        return value;
    }
    after_first_poll();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if flag.woken.swap(false, Ordering::SeqCst)
            && let Poll::Ready(value) = fut.as_mut().poll(&mut Context::from_waker(&waker))
        {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "the future was not woken in 10 s"
        );
        reactor.turn(Some(Duration::from_millis(100))).unwrap();
    }
}

/// Sends SIGINT to this process from another thread after `delay`.
fn raise_sigint_after(delay: Duration) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        // SAFETY: raise has no preconditions; ctrl_c's handler is installed, so SIGINT does
        // not kill the process.
        assert_eq!(unsafe { libc::raise(libc::SIGINT) }, 0);
    })
}

/// Polls `fut` once; it must be pending.
fn assert_pending<F: Future>(fut: std::pin::Pin<&mut F>) {
    assert!(
        fut.poll(&mut Context::from_waker(Waker::noop()))
            .is_pending()
    );
}

#[test]
fn ctrl_c_without_a_reactor_says_what_to_do() {
    // Fails before installing anything, so the test process keeps its default SIGINT action.
    let mut fut = pin!(ctrl_c());
    let Poll::Ready(Err(err)) = fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) else {
        panic!("ctrl_c without a reactor must fail at once");
    };
    assert_eq!(err.kind(), std::io::ErrorKind::Other);
    assert!(err.to_string().contains("Handle::enter"), "{err}");
}

#[test]
fn ctrl_c_resolves_on_sigint_and_not_on_an_earlier_one() {
    let _ = in_child_process(
        "signal::ctrl_c_resolves_on_sigint_and_not_on_an_earlier_one",
        "EDDY_TEST_CTRL_C_CHILD",
        &[],
        || {
            let mut reactor = Reactor::new().unwrap();
            let _guard = reactor.handle().enter();

            let mut first = pin!(ctrl_c());
            assert_pending(first.as_mut());
            let raiser = raise_sigint_after(Duration::from_millis(50));
            drive(&mut reactor, first).unwrap();
            raiser.join().unwrap();

            // A new future does not see the signal that resolved the old one...
            let mut second = pin!(ctrl_c());
            assert_pending(second.as_mut());
            for _ in 0..3 {
                reactor.turn(Some(Duration::from_millis(20))).unwrap();
                assert_pending(second.as_mut());
            }
            // ...nor one that arrived while nobody waited (the process survives it)...
            // SAFETY: raise has no preconditions; the handler is installed.
            assert_eq!(unsafe { libc::raise(libc::SIGINT) }, 0);
            let mut third = pin!(ctrl_c());
            assert_pending(third.as_mut());
            reactor.turn(Some(Duration::from_millis(20))).unwrap();
            assert_pending(third.as_mut());
            // ...and the next SIGINT resolves both pending ones.
            let raiser = raise_sigint_after(Duration::from_millis(20));
            drive(&mut reactor, second).unwrap();
            drive(&mut reactor, third).unwrap();
            raiser.join().unwrap();
        },
    );
}

#[test]
fn one_sigint_resolves_every_waiter_on_every_reactor() {
    let _ = in_child_process(
        "signal::one_sigint_resolves_every_waiter_on_every_reactor",
        "EDDY_TEST_CTRL_C_WAITERS_CHILD",
        &[],
        || {
            // Two waiters on another thread's reactor, which does not turn while the signal
            // arrives and this thread drains the pipe: epoll will never report the bytes to
            // it, so only the broadcast through the waiter list can wake them.
            let (pending_tx, pending_rx) = std::sync::mpsc::channel();
            let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
            let other = std::thread::spawn(move || {
                let mut reactor = Reactor::new().unwrap();
                let _guard = reactor.handle().enter();
                let both = eddy::future::join_all([ctrl_c(), ctrl_c()]);
                let results = drive_with(&mut reactor, both, || {
                    pending_tx.send(()).unwrap();
                    go_rx.recv().unwrap();
                });
                assert!(results.iter().all(Result::is_ok), "{results:?}");
            });
            // And two on this thread's reactor.
            let mut reactor = Reactor::new().unwrap();
            let _guard = reactor.handle().enter();
            let mut c = pin!(eddy::future::join_all([ctrl_c(), ctrl_c()]));
            assert_pending(c.as_mut());
            pending_rx.recv().unwrap();

            let raiser = raise_sigint_after(Duration::from_millis(20));
            let results = drive(&mut reactor, c);
            assert!(results.iter().all(Result::is_ok), "{results:?}");
            go_tx.send(()).unwrap();
            other.join().unwrap();
            raiser.join().unwrap();
        },
    );
}
