//! The reactor itself: entering, shutdown, stale tokens, running out of descriptors.

use std::future::Future;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use eddy_net::{Async, Reactor, TcpListener, TcpStream, UnixListener};

/// A waker that counts its wakes.
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

/// Polls `fut`, turning `reactor` while it is pending.
fn drive<T>(reactor: &mut Reactor, fut: impl Future<Output = T>) -> T {
    let mut fut = pin!(fut);
    let (_, waker) = counting_waker();
    loop {
        if let Poll::Ready(value) = fut.as_mut().poll(&mut Context::from_waker(&waker)) {
            return value;
        }
        reactor.turn(Some(Duration::from_secs(5))).unwrap();
    }
}

/// Outside a runtime a socket constructor panics, as `eddy::spawn` does, in the facade's
/// terms first; `Handle::current` is the fallible form.
#[test]
fn sockets_without_a_reactor_say_what_to_do() {
    let (reader, _writer) = std::io::pipe().unwrap();
    let panic = std::panic::catch_unwind(move || Async::new(reader)).unwrap_err();
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap();
    assert!(
        message.contains("eddy::run")
            && message.contains("eddy::Handle::enter")
            && message.contains("eddy_net::Handle::enter"),
        "{message}"
    );
    let err = eddy_net::Handle::current().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::Other);
    assert_eq!(err.to_string(), message);
}

#[test]
fn enter_guards_nest_and_restore() {
    let outer = Reactor::new().unwrap();
    let inner = Reactor::new().unwrap();
    let _outer = outer.handle().enter();
    {
        let _inner = inner.handle().enter();
        let _pipe = Async::new(std::io::pipe().unwrap().0).unwrap();
        assert_eq!((outer.registered(), inner.registered()), (0, 1));
    }
    let _pipe = Async::new(std::io::pipe().unwrap().0).unwrap();
    assert_eq!((outer.registered(), inner.registered()), (1, 0));
}

/// Regression: each guard used to pop the top of the stack, so dropping the outer guard
/// first left the outer reactor current although only the inner guard lived.
#[test]
fn enter_guards_dropped_out_of_order_keep_the_live_one_current() {
    let outer = Reactor::new().unwrap();
    let inner = Reactor::new().unwrap();
    let outer_guard = outer.handle().enter();
    let inner_guard = inner.handle().enter();
    drop(outer_guard);
    let _pipe = Async::new(std::io::pipe().unwrap().0).unwrap();
    assert_eq!((outer.registered(), inner.registered()), (0, 1));
    drop(inner_guard);
    assert!(eddy_net::Handle::current().is_err());
}

#[test]
fn dropping_resources_deregisters_them() {
    let mut reactor = Reactor::new().unwrap();
    let _guard = reactor.handle().enter();
    let resources: Vec<_> = (0..50)
        .map(|_| Async::new(std::io::pipe().unwrap().0).unwrap())
        .collect();
    assert_eq!(reactor.registered(), 50);
    drop(resources);
    assert_eq!(reactor.registered(), 0);
    assert_eq!(reactor.turn(Some(Duration::ZERO)).unwrap(), 0);
}

#[test]
fn a_dropped_reactor_wakes_its_waiters_with_an_error() {
    let reactor = Reactor::new().unwrap();
    let handle = reactor.handle();
    let _guard = handle.enter();
    let (reader, _writer) = std::io::pipe().unwrap();
    let reader = Async::new(reader).unwrap();
    let mut readable = pin!(reader.readable());
    let (counter, waker) = counting_waker();
    assert!(
        readable
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    drop(reactor);
    assert_eq!(counter.0.load(Ordering::SeqCst), 1, "the waiter was woken");
    match readable.as_mut().poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(Err(e)) => assert!(e.to_string().contains("shut down"), "{e}"),
        other => panic!("expected a shutdown error, got {other:?}"),
    }
    let err = Async::new(std::io::pipe().unwrap().0).unwrap_err();
    assert!(err.to_string().contains("shut down"), "{err}");
}

