//! `UdpSocket`: datagrams without blocking the thread.

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;

use crate::addr::{ToSocketAddrs, resolve};
use crate::reactor::Handle;
use crate::{Async, socket};

/// A UDP socket.
///
/// Every method takes `&self`, and any number of tasks may send and receive on one socket
/// at once (share it with an `Arc`).
#[derive(Debug)]
pub struct UdpSocket {
    io: Async<std::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr` (trying each resolved address in turn).
    ///
    /// # Errors
    ///
    /// The last address's bind error, or a resolver error.
    ///
    /// # Panics
    ///
    /// When first polled outside a runtime (no reactor entered on the polling thread),
    /// saying how to enter one.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let handle = Handle::entered();
        let mut last = None;
        for addr in resolve(&addr, Some(&handle)).await? {
            match std::net::UdpSocket::bind(addr) {
                Ok(socket) => {
                    return Ok(UdpSocket {
                        io: Async::write_on_demand(socket, &handle)?,
                    });
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("invariant: `resolve` returns at least one address"))
    }

    /// Wraps a std socket (made non-blocking here) with the current reactor.
    ///
    /// # Errors
    ///
    /// As for [`Async::new`].
    ///
    /// # Panics
    ///
    /// As for [`Async::new`].
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            io: Async::write_on_demand(socket, &Handle::entered())?,
        })
    }

    /// Deregisters the socket and returns it as a std socket (still non-blocking).
    ///
    /// # Errors
    ///
    /// As for [`Async::into_inner`].
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        self.io.into_inner()
    }

    /// Sets the default peer for `send` and `recv`, and filters out datagrams from others.
    ///
    /// # Errors
    ///
    /// The system's error, or a resolver error.
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let handle = self.io.registration().handle().clone();
        let mut last = None;
        for addr in resolve(&addr, Some(&handle)).await? {
            match self.io.get_ref().connect(addr) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("invariant: `resolve` returns at least one address"))
    }

    /// Sends `buf` to the connected peer.
    ///
    /// # Errors
    ///
    /// The system's error; `ConnectionRefused` may report an earlier datagram's ICMP error.
    #[track_caller]
    pub fn send(&self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> {
        crate::wait::waits!("UdpSocket::send", self.io.as_raw_fd(), async move {
            self.io.io_write(|s| s.send(buf)).await
        })
    }

    /// Receives one datagram from the connected peer; a datagram longer than `buf` is
    /// truncated.
    ///
    /// # Errors
    ///
    /// The system's error.
    #[track_caller]
    pub fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> {
        crate::wait::waits!("UdpSocket::recv", self.io.as_raw_fd(), async move {
            self.io.io_read(|s| s.recv(buf)).await
        })
    }

    /// Sends `buf` to `target` (an address; names are not resolved here).
    ///
    /// # Errors
    ///
    /// The system's error.
    #[track_caller]
    pub fn send_to(
        &self,
        buf: &[u8],
        target: SocketAddr,
    ) -> impl Future<Output = io::Result<usize>> {
        crate::wait::waits!("UdpSocket::send_to", self.io.as_raw_fd(), async move {
            self.io.io_write(|s| s.send_to(buf, target)).await
        })
    }

    /// Receives one datagram and its sender's address.
    ///
    /// # Errors
    ///
    /// The system's error.
    #[track_caller]
    pub fn recv_from(
        &self,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> {
        crate::wait::waits!("UdpSocket::recv_from", self.io.as_raw_fd(), async move {
            self.io.io_read(|s| s.recv_from(buf)).await
        })
    }

    /// Receives the next datagram without removing it from the queue.
    ///
    /// # Errors
    ///
    /// The system's error.
    #[track_caller]
    pub fn peek_from(
        &self,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> {
        crate::wait::waits!("UdpSocket::peek_from", self.io.as_raw_fd(), async move {
            self.io.io_read(|s| s.peek_from(buf)).await
        })
    }

    socket::forward_to_std! {
        /// The local address.
        ///
        /// # Errors
        ///
        /// The system's error.
        pub fn local_addr(&self) -> io::Result<SocketAddr>;

        /// The connected peer's address.
        ///
        /// # Errors
        ///
        /// `NotConnected` if `connect` was not called.
        pub fn peer_addr(&self) -> io::Result<SocketAddr>;

        /// Whether `SO_BROADCAST` is on.
        ///
        /// # Errors
        ///
        /// The system's error.
        pub fn broadcast(&self) -> io::Result<bool>;

        /// Allows sending to broadcast addresses.
        ///
        /// # Errors
        ///
        /// The system's error.
        pub fn set_broadcast(&self, on: bool) -> io::Result<()>;

        /// Whether multicast datagrams sent here loop back to this host (IPv4).
        ///
        /// # Errors
        ///
        /// The system's error.
        pub fn multicast_loop_v4(&self) -> io::Result<bool>;

        /// Sets `IP_MULTICAST_LOOP`.
        ///
        /// # Errors
        ///
        /// The system's error.
        pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()>;

        /// Sets `IP_MULTICAST_TTL`.
        ///
        /// # Errors
        ///
        /// The system's error.
        pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()>;

        /// Sets `IPV6_MULTICAST_LOOP`.
        ///
        /// # Errors
        ///
        /// The system's error.
        pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()>;
    }

    /// Joins an IPv4 multicast group on `interface` (`UNSPECIFIED` for the default).
    ///
    /// # Errors
    ///
    /// The system's error.
    pub fn join_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().join_multicast_v4(&group, &interface)
    }

    /// Leaves an IPv4 multicast group.
    ///
    /// # Errors
    ///
    /// The system's error.
    pub fn leave_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v4(&group, &interface)
    }

    /// Joins an IPv6 multicast group on interface index `interface` (0 for the default).
    ///
    /// # Errors
    ///
    /// The system's error.
    pub fn join_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().join_multicast_v6(&group, interface)
    }

    /// Leaves an IPv6 multicast group.
    ///
    /// # Errors
    ///
    /// The system's error.
    pub fn leave_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v6(&group, interface)
    }

    socket::forward_to_std! {
        /// The IP time-to-live.
        ///
        /// # Errors
        ///
        /// The system's error.
        pub fn ttl(&self) -> io::Result<u32>;

        /// Sets the IP time-to-live.
        ///
        /// # Errors
        ///
        /// The system's error.
        pub fn set_ttl(&self, ttl: u32) -> io::Result<()>;

        /// Takes the socket's pending error (`SO_ERROR`), if any.
        ///
        /// # Errors
        ///
        /// The system's error.
        pub fn take_error(&self) -> io::Result<Option<io::Error>>;
    }
}

socket::impl_fd_traits!(UdpSocket);

#[cfg(all(test, not(eddy_loom)))]
mod tests;
