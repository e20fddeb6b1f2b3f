//! `eddy::signal::ctrl_c` with real signals. Every test that raises `SIGINT` runs in a child
//! process (the test binary re-run with a flag), because the handler outlives the test.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use eddy::signal::{SignalKind, ctrl_c, signal};
use eddy_net::Reactor;

use crate::support::{in_child_process, two_workers};

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

/// A waker that unparks the thread that made it.
struct Unparker(std::thread::Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `fut` on this plain thread, parking between polls; fails after 10 s.
fn wait_on_this_thread<T>(fut: impl Future<Output = T>) -> T {
    let mut fut = pin!(fut);
    let waker = Waker::from(Arc::new(Unparker(std::thread::current())));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Poll::Ready(value) = fut.as_mut().poll(&mut Context::from_waker(&waker)) {
            return value;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "the future was not woken in 10 s");
        std::thread::park_timeout(left);
    }
}

#[test]
fn ctrl_c_needs_no_runtime() {
    let _ = in_child_process(
        "signal::ctrl_c_needs_no_runtime",
        "EDDY_TEST_CTRL_C_NO_RUNTIME_CHILD",
        &[],
        || {
            // No runtime and no reactor: eddy's signal thread wakes this thread's waker.
            let mut c = pin!(ctrl_c());
            assert_pending(c.as_mut());
            let raiser = raise_sigint_after(Duration::from_millis(20));
            wait_on_this_thread(c).unwrap();
            raiser.join().unwrap();
        },
    );
}

