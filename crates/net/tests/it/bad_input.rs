//! Bad input to the socket layer: addresses in use, fds that are not open. Each comes back
//! as an `io::Error` of a documented kind, never a panic, a hang or undefined behaviour.
//! (A resource used after its reactor is gone: `reactor::a_dropped_reactor_wakes_its_waiters_with_an_error`.)

use std::io::ErrorKind;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use eddy_net::{Async, Reactor, TcpListener, UdpSocket, UnixDatagram, UnixListener};

use crate::support::block_on;

#[test]
#[cfg_attr(miri, ignore = "Miri emulates no TCP or UDP sockets (socket(2))")]
fn binding_a_tcp_address_in_use_is_addr_in_use() {
    block_on(async {
        let first = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = first.local_addr().unwrap();
        // SO_REUSEADDR (which eddy sets, like std) does not let a second listener share a
        // port that is listening.
        let err = TcpListener::bind(addr).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    });
}

#[test]
#[cfg_attr(miri, ignore = "Miri emulates no TCP or UDP sockets (socket(2))")]
fn binding_a_udp_address_in_use_is_addr_in_use() {
    block_on(async {
        let first = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = first.local_addr().unwrap();
        let err = UdpSocket::bind(addr).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri has no filesystem paths while isolated (unlink, bind to a path)"
)]
fn binding_a_unix_path_in_use_is_addr_in_use() {
    let path = std::env::temp_dir().join(format!("eddy-net-{}-in-use.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    block_on(async {
        let _first = UnixListener::bind(&path).unwrap();
        let err = UnixListener::bind(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
        let err = UnixDatagram::bind(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    });
    let _ = std::fs::remove_file(&path);
}

/// An fd number wrapped without owning it, the way a caller with a raw fd from elsewhere
/// would; the tests below break its contract on purpose, with numbers that are not open.
#[derive(Debug)]
struct RawNumber(RawFd);

impl AsFd for RawNumber {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: deliberately violated by the tests below (the fd is not open), which is
        // I/O-safety misuse, not memory unsafety: every call on it is a syscall that
        // answers EBADF, and `Async::new` must turn that into an error.
        unsafe { BorrowedFd::borrow_raw(self.0) }
    }
}

#[test]
fn an_fd_that_was_never_open_is_invalid_input() {
    let reactor = Reactor::new().unwrap();
    let _guard = reactor.handle().enter();
    let err = Async::new(RawNumber(i32::MAX)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(
        err.to_string().contains("not an open file descriptor"),
        "{err}"
    );
    assert_eq!(reactor.registered(), 0);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri's fcntl(F_DUPFD) does not hand out the high fd number the test needs"
)]
fn a_closed_fd_is_invalid_input() {
    let reactor = Reactor::new().unwrap();
    let _guard = reactor.handle().enter();
    let (reader, _writer) = std::io::pipe().unwrap();
    // A duplicate far above the fds other test threads open, so that once closed its
    // number stays free for the rest of the test (the kernel hands out the lowest free fd).
    // SAFETY: F_DUPFD on an open fd; the new fd is closed exactly once below.
    let fd = unsafe { libc::fcntl(reader.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10_000) };
    assert!(fd >= 10_000, "F_DUPFD: {}", std::io::Error::last_os_error());
    // SAFETY: `fd` is the duplicate made above, closed exactly once.
    unsafe { libc::close(fd) };
    let err = Async::new(RawNumber(fd)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(
        err.to_string().contains("not an open file descriptor"),
        "{err}"
    );
    assert_eq!(reactor.registered(), 0);
}
