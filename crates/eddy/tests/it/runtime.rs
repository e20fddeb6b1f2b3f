//! The runtime: flavours, entering, spawning, nesting, shutdown.

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use eddy::runtime::Flavor;
use eddy::{Handle, Runtime};

/// The text of a caught panic, whether it was raised with a literal or with `format!`.
pub(crate) fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

fn multi(workers: usize) -> Runtime {
    Runtime::builder()
        .multi_thread()
        .worker_threads(workers)
        .thread_name("it")
        .build()
        .unwrap()
}

#[test]
fn run_returns_the_output_and_runs_spawned_tasks() {
    let out = eddy::run(async {
        let a = eddy::spawn(async { 20 });
        let b = eddy::spawn(async { 22 });
        a.await.unwrap() + b.await.unwrap()
    });
    assert_eq!(out, 42);
}

#[test]
fn outside_a_runtime_the_message_names_the_fix() {
    let err = Handle::try_current().unwrap_err();
    assert!(err.to_string().contains("eddy::run"), "{err}");
    let panic = std::panic::catch_unwind(|| drop(eddy::spawn(async {}))).unwrap_err();
    let message = panic_message(panic);
    assert!(
        message.contains("eddy::run") && message.contains("Handle::enter"),
        "{message}"
    );
}

#[test]
fn nested_block_on_panics_with_the_fix() {
    let rt = Runtime::builder().build().unwrap();
    let inner = Runtime::builder().build().unwrap();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { inner.block_on(async {}) });
    }))
    .unwrap_err();
    let message = panic_message(panic);
    assert!(
        message.contains(".await") && message.contains("spawn_blocking"),
        "{message}"
    );
    // The runtime is still usable afterwards.
    assert_eq!(rt.block_on(async { 1 }), 1);
}

#[test]
fn current_thread_runs_not_send_tasks() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    assert_eq!(rt.handle().flavor(), Flavor::CurrentThread);
    let shared = Rc::new(std::cell::Cell::new(0));
    rt.block_on(async {
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let shared = Rc::clone(&shared);
                eddy::spawn_local(async move { shared.set(shared.get() + 1) })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(shared.get(), 10);
}

#[test]
fn spawn_local_on_a_multi_thread_runtime_says_why_not() {
    let rt = multi(2);
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { drop(eddy::spawn_local(async {})) });
    }))
    .unwrap_err();
    assert!(panic_message(panic).contains("current-thread runtime"));
}

#[test]
fn multi_thread_tasks_run_on_workers_with_sockets_and_timers() {
    let rt = multi(2);
    assert_eq!(rt.handle().flavor(), Flavor::MultiThread);
    let names = rt.block_on(async {
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                eddy::spawn(async move {
                    // Sockets, timers and spawns all find the runtime from a worker.
                    let listener = eddy::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                    let addr = listener.local_addr().unwrap();
                    let client = eddy::spawn(async move {
                        let mut s = eddy::net::TcpStream::connect(addr).await.unwrap();
                        s.write_all(&[i]).await.unwrap();
                    });
                    let (mut server, _) = listener.accept().await.unwrap();
                    let mut byte = [0u8];
                    server.read_exact(&mut byte).await.unwrap();
                    client.await.unwrap();
                    eddy::sleep(Duration::from_millis(5)).await;
                    (byte[0], std::thread::current().name().map(str::to_owned))
                })
            })
            .collect();
        let mut names = Vec::new();
        for (i, t) in tasks.into_iter().enumerate() {
            let (byte, name) = t.await.unwrap();
            assert_eq!(usize::from(byte), i);
            names.push(name.unwrap_or_default());
        }
        names
    });
    assert!(names.iter().all(|n| n.starts_with("it-")), "{names:?}");
}

#[test]
fn spawn_blocking_runs_off_the_runtime_threads() {
    let rt = Runtime::builder().thread_name("rt").build().unwrap();
    let (value, name) = rt.block_on(async {
        eddy::spawn_blocking(|| (6 * 7, std::thread::current().name().map(str::to_owned)))
            .await
            .unwrap()
    });
    assert_eq!(value, 42);
    assert_eq!(name.as_deref(), Some("rt-blocking"));
}

