//! The few socket system calls std does not offer in non-blocking, signal-safe form.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// `send` flags that keep a write to a closed peer from raising `SIGPIPE`: Linux and
/// FreeBSD take `MSG_NOSIGNAL` per call; macOS has no such flag and uses the `SO_NOSIGPIPE`
/// socket option instead, set when eddy creates or accepts the socket.
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "netbsd"))]
const NOSIGNAL: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(target_os = "macos")]
const NOSIGNAL: libc::c_int = 0;

/// A new non-blocking, close-on-exec socket.
pub(crate) fn socket(domain: libc::c_int, ty: libc::c_int) -> io::Result<OwnedFd> {
    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "netbsd"))]
    {
        // SAFETY: `socket` takes no pointers; the flags are valid for this platform.
        let fd = unsafe { libc::socket(domain, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
        if fd == -1 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
    #[cfg(target_os = "macos")]
    {
        // SAFETY: `socket` takes no pointers.
        let fd = unsafe { libc::socket(domain, ty, 0) };
        if fd == -1 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: F_SETFD with FD_CLOEXEC on an open fd.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } == -1 {
            return Err(io::Error::last_os_error());
        }
        crate::async_fd::set_nonblocking(fd.as_raw_fd())?;
        set_nosigpipe(fd.as_raw_fd())?;
        Ok(fd)
    }
}

/// Makes writes to a closed peer fail with `EPIPE` instead of raising `SIGPIPE` (macOS).
#[cfg(target_os = "macos")]
pub(crate) fn set_nosigpipe(fd: RawFd) -> io::Result<()> {
    set_int_option(fd, libc::SOL_SOCKET, libc::SO_NOSIGPIPE, 1)
}

/// `setsockopt` of an `int`-valued option.
#[cfg(any(target_os = "macos", target_os = "linux", target_os = "android"))]
fn set_int_option(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: the option value is a live c_int of the size given; `setsockopt` reports a
    // bad fd, level or name as an error.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&raw const value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// On Linux and FreeBSD `MSG_NOSIGNAL` covers every send, so there is nothing to set.
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "netbsd"))]
pub(crate) fn set_nosigpipe(_fd: RawFd) -> io::Result<()> {
    Ok(())
}

/// Asks the kernel to report, with every read of this TCP socket, how many bytes its receive
/// queue still holds (`TCP_INQ`, Linux 4.18 and later), so [`recv_stream`] can tell a read
/// that emptied the socket from one that filled its buffer with more to come. Sockets that
/// a listener with the option accepts inherit it, so servers set it once, on the listener.
///
/// Best effort: where the option is missing (an older kernel), reads simply come back
/// without the count, and `recv_stream` then never reports the socket emptied: each burst
/// ends with one read that returns `WouldBlock`, as on every other stream type.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn set_recv_inq(fd: RawFd) {
    // A failure (ENOPROTOOPT before Linux 4.18) only leaves the count off; see above.
    let _ = set_int_option(fd, libc::SOL_TCP, libc::TCP_INQ, 1);
}

/// Elsewhere there is no such count; `recv_stream` goes by the read's length alone.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn set_recv_inq(_fd: RawFd) {}

/// The most buffers one `readv`/`recvmsg`/`sendmsg` takes (`UIO_MAXIOV` on Linux, `IOV_MAX`
/// on macOS and FreeBSD: 1,024 on all three). More fail with `EMSGSIZE`/`EINVAL`; std caps the
/// count instead and returns a short `Ok(n)`, which is what a vectored read or write may do,
/// so eddy passes at most this many.
const IOV_MAX: usize = 1024;

/// `bufs.len()` capped at [`IOV_MAX`], as a `msghdr` wants it.
fn iov_len(len: usize) -> usize {
    len.min(IOV_MAX)
}

