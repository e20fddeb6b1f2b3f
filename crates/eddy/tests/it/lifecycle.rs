//! The runtime's lifecycle as a user meets it: shutdown's waits, what a future dropped at
//! shutdown may still do, nested and out-of-order `enter`, and what every call says outside
//! a runtime (the regressions of issue 15).

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Waker};
use std::time::Duration;

use eddy::runtime::Flavor;
use eddy::{Handle, Runtime};

use crate::runtime::panic_message;
use crate::support::runtimes;

/// Regression: the blocking pool's own `Drop` shut it down a second time with its 5 s
/// default, so `shutdown_timeout(100 ms)` returned after 5.1 s, or the 5 s block landed
/// wherever the last `Handle` clone dropped. The job blocks up to 3 s: a second wait would
/// outlast it and see it finish.
#[test]
fn shutdown_timeout_does_not_wait_again_when_the_last_handle_drops() {
    for rt in runtimes() {
        let handle = rt.handle().clone();
        let finished = Arc::new(AtomicBool::new(false));
        let (release, released) = mpsc::channel::<()>();
        let (started, start) = mpsc::channel::<()>();
        let flag = finished.clone();
        drop(rt.handle().spawn_blocking(move || {
            started.send(()).unwrap();
            let _ = released.recv_timeout(Duration::from_secs(3));
            flag.store(true, Ordering::SeqCst);
        }));
        start.recv().unwrap();
        let report = rt.shutdown_timeout(Duration::from_millis(100));
        assert_eq!(report.still_running.len(), 1);
        drop(handle);
        assert!(
            !finished.load(Ordering::SeqCst),
            "dropping the last handle waited for the blocking job again"
        );
        release.send(()).unwrap();
    }
}

/// What a `Drop` impl tried at shutdown, and how it went.
type Log = Arc<Mutex<Vec<String>>>;

/// Runs runtime calls in its `Drop`, as cleanup code does (a connection pool returning a
/// socket, a task spawning its own cleanup), and logs each that panicked.
struct UsesTheRuntimeOnDrop(Log);

impl Drop for UsesTheRuntimeOnDrop {
    fn drop(&mut self) {
        let mut failed = Vec::new();
        let mut attempt = |what: &str, f: &mut dyn FnMut()| {
            if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
                failed.push(format!("{what}: {}", panic_message(p)));
            }
        };
        attempt("Handle::current", &mut || drop(Handle::current()));
        attempt("spawn", &mut || drop(eddy::spawn(async {})));
        attempt("sleep", &mut || {
            let mut sleep = pin!(eddy::sleep(Duration::from_secs(1)));
            let _ = sleep.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        });
        attempt("TcpListener::from_std", &mut || {
            let std = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            drop(eddy::net::TcpListener::from_std(std));
        });
        self.0.lock().unwrap().extend(failed);
    }
}

/// Regression: the current-thread runtime dropped its pending tasks without the runtime
/// entered, so each of these panicked "no eddy runtime is running on this thread" (the
/// multi-thread workers had it entered).
#[test]
fn futures_dropped_at_shutdown_still_see_their_runtime() {
    for rt in runtimes() {
        let flavor = rt.handle().flavor();
        let log = Log::default();
        for _ in 0..10 {
            let guard = UsesTheRuntimeOnDrop(log.clone());
            drop(rt.spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            }));
        }
        // Let every task reach its first `pending`, so shutdown drops it there.
        rt.block_on(async {
            for _ in 0..10 {
                eddy::yield_now().await;
            }
        });
        drop(rt);
        let log = log.lock().unwrap();
        assert!(log.is_empty(), "{flavor:?}: {} failed: {log:#?}", log.len());
    }
}