#[test]
fn shutdown_cancels_pending_tasks_and_reports_running_blocking_jobs() {
    struct Dropped(Arc<AtomicUsize>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    for rt in [Runtime::builder().build().unwrap(), multi(2)] {
        let dropped = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = std::sync::mpsc::channel();
        rt.block_on(async {
            for _ in 0..100 {
                let guard = Dropped(Arc::clone(&dropped));
                drop(eddy::spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                }));
            }
            drop(eddy::spawn_blocking(move || {
                tx.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(500));
            }));
        });
        rx.recv().unwrap();
        let report = rt.shutdown_timeout(Duration::from_millis(10));
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            100,
            "every pending task's future was dropped"
        );
        assert_eq!(
            report.still_running.len(),
            1,
            "the sleeping blocking job is reported"
        );
    }
}

#[test]
fn handles_spawn_from_other_threads() {
    let rt = multi(2);
    let handle = rt.handle().clone();
    let from_thread = std::thread::spawn(move || handle.spawn(async { 7 }))
        .join()
        .unwrap();
    assert_eq!(rt.block_on(from_thread).unwrap(), 7);
    let ct = Runtime::builder().build().unwrap();
    let handle = ct.handle().clone();
    let task = std::thread::spawn(move || handle.spawn(async { 8 }))
        .join()
        .unwrap();
    assert_eq!(ct.block_on(task).unwrap(), 8);
}

#[test]
fn entering_a_runtime_lets_plain_threads_create_sockets() {
    let rt = multi(1);
    let _guard = rt.handle().enter();
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listener = eddy::net::TcpListener::from_std(std_listener).unwrap();
    assert!(Handle::try_current().is_ok());
    drop(listener);
}

/// A task whose timers are always due still yields: completing a sleep spends the budget
/// (eddy-wake's `coop`), as a ready socket read does. Regression (issue 20): timer futures
/// took no part in the budget, so a loop of due sleeps never let a sibling run.
#[test]
fn a_loop_of_due_sleeps_still_lets_others_run() {
    for rt in [Runtime::builder().build().unwrap(), multi(1)] {
        rt.block_on(async {
            eddy::spawn(async {
                let sibling_ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let flag = Arc::clone(&sibling_ran);
                let sibling = eddy::spawn(async move { flag.store(true, Ordering::SeqCst) });
                let mut sleeps_before_sibling = None;
                // A deadline in the past: due at once, never a wait for the next tick.
                let past = std::time::Instant::now() - Duration::from_secs(1);
                for n in 0..1_000 {
                    eddy::sleep_until(past).await;
                    if sleeps_before_sibling.is_none() && sibling_ran.load(Ordering::SeqCst) {
                        sleeps_before_sibling = Some(n);
                    }
                }
                sibling.await.unwrap();
                let n = sleeps_before_sibling.expect("the sibling ran during the sleeps");
                assert!(
                    n <= usize::from(eddy::executor::coop::BUDGET),
                    "the sibling waited for {n} sleeps"
                );
            })
            .await
            .unwrap();
        });
    }
}

/// A task whose reads always succeed still yields: eddy-net spends the budget (eddy-wake's),
/// so a sibling on the same thread runs long before the reader drains its socket.
#[test]
fn a_reader_that_never_blocks_still_lets_others_run() {
    use std::io::Write;

    const BYTES: usize = 100_000;
    eddy::run(async {
        let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        b.set_nonblocking(false).unwrap();
        let writer = std::thread::spawn(move || b.write_all(&[1u8; BYTES]).unwrap());
        let mut a = eddy::net::UnixStream::from_std(a).unwrap();
        // Wait until the socket holds a good part of the data, so reads keep succeeding.
        eddy::sleep(Duration::from_millis(50)).await;
        let sibling_ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&sibling_ran);
        let sibling = eddy::spawn(async move { flag.store(true, Ordering::SeqCst) });
        let mut reads_before_sibling = None;
        let mut byte = [0u8; 1];
        for n in 0..BYTES {
            a.read_exact(&mut byte).await.unwrap();
            if reads_before_sibling.is_none() && sibling_ran.load(Ordering::SeqCst) {
                reads_before_sibling = Some(n);
            }
        }
        sibling.await.unwrap();
        writer.join().unwrap();
        let reads = reads_before_sibling.expect("the sibling ran while the reader was reading");
        assert!(
            reads <= usize::from(eddy::executor::coop::BUDGET),
            "the sibling waited for {reads} reads"
        );
    });
}