#[test]
fn signals_that_cannot_be_handled_are_clear_errors() {
    // Each fails before anything is installed, so the test process keeps its handlers.
    let forbidden = [
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
    ];
    for number in forbidden {
        let name = format!("{:?}", SignalKind::from_raw(number));
        assert!(name.starts_with("SIG"), "{number} has no name: {name}");
        let err = signal(SignalKind::from_raw(number)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{name}");
        assert!(err.to_string().contains(&name), "{name}: {err}");
    }
    for number in [0, -1, 65, 1000] {
        let err = signal(SignalKind::from_raw(number)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{number}");
        assert!(err.to_string().contains("not a signal"), "{number}: {err}");
    }
    assert_eq!(format!("{:?}", SignalKind::terminate()), "SIGTERM");
    assert_eq!(format!("{}", SignalKind::from_raw(40)), "signal 40");
}

/// The handler the chaining test installs before eddy's.
extern "C" fn earlier_handler(_signal: libc::c_int) {
    EARLIER_HANDLER_RAN.store(true, Ordering::SeqCst);
}

static EARLIER_HANDLER_RAN: AtomicBool = AtomicBool::new(false);

#[test]
fn a_handler_installed_before_eddy_still_runs() {
    let _ = in_child_process(
        "signal::a_handler_installed_before_eddy_still_runs",
        "EDDY_TEST_SIGNAL_CHAIN_CHILD",
        &[],
        || {
            // SAFETY: an all-zero sigaction is valid; the handler only stores an atomic.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = earlier_handler as *const () as libc::sighandler_t;
            // SAFETY: a valid action for a catchable signal; the old one is not needed.
            let installed =
                unsafe { libc::sigaction(libc::SIGUSR2, &action, std::ptr::null_mut()) };
            assert_eq!(installed, 0);
            let mut usr2 = signal(SignalKind::user_defined2()).unwrap();
            // SAFETY: raise has no preconditions; both handlers catch SIGUSR2.
            assert_eq!(unsafe { libc::raise(libc::SIGUSR2) }, 0);
            wait_on_this_thread(usr2.recv());
            assert!(
                EARLIER_HANDLER_RAN.load(Ordering::SeqCst),
                "the handler installed before eddy's was not called"
            );
        },
    );
}

#[test]
fn dump_on_sigint_and_ctrl_c_share_the_handler() {
    let out = in_child_process(
        "signal::dump_on_sigint_and_ctrl_c_share_the_handler",
        "EDDY_TEST_DUMP_AND_CTRL_C_CHILD",
        &[],
        || {
            // The sequence that used to lose the dump: `dump_on(SIGINT)`, then `ctrl_c()`.
            for rt in crate::support::runtimes() {
                rt.dump_on(libc::SIGINT).unwrap();
                rt.block_on(async {
                    let parked = eddy::spawn(std::future::pending::<()>());
                    let mut c = pin!(ctrl_c());
                    assert_pending(c.as_mut());
                    let raiser = raise_sigint_after(Duration::from_millis(20));
                    c.await.unwrap();
                    raiser.join().unwrap();
                    parked.abort();
                });
            }
        },
    );
    if out.is_empty() {
        return; // The child itself.
    }
    // One dump per runtime per SIGINT: the first SIGINT dumps the current-thread runtime;
    // the second dumps both (the first is alive until the loop's end).
    assert!(
        out.matches("eddy: signal 2:").count() >= 2,
        "the dumps are missing:\n{out}"
    );
}

/// Runs this test binary's `test` in a child process with `flag` set, sending it `signal`
/// each time it prints a line ending in "ready" (the test harness may have printed the
/// test's name on the same line); the child must then exit cleanly.
fn signal_child_when_ready(test: &str, flag: &str, signal: libc::c_int) {
    use std::io::BufRead;
    let mut child = crate::support::rerun(test)
        .env(flag, "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        if line.ends_with("ready") {
            // SAFETY: kill has no memory preconditions; `pid` is our own child, not reaped.
            assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        }
        lines.push(line);
    }
    let status = child.wait().unwrap();
    assert!(
        status.success() && lines.iter().any(|l| l == "child: ok"),
        "child failed ({status:?}):\n{}",
        lines.join("\n")
    );
}

#[test]
fn sigterm_from_another_process_reaches_every_listener_each_time() {
    const FLAG: &str = "EDDY_TEST_SIGTERM_CHILD";
    if std::env::var_os(FLAG).is_none() {
        signal_child_when_ready(
            "signal::sigterm_from_another_process_reaches_every_listener_each_time",
            FLAG,
            libc::SIGTERM,
        );
        return;
    }
    // Two listeners on a multi-thread runtime's tasks and one on a current-thread runtime
    // on another thread: each SIGTERM the parent sends reaches all three.
    let mt = two_workers();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let mut listeners: Vec<eddy::signal::Signal> = (0..3)
        .map(|_| signal(SignalKind::terminate()).unwrap())
        .collect();
    let third = listeners.pop().unwrap();
    let other = std::thread::spawn(move || {
        let mut third = third;
        let ct = eddy::Runtime::builder().current_thread().build().unwrap();
        for _ in 0..2 {
            ct.block_on(third.recv());
            tx.send(()).unwrap();
        }
    });
    mt.block_on(async move {
        let tasks: Vec<_> = listeners
            .into_iter()
            .map(|mut listener| {
                eddy::spawn(async move {
                    listener.recv().await;
                    listener
                })
            })
            .collect();
        println!("first: ready");
        let mut listeners = Vec::new();
        for task in tasks {
            listeners.push(task.await.unwrap());
        }
        rx.recv().unwrap();
        // Each listener waits for the next delivery, not the one it reported.
        println!("second: ready");
        for mut listener in listeners {
            listener.recv().await;
        }
        rx.recv().unwrap();
    });
    other.join().unwrap();
    println!("child: ok");
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

/// Open file descriptors of this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// The shell loop that sends `SIGUSR1` to `$1`, `$2` times (the shell's builtin `kill`: no
/// process per signal), failing if one send fails.
const SENDER: &str =
    r#"i=0; while [ "$i" -lt "$2" ]; do kill -USR1 "$1" || exit 1; i=$((i+1)); done"#;

/// Rounds after the storm: in each, one delivery, which every steady listener must see.
const ROUNDS: usize = 200;

/// `signals` SIGUSR1s from another process while four listeners keep listening and four
/// tasks keep making listeners and dropping them; then [`ROUNDS`] single deliveries, each
/// of which every steady listener must see before the next is sent (a lost wake leaves one
/// waiting for good). Returns what each steady listener counted and how many listeners the
/// churning tasks made.
fn storm(rt: &eddy::Runtime, signals: usize) -> (Vec<u64>, u64) {
    rt.block_on(async {
        let done = Arc::new(AtomicBool::new(false));
        let round = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let acked: Arc<Vec<std::sync::atomic::AtomicUsize>> = Arc::new(
            (0..4)
                .map(|_| std::sync::atomic::AtomicUsize::new(0))
                .collect(),
        );
        let steady: Vec<_> = (0..4)
            .map(|i| {
                let mut listener = signal(SignalKind::user_defined1()).unwrap();
                let (round, acked) = (Arc::clone(&round), Arc::clone(&acked));
                eddy::spawn(async move {
                    let mut seen = 0u64;
                    loop {
                        listener.recv().await;
                        seen += 1;
                        let now = round.load(Ordering::SeqCst);
                        acked[i].store(now, Ordering::SeqCst);
                        if now == ROUNDS {
                            return seen;
                        }
                    }
                })
            })
            .collect();
        let made_so_far = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let churning: Vec<_> = (0..4u64)
            .map(|i| {
                let (done, made_so_far) = (Arc::clone(&done), Arc::clone(&made_so_far));
                eddy::spawn(async move {
                    let mut made = 0u64;
                    while !done.load(Ordering::SeqCst) {
                        let mut listener = signal(SignalKind::user_defined1()).unwrap();
                        made += 1;
                        made_so_far.fetch_add(1, Ordering::SeqCst);
                        for _ in 0..=(made + i) % 5 {
                            let _ = eddy::timeout(Duration::from_millis(2), listener.recv()).await;
                        }
                    }
                    made
                })
            })
            .collect();
        let status = eddy::process::Command::new("sh")
            .args(["-c", SENDER, "sh"])
            .arg(std::process::id().to_string())
            .arg(signals.to_string())
            .status()
            .await
            .unwrap();
        assert!(status.success(), "the sender failed: {status}");
        // The churn goes on until it has made listeners enough, however fast the sender
        // was (a quick storm on an idle machine can end before the churners loop twice).
        let deadline = Instant::now() + Duration::from_secs(10);
        while made_so_far.load(Ordering::SeqCst) <= 4 {
            assert!(Instant::now() < deadline, "the churning tasks stalled");
            eddy::sleep(Duration::from_millis(1)).await;
        }
        done.store(true, Ordering::SeqCst);
        for r in 1..=ROUNDS {
            round.store(r, Ordering::SeqCst);
            // SAFETY: raise has no preconditions; SIGUSR1 is handled (listeners exist).
            assert_eq!(unsafe { libc::raise(libc::SIGUSR1) }, 0);
            let deadline = Instant::now() + Duration::from_secs(10);
            while acked.iter().any(|a| a.load(Ordering::SeqCst) < r) {
                let acks: Vec<_> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
                assert!(
                    Instant::now() < deadline,
                    "round {r}'s delivery did not reach every listener: {acks:?}"
                );
                eddy::sleep(Duration::from_micros(200)).await;
            }
        }
        let mut counts = Vec::new();
        for task in steady {
            counts.push(task.await.unwrap());
        }
        let mut made = 0;
        for task in churning {
            made += task.await.unwrap();
        }
        (counts, made)
    })
}

#[test]
fn a_storm_from_another_process_loses_no_wake_and_no_fd() {
    let out = in_child_process(
        "signal::a_storm_from_another_process_loses_no_wake_and_no_fd",
        "EDDY_TEST_SIGNAL_STORM_CHILD",
        &[],
        || {
            const SIGNALS: usize = 10_000;
            // The registry's pipe and thread exist from the first listener on: made here,
            // so the fd count below starts with them.
            drop(signal(SignalKind::user_defined1()).unwrap());
            let before = open_fds();
            for rt in crate::support::runtimes() {
                let (counts, made) = storm(&rt, SIGNALS);
                drop(rt);
                // Coalescing: at least one per round, at most every delivery.
                for &seen in &counts {
                    assert!(
                        (ROUNDS as u64..=(SIGNALS + ROUNDS) as u64).contains(&seen),
                        "{counts:?}"
                    );
                }
                assert!(made > 4, "the churning tasks made only {made} listeners");
                println!(
                    "storm: steady listeners saw {counts:?}; {made} listeners made and dropped"
                );
            }
            // The sender's pipes and pidfd and both runtimes' own fds are all closed.
            assert_eq!(open_fds(), before, "fds leaked by the storms");
        },
    );
    // In the parent (the child returns nothing): both flavours ran their storm.
    if !out.is_empty() {
        assert_eq!(out.matches("storm: steady").count(), 2, "{out}");
    }
}
