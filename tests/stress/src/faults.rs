//! Fault scenarios: what the outside world does wrong (peers that reset, vanish or refuse,
//! descriptor exhaustion, signals) and what user code does wrong (panics). Each must be
//! survived: after the fault, the same runtime still serves a round trip.

use std::future::{Future, poll_fn};
use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use eddy::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use eddy::task::JoinHandle;

use crate::harness::{
    BlockingJob, Ctx, Flavor, Rng, Tracked, cpu_time, echo, join_error, open_fds, prove_alive,
    round_trip, serve_echo, set_nofile, unexpected,
};
use crate::thousands;

/// How long any one phase may take before it counts as a hang.
const PATIENCE: Duration = Duration::from_secs(30);

/// Waits (on eddy's timer) until `done()` holds, for at most `PATIENCE`.
async fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + PATIENCE;
    while !done() {
        if Instant::now() > until {
            return false;
        }
        eddy::sleep(Duration::from_millis(5)).await;
    }
    true
}

/// Awaits every handle, bounded by `PATIENCE`, and returns the outputs of those that
/// resolved (a `JoinError` becomes an `io::Error` so callers judge one result type).
async fn join_all_bounded<T>(handles: Vec<JoinHandle<io::Result<T>>>) -> Vec<io::Result<T>> {
    let mut out = Vec::with_capacity(handles.len());
    let all = async {
        for h in handles {
            out.push(h.await.unwrap_or_else(|e| Err(join_error(e))));
        }
    };
    let _ = eddy::timeout(PATIENCE, all).await;
    out
}

/// Counts results that are an error of one of `kinds` as operations, anything else as an
/// error, and handles that never resolved as lost.
fn expect_errors<T>(
    ctx: &Ctx,
    what: &str,
    want: usize,
    results: Vec<io::Result<T>>,
    kinds: &[io::ErrorKind],
) {
    ctx.lose(
        (want - results.len()) as u64,
        format!("{what}: tasks that never resolved"),
    );
    for r in results {
        match r {
            Err(e) if kinds.contains(&e.kind()) => ctx.ops(1),
            Err(e) => ctx.error(format!("{what}: {e} (expected one of {kinds:?})")),
            Ok(_) => ctx.error(format!("{what}: succeeded (expected one of {kinds:?})")),
        }
    }
}

/// emfile: the server runs out of descriptors with connections waiting. `accept` reports
/// `EMFILE`, the process does not spin while starved, and every waiting connection is
/// accepted once descriptors are freed.
pub(crate) fn emfile(ctx: &Ctx) {
    for flavor in Flavor::BOTH {
        let rt = flavor.runtime();
        emfile_on(ctx, &rt, flavor, Family::Tcp);
        prove_alive(ctx, &rt, "EMFILE");
    }
}

/// emfile_unix: the same with a Unix-domain listener.
pub(crate) fn emfile_unix(ctx: &Ctx) {
    for flavor in Flavor::BOTH {
        let rt = flavor.runtime();
        emfile_on(ctx, &rt, flavor, Family::Unix);
        prove_alive(ctx, &rt, "EMFILE on a Unix listener");
    }
}

/// Which kind of listener runs out of descriptors.
#[derive(Copy, Clone, Debug)]
enum Family {
    Tcp,
    Unix,
}

/// A listener of either family, accepting streams the caller only holds and drops.
enum AnyListener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl AnyListener {
    async fn accept(&self) -> io::Result<Box<dyn Send>> {
        Ok(match self {
            AnyListener::Tcp(l) => Box::new(l.accept().await?.0),
            AnyListener::Unix(l) => Box::new(l.accept().await?.0),
        })
    }
}

/// Binds a listener of `family` and connects `n` blocking clients to it, which wait in its
/// backlog.
async fn listen_with_waiting_clients(
    family: Family,
    n: usize,
) -> io::Result<(AnyListener, Vec<Box<dyn Send>>)> {
    let mut clients: Vec<Box<dyn Send>> = Vec::with_capacity(n);
    let listener = match family {
        Family::Tcp => {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            for _ in 0..n {
                clients.push(Box::new(std::net::TcpStream::connect(addr)?));
            }
            AnyListener::Tcp(listener)
        }
        Family::Unix => {
            let path =
                std::env::temp_dir().join(format!("eddy-stress-{}.sock", std::process::id()));
            let _ = std::fs::remove_file(&path);
            let listener = UnixListener::bind(&path)?;
            for _ in 0..n {
                clients.push(Box::new(std::os::unix::net::UnixStream::connect(&path)?));
            }
            // Connected clients keep working without the name.
            std::fs::remove_file(&path)?;
            AnyListener::Unix(listener)
        }
    };
    Ok((listener, clients))
}