/// Resources are closed and their fd numbers reused while another thread turns the
/// reactor and events are in flight: no event for a closed resource may wake the
/// resource that inherited its fd (or its slot).
#[test]
#[cfg_attr(
    miri,
    ignore = "thousands of fds recycled across threads take minutes under Miri"
)]
fn recycled_fds_never_receive_old_events() {
    let mut reactor = Reactor::new().unwrap();
    let handle = reactor.handle();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                reactor.turn(Some(Duration::from_millis(1))).unwrap();
            }
        });
        let _guard = handle.enter();
        let mut quiet: Vec<(
            Arc<Counter>,
            Async<std::os::unix::net::UnixStream>,
            std::os::unix::net::UnixStream,
        )> = Vec::new();
        for _ in 0..2000 {
            // A resource with an event in flight, closed at once.
            let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
            let a = Async::new(a).unwrap();
            b.write_all(b"event in flight").unwrap();
            drop(a);
            // Its successor, likely on the same fd number and slot, with nothing to read.
            let (c, d) = std::os::unix::net::UnixStream::pair().unwrap();
            let c = Async::new(c).unwrap();
            let (counter, waker) = counting_waker();
            let poll = c.poll_read_with(&mut Context::from_waker(&waker), |mut s| {
                std::io::Read::read(&mut s, &mut [0u8; 8])
            });
            assert!(poll.is_pending(), "nothing was written to the successor");
            quiet.push((counter, c, d));
            if quiet.len() > 100 {
                let (counter, ..) = quiet.remove(0);
                assert_eq!(
                    counter.0.load(Ordering::SeqCst),
                    0,
                    "a successor was woken by its predecessor's event"
                );
            }
        }
        std::thread::sleep(Duration::from_millis(20));
        for (counter, ..) in &quiet {
            assert_eq!(
                counter.0.load(Ordering::SeqCst),
                0,
                "a successor was woken by its predecessor's event"
            );
        }
        stop.store(true, Ordering::Relaxed);
        handle.unpark();
    });
}

/// Runs in a child process (it lowers RLIMIT_NOFILE): `accept` reports EMFILE, does not
/// spin while starved, and recovers when descriptors free up.
#[test]
#[cfg_attr(
    miri,
    ignore = "re-runs the test binary in a child process, which Miri cannot spawn"
)]
fn accept_survives_running_out_of_descriptors() {
    in_child_process(
        "reactor::accept_survives_running_out_of_descriptors",
        "EDDY_NET_EMFILE_CHILD",
        emfile_child,
    );
}

/// Runs `body` in a fresh child process (this test binary, filtered to `test`, with `flag`
/// set), for tests that change process-wide state such as limits or signal dispositions.
/// The child must print "child: ok" last; anything else (a panic, a signal) fails the test.
fn in_child_process(test: &str, flag: &str, body: fn()) {
    if std::env::var_os(flag).is_some() {
        body();
        println!("child: ok");
        return;
    }
    let out = crate::support::rerun(test).env(flag, "1").output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("child: ok"),
        "child failed ({:?}):\n{text}",
        out.status
    );
}

fn cpu_time() -> Duration {
    // SAFETY: an all-zero rusage is valid, and getrusage only writes into it.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn emfile_child() {
    let mut reactor = Reactor::new().unwrap();
    let _guard = reactor.handle().enter();
    let listener = drive(&mut reactor, TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    // Connections wait in the backlog; their client fds exist before the limit bites.
    let _c1 = std::net::TcpStream::connect(addr).unwrap();
    let _c2 = std::net::TcpStream::connect(addr).unwrap();
    // An eddy resource whose drop will free a descriptor through eddy.
    let spare = Async::new(std::io::pipe().unwrap().0).unwrap();

    let mut filler = use_up_descriptors();

    let err = drive(&mut reactor, listener.accept()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");

    // Starved: the next accept waits instead of failing again at once, and the thread
    // sleeps in the selector instead of spinning.
    let (counter, waker) = counting_waker();
    let mut accept = pin!(listener.accept());
    assert!(
        accept
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    let (started, cpu_before) = (Instant::now(), cpu_time());
    while started.elapsed() < Duration::from_millis(300) {
        reactor
            .turn(Some(
                Duration::from_millis(300) - started.elapsed().min(Duration::from_millis(300)),
            ))
            .unwrap();
    }
    let cpu = cpu_time() - cpu_before;
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        0,
        "nothing should wake a starved accept"
    );
    assert!(
        cpu < Duration::from_millis(100),
        "starved accept used {cpu:?} of CPU in 300 ms"
    );

    // An eddy fd closes: the accept retries and takes the first connection.
    drop(spare);
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        1,
        "closing an eddy fd wakes the starved accept"
    );
    let stream = match accept.as_mut().poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(Ok((stream, _))) => stream,
        other => panic!("accept after a freed fd: {other:?}"),
    };
    drop(stream);

    // Descriptors freed outside eddy, then a new connection: its edge brings the listener
    // back, and the backlog drains.
    filler.truncate(filler.len().saturating_sub(8));
    let _c3 = std::net::TcpStream::connect(addr).unwrap();
    let (s2, _) = drive(&mut reactor, listener.accept()).unwrap();
    let (s3, _) = drive(&mut reactor, listener.accept()).unwrap();
    drop((s2, s3));
    let _ = drive(&mut reactor, TcpStream::connect(addr)).unwrap();
}

