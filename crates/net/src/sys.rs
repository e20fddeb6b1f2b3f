//! The few socket system calls std does not offer in non-blocking, signal-safe form.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// `send` flags that keep a write to a closed peer from raising `SIGPIPE`: Linux and
/// FreeBSD take `MSG_NOSIGNAL` per call; macOS has no such flag and uses the `SO_NOSIGPIPE`
/// socket option instead, set when eddy creates or accepts the socket.
#[cfg(any(target_os = "linux", target_os = "freebsd"))]
const NOSIGNAL: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(target_os = "macos")]
const NOSIGNAL: libc::c_int = 0;

/// A new non-blocking, close-on-exec socket.
pub(crate) fn socket(domain: libc::c_int, ty: libc::c_int) -> io::Result<OwnedFd> {
    #[cfg(any(target_os = "linux", target_os = "freebsd"))]
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
    let one: libc::c_int = 1;
    // SAFETY: `fd` is an open socket and the option value is a live c_int of the right size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_NOSIGPIPE,
            (&raw const one).cast(),
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
#[cfg(any(target_os = "linux", target_os = "freebsd"))]
pub(crate) fn set_nosigpipe(_fd: RawFd) -> io::Result<()> {
    Ok(())
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
    msg.msg_iovlen = bufs.len().min(libc::c_int::MAX as usize) as _;
    // SAFETY: `msg` points at `bufs`, which outlives the call; nothing else is referenced.
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
pub(crate) fn start_connect(
    fd: &OwnedFd,
    addr: &dyn nix::sys::socket::SockaddrLike,
) -> io::Result<()> {
    match nix::sys::socket::connect(fd.as_raw_fd(), addr) {
        Ok(()) | Err(nix::errno::Errno::EINPROGRESS) => Ok(()),
        Err(e) => Err(e.into()),
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
    use nix::sys::socket::{Backlog, bind, listen, setsockopt, sockopt};
    let fd = socket(crate::addr::domain(&addr), libc::SOCK_STREAM)?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    bind(fd.as_raw_fd(), &crate::addr::sockaddr(addr))?;
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
    #[cfg(any(target_os = "linux", target_os = "freebsd"))]
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
    // SAFETY: the kernel wrote a valid address of `len` bytes into `storage`.
    let addr = unsafe {
        <nix::sys::socket::SockaddrStorage as nix::sys::socket::SockaddrLike>::from_raw(
            addr_ptr,
            Some(len),
        )
    };
    let addr = addr.and_then(|a| {
        a.as_sockaddr_in()
            .map(|v4| std::net::SocketAddr::V4((*v4).into()))
            .or_else(|| {
                a.as_sockaddr_in6()
                    .map(|v6| std::net::SocketAddr::V6((*v6).into()))
            })
    });
    match addr {
        Some(addr) => Ok((fd, addr)),
        None => Err(io::Error::other(
            "accept returned an address that is neither IPv4 nor IPv6",
        )),
    }
}