fn emfile_on(ctx: &Ctx, rt: &eddy::Runtime, flavor: Flavor, family: Family) {
    let conns = 24;
    let mut original = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `original` is a valid, writable rlimit for getrlimit to fill.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut original) };
    rt.block_on(async {
        // The clients connect first and wait in the backlog.
        let (listener, clients) = listen_with_waiting_clients(family, conns)
            .await
            .expect("listening with clients waiting");
        // Room for about 8 accepted connections, no more.
        set_nofile(open_fds() as u64 + 8).expect("lowering RLIMIT_NOFILE");
        let held = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(AtomicUsize::new(0));
        let emfiles = Arc::new(AtomicUsize::new(0));
        let server = {
            let (held, accepted, emfiles) = (held.clone(), accepted.clone(), emfiles.clone());
            eddy::spawn(async move {
                let _t = Tracked::new();
                while accepted.load(Ordering::SeqCst) < conns {
                    match listener.accept().await {
                        Ok(stream) => {
                            held.lock().expect("no panics under the lock").push(stream);
                            accepted.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) if e.raw_os_error() == Some(libc::EMFILE) => {
                            emfiles.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => {
                            unexpected(e);
                        }
                    }
                }
            })
        };
        if !wait_until(|| emfiles.load(Ordering::SeqCst) > 0).await {
            ctx.error(format!("{}: accept never reported EMFILE", flavor.label()));
        }
        // Starved: the backlog holds connections the server cannot take. A loop retrying
        // accept would burn a core (1 s of CPU per second); waiting burns nearly nothing.
        let cpu = cpu_time();
        eddy::sleep(Duration::from_secs(1)).await;
        let starved_cpu = cpu_time() - cpu;
        if starved_cpu > Duration::from_millis(300) {
            ctx.error(format!(
                "{}: {starved_cpu:?} of CPU in 1 s while starved: accept spins",
                flavor.label()
            ));
        }
        // Free descriptors, a handful at a time, until every connection is accepted.
        let mut rounds = 0;
        let recovered = wait_until(|| {
            if accepted.load(Ordering::SeqCst) >= conns {
                return true;
            }
            let mut held = held.lock().expect("no panics under the lock");
            if !held.is_empty() {
                rounds += 1;
                held.clear();
            }
            false
        })
        .await;
        if !recovered {
            ctx.lose(
                (conns - accepted.load(Ordering::SeqCst)) as u64,
                format!("{}: connections never accepted after fds freed", flavor.label()),
            );
        }
        let _ = eddy::timeout(PATIENCE, server).await;
        held.lock().expect("no panics under the lock").clear();
        drop(clients);
        let _ = set_nofile(original.rlim_cur);
        ctx.ops((accepted.load(Ordering::SeqCst) + emfiles.load(Ordering::SeqCst)) as u64);
        ctx.note(format!(
            "{}: {conns} accepted after {} EMFILEs and {rounds} frees, {starved_cpu:.0?} CPU in 1 s starved",
            flavor.label(),
            emfiles.load(Ordering::SeqCst)
        ));
    });
}

