//! eddy's side of a case: the socket under test, read with the case's mix of eddy's read
//! API, every read bounded, and the checks run as the bytes arrive.

use std::future::{Future, poll_fn};
use std::io::{self, IoSliceMut, Read};
use std::net::Shutdown;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use eddy::net::{
    Async, OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream, UdpSocket, UnixDatagram,
    UnixListener, UnixStream,
};
use futures_util::{AsyncRead, AsyncReadExt};

use super::SocketKind;
use super::actions::{Case, End, ReadMode, ReadOp};
use super::checks::{Probe, StreamCheck, StreamPlan, check_dgram, cpu_time, dgram_plan};
use super::peer::Link;

/// How often a pending read looks at what the kernel holds.
const TICK: Duration = Duration::from_millis(250);
/// A read still pending this long while the kernel holds data for it is a stall. Loopback
/// delivers in microseconds; the margin covers a loaded 2-core machine.
const STALL: Duration = Duration::from_secs(1);
/// A read pending this long with nothing in the kernel, after the peer finished, lost data.
const LOST: Duration = Duration::from_secs(2);
/// The most any one wait may take.
const CASE_PATIENCE: Duration = Duration::from_secs(20);
/// The idle wait, and the CPU it may cost.
pub(crate) const IDLE: Duration = Duration::from_millis(200);
pub(crate) const IDLE_CPU: Duration = Duration::from_millis(20);

/// eddy's end of the socket under test.
pub(crate) enum Sock {
    Tcp(TcpStream, ReadMode),
    /// The halves of `into_split`, and the stream's fd for the kernel-side checks.
    TcpOwned(OwnedReadHalf, OwnedWriteHalf, RawFd),
    Unix(UnixStream),
    Pipe(Async<std::io::PipeReader>),
    UnixDgram(UnixDatagram),
    Udp(UdpSocket),
}

/// What a passing case measured.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) bytes: u64,
    pub(crate) datagrams: u64,
    pub(crate) idle_cpu: Duration,
}

/// Makes the pair for `kind`: eddy's end and the peer's (a blocking fd).
pub(crate) async fn connect(kind: SocketKind, case: &Case) -> io::Result<(Sock, OwnedFd)> {
    let (sock, peer) = match kind {
        SocketKind::TcpInq if case.eddy_connects => {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            let stream = TcpStream::connect(listener.local_addr()?).await?;
            let (peer, _) = listener.accept()?;
            (Sock::Tcp(stream, case.mode), OwnedFd::from(peer))
        }
        SocketKind::TcpInq => {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let peer = std::net::TcpStream::connect(listener.local_addr()?)?;
            let (stream, _) = listener.accept().await?;
            (Sock::Tcp(stream, case.mode), OwnedFd::from(peer))
        }
        SocketKind::TcpNoInq => {
            // The connection's handshake completes before eddy sees the listener (socket
            // activation), so the accepted socket did not inherit TCP_INQ; eddy's
            // `from_std` listener sets it per accepted socket. Then the option is turned
            // off, as on a kernel before 4.18: eddy must judge "drained" without the
            // kernel's count.
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            let peer = std::net::TcpStream::connect(listener.local_addr()?)?;
            wait_readable(listener.as_raw_fd())?;
            let listener = TcpListener::from_std(listener)?;
            let (stream, _) = listener.accept().await?;
            if !tcp_inq(stream.as_raw_fd())? {
                return Err(io::Error::other(
                    "set-up: a from_std listener accepted a socket without TCP_INQ",
                ));
            }
            set_tcp_inq(stream.as_raw_fd(), false)?;
            (Sock::Tcp(stream, case.mode), OwnedFd::from(peer))
        }
        SocketKind::UnixStream => {
            let path = std::env::temp_dir().join(format!(
                "eddy-peers-{}-{}.sock",
                std::process::id(),
                unique()
            ));
            let listener = UnixListener::bind(&path)?;
            let peer = std::os::unix::net::UnixStream::connect(&path);
            let accepted = listener.accept().await;
            let _ = std::fs::remove_file(&path);
            (Sock::Unix(accepted?.0), OwnedFd::from(peer?))
        }
        SocketKind::Socketpair => {
            let (ours, peer) = std::os::unix::net::UnixStream::pair()?;
            (Sock::Unix(UnixStream::from_std(ours)?), OwnedFd::from(peer))
        }
        SocketKind::UnixDatagram => {
            let (ours, peer) = std::os::unix::net::UnixDatagram::pair()?;
            (
                Sock::UnixDgram(UnixDatagram::from_std(ours)?),
                OwnedFd::from(peer),
            )
        }
        SocketKind::Udp => {
            let ours = std::net::UdpSocket::bind("127.0.0.1:0")?;
            let peer = std::net::UdpSocket::bind("127.0.0.1:0")?;
            ours.connect(peer.local_addr()?)?;
            peer.connect(ours.local_addr()?)?;
            (Sock::Udp(UdpSocket::from_std(ours)?), OwnedFd::from(peer))
        }
        SocketKind::Pipe => {
            let (ours, peer) = std::io::pipe()?;
            (Sock::Pipe(Async::new(ours)?), OwnedFd::from(peer))
        }
    };
    // A peer blocked for ever would hang the case: bound its socket writes.
    set_send_timeout(peer.as_raw_fd());
    let sock = match sock {
        Sock::Tcp(stream, mode) => {
            let inq = tcp_inq(stream.as_raw_fd())?;
            let want = kind == SocketKind::TcpInq;
            if inq != want {
                return Err(io::Error::other(format!(
                    "set-up: the {} socket has TCP_INQ {}",
                    kind.name(),
                    if inq { "on" } else { "off" }
                )));
            }
            if mode == ReadMode::IntoSplit {
                let fd = stream.as_raw_fd();
                let (r, w) = stream.into_split();
                Sock::TcpOwned(r, w, fd)
            } else {
                Sock::Tcp(stream, mode)
            }
        }
        other => other,
    };
    Ok((sock, peer))
}

