//! What a real peer sends, read back through the public API on both runtime flavours: the
//! regressions of issue 14 (docs/net.md, "When a read may clear readiness").
//!
//! Each test queues everything the peer sends before eddy reads, so the kernel holds the
//! data the whole time; a read that stays pending then is a lost wake-up, not a slow peer.
//! Every wait is bounded by `PATIENCE`, so a stall fails the test instead of hanging it.

use crate::support::two_workers;
use std::future::Future;
use std::io::{IoSlice, IoSliceMut, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use eddy::net::{Async, TcpListener, TcpStream, UdpSocket, UnixStream};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};

/// How long a read that has data queued for it may take before it counts as stalled.
const PATIENCE: Duration = Duration::from_secs(5);

/// Runs `body` on a current-thread runtime and on a two-worker multi-thread runtime.
fn on_both_flavours<F, Fut>(body: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    eddy::Runtime::builder()
        .current_thread()
        .build()
        .unwrap()
        .block_on(body());
    two_workers().block_on(async move { eddy::spawn(body()).await.unwrap() });
}

/// Awaits `fut`, failing with `what` if it is still pending after `PATIENCE`.
async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match eddy::timeout(PATIENCE, fut).await {
        Ok(value) => value,
        Err(_) => panic!("stalled: {what} still pending after {PATIENCE:?}"),
    }
}

/// Bytes queued for reading on `fd`, by the kernel's count (`FIONREAD`).
fn queued(fd: RawFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which is live and writable.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &raw mut n) };
    assert_eq!(rc, 0, "FIONREAD: {}", std::io::Error::last_os_error());
    usize::try_from(n).unwrap()
}

/// Waits (on this thread, before any eddy read) until the kernel holds `n` bytes for `fd`.
fn wait_queued(fd: RawFd, n: usize) {
    let start = std::time::Instant::now();
    while queued(fd) < n {
        assert!(start.elapsed() < PATIENCE, "the peer's bytes never arrived");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `send(2)` with `flags`, returning the error as `io::Error`.
fn send_flags(fd: RawFd, data: &[u8], flags: libc::c_int) -> std::io::Result<usize> {
    // SAFETY: `data` is a live slice of `data.len()` readable bytes.
    let n = unsafe { libc::send(fd, data.as_ptr().cast(), data.len(), flags) };
    if n < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Sends `data` on the Unix socket `fd` with `passed` attached as `SCM_RIGHTS`.
fn send_with_fd(fd: RawFd, data: &[u8], passed: RawFd) {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr().cast_mut().cast(),
        iov_len: data.len(),
    };
    // Room for one fd: CMSG_SPACE(4) is 16 or 24 bytes; u64s give cmsghdr's alignment.
    let mut control = [0u64; 4];
    // SAFETY: an all-zero msghdr is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE only computes a length.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(size_of::<RawFd>() as u32) } as _;
    // SAFETY: `msg_control` points at `control`, long enough for one cmsghdr carrying an
    // fd, so CMSG_FIRSTHDR is non-null and CMSG_DATA points inside `control`.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<RawFd>() as u32) as _;
        libc::CMSG_DATA(cmsg)
            .cast::<RawFd>()
            .write_unaligned(passed);
    }
    // SAFETY: `msg` points at `iov` (over `data`) and `control`, all live for the call.
    let n = unsafe { libc::sendmsg(fd, &raw const msg, 0) };
    assert_eq!(
        n,
        data.len() as isize,
        "{}",
        std::io::Error::last_os_error()
    );
}

/// Reads from `stream` until `want` bytes came, each read bounded by `PATIENCE`.
async fn read_until(
    stream: &mut (impl futures_util::io::AsyncRead + Unpin),
    want: usize,
) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while got.len() < want {
        let what = format!("a read after {} of {want} bytes", got.len());
        let n = within(&what, stream.read(&mut buf)).await.unwrap();
        assert_ne!(n, 0, "end of stream after {} of {want} bytes", got.len());
        got.extend_from_slice(&buf[..n]);
    }
    got
}