/// Connects `n` clients to a fresh listener and hands each accepted server-side stream to
/// `server`, each connected client stream to `client`; returns both sides' results.
async fn pairs<S, C, SF, CF>(
    n: usize,
    server: S,
    client: C,
) -> (Vec<io::Result<()>>, Vec<io::Result<()>>)
where
    S: Fn(TcpStream) -> SF + Send + 'static,
    SF: Future<Output = io::Result<()>> + Send + 'static,
    C: Fn(TcpStream, u64) -> CF,
    CF: Future<Output = io::Result<()>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let acceptor = eddy::spawn(async move {
        let _t = Tracked::new();
        let mut handles = Vec::with_capacity(n);
        for _ in 0..n {
            let (stream, _) = listener.accept().await?;
            let fut = server(stream);
            handles.push(eddy::spawn(async move {
                let _t = Tracked::new();
                fut.await
            }));
        }
        Ok::<_, io::Error>(handles)
    });
    let mut clients = Vec::with_capacity(n);
    for i in 0..n {
        let fut = TcpStream::connect(addr);
        let stream = fut.await;
        clients.push(match stream {
            Ok(s) => {
                let fut = client(s, i as u64);
                eddy::spawn(async move {
                    let _t = Tracked::new();
                    fut.await
                })
            }
            Err(e) => eddy::spawn(async move { Err(e) }),
        });
    }
    let client_results = join_all_bounded(clients).await;
    let server_results = match eddy::timeout(PATIENCE, acceptor).await {
        Ok(Ok(Ok(handles))) => join_all_bounded(handles).await,
        _ => Vec::new(),
    };
    (server_results, client_results)
}

/// peer_reset: clients reset their connections (SO_LINGER 0) in the middle of an echo; the
/// server sees `ConnectionReset` (or `BrokenPipe` if it was writing), never a hang.
pub(crate) fn peer_reset(ctx: &Ctx) {
    let n = ctx.pick(1_000, 200);
    for flavor in Flavor::BOTH {
        let rt = flavor.runtime();
        let (server, clients) = rt.block_on(pairs(n, echo, |mut s, i| async move {
            let mut rng = Rng::new(i);
            let mut out = vec![0; 64 * 1024];
            rng.fill(&mut out);
            s.write_all(&out).await?;
            // Read part of the echo back, then reset with the rest in flight.
            let mut back = vec![0; 1 + rng.below(32 * 1024) as usize];
            s.read_exact(&mut back).await?;
            s.set_linger(Some(Duration::ZERO))?;
            Ok(())
        }));
        expect_ok(ctx, "reset client", n, clients);
        use io::ErrorKind::{BrokenPipe, ConnectionReset};
        expect_errors(
            ctx,
            "server of a reset peer",
            n,
            server,
            &[ConnectionReset, BrokenPipe],
        );
        prove_alive(ctx, &rt, "peer resets");
    }
    ctx.note(format!(
        "{} resets mid-echo on mt and ct",
        thousands(n as u64)
    ));
}

/// Counts `Ok` results as operations and anything else as an error.
fn expect_ok(ctx: &Ctx, what: &str, want: usize, results: Vec<io::Result<()>>) {
    ctx.lose(
        (want - results.len()) as u64,
        format!("{what}: tasks that never resolved"),
    );
    for r in results {
        match r {
            Ok(()) => ctx.ops(1),
            Err(e) => ctx.error(format!("{what}: {e}")),
        }
    }
}

/// peer_half_close: clients send, shut down their write side, and read the whole echo
/// until EOF; the server sees EOF after the last byte and closes.
pub(crate) fn peer_half_close(ctx: &Ctx) {
    let n = ctx.pick(1_000, 200);
    for flavor in Flavor::BOTH {
        let rt = flavor.runtime();
        let (server, clients) = rt.block_on(pairs(n, echo, |mut s, i| async move {
            let mut rng = Rng::new(i);
            let mut out = vec![0; 1 + rng.below(64 * 1024) as usize];
            rng.fill(&mut out);
            s.write_all(&out).await?;
            s.shutdown(Shutdown::Write)?;
            let mut back = Vec::with_capacity(out.len());
            let mut buf = [0; 8192];
            loop {
                match s.read(&mut buf).await? {
                    0 => break,
                    k => back.extend_from_slice(&buf[..k]),
                }
            }
            if back != out {
                return Err(io::Error::other(format!(
                    "{} bytes sent, {} different bytes echoed before EOF",
                    out.len(),
                    back.len()
                )));
            }
            Ok(())
        }));
        expect_ok(ctx, "half-closing client", n, clients);
        expect_ok(ctx, "server of a half-closed peer", n, server);
        prove_alive(ctx, &rt, "half-closes");
    }
    ctx.note(format!("{} half-closes on mt and ct", thousands(n as u64)));
}

