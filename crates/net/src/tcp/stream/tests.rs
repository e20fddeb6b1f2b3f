//! The read path's readiness bookkeeping, checked against the record the reactor keeps.

use std::io::Write;
#[cfg(any(target_os = "linux", target_os = "android"))]
use std::os::fd::AsRawFd;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::TcpStream;
use crate::reactor::Reactor;

/// Long enough that a missing edge fails the test instead of racing it; never reached when
/// the edge comes.
const EDGE_WAIT: Duration = Duration::from_secs(10);

/// A connected pair: the eddy stream under test and the std peer that feeds it.
fn pair(reactor: &Reactor) -> (TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (accepted, _) = listener.accept().unwrap();
    let _guard = reactor.handle().enter();
    (TcpStream::from_std(accepted).unwrap(), peer)
}

/// A pair whose peer has sent `data`, with the reactor turned until the stream saw it.
fn fed(data: &[u8]) -> (Reactor, TcpStream, std::net::TcpStream) {
    let mut reactor = Reactor::new().unwrap();
    let (stream, mut peer) = pair(&reactor);
    peer.write_all(data).unwrap();
    turn_until_readable(&mut reactor, &stream);
    (reactor, stream, peer)
}

fn is_readable(stream: &TcpStream) -> bool {
    stream.io.registration().current().ready.is_readable()
}

/// Turns the reactor until `stream` is readable again, or fails after `EDGE_WAIT`.
fn turn_until_readable(reactor: &mut Reactor, stream: &TcpStream) {
    let start = std::time::Instant::now();
    while !is_readable(stream) {
        assert!(
            start.elapsed() < EDGE_WAIT,
            "no edge reached the record: the data that arrived is stranded"
        );
        reactor.turn(Some(EDGE_WAIT)).unwrap();
    }
}

fn poll_read(stream: &TcpStream, buf: &mut [u8]) -> Poll<std::io::Result<usize>> {
    crate::stream::poll_read(&stream.io, &mut Context::from_waker(Waker::noop()), buf)
}

/// Turns `TCP_INQ` off on `stream`, as on a kernel without it: reads carry no count.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn without_inq(stream: &TcpStream) {
    let off: libc::c_int = 0;
    // SAFETY: the option value is a live c_int of the size given.
    let rc = unsafe {
        libc::setsockopt(
            stream.io.as_raw_fd(),
            libc::SOL_TCP,
            libc::TCP_INQ,
            (&raw const off).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
}

#[test]
#[cfg(any(target_os = "linux", target_os = "android"))]
fn a_read_the_kernel_counts_empty_clears_readiness_and_the_next_arrival_sets_it_again() {
    let (mut reactor, stream, mut peer) = fed(&[1; 10]);
    let mut buf = [0u8; 64];
    assert!(matches!(poll_read(&stream, &mut buf), Poll::Ready(Ok(10))));
    assert!(
        !is_readable(&stream),
        "TCP_INQ said nothing is left: the next read must wait, not make a syscall that \
         returns WouldBlock"
    );
    assert!(poll_read(&stream, &mut buf).is_pending());

    // More data after the clear raises a new edge, which the reader must see.
    peer.write_all(&[2; 5]).unwrap();
    turn_until_readable(&mut reactor, &stream);
    assert!(matches!(poll_read(&stream, &mut buf), Poll::Ready(Ok(5))));
    assert_eq!(&buf[..5], &[2; 5]);
}

#[test]
#[cfg(any(target_os = "linux", target_os = "android"))]
fn without_a_count_a_short_read_keeps_readiness_until_would_block() {
    // The length proves nothing (a read ends at an urgent mark with more queued), so only
    // the kernel's `WouldBlock` may clear.
    let mut reactor = Reactor::new().unwrap();
    let (stream, mut peer) = pair(&reactor);
    without_inq(&stream);
    peer.write_all(&[1; 10]).unwrap();
    turn_until_readable(&mut reactor, &stream);
    let mut buf = [0u8; 64];
    assert!(matches!(poll_read(&stream, &mut buf), Poll::Ready(Ok(10))));
    assert!(
        is_readable(&stream),
        "a short read without a count cleared readiness"
    );
    assert!(
        poll_read(&stream, &mut buf).is_pending(),
        "WouldBlock, and now cleared"
    );
    assert!(!is_readable(&stream));
    peer.write_all(&[2; 5]).unwrap();
    turn_until_readable(&mut reactor, &stream);
    assert!(matches!(poll_read(&stream, &mut buf), Poll::Ready(Ok(5))));
}

#[test]
fn a_full_read_keeps_readiness_for_what_may_remain() {
    let (_reactor, stream, _peer) = fed(&[3; 100]);
    let mut buf = [0u8; 64];
    assert!(matches!(poll_read(&stream, &mut buf), Poll::Ready(Ok(64))));
    assert!(
        is_readable(&stream),
        "a full buffer says nothing about the rest"
    );
    // The rest is read without another edge.
    assert!(matches!(poll_read(&stream, &mut buf), Poll::Ready(Ok(36))));
    assert!(!is_readable(&stream));
}

#[test]
#[cfg(any(target_os = "linux", target_os = "android"))]
fn a_read_that_fills_its_buffer_and_empties_the_socket_clears_readiness() {
    // `TCP_INQ` tells the read that nothing is left: the next read waits for an edge instead
    // of reading `EAGAIN`, the echo bench's `read_exact` of a whole message.
    let (mut reactor, stream, mut peer) = fed(&[5; 64]);
    let mut buf = [0u8; 64];
    assert!(matches!(poll_read(&stream, &mut buf), Poll::Ready(Ok(64))));
    assert!(!is_readable(&stream), "the kernel said the socket is empty");
    assert!(poll_read(&stream, &mut buf).is_pending());
    peer.write_all(&[6; 64]).unwrap();
    turn_until_readable(&mut reactor, &stream);
    assert!(matches!(poll_read(&stream, &mut buf), Poll::Ready(Ok(64))));
    assert_eq!(buf, [6; 64]);
}

#[test]
fn end_of_stream_behind_a_read_that_empties_the_socket_is_still_seen() {
    // A short read (10 bytes) and a read that fills its buffer (64): where `TCP_INQ` says
    // the data is gone, both clear readiness, but READ_CLOSED is sticky (and the count
    // holds one byte for the pending end-of-stream), so end-of-stream is ready at once.
    for len in [10, 64] {
        let mut reactor = Reactor::new().unwrap();
        let (stream, mut peer) = pair(&reactor);
        peer.write_all(&vec![4; len]).unwrap();
        peer.shutdown(std::net::Shutdown::Write).unwrap();
        turn_until_readable(&mut reactor, &stream);
        let mut buf = [0u8; 64];
        assert!(matches!(poll_read(&stream, &mut buf), Poll::Ready(Ok(n)) if n == len));
        assert!(matches!(poll_read(&stream, &mut buf), Poll::Ready(Ok(0))));
    }
}