/// A stream read into `bufs` (`recvmsg`) that also says whether it emptied the socket's
/// receive queue, by the kernel's count of what is left (`TCP_CM_INQ`, when
/// [`set_recv_inq`] took effect; end-of-stream counts as one byte left). Without the count
/// (other systems, kernels before 4.18, a socket accepted before its listener got
/// `TCP_INQ`) it says "not emptied": a read shorter than its buffer proves nothing, since
/// TCP ends a read at an urgent mark with more data queued behind it.
pub(crate) fn recv_stream(fd: RawFd, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<(usize, bool)> {
    // Room for one `TCP_CM_INQ` message: CMSG_SPACE(4) is 24 bytes on 64-bit Linux, and
    // the u64 elements give the alignment `cmsghdr` needs.
    let mut control = [0u64; 4];
    // SAFETY: an all-zero msghdr is a valid "no address, no control data" header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // `IoSliceMut` is guaranteed ABI-compatible with `iovec` on Unix.
    msg.msg_iov = bufs.as_mut_ptr().cast();
    msg.msg_iovlen = iov_len(bufs.len()) as _;
    if cfg!(any(target_os = "linux", target_os = "android")) {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
    }
    // SAFETY: `msg` points at the first `msg_iovlen` of `bufs` (live, writable iovecs) and
    // at `control` (writable, of the length given), both of which outlive the call.
    let n = unsafe { libc::recvmsg(fd, &raw mut msg, 0) };
    if n == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok((n as usize, inq(&msg) == Some(0)))
}

/// The `TCP_CM_INQ` count a `recvmsg` returned in `msg`'s control data, if any.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn inq(msg: &libc::msghdr) -> Option<usize> {
    // SAFETY: `msg` is the header `recvmsg` just filled: `msg_control`/`msg_controllen`
    // describe the control messages the kernel wrote (or a length too short for one, and
    // then CMSG_FIRSTHDR returns null).
    let cmsg = unsafe { libc::CMSG_FIRSTHDR(msg) };
    if cmsg.is_null() {
        return None;
    }
    // SAFETY: non-null, so it points at a complete `cmsghdr` inside `control`.
    let header = unsafe { &*cmsg };
    if header.cmsg_level != libc::SOL_TCP || header.cmsg_type != libc::TCP_CM_INQ {
        return None;
    }
    // SAFETY: a `TCP_CM_INQ` message carries one c_int right after its header, inside
    // `control`; it may be unaligned for c_int in principle, so it is read as such.
    let left = unsafe { libc::CMSG_DATA(cmsg).cast::<libc::c_int>().read_unaligned() };
    Some(usize::try_from(left).unwrap_or(0))
}

/// No count elsewhere.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn inq(_msg: &libc::msghdr) -> Option<usize> {
    None
}

/// `send` that never raises `SIGPIPE`.
pub(crate) fn send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is a live slice of `buf.len()` readable bytes for the whole call.
    let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), NOSIGNAL) };
    if n == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Vectored `sendmsg` that never raises `SIGPIPE`.
pub(crate) fn send_vectored(fd: RawFd, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    // SAFETY: an all-zero msghdr is a valid "no address, no control data" header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // `IoSlice` is guaranteed ABI-compatible with `iovec` on Unix; the kernel only reads.
    msg.msg_iov = bufs.as_ptr().cast_mut().cast();
    msg.msg_iovlen = iov_len(bufs.len()) as _;
    // SAFETY: `msg` points at the first `msg_iovlen` of `bufs`, which outlives the call;
    // nothing else is referenced.
    let n = unsafe { libc::sendmsg(fd, &raw const msg, NOSIGNAL) };
    if n == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// `setsockopt(SO_KEEPALIVE)`.
pub(crate) fn set_keepalive(fd: &impl std::os::fd::AsFd, on: bool) -> io::Result<()> {
    nix::sys::socket::setsockopt(fd, nix::sys::socket::sockopt::KeepAlive, &on)
        .map_err(io::Error::from)
}

/// `getsockopt(SO_KEEPALIVE)`.
pub(crate) fn keepalive(fd: &impl std::os::fd::AsFd) -> io::Result<bool> {
    nix::sys::socket::getsockopt(fd, nix::sys::socket::sockopt::KeepAlive).map_err(io::Error::from)
}

/// Starts a non-blocking connect of `fd` to `addr`. `Ok(())` means connected or in
/// progress (`EINPROGRESS`): the socket turns writable when it finishes.
pub(crate) fn start_connect(fd: &OwnedFd, addr: std::net::SocketAddr) -> io::Result<()> {
    let raw = crate::addr::sockaddr(addr);
    // SAFETY: `raw` is a live address of `raw.len()` bytes; `fd` is an open socket.
    let rc = unsafe { libc::connect(fd.as_raw_fd(), raw.as_ptr(), raw.len()) };
    connect_result(rc)
}

/// [`start_connect`] for a Unix socket path.
pub(crate) fn start_connect_unix(
    fd: &OwnedFd,
    addr: &nix::sys::socket::UnixAddr,
) -> io::Result<()> {
    use nix::sys::socket::SockaddrLike;
    // SAFETY: nix's `UnixAddr` is a live address of `addr.len()` bytes; `fd` is open.
    let rc = unsafe { libc::connect(fd.as_raw_fd(), SockaddrLike::as_ptr(addr), addr.len()) };
    connect_result(rc)
}

/// A non-blocking `connect`'s return: in progress is success, the socket turns writable.
fn connect_result(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EINPROGRESS) => Ok(()),
        _ => Err(err),
    }
}