/// peer_vanish: clients never read; the server's writes fill the socket buffers and block.
/// Then the clients reset, and every blocked write wakes with an error.
pub(crate) fn peer_vanish(ctx: &Ctx) {
    let n = ctx.pick(100, 20);
    for flavor in Flavor::BOTH {
        let rt = flavor.runtime();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("local_addr");
            let blocked = Arc::new(AtomicUsize::new(0));
            let acceptor = {
                let blocked = blocked.clone();
                eddy::spawn(async move {
                    let _t = Tracked::new();
                    let mut writers = Vec::with_capacity(n);
                    for _ in 0..n {
                        let (stream, _) = listener.accept().await?;
                        writers.push(eddy::spawn(write_until_error(stream, blocked.clone())));
                    }
                    Ok::<_, io::Error>(writers)
                })
            };
            let mut clients = Vec::with_capacity(n);
            for _ in 0..n {
                clients.push(TcpStream::connect(addr).await.expect("connect"));
            }
            let writers = match eddy::timeout(PATIENCE, acceptor).await {
                Ok(Ok(Ok(w))) => w,
                Ok(Ok(Err(e))) => return ctx.error(format!("accepting the vanishing peers: {e}")),
                Ok(Err(e)) => return ctx.error(format!("the acceptor task: {e}")),
                Err(_) => return ctx.lose(n as u64, "vanishing peers never accepted"),
            };
            if !wait_until(|| blocked.load(Ordering::SeqCst) == n).await {
                ctx.error(format!(
                    "only {} of {n} writers blocked on a peer that never reads",
                    blocked.load(Ordering::SeqCst)
                ));
            }
            for c in clients {
                c.set_linger(Some(Duration::ZERO)).expect("SO_LINGER");
            }
            let results = join_all_bounded(writers).await;
            use io::ErrorKind::{BrokenPipe, ConnectionReset};
            expect_errors(
                ctx,
                "writer to a vanished peer",
                n,
                results,
                &[ConnectionReset, BrokenPipe],
            );
        });
        prove_alive(ctx, &rt, "vanished peers");
    }
    ctx.note(format!("{n} blocked writers woken by resets, on mt and ct"));
}

/// Writes until an error; counts itself in `blocked` the first time a write waits.
async fn write_until_error(mut stream: TcpStream, blocked: Arc<AtomicUsize>) -> io::Result<()> {
    let _t = Tracked::new();
    let chunk = vec![7u8; 64 * 1024];
    let mut waited = false;
    loop {
        let mut write = std::pin::pin!(stream.write(&chunk));
        poll_fn(|cx| {
            let poll = write.as_mut().poll(cx);
            if poll.is_pending() && !waited {
                waited = true;
                blocked.fetch_add(1, Ordering::SeqCst);
            }
            poll
        })
        .await?;
    }
}

/// peer_refused: connecting to a closed port fails with `ConnectionRefused`, every time.
pub(crate) fn peer_refused(ctx: &Ctx) {
    let n = ctx.pick(2_000, 500);
    // A port that was just bound and closed: nothing listens there.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    for flavor in Flavor::BOTH {
        let rt = flavor.runtime();
        let results = rt.block_on(async {
            let tries: Vec<_> = (0..n)
                .map(|_| eddy::spawn(async move { TcpStream::connect(addr).await.map(drop) }))
                .collect();
            join_all_bounded(tries).await
        });
        expect_errors(
            ctx,
            "connect to a closed port",
            n,
            results,
            &[io::ErrorKind::ConnectionRefused],
        );
        prove_alive(ctx, &rt, "refused connects");
    }
    ctx.note(format!(
        "{} refused connects on mt and ct",
        thousands(n as u64)
    ));
}