/// Lowers the soft RLIMIT_NOFILE and opens descriptors until none is left; returns them.
fn use_up_descriptors() -> Vec<OwnedFd> {
    let limit = libc::rlimit {
        rlim_cur: 256,
        rlim_max: 256,
    };
    // SAFETY: setrlimit reads a valid rlimit; lowering our own limit is always allowed.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    let mut filler: Vec<OwnedFd> = Vec::new();
    loop {
        match std::io::stdin().as_fd_dup() {
            Ok(fd) => filler.push(fd),
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::EMFILE));
                return filler;
            }
        }
    }
}

/// Regression, found by `cargo xtask stress --only emfile`: a listener that recovered from
/// EMFILE took one connection of its backlog and then waited for a new connection's edge,
/// stranding the rest. Now it accepts until `WouldBlock` without waiting for an edge.
#[test]
#[cfg_attr(
    miri,
    ignore = "re-runs the test binary in a child process, which Miri cannot spawn"
)]
fn accept_drains_the_backlog_after_starving() {
    in_child_process(
        "reactor::accept_drains_the_backlog_after_starving",
        "EDDY_NET_EMFILE_BACKLOG_CHILD",
        emfile_backlog_child,
    );
}

fn emfile_backlog_child() {
    let mut reactor = Reactor::new().unwrap();
    let _guard = reactor.handle().enter();
    let listener = drive(&mut reactor, TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let _clients: Vec<_> = (0..3)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    let spares: Vec<_> = (0..3)
        .map(|_| Async::new(std::io::pipe().unwrap().0).unwrap())
        .collect();
    let _filler = use_up_descriptors();
    let err = drive(&mut reactor, listener.accept()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");

    // Three descriptors freed through eddy; no connection arrives after this point.
    drop(spares);
    let mut accepted = Vec::new();
    for i in 0..3 {
        match drive_for(&mut reactor, listener.accept(), Duration::from_secs(5)) {
            Some(Ok((stream, _))) => accepted.push(stream),
            other => panic!("backlog connection {i} after the fds freed: {other:?}"),
        }
    }
}

/// Regression, found by `cargo xtask stress --only emfile_unix`: a Unix listener out of
/// descriptors returned EMFILE at once on every call (five million a second in a loop that
/// retries). It now waits like the TCP listener, and drains its backlog afterwards.
#[test]
#[cfg_attr(
    miri,
    ignore = "re-runs the test binary in a child process, which Miri cannot spawn"
)]
fn unix_accept_waits_while_starved_and_drains_after() {
    in_child_process(
        "reactor::unix_accept_waits_while_starved_and_drains_after",
        "EDDY_NET_EMFILE_UNIX_CHILD",
        emfile_unix_child,
    );
}