/// How many finished handshakes the kernel queues for `accept` (capped by
/// `net.core.somaxconn`). std uses 128, which a burst of concurrent connects overflows;
/// an overflowed queue silently drops the handshake's last ACK, and the client then sees
/// its first writes stall and, on some kernels, the connection reset.
const LISTEN_BACKLOG: i32 = 1024;

/// A non-blocking, close-on-exec TCP listener on `addr`, with `SO_REUSEADDR` (as std sets
/// it) and eddy's backlog.
pub(crate) fn tcp_listener(addr: std::net::SocketAddr) -> io::Result<std::net::TcpListener> {
    use nix::sys::socket::{Backlog, listen, setsockopt, sockopt};
    let fd = socket(crate::addr::domain(&addr), libc::SOCK_STREAM)?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    let raw = crate::addr::sockaddr(addr);
    // SAFETY: `raw` is a live address of `raw.len()` bytes; `fd` is an open socket.
    if unsafe { libc::bind(fd.as_raw_fd(), raw.as_ptr(), raw.len()) } == -1 {
        return Err(io::Error::last_os_error());
    }
    listen(&fd, Backlog::new(LISTEN_BACKLOG).map_err(io::Error::from)?)?;
    Ok(std::net::TcpListener::from(fd))
}

/// Accepts a connection as a non-blocking, close-on-exec socket in one system call where the
/// platform allows (`accept4`), returning it with the peer's address.
pub(crate) fn accept(listener: RawFd) -> io::Result<(OwnedFd, std::net::SocketAddr)> {
    // SAFETY: an all-zero sockaddr_storage is a valid, empty address buffer.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let addr_ptr = (&raw mut storage).cast::<libc::sockaddr>();
    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "netbsd"))]
    // SAFETY: `addr_ptr`/`len` describe a live, writable sockaddr_storage; the flags are valid.
    let fd = unsafe {
        libc::accept4(
            listener,
            addr_ptr,
            &mut len,
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    };
    #[cfg(target_os = "macos")]
    // SAFETY: `addr_ptr`/`len` describe a live, writable sockaddr_storage.
    let fd = unsafe { libc::accept(listener, addr_ptr, &mut len) };
    if fd == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    #[cfg(target_os = "macos")]
    {
        // SAFETY: F_SETFD with FD_CLOEXEC on an open fd.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } == -1 {
            return Err(io::Error::last_os_error());
        }
        crate::async_fd::set_nonblocking(fd.as_raw_fd())?;
        set_nosigpipe(fd.as_raw_fd())?;
    }
    let addr = crate::addr::from_sockaddr(&storage);
    match addr {
        Some(addr) => Ok((fd, addr)),
        None => Err(io::Error::other(
            "accept returned an address that is neither IPv4 nor IPv6",
        )),
    }
}