/// epipe: with SIGPIPE at its default (fatal) action, writes to closed peers — TCP, TCP
/// vectored, a TCP write half, a Unix stream — return errors, and the process lives.
pub(crate) fn epipe(ctx: &Ctx) {
    // SAFETY: restoring the default disposition of SIGPIPE has no memory preconditions; no
    // handler of this process is involved.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let n = ctx.pick(500, 100);
    use io::ErrorKind::{BrokenPipe, ConnectionReset};
    for flavor in Flavor::BOTH {
        let rt = flavor.runtime();
        let (server, clients) = rt.block_on(pairs(
            n,
            |s| async move {
                drop(s);
                Ok(())
            },
            |s, i| async move {
                // Each client writes its own way until the closed peer makes it fail.
                let chunk = [1u8; 4096];
                match i % 3 {
                    0 => {
                        let mut s = s;
                        loop {
                            s.write(&chunk).await?;
                        }
                    }
                    1 => {
                        use futures_util::io::AsyncWriteExt;
                        let mut s = s;
                        let bufs = [io::IoSlice::new(&chunk), io::IoSlice::new(&chunk)];
                        loop {
                            if s.write_vectored(&bufs).await? == 0 {
                                return Err(io::ErrorKind::WriteZero.into());
                            }
                        }
                    }
                    _ => {
                        let (_read, mut write) = s.into_split();
                        loop {
                            write.write(&chunk).await?;
                        }
                    }
                }
            },
        ));
        expect_ok(ctx, "closing server", n, server);
        expect_errors(
            ctx,
            "write to a closed TCP peer",
            n,
            clients,
            &[BrokenPipe, ConnectionReset],
        );
        let unix = rt.block_on(async {
            let writers: Vec<_> = (0..n)
                .map(|_| eddy::spawn(write_to_closed_unix_peer()))
                .collect();
            join_all_bounded(writers).await
        });
        expect_errors(
            ctx,
            "write to a closed Unix peer",
            n,
            unix,
            &[BrokenPipe, ConnectionReset],
        );
        prove_alive(ctx, &rt, "EPIPE");
    }
    ctx.note(format!(
        "{} TCP and {n} Unix writers, SIGPIPE fatal, on mt and ct",
        thousands(n as u64)
    ));
}

/// Writes to a Unix stream whose peer is gone until the write fails.
async fn write_to_closed_unix_peer() -> io::Result<()> {
    let _t = Tracked::new();
    let (mut a, b) = UnixStream::pair()?;
    drop(b);
    loop {
        a.write(&[2u8; 512]).await?;
    }
}

/// A value whose drop panics: the panic happens while the runtime cancels its task.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("expected panic: in Drop during cancellation");
    }
}

/// A third-party future whose waking code panics: it wakes the waiter parked in `slot`, then
/// panics with a clone of its own waker still held (dropped during the unwind).
struct WakeThenPanic {
    slot: Arc<Mutex<Option<Waker>>>,
}

impl Future for WakeThenPanic {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let _mine = cx.waker().clone();
        let waiter = self.slot.lock().expect("no panics under the lock").take();
        match waiter {
            Some(w) => {
                w.wake();
                panic!("expected panic: in the wake path");
            }
            None => {
                // The waiter has not parked yet: try again soon.
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
}

/// Parks its waker in `slot` until `woken` is set by whoever takes it.
struct Parked {
    slot: Arc<Mutex<Option<Waker>>>,
    polls: usize,
}

impl Future for Parked {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls += 1;
        let mut slot = self.slot.lock().expect("no panics under the lock");
        if self.polls > 1 && slot.is_none() {
            // Taken and woken: done.
            return Poll::Ready(());
        }
        *slot = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// panics: in a task's poll, in a future's Drop while it is cancelled, and in a
/// third-party future's wake path. Every JoinHandle reports the panic, the woken tasks
/// still complete, and the workers keep serving.
pub(crate) fn panics(ctx: &Ctx) {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let expected = info
            .payload()
            .downcast_ref::<&str>()
            .is_some_and(|m| m.starts_with("expected panic"))
            || info
                .payload()
                .downcast_ref::<String>()
                .is_some_and(|m| m.starts_with("expected panic"));
        if !expected {
            default_hook(info);
        }
    }));
    let n = ctx.pick(2_000, 500);
    for flavor in Flavor::BOTH {
        let rt = flavor.runtime();
        rt.block_on(async {
            let mut rng = Rng::new(9);
            let in_poll: Vec<JoinHandle<()>> = (0..n)
                .map(|i| {
                    let yields = rng.below(3);
                    eddy::spawn(async move {
                        let _t = Tracked::new();
                        for _ in 0..yields {
                            eddy::yield_now().await;
                        }
                        panic!("expected panic: in poll of task {i}");
                    })
                })
                .collect();
            let in_drop: Vec<JoinHandle<()>> = (0..n)
                .map(|_| {
                    // Made outside the async block, so it is dropped (and panics) even when
                    // the abort lands before the task's first poll.
                    let bomb = PanicOnDrop;
                    eddy::spawn(async move {
                        let _t = Tracked::new();
                        let _bomb = bomb;
                        std::future::pending::<()>().await
                    })
                })
                .collect();
            eddy::yield_now().await;
            in_drop.iter().for_each(JoinHandle::abort);
            let mut waiters = Vec::with_capacity(n);
            let mut wakers = Vec::with_capacity(n);
            for _ in 0..n {
                let slot = Arc::new(Mutex::new(None));
                let parked = Parked {
                    slot: slot.clone(),
                    polls: 0,
                };
                waiters.push(eddy::spawn(async move {
                    let _t = Tracked::new();
                    parked.await;
                }));
                wakers.push(eddy::spawn(async move {
                    let _t = Tracked::new();
                    WakeThenPanic { slot }.await;
                }));
            }
            let all = async {
                for (what, handles) in [("poll", in_poll), ("drop", in_drop), ("wake path", wakers)]
                {
                    for h in handles {
                        match h.await {
                            Err(e) if e.is_panic() => ctx.ops(1),
                            other => ctx.error(format!(
                                "a panic in {what} resolved {:?}",
                                other.map_err(|e| e.to_string())
                            )),
                        }
                    }
                }
                for w in waiters {
                    match w.await {
                        Ok(()) => ctx.ops(1),
                        Err(e) => ctx.error(format!("a task woken by a panicking waker: {e}")),
                    }
                }
            };
            if eddy::timeout(PATIENCE, all).await.is_err() {
                ctx.lose(
                    1,
                    format!(
                        "{}: JoinHandles of panicked tasks never resolved",
                        flavor.label()
                    ),
                );
            }
        });
        prove_alive(ctx, &rt, "panics");
    }
    ctx.note(format!(
        "{} panics of each kind on mt and ct",
        thousands(n as u64)
    ));
}