/// Regression: each `EnterGuard` popped the top of a thread-local stack, so dropping the
/// outer guard first switched `spawn`, sockets and timers back to the outer runtime,
/// although only the inner guard lived.
#[test]
fn enter_guards_dropped_out_of_order_keep_the_live_runtime_current() {
    let a = Runtime::builder().current_thread().build().unwrap();
    let b = Runtime::builder()
        .multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let outer = a.handle().enter();
    let inner = b.handle().enter();
    drop(outer);
    assert_eq!(Handle::current().flavor(), Flavor::MultiThread);
    let before = (
        a.handle().metrics().io.registered,
        b.handle().metrics().io.registered,
    );
    let std = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listener = eddy::net::TcpListener::from_std(std).unwrap();
    assert_eq!(
        (
            a.handle().metrics().io.registered,
            b.handle().metrics().io.registered
        ),
        (before.0, before.1 + 1),
        "the socket registered with the runtime whose guard lives"
    );
    assert!(
        eddy::timer::Handle::try_current().is_ok(),
        "the live guard's timer is current"
    );
    // A task that cannot finish, so the worker cannot complete it before the check
    // (a task returning at once made this flaky under qemu's slower clock).
    let task = eddy::spawn(std::future::pending::<()>());
    assert!(b.handle().tasks().iter().any(|t| t.id == task.id()));
    task.abort();
    drop(listener);
    drop(inner);
    assert!(Handle::try_current().is_err());
    assert!(eddy::timer::Handle::try_current().is_err());
    assert!(eddy::net::Handle::current().is_err());
}

/// Regression: outside a runtime `spawn` panicked, `sleep` panicked with the timer crate's
/// message ending in ": NoDriver", and socket constructors returned an error naming
/// `eddy_net::Handle::enter()`. Now each panics, with the facade's advice first.
#[test]
fn outside_a_runtime_every_call_panics_with_the_facades_advice() {
    let mut messages = Vec::new();
    let mut expect_panic = |what: &str, f: &mut dyn FnMut()| match catch_unwind(AssertUnwindSafe(f))
    {
        Ok(()) => panic!("{what} did not panic outside a runtime"),
        Err(p) => messages.push((what.to_owned(), panic_message(p))),
    };
    expect_panic("spawn", &mut || drop(eddy::spawn(async {})));
    expect_panic("spawn_blocking", &mut || drop(eddy::spawn_blocking(|| ())));
    expect_panic("Handle::current", &mut || drop(Handle::current()));
    expect_panic("sleep", &mut || {
        let mut sleep = pin!(eddy::sleep(Duration::from_millis(1)));
        let _ = sleep.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    });
    expect_panic("timeout", &mut || {
        let mut t = pin!(eddy::timeout(
            Duration::from_millis(1),
            std::future::pending::<()>(),
        ));
        let _ = t.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    });
    expect_panic("TcpListener::from_std", &mut || {
        let std = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        drop(eddy::net::TcpListener::from_std(std));
    });
    expect_panic("TcpStream::connect", &mut || {
        let mut connect = pin!(eddy::net::TcpStream::connect("127.0.0.1:9"));
        let _ = connect
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
    });
    expect_panic("UnixStream::pair", &mut || {
        drop(eddy::net::UnixStream::pair())
    });
    expect_panic("Async::new", &mut || {
        drop(eddy::net::Async::new(std::io::pipe().unwrap().0));
    });
    for (what, message) in &messages {
        assert!(
            message.starts_with("no eddy runtime is running on this thread")
                && message.contains("eddy::run(async { ... })")
                && message.contains("eddy::Handle::enter()")
                && !message.contains("NoDriver"),
            "{what}: {message}"
        );
    }
}

/// Regression: `eddy::run` inside a runtime built a whole runtime, then panicked about
/// `block_on`, which the user never called.
#[test]
fn run_inside_a_runtime_names_run() {
    for rt in runtimes() {
        let message = rt.block_on(async {
            let nested = catch_unwind(|| eddy::run(async {}));
            panic_message(nested.unwrap_err())
        });
        assert!(
            message.contains("`eddy::run` was called from inside a runtime")
                && message.contains(".await"),
            "{message}"
        );
    }
}
