//! Readiness of real sockets on loopback: TCP, UDP and Unix socketpairs.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use eddy_selector::{Events, Interest, Selector, Token};

use crate::support::{drain, event_for, quiet, set_nonblocking};

fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    set_nonblocking(&client);
    set_nonblocking(&server);
    (client, server)
}

#[test]
#[cfg_attr(miri, ignore = "Miri emulates no TCP or UDP sockets (socket(2))")]
fn listener_is_readable_when_a_connection_waits() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    selector
        .register(listener.as_raw_fd(), Token(1), Interest::READABLE)
        .unwrap();
    assert!(quiet(&selector, &mut events).is_empty());
    let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    assert!(event_for(&selector, &mut events, Token(1)).is_readable());
    assert!(listener.accept().is_ok());
}

#[test]
#[cfg_attr(miri, ignore = "Miri emulates no TCP or UDP sockets (socket(2))")]
fn tcp_stream_is_writable_then_readable_when_data_arrives() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut client, mut server) = tcp_pair();
    selector
        .register(
            server.as_raw_fd(),
            Token(2),
            Interest::READABLE | Interest::WRITABLE,
        )
        .unwrap();
    let first = event_for(&selector, &mut events, Token(2));
    assert!(first.is_writable() && !first.is_readable(), "{first:?}");
    client.write_all(b"ping").unwrap();
    let second = event_for(&selector, &mut events, Token(2));
    assert!(second.is_readable(), "{second:?}");
    let mut buf = [0; 4];
    server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
}

#[test]
#[cfg_attr(miri, ignore = "Miri emulates no TCP or UDP sockets (socket(2))")]
fn nonblocking_connect_completes_as_writable() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // SAFETY: plain socket creation; the fd is wrapped in a TcpStream right away.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
    assert!(fd >= 0);
    // SAFETY: `fd` is a fresh socket nobody else owns.
    let stream = unsafe { <TcpStream as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    set_nonblocking(&stream);
    let std::net::SocketAddr::V4(v4) = addr else {
        unreachable!("bound to 127.0.0.1")
    };
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: v4.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*v4.ip()).to_be(),
        },
        ..unsafe_zeroed_sockaddr_in()
    };
    // SAFETY: `sin` is a valid sockaddr_in and the length matches it.
    let rc = unsafe {
        libc::connect(
            fd,
            (&raw const sin).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    let err = std::io::Error::last_os_error();
    assert!(
        rc == 0 || err.raw_os_error() == Some(libc::EINPROGRESS),
        "connect: {err}"
    );
    selector.register(fd, Token(5), Interest::WRITABLE).unwrap();
    let event = event_for(&selector, &mut events, Token(5));
    assert!(event.is_writable() && !event.is_error(), "{event:?}");
    assert!(stream.take_error().unwrap().is_none());
    assert_eq!(stream.peer_addr().unwrap(), addr);
}

fn unsafe_zeroed_sockaddr_in() -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain integers; all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

#[test]
#[cfg_attr(miri, ignore = "Miri emulates no TCP or UDP sockets (socket(2))")]
fn peer_shutdown_shows_read_closed() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (client, mut server) = tcp_pair();
    selector
        .register(server.as_raw_fd(), Token(3), Interest::READABLE)
        .unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let event = event_for(&selector, &mut events, Token(3));
    assert!(event.is_read_closed(), "{event:?}");
    assert!(!event.is_error());
    assert_eq!(drain(&mut server), 0);
}

#[test]
#[cfg_attr(miri, ignore = "Miri emulates no TCP or UDP sockets (socket(2))")]
fn peer_reset_shows_error_and_closed() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (client, server) = tcp_pair();
    selector
        .register(
            server.as_raw_fd(),
            Token(4),
            Interest::READABLE | Interest::WRITABLE,
        )
        .unwrap();
    let _ = event_for(&selector, &mut events, Token(4)); // initial writability
    // SO_LINGER with a zero timeout turns close() into a reset (RST) instead of a FIN.
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `client` is an open socket and `linger` matches the option's size.
    let rc = unsafe {
        libc::setsockopt(
            client.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
    drop(client);
    let event = event_for(&selector, &mut events, Token(4));
    assert!(event.is_read_closed(), "{event:?}");
    assert!(event.is_error() || event.is_write_closed(), "{event:?}");
    let err = server
        .take_error()
        .unwrap()
        .expect("SO_ERROR holds the reset");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
}

#[cfg(target_os = "linux")]
#[test]
#[cfg_attr(miri, ignore = "Miri emulates no TCP or UDP sockets (socket(2))")]
fn urgent_data_is_priority() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (client, server) = tcp_pair();
    selector
        .register(server.as_raw_fd(), Token(6), Interest::PRIORITY)
        .unwrap();
    let byte = [b'!'];
    // SAFETY: `client` is a connected socket; the buffer is one live byte.
    let sent = unsafe { libc::send(client.as_raw_fd(), byte.as_ptr().cast(), 1, libc::MSG_OOB) };
    assert_eq!(sent, 1);
    let event = event_for(&selector, &mut events, Token(6));
    assert!(event.is_priority(), "{event:?}");
}

#[test]
#[cfg_attr(miri, ignore = "Miri emulates no TCP or UDP sockets (socket(2))")]
fn udp_socket_is_readable_per_datagram() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    b.set_nonblocking(true).unwrap();
    selector
        .register(b.as_raw_fd(), Token(7), Interest::READABLE)
        .unwrap();
    assert!(quiet(&selector, &mut events).is_empty());
    a.send_to(b"one", b.local_addr().unwrap()).unwrap();
    assert!(event_for(&selector, &mut events, Token(7)).is_readable());
    let mut buf = [0; 16];
    let (n, from) = b.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"one"[..], a.local_addr().unwrap()));
    assert_eq!(
        b.recv_from(&mut buf).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
    a.send_to(b"two", b.local_addr().unwrap()).unwrap();
    assert!(event_for(&selector, &mut events, Token(7)).is_readable());
}

#[test]
#[cfg_attr(miri, ignore = "Miri's socketpair has no ioctl")]
fn full_socket_becomes_writable_again_after_the_peer_reads() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut a, mut b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    selector
        .register(a.as_raw_fd(), Token(8), Interest::WRITABLE)
        .unwrap();
    assert!(event_for(&selector, &mut events, Token(8)).is_writable());
    // Fill the socket buffer until the kernel refuses more.
    let chunk = [0u8; 8192];
    let mut written = 0;
    loop {
        match a.write(&chunk) {
            Ok(n) => written += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("write: {e}"),
        }
    }
    assert!(written > 0);
    assert!(
        quiet(&selector, &mut events).is_empty(),
        "a full socket is not writable"
    );
    assert_eq!(drain(&mut b), written);
    assert!(event_for(&selector, &mut events, Token(8)).is_writable());
}
