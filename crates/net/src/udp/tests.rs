//! Write interest on demand: a UDP socket's sends go ahead without writable events, and a
//! send that blocks still wakes when the buffer drains.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::UdpSocket;
use crate::reactor::Reactor;

/// Long enough that a missing edge fails the test instead of racing it; never reached when
/// the edge comes.
const EDGE_WAIT: Duration = Duration::from_secs(10);

/// An eddy socket connected to a std peer.
fn pair(reactor: &Reactor) -> (UdpSocket, std::net::UdpSocket) {
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(peer.local_addr().unwrap()).unwrap();
    peer.set_nonblocking(true).unwrap();
    let _guard = reactor.handle().enter();
    (UdpSocket::from_std(socket).unwrap(), peer)
}

fn is_writable(socket: &UdpSocket) -> bool {
    socket.io.registration().current().ready.is_writable()
}

#[test]
fn a_new_socket_is_writable_and_sends_raise_no_writable_events() {
    let mut reactor = Reactor::new().unwrap();
    let (socket, peer) = pair(&reactor);
    assert!(is_writable(&socket), "assumed writable before any event");
    let mut cx = Context::from_waker(Waker::noop());
    reactor.turn(Some(Duration::ZERO)).unwrap();
    let tick = socket.io.registration().current().tick;
    for _ in 0..3 {
        let send = pin!(socket.send(&[1; 64]));
        assert!(matches!(send.poll(&mut cx), Poll::Ready(Ok(64))));
        let mut buf = [0u8; 64];
        assert_eq!(peer.recv(&mut buf).unwrap(), 64);
        reactor.turn(Some(Duration::ZERO)).unwrap();
    }
    // Each send frees its buffer space again: registered for writes, the socket would report
    // a writable edge per datagram (and one when registered). For reads only: no event.
    assert_eq!(
        socket.io.registration().current().tick,
        tick,
        "a send raised an event"
    );
}

#[test]
fn a_send_that_blocks_adds_write_interest_and_wakes_when_writable() {
    // Loopback UDP sends never block (the datagram leaves the sender's buffer at once), so
    // the first try reports `WouldBlock` by hand. Registered for reads only, the socket
    // raises no writable edge unless that `WouldBlock` added write interest, whose
    // `EPOLL_CTL_MOD` reports the (writable) socket again.
    let mut reactor = Reactor::new().unwrap();
    let (socket, peer) = pair(&reactor);
    let mut cx = Context::from_waker(Waker::noop());
    let mut first = true;
    let mut send = pin!(socket.io.write_with(|s| {
        if std::mem::take(&mut first) {
            return Err(std::io::ErrorKind::WouldBlock.into());
        }
        s.send(&[2; 64])
    }));
    assert!(send.as_mut().poll(&mut cx).is_pending());
    assert!(!is_writable(&socket), "WouldBlock cleared WRITABLE");
    let start = Instant::now();
    while !is_writable(&socket) {
        assert!(
            start.elapsed() < EDGE_WAIT,
            "no writable edge: the blocked send would wait forever"
        );
        reactor.turn(Some(EDGE_WAIT)).unwrap();
    }
    assert!(matches!(send.as_mut().poll(&mut cx), Poll::Ready(Ok(64))));
    let mut buf = [0u8; 64];
    assert_eq!(peer.recv(&mut buf).unwrap(), 64);
    // From now on sends raise writable events: one edge per datagram the peer consumed.
    let send = pin!(socket.send(&[3; 64]));
    assert!(matches!(send.poll(&mut cx), Poll::Ready(Ok(64))));
    assert_eq!(peer.recv(&mut buf).unwrap(), 64);
}