/// Waits (up to 5 s) until `fd` polls readable: for a listener, until the accept queue
/// holds the connection, so the handshake has completed.
fn wait_readable(fd: RawFd) -> io::Result<()> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `pfd` is one valid, writable pollfd.
    let r = unsafe { libc::poll(&mut pfd, 1, 5_000) };
    if r == 1 {
        Ok(())
    } else {
        Err(io::Error::other(
            "set-up: the handshake did not complete in 5 s",
        ))
    }
}

fn unique() -> u64 {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn set_send_timeout(fd: RawFd) {
    let tv = libc::timeval {
        tv_sec: 30,
        tv_usec: 0,
    };
    // SAFETY: SO_SNDTIMEO takes a `timeval` of the size given, valid for the call; on a
    // pipe it fails with ENOTSOCK, which is fine.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            (&raw const tv).cast(),
            size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
}

fn set_tcp_inq(fd: RawFd, on: bool) -> io::Result<()> {
    let value = libc::c_int::from(on);
    // SAFETY: TCP_INQ reads one c_int; `value` is live and of the size given.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_TCP,
            libc::TCP_INQ,
            (&raw const value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn tcp_inq(fd: RawFd) -> io::Result<bool> {
    let mut on: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: TCP_INQ writes one c_int; `on` and `len` are valid and writable.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_TCP,
            libc::TCP_INQ,
            (&raw mut on).cast(),
            &mut len,
        )
    };
    if r == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(on != 0)
}

/// Runs eddy's side of `case` to its end. `go` tells the peer the idle check is done,
/// `finish` that eddy saw the end.
pub(crate) async fn run(
    kind: SocketKind,
    mut sock: Sock,
    case: &Case,
    link: &Arc<Link>,
    go: Sender<()>,
    finish: Sender<()>,
) -> Result<Outcome, String> {
    let fd = Probe {
        fd: sock.fd(),
        socket: kind != SocketKind::Pipe,
    };
    let mut ops = case.reads.iter().cycle();
    let mut out = Outcome::default();
    let peer_done = || link.done.load(Ordering::Acquire);
    if !case.race {
        let started = Instant::now();
        while !peer_done() && started.elapsed() < Duration::from_millis(100) {
            eddy::sleep(Duration::from_millis(1)).await;
        }
    }
    if kind.is_stream() {
        let plan = StreamPlan::of(case);
        let mut check = StreamCheck::new(&plan);
        let limit = plan.before_idle;
        // 1. Everything the peer's actions sent.
        while check.normal < limit {
            let op = ops.next().expect("invariant: a case has at least one read");
            let want = limit - check.normal;
            let what = format!("{op:?} after {} of {limit} bytes", check.normal);
            let got = bounded(fd, sock.read_stream(op, want), peer_done, &what).await?;
            if got.is_empty() {
                return Err(format!(
                    "end-of-stream after {} of {limit} bytes",
                    check.normal
                ));
            }
            check.feed(&got, limit)?;
            out.bytes += got.len() as u64;
        }
        wait_for(peer_done).await?;
        // 2. Idle: nothing left to read, the peer paused and open.
        out.idle_cpu = idle_check(fd, &mut sock, &mut check, limit).await?;
        // 3. The end: the tail, then end-of-stream or a reset.
        let _ = go.send(());
        let total = limit + plan.tail;
        loop {
            let op = ops.next().expect("invariant: a case has at least one read");
            let want = total - check.normal;
            let what = format!(
                "{op:?} after {} of {total} bytes, at {:?}",
                check.normal, case.end
            );
            match bounded(fd, sock.read_stream(op, want), || true, &what).await {
                Ok(got) if got.is_empty() => break,
                Ok(got) => {
                    check.feed(&got, total)?;
                    out.bytes += got.len() as u64;
                }
                Err(e)
                    if matches!(case.end, End::Reset { .. }) && e.contains("ConnectionReset") =>
                {
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        if !matches!(case.end, End::Reset { .. }) && check.normal != total {
            return Err(format!(
                "end-of-stream after {} of {total} bytes ({:?})",
                check.normal, case.end
            ));
        }
        if matches!(case.end, End::ShutdownWrite { .. }) {
            // End-of-stream stays: a second read returns 0 at once, too.
            let got = bounded(
                fd,
                sock.read_stream(&ReadOp::Read(64), 64),
                || true,
                "a read after end-of-stream",
            )
            .await?;
            if !got.is_empty() {
                return Err(format!("{} bytes after end-of-stream", got.len()));
            }
        }
        let _ = finish.send(());
        sock.close();
    } else {
        let sizes = dgram_plan(case);
        for (index, &len) in sizes.iter().enumerate() {
            let op = ops.next().expect("invariant: a case has at least one read");
            let what = format!("{op:?} for datagram {index} of {} ({len} B)", sizes.len());
            let (got, buf) = bounded(fd, sock.read_dgram(op), peer_done, &what).await?;
            check_dgram(index, len, buf, &got)?;
            link.consumed.fetch_add(1, Ordering::Relaxed);
            out.bytes += got.len() as u64;
            out.datagrams += 1;
        }
        wait_for(peer_done).await?;
        if case.end == End::Refused {
            refused(fd, &sock).await?;
        }
        out.idle_cpu = idle_dgram(fd, &mut sock).await?;
        let _ = go.send(());
        let _ = finish.send(());
    }
    Ok(out)
}

/// UDP after the peer closed: a send draws an ICMP port-unreachable, which the next recv
/// reports as `ConnectionRefused`.
async fn refused(fd: Probe, sock: &Sock) -> Result<(), String> {
    let Sock::Udp(s) = sock else {
        return Err("invariant: only UDP cases end refused".into());
    };
    bounded(
        fd,
        s.send(b"are you there?"),
        || true,
        "send to the closed peer",
    )
    .await?;
    let mut buf = [0; 64];
    match bounded(fd, s.recv(&mut buf), || true, "recv after the peer closed").await {
        Err(e) if e.contains("ConnectionRefused") => Ok(()),
        Err(e) => Err(e),
        Ok(n) => Err(format!(
            "recv after the peer closed returned {n} bytes, not ConnectionRefused"
        )),
    }
}

/// The stream idle check: `read(&mut [])` returns `Ok(0)` at once; a read with nothing to
/// read waits `IDLE` for under `IDLE_CPU` of CPU, and the kernel holds nothing for it then.
async fn idle_check(
    fd: Probe,
    sock: &mut Sock,
    check: &mut StreamCheck,
    limit: usize,
) -> Result<Duration, String> {
    if !super::skipped("empty_read") {
        match eddy::timeout(
            Duration::from_millis(500),
            sock.read_stream(&ReadOp::Read(0), 0),
        )
        .await
        {
            Ok(Ok(v)) if v.is_empty() => {}
            Ok(Ok(v)) => return Err(format!("read(&mut []) returned {} bytes", v.len())),
            Ok(Err(e)) => return Err(format!("read(&mut []) failed: {e}")),
            Err(_) => {
                return Err(
                    "read(&mut []) with nothing to read waited (500 ms) instead of returning Ok(0)"
                        .into(),
                );
            }
        }
    }
    // An earlier urgent byte the kernel delivers inline may still be there: read it and
    // wait again (there are at most as many as there were MSG_OOB sends).
    for _ in 0..64 {
        let before = cpu_time();
        let mut fut = pin!(sock.read_stream(&ReadOp::Read(64 * 1024), 1));
        match eddy::timeout(IDLE, fut.as_mut()).await {
            Ok(Ok(got)) if !got.is_empty() => {
                check.feed(&got, limit)?;
                continue;
            }
            Ok(Ok(_)) => return Err("end-of-stream while the peer is open and paused".into()),
            Ok(Err(e)) => return Err(format!("read while the peer is idle: {e}")),
            Err(_) => {}
        }
        let cpu = cpu_time().saturating_sub(before);
        if let Some(held) = fd.kernel_holds() {
            // The read might be about to complete; give it the stall margin.
            if bounded(fd, fut, || true, "the idle read").await.is_ok() {
                return Err(format!(
                    "the idle read stayed pending {IDLE:?} while the kernel held {held}"
                ));
            }
            return Err(format!(
                "STALL: the idle read stays pending while the kernel holds {held}"
            ));
        }
        if !super::skipped("idle_cpu") && cpu > IDLE_CPU {
            return Err(format!(
                "an idle wait of {IDLE:?} cost {cpu:?} of CPU (limit {IDLE_CPU:?})"
            ));
        }
        return Ok(cpu);
    }
    Err("more inline urgent bytes than MSG_OOB sends".into())
}

/// The datagram idle check: a recv with nothing to read waits `IDLE` for under `IDLE_CPU`.
async fn idle_dgram(fd: Probe, sock: &mut Sock) -> Result<Duration, String> {
    let before = cpu_time();
    let op = ReadOp::Read(64 * 1024);
    let mut fut = pin!(sock.read_dgram(&op));
    match eddy::timeout(IDLE, fut.as_mut()).await {
        Ok(Ok((got, _))) => return Err(format!("a datagram of {} B nobody sent", got.len())),
        Ok(Err(e)) => return Err(format!("recv while the peer is idle: {e}")),
        Err(_) => {}
    }
    let cpu = cpu_time().saturating_sub(before);
    if let Some(held) = fd.kernel_holds() {
        return Err(format!(
            "STALL: the idle recv stays pending while the kernel holds {held}"
        ));
    }
    if !super::skipped("idle_cpu") && cpu > IDLE_CPU {
        return Err(format!(
            "an idle wait of {IDLE:?} cost {cpu:?} of CPU (limit {IDLE_CPU:?})"
        ));
    }
    Ok(cpu)
}

/// Waits (bounded) until the peer has performed every action.
async fn wait_for(peer_done: impl Fn() -> bool) -> Result<(), String> {
    let started = Instant::now();
    while !peer_done() {
        if started.elapsed() > CASE_PATIENCE {
            return Err("the peer did not finish its actions in 20 s".into());
        }
        eddy::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

/// Runs one read, failing it as a stall if it stays pending while the kernel holds data
/// for `fd`, as lost data if nothing arrives after the peer finished, and as hung after
/// `CASE_PATIENCE`. Errors carry the `io::ErrorKind` in their text.
async fn bounded<T>(
    fd: Probe,
    read: impl Future<Output = io::Result<T>>,
    peer_done: impl Fn() -> bool,
    what: &str,
) -> Result<T, String> {
    let mut read = pin!(read);
    let started = Instant::now();
    let mut held_since: Option<Instant> = None;
    let mut empty_since: Option<Instant> = None;
    loop {
        match eddy::timeout(TICK, read.as_mut()).await {
            Ok(r) => return r.map_err(|e| format!("{what}: {e} ({:?})", e.kind())),
            Err(_) => match fd.kernel_holds() {
                Some(held) => {
                    empty_since = None;
                    let since = *held_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= STALL {
                        return Err(format!(
                            "STALL: {what} stayed pending for {:?} while the kernel holds {held}",
                            started.elapsed()
                        ));
                    }
                }
                None => {
                    held_since = None;
                    if peer_done() {
                        let since = *empty_since.get_or_insert_with(Instant::now);
                        if since.elapsed() >= LOST {
                            return Err(format!(
                                "LOST: {what} pending for {:?}: the peer sent everything and \
                                 the kernel holds nothing",
                                started.elapsed()
                            ));
                        }
                    }
                }
            },
        }
        if started.elapsed() > CASE_PATIENCE {
            return Err(format!("{what} pending for {CASE_PATIENCE:?}"));
        }
    }
}

/// futures-io's `poll_read_vectored`, awaited.
async fn vectored<R: AsyncRead + Unpin>(
    r: &mut R,
    bufs: &mut [IoSliceMut<'_>],
) -> io::Result<usize> {
    poll_fn(|cx| Pin::new(&mut *r).poll_read_vectored(cx, bufs)).await
}

impl Sock {
    fn fd(&self) -> RawFd {
        match self {
            Sock::Tcp(s, _) => s.as_raw_fd(),
            Sock::TcpOwned(_, _, fd) => *fd,
            Sock::Unix(s) => s.as_raw_fd(),
            Sock::Pipe(p) => p.as_raw_fd(),
            Sock::UnixDgram(s) => s.as_raw_fd(),
            Sock::Udp(s) => s.as_raw_fd(),
        }
    }

    /// Shuts down eddy's TCP write side, as a program would after the peer's end.
    fn close(self) {
        match &self {
            Sock::Tcp(s, _) => drop(s.shutdown(Shutdown::Write)),
            Sock::TcpOwned(_, w, _) => drop(w.shutdown()),
            _ => {}
        }
    }

    /// One stream read as `op` says; `want` is how many normal bytes must still arrive
    /// (`read_exact` never asks for more).
    async fn read_stream(&mut self, op: &ReadOp, want: usize) -> io::Result<Vec<u8>> {
        let (size, exact) = match *op {
            ReadOp::Read(n)
            | ReadOp::Peek(n)
            | ReadOp::FuturesRead(n)
            | ReadOp::ReadableThenRead(n) => (n, false),
            ReadOp::ReadExact(n) if n.min(want) > 0 => (n.min(want), true),
            ReadOp::ReadExact(n) => (n, false),
            ReadOp::Vectored { bufs, each } => return self.read_vectored(bufs, each).await,
        };
        let mut buf = vec![0; size];
        let n = match (self, op) {
            (s, _) if exact => {
                s.read_exact(&mut buf).await?;
                size
            }
            (Sock::Tcp(s, ReadMode::Whole), ReadOp::Peek(_)) => {
                let k = s.peek(&mut buf).await?;
                let mut again = vec![0; k];
                s.read_exact(&mut again).await?;
                if again != buf[..k] {
                    return Err(io::Error::other(format!(
                        "peek saw {k} bytes, the read after it got others"
                    )));
                }
                k
            }
            (Sock::Tcp(s, ReadMode::Whole), ReadOp::FuturesRead(_)) => {
                // Through `&TcpStream` every other call.
                if size % 2 == 0 {
                    let mut shared: &TcpStream = s;
                    AsyncReadExt::read(&mut shared, &mut buf).await?
                } else {
                    AsyncReadExt::read(s, &mut buf).await?
                }
            }
            (Sock::Tcp(s, ReadMode::Split), ReadOp::FuturesRead(_)) => {
                let (mut r, _w) = s.split();
                AsyncReadExt::read(&mut r, &mut buf).await?
            }
            (Sock::TcpOwned(r, ..), ReadOp::FuturesRead(_)) => {
                AsyncReadExt::read(r, &mut buf).await?
            }
            (Sock::Tcp(s, mode), ReadOp::ReadableThenRead(_)) => {
                s.readable().await?;
                if *mode == ReadMode::Split {
                    s.split().0.read(&mut buf).await?
                } else {
                    s.read(&mut buf).await?
                }
            }
            (Sock::Unix(s), ReadOp::ReadableThenRead(_)) => {
                s.readable().await?;
                s.read(&mut buf).await?
            }
            (Sock::Unix(s), ReadOp::FuturesRead(_)) => AsyncReadExt::read(s, &mut buf).await?,
            (Sock::Pipe(p), ReadOp::ReadableThenRead(_)) => {
                p.readable().await?;
                p.read_with(|p| (&mut &*p).read(&mut buf)).await?
            }
            // `read_with` waits for readiness before it runs its closure, whatever the
            // buffer (it cannot see it), so the empty read goes through futures-io's
            // `read`, which promises `Ok(0)` at once.
            (Sock::Pipe(p), ReadOp::FuturesRead(_) | ReadOp::Read(0)) => {
                AsyncReadExt::read(p, &mut buf).await?
            }
            (Sock::Pipe(p), _) => p.read_with(|p| (&mut &*p).read(&mut buf)).await?,
            (s, _) => s.read(&mut buf).await?,
        };
        buf.truncate(n);
        Ok(buf)
    }

    /// The inherent `read` of each kind (`read_with` for a pipe).
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Sock::Tcp(s, ReadMode::Split) => s.split().0.read(buf).await,
            Sock::Tcp(s, _) => s.read(buf).await,
            Sock::TcpOwned(r, ..) => r.read(buf).await,
            Sock::Unix(s) => s.read(buf).await,
            Sock::Pipe(p) => p.read_with(|p| (&mut &*p).read(buf)).await,
            Sock::UnixDgram(_) | Sock::Udp(_) => Err(io::Error::other(
                "invariant: a stream read on a datagram socket",
            )),
        }
    }

    async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        match self {
            Sock::Tcp(s, ReadMode::Split) => s.split().0.read_exact(buf).await,
            Sock::Tcp(s, _) => s.read_exact(buf).await,
            Sock::TcpOwned(r, ..) => r.read_exact(buf).await,
            Sock::Unix(s) => s.read_exact(buf).await,
            // futures-io's `read_exact` on `Async<T>`.
            Sock::Pipe(p) => AsyncReadExt::read_exact(p, buf).await,
            Sock::UnixDgram(_) | Sock::Udp(_) => Err(io::Error::other(
                "invariant: a stream read on a datagram socket",
            )),
        }
    }

    /// futures-io `read_vectored` into `bufs` buffers of `each` bytes; returns what they
    /// got, in order.
    async fn read_vectored(&mut self, bufs: usize, each: usize) -> io::Result<Vec<u8>> {
        let mut storage = vec![0u8; bufs * each];
        let mut slices: Vec<IoSliceMut<'_>> =
            storage.chunks_mut(each).map(IoSliceMut::new).collect();
        let n = match self {
            Sock::Tcp(s, ReadMode::Split) => {
                let (mut r, _w) = s.split();
                vectored(&mut r, &mut slices).await?
            }
            Sock::Tcp(s, _) => vectored(s, &mut slices).await?,
            Sock::TcpOwned(r, ..) => vectored(r, &mut slices).await?,
            Sock::Unix(s) => vectored(s, &mut slices).await?,
            Sock::Pipe(p) => vectored(p, &mut slices).await?,
            Sock::UnixDgram(_) | Sock::Udp(_) => {
                return Err(io::Error::other(
                    "invariant: a stream read on a datagram socket",
                ));
            }
        };
        drop(slices);
        storage.truncate(n);
        Ok(storage)
    }

    /// One datagram read as `op` says; returns the bytes and the buffer size used.
    async fn read_dgram(&mut self, op: &ReadOp) -> io::Result<(Vec<u8>, usize)> {
        let size = match *op {
            ReadOp::Read(n)
            | ReadOp::Peek(n)
            | ReadOp::ReadableThenRead(n)
            | ReadOp::ReadExact(n)
            | ReadOp::FuturesRead(n) => n,
            ReadOp::Vectored { each, .. } => each,
        };
        let mut buf = vec![0; size];
        let n = match (&*self, op) {
            (Sock::Udp(s), ReadOp::Peek(_)) => {
                let (k, _) = s.peek_from(&mut buf).await?;
                let mut again = vec![0; size];
                let k2 = s.recv(&mut again).await?;
                if k2 != k || again[..k] != buf[..k] {
                    return Err(io::Error::other(format!(
                        "peek_from saw {k} bytes, the recv after it got {k2} others"
                    )));
                }
                k
            }
            (Sock::Udp(s), ReadOp::ReadableThenRead(_)) => s.recv_from(&mut buf).await?.0,
            (Sock::Udp(s), _) => s.recv(&mut buf).await?,
            (Sock::UnixDgram(s), ReadOp::ReadableThenRead(_)) => s.recv_from(&mut buf).await?.0,
            (Sock::UnixDgram(s), _) => s.recv(&mut buf).await?,
            _ => return Err(io::Error::other("invariant: a datagram read on a stream")),
        };
        buf.truncate(n);
        Ok((buf, size))
    }
}