/// The no-op SIGUSR2 handler of the eintr scenario: its only effect is the EINTR.
extern "C" fn ignore_signal(_: libc::c_int) {}

/// eintr: a thread sends SIGUSR2 (handler installed without SA_RESTART) to every runtime
/// thread, over and over, while they serve echoes, sleep on timers and start blocking
/// jobs. No EINTR surfaces, and no timer returns early.
pub(crate) fn eintr(ctx: &Ctx) {
    // SAFETY: sigaction is plain old data; all-zero is a valid value (empty mask, no flags).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = ignore_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // No SA_RESTART: every blocking call the signal lands in fails with EINTR.
    action.sa_flags = 0;
    // SAFETY: `action` is a valid sigaction whose handler is async-signal-safe (it does
    // nothing); a null old-action pointer is allowed.
    if unsafe { libc::sigaction(libc::SIGUSR2, &action, std::ptr::null_mut()) } != 0 {
        ctx.error(format!("sigaction: {}", io::Error::last_os_error()));
        return;
    }
    let run_for = ctx.duration(15, 2);
    let mut signals = 0;
    for flavor in Flavor::BOTH {
        let threads = Arc::new(Mutex::new(Vec::new()));
        let rt = {
            let threads = threads.clone();
            flavor
                .builder()
                .on_thread_start(move || {
                    // SAFETY: pthread_self has no preconditions.
                    let me = unsafe { libc::pthread_self() };
                    threads.lock().expect("no panics under the lock").push(me);
                })
                .build()
                .expect("runtime")
        };
        // SAFETY: pthread_self has no preconditions.
        let main = unsafe { libc::pthread_self() };
        threads.lock().expect("no panics under the lock").push(main);
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let signaller = {
            let (threads, stop, sent) = (threads.clone(), stop.clone(), sent.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    for &t in threads.lock().expect("no panics under the lock").iter() {
                        // SAFETY: every thread in the list is alive: the runtime's workers
                        // and the main thread outlive this thread, which is joined before
                        // the runtime is dropped.
                        unsafe { libc::pthread_kill(t, libc::SIGUSR2) };
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
            })
        };
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("local_addr");
            let server = eddy::spawn(serve_echo(listener, unexpected));
            let deadline = Instant::now() + run_for;
            let workers: Vec<JoinHandle<io::Result<u64>>> = (0..32u64)
                .map(|i| {
                    eddy::spawn(async move {
                        let _t = Tracked::new();
                        let mut rng = Rng::new(i);
                        let mut stream = TcpStream::connect(addr).await?;
                        let mut ops = 0;
                        while Instant::now() < deadline {
                            let nap = Duration::from_micros(rng.below(3_000));
                            let before = Instant::now();
                            eddy::sleep(nap).await;
                            if before.elapsed() < nap {
                                return Err(io::Error::other("a timer returned early under EINTR"));
                            }
                            let len = 1 + rng.below(4096) as usize;
                            if !round_trip(&mut stream, &mut rng, len).await? {
                                return Err(io::Error::other("echo came back corrupted"));
                            }
                            if rng.below(8) == 0 {
                                let job = BlockingJob::submit();
                                eddy::spawn_blocking(move || {
                                    std::thread::sleep(Duration::from_micros(500));
                                    job.finish();
                                })
                                .await
                                .map_err(join_error)?;
                            }
                            ops += 1;
                        }
                        Ok(ops)
                    })
                })
                .collect();
            for r in join_all_bounded(workers).await {
                match r {
                    Ok(n) => ctx.ops(n),
                    Err(e) => ctx.error(format!("{}: under EINTR: {e}", flavor.label())),
                }
            }
            server.abort();
            let _ = server.await;
        });
        stop.store(true, Ordering::Relaxed);
        signaller.join().expect("the signaller does not panic");
        signals += sent.load(Ordering::Relaxed);
        prove_alive(ctx, &rt, "EINTR storm");
    }
    ctx.note(format!(
        "{} SIGUSR2s in all, {run_for:?} on each of mt and ct",
        thousands(signals)
    ));
}