/// A thread outside the runtime enters its handle, sets a timer and waits for it on its own
/// waker, while the runtime's driver is parked with no timer of its own: the new earliest
/// timer must unpark the driver (the timer driver's unpark callback, an eventfd write) and
/// the driver's next turn must fire it. If either were lost, nothing else would ever wake
/// the driver and the plain thread would wait for good (bounded here by the channel).
#[test]
fn a_timer_set_on_a_plain_thread_wakes_a_parked_driver() {
    struct Unparker(std::thread::Thread);
    impl std::task::Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    for rt in [
        Runtime::builder().current_thread().build().unwrap(),
        multi(2),
    ] {
        let handle = rt.handle().clone();
        let (stop, stopped) = eddy::sync::oneshot::channel::<()>();
        let (done, fired) = std::sync::mpsc::channel();
        // Detached: if the timer never fires, it stays parked and the test fails below.
        std::thread::spawn(move || {
            let _entered = handle.enter();
            let mut sleep = std::pin::pin!(eddy::time::sleep(Duration::from_millis(20)));
            let waker = std::task::Waker::from(Arc::new(Unparker(std::thread::current())));
            let mut cx = std::task::Context::from_waker(&waker);
            while sleep.as_mut().poll(&mut cx).is_pending() {
                std::thread::park();
            }
            let _ = done.send(());
        });
        // Ends the wait below either way, after the timer fired or after 10 s.
        let referee = std::thread::spawn(move || {
            let outcome = fired.recv_timeout(Duration::from_secs(10));
            drop(stop);
            outcome
        });
        // The runtime's thread (current-thread) or workers (multi-thread) park in the
        // driver: nothing runs but this wait.
        rt.block_on(async {
            let _ = stopped.await;
        });
        referee.join().unwrap().expect(
            "the timer set on a plain thread never fired: the parked driver was not unparked",
        );
    }
}

/// Regression (issue 17): each I/O event the worker parked in the driver dispatched woke a
/// peer — often the worker itself, through an eventfd write — so a two-worker
/// request/response server paid a worker wake per request (11–23% more CPU per request
/// than tokio under wrk). A wake from the driver now queues quietly and the worker wakes
/// a peer once afterwards, only if it got more tasks than it runs at once. One connection
/// in lockstep gives one task per dispatch: no wake is needed at all.
#[test]
fn a_lockstep_connection_wakes_no_worker_per_request() {
    use std::io::{Read, Write};
    const ROUNDS: u64 = 2_000;
    let rt = multi(2);
    let listener = rt
        .block_on(eddy::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = rt.spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 64];
        while conn.read_exact(&mut buf).await.is_ok() {
            conn.write_all(&buf).await.unwrap();
        }
    });
    let mut client = std::net::TcpStream::connect(addr).unwrap();
    let mut buf = [7u8; 64];
    // Warm up (accept, registration), then count.
    client.write_all(&buf).unwrap();
    client.read_exact(&mut buf).unwrap();
    let before = rt.handle().metrics().scheduler.unparks;
    for _ in 0..ROUNDS {
        client.write_all(&buf).unwrap();
        client.read_exact(&mut buf).unwrap();
    }
    let unparks = rt.handle().metrics().scheduler.unparks - before;
    drop(client);
    rt.block_on(server).unwrap();
    assert!(
        unparks < ROUNDS / 10,
        "{unparks} worker wakes for {ROUNDS} lockstep requests"
    );
}