#[test]
fn a_unix_stream_reads_on_past_a_message_that_carries_an_fd() {
    on_both_flavours(|| async {
        let (ours, peer) = std::os::unix::net::UnixStream::pair().unwrap();
        let devnull = std::fs::File::open("/dev/null").unwrap();
        send_with_fd(peer.as_raw_fd(), b"AAAA", devnull.as_raw_fd());
        (&peer).write_all(b"BBBB").unwrap();
        wait_queued(ours.as_raw_fd(), 8);
        let mut ours = UnixStream::from_std(ours).unwrap();
        // The kernel ends the first read at the message with the fd: 4 bytes of 1,024.
        let mut buf = [0u8; 1024];
        let n = within("the first read", ours.read(&mut buf)).await.unwrap();
        assert_eq!(&buf[..n], b"AAAA");
        // The rest is queued, and no new edge will come for it.
        let n = within("the read after the fd", ours.read(&mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"BBBB");
        drop(peer);
    });
}

#[test]
fn a_unix_stream_reads_on_past_an_out_of_band_mark() {
    let (probe, _other) = std::os::unix::net::UnixStream::pair().unwrap();
    if let Err(e) = send_flags(probe.as_raw_fd(), b"X", libc::MSG_OOB) {
        // A kernel without CONFIG_AF_UNIX_OOB (or before 5.15) refuses MSG_OOB outright.
        eprintln!("skipped: this kernel has no MSG_OOB on AF_UNIX ({e})");
        return;
    }
    on_both_flavours(|| async {
        let (ours, peer) = std::os::unix::net::UnixStream::pair().unwrap();
        (&peer).write_all(b"AAAA").unwrap();
        send_flags(peer.as_raw_fd(), b"X", libc::MSG_OOB).unwrap();
        (&peer).write_all(b"BBBB").unwrap();
        wait_queued(ours.as_raw_fd(), 8);
        let mut ours = UnixStream::from_std(ours).unwrap();
        // The urgent byte is out of band: the stream itself is the other eight.
        let got = read_until(&mut ours, 8).await;
        assert_eq!(got, b"AAAABBBB");
        drop(peer);
    });
}

/// A listener whose backlog holds one connection established before eddy got it, as
/// systemd socket activation hands over, and the client's end of that connection.
fn handed_over_listener() -> (std::net::TcpListener, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    (listener, client)
}

/// Sends "AAAA", urgent "X", "BBBB" on `peer` and waits until the receiver acknowledged all
/// nine bytes. (`FIONREAD` on the receiving end cannot tell: it counts only the bytes before
/// an urgent mark.)
fn send_across_an_urgent_mark(peer: &std::net::TcpStream) {
    let mut writer = peer;
    writer.write_all(b"AAAA").unwrap();
    send_flags(peer.as_raw_fd(), b"X", libc::MSG_OOB).unwrap();
    writer.write_all(b"BBBB").unwrap();
    let start = std::time::Instant::now();
    loop {
        if unacknowledged(peer.as_raw_fd()) == 0 {
            return;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "the peer's bytes were never acknowledged"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// How many bytes sent on `fd` the peer has not yet acknowledged (still in the send queue).
fn unacknowledged(fd: RawFd) -> libc::c_int {
    let mut n: libc::c_int = 0;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: SIOCOUTQ (TIOCOUTQ) writes one c_int through the live pointer.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &raw mut n) };
    #[cfg(any(target_os = "freebsd", target_os = "netbsd"))]
    // SAFETY: FIONWRITE writes one c_int through the live pointer.
    let rc = unsafe { libc::ioctl(fd, libc::FIONWRITE, &raw mut n) };
    #[cfg(target_os = "macos")]
    // SAFETY: SO_NWRITE writes one c_int into the live buffer of the given length.
    let rc = unsafe {
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_NWRITE,
            (&raw mut n).cast(),
            &mut len,
        )
    };
    assert_eq!(
        rc,
        0,
        "send queue size: {}",
        std::io::Error::last_os_error()
    );
    n
}

#[test]
fn tcp_reads_on_past_an_urgent_mark_on_a_connection_accepted_before_from_std() {
    on_both_flavours(|| async {
        let (listener, peer) = handed_over_listener();
        let listener = TcpListener::from_std(listener).unwrap();
        let (mut ours, _) = within("accept", listener.accept()).await.unwrap();
        send_across_an_urgent_mark(&peer);
        let got = read_until(&mut ours, 8).await;
        assert_eq!(got, b"AAAABBBB", "the urgent byte is out of band");
        drop(peer);
    });
}

#[test]
#[cfg(any(target_os = "linux", target_os = "android"))]
fn tcp_reads_on_past_an_urgent_mark_without_a_queue_count() {
    // A kernel without TCP_INQ (before 4.18), simulated by turning it off: reads then come
    // back without a count of what is left, and the short read at the mark proves nothing.
    on_both_flavours(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut ours, _) = within("accept", listener.accept()).await.unwrap();
        let off: libc::c_int = 0;
        // SAFETY: the option value is a live c_int of the size given.
        let rc = unsafe {
            libc::setsockopt(
                ours.as_raw_fd(),
                libc::SOL_TCP,
                libc::TCP_INQ,
                (&raw const off).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        send_across_an_urgent_mark(&peer);
        let mut buf = [0u8; 1024];
        let n = within("the read up to the mark", ours.read(&mut buf))
            .await
            .unwrap();
        assert_eq!(
            &buf[..n],
            b"AAAA",
            "the kernel ends a read at the urgent mark"
        );
        let n = within("the read after the mark", ours.read(&mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"BBBB");
        drop(peer);
    });
}

/// Counts how many times the future it wraps was polled.
struct Counted<F> {
    inner: Pin<Box<F>>,
    polls: usize,
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls += 1;
        self.inner.as_mut().poll(cx)
    }
}

/// Polls `fut` until `idle` passes, expecting it to stay pending; returns how many polls it
/// took. A wait that spins (ready, `WouldBlock`, ready again) is polled once per coop
/// budget, thousands of times; a wait that truly waits is polled once.
async fn polls_while_idle<T: std::fmt::Debug>(
    idle: Duration,
    fut: impl Future<Output = T>,
) -> usize {
    let mut counted = Counted {
        inner: Box::pin(fut),
        polls: 0,
    };
    let outcome = eddy::timeout(idle, &mut counted).await;
    assert!(
        outcome.is_err(),
        "nothing was sent, yet the wait ended: {outcome:?}"
    );
    counted.polls
}

#[test]
fn a_connected_udp_socket_reports_an_icmp_error_once_and_then_waits_without_spinning() {
    on_both_flavours(|| async {
        // A port nobody listens on: bound, connected to, then closed just before the send,
        // so no other socket can take the port in between.
        let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket.connect(closed.local_addr().unwrap()).await.unwrap();
        drop(closed);
        socket.send(b"ping").await.unwrap();
        let mut buf = [0u8; 64];
        let err = within(
            "the recv that reports the ICMP error",
            socket.recv(&mut buf),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
        // The error was reported; the socket lives on and must wait quietly. A spin is
        // polled once per coop budget, hundreds of times even under qemu; a few spurious
        // wakes (an error edge the kernel reports again on a loaded machine) are not one.
        let polls = polls_while_idle(Duration::from_millis(200), socket.recv(&mut buf)).await;
        assert!(
            polls <= 8,
            "the idle recv was polled {polls} times: it spins"
        );
    });
}

/// Twice the kernel's limit on buffers per call (`IOV_MAX`, 1,024).
const MANY: usize = 2000;

#[test]
fn vectored_io_with_more_buffers_than_iov_max_is_a_short_ok() {
    on_both_flavours(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let (mut tcp_peer, _) = listener.accept().await.unwrap();
        let (mut unix, mut unix_peer) = UnixStream::pair().unwrap();

        let bytes: Vec<u8> = (0..MANY).map(|i| i as u8).collect();
        let slices: Vec<IoSlice<'_>> = bytes.chunks(1).map(IoSlice::new).collect();
        let wrote_tcp = within("write_vectored", tcp.write_vectored(&slices))
            .await
            .unwrap();
        let wrote_unix = within("write_vectored", unix.write_vectored(&slices))
            .await
            .unwrap();
        for wrote in [wrote_tcp, wrote_unix] {
            assert!((1..=1024).contains(&wrote), "wrote {wrote} of {MANY}");
        }

        for (reader, wrote) in [
            (
                &mut tcp_peer as &mut (dyn futures_util::io::AsyncRead + Unpin + Send),
                wrote_tcp,
            ),
            (&mut unix_peer, wrote_unix),
        ] {
            let mut space = vec![0u8; MANY];
            let n = {
                let mut bufs: Vec<IoSliceMut<'_>> =
                    space.chunks_mut(1).map(IoSliceMut::new).collect();
                within("read_vectored", reader.read_vectored(&mut bufs))
                    .await
                    .unwrap()
            };
            assert!((1..=wrote.min(1024)).contains(&n), "read {n} of {wrote}");
            assert_eq!(&space[..n], &bytes[..n]);
        }
    });
}

#[test]
fn reading_into_an_empty_buffer_returns_zero_at_once() {
    on_both_flavours(|| async {
        // Idle connections: nothing is ever sent, so waiting for readability never ends.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut tcp = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (_tcp_peer, _) = listener.accept().await.unwrap();
        let (mut unix, _unix_peer) = UnixStream::pair().unwrap();
        let (reader, _writer) = std::io::pipe().unwrap();
        let mut pipe = Async::new(reader).unwrap();

        assert_eq!(
            within("TcpStream::read", tcp.read(&mut [])).await.unwrap(),
            0
        );
        assert_eq!(
            within("TcpStream::peek", tcp.peek(&mut [])).await.unwrap(),
            0
        );
        let mut no_bufs = [IoSliceMut::new(&mut [])];
        let n = within(
            "TcpStream read_vectored",
            AsyncReadExt::read_vectored(&mut tcp, &mut no_bufs),
        )
        .await;
        assert_eq!(n.unwrap(), 0);
        {
            let (mut half, _) = TcpStream::split(&mut tcp);
            assert_eq!(
                within("ReadHalf::read", half.read(&mut [])).await.unwrap(),
                0
            );
        }
        assert_eq!(
            within("UnixStream::read", unix.read(&mut []))
                .await
                .unwrap(),
            0
        );
        let n = within("Async<pipe> read", AsyncReadExt::read(&mut pipe, &mut [])).await;
        assert_eq!(n.unwrap(), 0);
        // A read that has room still waits: nothing came.
        let mut byte = [0u8; 1];
        let waited = eddy::timeout(Duration::from_millis(20), tcp.read(&mut byte)).await;
        assert!(
            waited.is_err(),
            "a one-byte read of an idle stream returned {waited:?}"
        );
    });
}