/// drop_busy: a runtime dropped with sockets mid-exchange, timers armed, tasks yielding and
/// blocking jobs running returns within its shutdown timeout, and frees every future.
pub(crate) fn drop_busy(ctx: &Ctx) {
    let clients = ctx.pick(200, 50);
    let timers = ctx.pick(10_000, 2_000);
    let grace = Duration::from_secs(5);
    for flavor in Flavor::BOTH {
        let rt = flavor.runtime();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("local_addr");
            eddy::spawn(serve_echo(listener, |_| true));
            let ready = Arc::new(AtomicUsize::new(0));
            for i in 0..clients {
                let ready = ready.clone();
                eddy::spawn(async move {
                    let _t = Tracked::new();
                    let mut stream = TcpStream::connect(addr).await?;
                    round_trip(&mut stream, &mut Rng::new(i as u64), 1024).await?;
                    ready.fetch_add(1, Ordering::SeqCst);
                    // Blocked reading, for ever: the server never sends unasked.
                    stream.read(&mut [0; 1]).await
                });
            }
            for i in 0..timers {
                eddy::spawn(async move {
                    let _t = Tracked::new();
                    eddy::sleep(Duration::from_secs(3_600 + i as u64)).await;
                });
            }
            for _ in 0..4 {
                eddy::spawn(async {
                    let _t = Tracked::new();
                    loop {
                        eddy::yield_now().await;
                    }
                });
            }
            if !wait_until(|| ready.load(Ordering::SeqCst) == clients).await {
                ctx.error("clients never got their first echo");
            }
            // Blocking jobs still queued at shutdown are dropped unrun, by design; these
            // have started, and the shutdown must wait for them.
            let started = Arc::new(AtomicUsize::new(0));
            for _ in 0..4 {
                let (job, started) = (BlockingJob::submit(), started.clone());
                eddy::spawn_blocking(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(300));
                    job.finish();
                });
            }
            if !wait_until(|| started.load(Ordering::SeqCst) == 4).await {
                ctx.error("blocking jobs never started");
            }
        });
        let started = Instant::now();
        let report = rt.shutdown_timeout(grace);
        let took = started.elapsed();
        if !report.is_clean() {
            ctx.error(format!(
                "{}: blocking jobs outlived the shutdown: {report:?}",
                flavor.label()
            ));
        }
        // Generous: only a hang, not a slow machine, should trip this.
        if took > grace * 2 {
            ctx.error(format!(
                "{}: shutdown took {took:?} with a {grace:?} timeout",
                flavor.label()
            ));
        }
        ctx.ops((clients + timers + 8) as u64);
        ctx.note(format!("{}: shut down in {took:.0?}", flavor.label()));
    }
    ctx.note(format!(
        "{clients} sockets mid-exchange, {} timers, 4 spinning tasks, 4 blocking jobs",
        thousands(timers as u64)
    ));
}