fn emfile_unix_child() {
    let mut reactor = Reactor::new().unwrap();
    let _guard = reactor.handle().enter();
    let path = std::env::temp_dir().join(format!("eddy-net-emfile-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).unwrap();
    let _clients: Vec<_> = (0..3)
        .map(|_| std::os::unix::net::UnixStream::connect(&path).unwrap())
        .collect();
    std::fs::remove_file(&path).unwrap();
    let spares: Vec<_> = (0..3)
        .map(|_| Async::new(std::io::pipe().unwrap().0).unwrap())
        .collect();
    let _filler = use_up_descriptors();
    let err = drive(&mut reactor, listener.accept()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");

    // Starved: the next accept waits instead of failing again at once.
    let (counter, waker) = counting_waker();
    let mut accept = pin!(listener.accept());
    assert!(
        accept
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending(),
        "a starved Unix accept fails again at once instead of waiting"
    );
    drop(spares);
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        1,
        "closing an eddy fd wakes the starved accept"
    );
    let mut accepted = match accept.as_mut().poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(Ok((stream, _))) => vec![stream],
        other => panic!("accept after freed fds: {other:?}"),
    };
    for i in 1..3 {
        match drive_for(&mut reactor, listener.accept(), Duration::from_secs(5)) {
            Some(Ok((stream, _))) => accepted.push(stream),
            other => panic!("backlog connection {i} after the fds freed: {other:?}"),
        }
    }
}

/// Like [`drive`], but gives up (returns `None`) once `patience` has passed.
fn drive_for<T>(
    reactor: &mut Reactor,
    fut: impl Future<Output = T>,
    patience: Duration,
) -> Option<T> {
    let mut fut = pin!(fut);
    let (_, waker) = counting_waker();
    let until = Instant::now() + patience;
    loop {
        if let Poll::Ready(value) = fut.as_mut().poll(&mut Context::from_waker(&waker)) {
            return Some(value);
        }
        let left = until.checked_duration_since(Instant::now())?;
        reactor.turn(Some(left)).unwrap();
    }
}

trait DupFd {
    fn as_fd_dup(&self) -> std::io::Result<OwnedFd>;
}

impl DupFd for std::io::Stdin {
    fn as_fd_dup(&self) -> std::io::Result<OwnedFd> {
        std::os::fd::AsFd::as_fd(self).try_clone_to_owned()
    }
}

/// Runs in a child process with `SIGPIPE` restored to its default action (which kills):
/// writes to closed TCP and Unix peers, plain and vectored, must return errors instead.
#[test]
#[cfg_attr(
    miri,
    ignore = "re-runs the test binary in a child process, which Miri cannot spawn"
)]
fn sigpipe_never_kills_the_process() {
    in_child_process(
        "reactor::sigpipe_never_kills_the_process",
        "EDDY_NET_SIGPIPE_CHILD",
        sigpipe_child,
    );
}

fn sigpipe_child() {
    use futures_util::io::AsyncWriteExt;
    // SAFETY: restoring a signal's default disposition has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let mut reactor = Reactor::new().unwrap();
    let _guard = reactor.handle().enter();
    drive(&mut reactor, async {
        let (mut a, b) = eddy_net::UnixStream::pair().unwrap();
        drop(b);
        assert!(a.write_all(b"x").await.is_err());
        let bufs = [std::io::IoSlice::new(b"a"), std::io::IoSlice::new(b"b")];
        assert!(a.write_vectored(&bufs).await.is_err());

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        drop(listener.accept().await.unwrap());
        let mut failed = false;
        for _ in 0..1000 {
            if client.write_vectored(&bufs).await.is_err()
                || client.write_all(&[0; 512]).await.is_err()
            {
                failed = true;
                break;
            }
        }
        assert!(failed, "writes to a closed TCP peer eventually fail");
    });
}

#[test]
fn metrics_count_registrations_turns_and_events() {
    let mut reactor = Reactor::new().unwrap();
    let _guard = reactor.handle().enter();
    let pipes: Vec<_> = (0..3).map(|_| std::io::pipe().unwrap()).collect();
    let readers: Vec<_> = pipes
        .iter()
        .map(|(r, _)| Async::new(r.try_clone().unwrap()).unwrap())
        .collect();
    let m = reactor.handle().metrics();
    assert_eq!((m.registered, m.turns, m.events), (3, 0, 0));
    // Whatever registration itself reports (nothing on Linux; Miri's epoll reports each new
    // fd once) is counted in this first turn; the rest is measured from here.
    reactor.turn(Some(Duration::ZERO)).unwrap();
    let base = reactor.handle().metrics();
    assert_eq!(base.turns, 1);
    // All three pipes readable: three events, in one turn or a few.
    for (_, w) in &pipes {
        (&*w).write_all(b"x").unwrap();
    }
    let (mut turns, mut seen) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen < 3 {
        reactor.turn(Some(Duration::from_secs(1))).unwrap();
        turns += 1;
        seen = reactor.handle().metrics().events - base.events;
        assert!(Instant::now() < deadline, "events never arrived");
    }
    let m = reactor.handle().metrics();
    assert_eq!(m.events - base.events, 3);
    assert_eq!(m.turns, base.turns + turns);
    assert_eq!(
        m.events_per_turn.iter().map(|b| b.1).sum::<u64>(),
        m.turns,
        "every turn lands in one bucket"
    );
    assert_eq!(
        m.events_per_turn[0].0,
        Some(1),
        "bucket 0: turns with no event"
    );
    assert_eq!(m.events_per_turn.last().unwrap().0, None);
    drop(readers);
    assert_eq!(reactor.handle().metrics().registered, 0);
}
