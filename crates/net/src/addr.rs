//! Socket addresses, and name resolution that never blocks the reactor's thread.

use std::future::poll_fn;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::task::{Context, Poll};

use eddy_wake::AtomicWaker;

use crate::loom::sync::{Arc, Mutex, lock};
use crate::reactor::Handle;

/// Something that names one or more socket addresses: an address, an `(ip, port)` pair, or
/// a `"host:port"` string.
///
/// Addresses and IP literals are used as they are. Host names are looked up with the
/// system resolver (`getaddrinfo`), which blocks, so the lookup runs on the reactor's
/// blocking spawner — the runtime's blocking pool under the eddy facade, or a short-lived
/// thread with a bare `Reactor` — and the calling task waits without blocking its thread.
pub trait ToSocketAddrs: sealed::Sealed {}

mod sealed {
    /// What resolving needs: addresses now, or a name to look up.
    pub trait Sealed {
        fn to_addrs(&self) -> super::Addrs;
    }
}

#[doc(hidden)]
#[derive(Debug)]
pub enum Addrs {
    Ready(Vec<SocketAddr>),
    Lookup(String),
}

macro_rules! ready_addr {
    ($($ty:ty),*) => {$(
        impl ToSocketAddrs for $ty {}
        impl sealed::Sealed for $ty {
            fn to_addrs(&self) -> Addrs {
                Addrs::Ready(vec![SocketAddr::from(*self)])
            }
        }
    )*};
}

ready_addr!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for str {}
impl sealed::Sealed for str {
    fn to_addrs(&self) -> Addrs {
        match self.parse::<SocketAddr>() {
            Ok(addr) => Addrs::Ready(vec![addr]),
            Err(_) => Addrs::Lookup(self.to_owned()),
        }
    }
}

impl ToSocketAddrs for String {}
impl sealed::Sealed for String {
    fn to_addrs(&self) -> Addrs {
        self.as_str().to_addrs()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl sealed::Sealed for (&str, u16) {
    fn to_addrs(&self) -> Addrs {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Addrs::Ready(vec![SocketAddr::new(ip, self.1)]),
            Err(_) => Addrs::Lookup(format!("{}:{}", self.0, self.1)),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl sealed::Sealed for (String, u16) {
    fn to_addrs(&self) -> Addrs {
        (self.0.as_str(), self.1).to_addrs()
    }
}

impl ToSocketAddrs for [SocketAddr] {}
impl sealed::Sealed for [SocketAddr] {
    fn to_addrs(&self) -> Addrs {
        Addrs::Ready(self.to_vec())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrs + ?Sized> sealed::Sealed for &T {
    fn to_addrs(&self) -> Addrs {
        (**self).to_addrs()
    }
}

/// Resolves `addr` to its socket addresses without blocking the calling thread.
///
/// # Errors
///
/// The resolver's error (for example an unknown host), an
/// [`InvalidInput`](io::ErrorKind::InvalidInput) error if the name resolved to no address.
///
/// # Panics
///
/// When a name must be looked up and no runtime is running on the polling thread (lookups
/// run on its blocking pool); the message says how to enter one.
pub async fn lookup_host(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    resolve(&addr, None).await
}

pub(crate) async fn resolve(
    addr: &(impl ToSocketAddrs + ?Sized),
    handle: Option<&Handle>,
) -> io::Result<Vec<SocketAddr>> {
    let addrs = match sealed::Sealed::to_addrs(addr) {
        Addrs::Ready(addrs) => addrs,
        Addrs::Lookup(name) => {
            let handle = match handle {
                Some(handle) => handle.clone(),
                None => Handle::entered(),
            };
            lookup_blocking(&handle, name).await?
        }
    };
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to no socket address",
        ));
    }
    Ok(addrs)
}

/// Runs `getaddrinfo` for `name` on the blocking spawner and waits for its answer.
async fn lookup_blocking(handle: &Handle, name: String) -> io::Result<Vec<SocketAddr>> {
    let answer = Arc::new(Answer::new());
    let sender = Arc::clone(&answer);
    handle.spawn_blocking(Box::new(move || {
        sender.set(std::net::ToSocketAddrs::to_socket_addrs(&name).map(Iterator::collect));
    }))?;
    poll_fn(|cx| answer.poll(cx)).await
}

/// A lookup's result, handed from the blocking job to the waiting task.
///
/// The job stores the value under the lock, then wakes; the task registers its waker, then
/// looks under the lock. Whichever order they run in, the task sees the value or is woken
/// after it was stored (loom model `addr::loom_tests::answer_set_vs_poll`).
struct Answer {
    value: Mutex<Option<io::Result<Vec<SocketAddr>>>>,
    waker: AtomicWaker,
}

impl Answer {
    fn new() -> Answer {
        Answer {
            value: Mutex::new(None),
            waker: AtomicWaker::new(),
        }
    }

    /// Called once, by the blocking job.
    fn set(&self, result: io::Result<Vec<SocketAddr>>) {
        *lock(&self.value) = Some(result);
        self.waker.wake();
    }

    fn poll(&self, cx: &mut Context<'_>) -> Poll<io::Result<Vec<SocketAddr>>> {
        self.waker.register(cx.waker());
        match lock(&self.value).take() {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }
}

#[cfg(all(test, eddy_loom))]
mod loom_tests {
    use std::task::Context;

    use loom::thread;

    use super::Answer;
    use crate::loom::counting_waker;
    use crate::loom::sync::Arc;
    use crate::loom::sync::atomic::Ordering;

    /// The blocking job delivers the lookup's result while the task polls for it: the poll
    /// returns it, or the task is woken and its next poll does (shown to fail when the
    /// poll looks before it registers).
    #[test]
    fn answer_set_vs_poll() {
        loom::model(|| {
            let answer = Arc::new(Answer::new());
            let job = {
                let answer = Arc::clone(&answer);
                thread::spawn(move || answer.set(Ok(Vec::new())))
            };
            let (count, waker) = counting_waker();
            let mut cx = Context::from_waker(&waker);
            let first = answer.poll(&mut cx);
            job.join().unwrap();
            if first.is_pending() {
                assert_eq!(
                    count.0.load(Ordering::SeqCst),
                    1,
                    "the answer's wake was lost"
                );
                assert!(answer.poll(&mut cx).is_ready());
            }
        });
    }
}

/// A socket address in the C layout the system calls take, and its exact length.
pub(crate) struct RawAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl RawAddr {
    pub(crate) fn as_ptr(&self) -> *const libc::sockaddr {
        (&raw const self.storage).cast()
    }

    /// The length of the `sockaddr_in` or `sockaddr_in6` inside, not of the storage: the
    /// BSDs refuse a `bind` whose length is not exactly the family's.
    pub(crate) fn len(&self) -> libc::socklen_t {
        self.len
    }
}

/// The `sockaddr` for `addr`, for the raw `bind` and `connect` calls.
///
/// Built here rather than by nix's `From<SocketAddr>`, which needs nix's `net` feature, and
/// that feature does not compile for NetBSD against current libc.
pub(crate) fn sockaddr(addr: SocketAddr) -> RawAddr {
    // SAFETY: an all-zero sockaddr_storage is a valid, empty address buffer.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(v4) => {
            // SAFETY: zeroed bytes are a valid `sockaddr_in` (integers only).
            let mut raw: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            raw.sin_family = libc::AF_INET as libc::sa_family_t;
            raw.sin_port = v4.port().to_be();
            raw.sin_addr.s_addr = u32::from_ne_bytes(v4.ip().octets());
            #[cfg(any(target_os = "macos", target_os = "freebsd", target_os = "netbsd"))]
            {
                raw.sin_len = std::mem::size_of::<libc::sockaddr_in>() as u8;
            }
            // SAFETY: sockaddr_storage is larger than, and aligned for, every sockaddr type.
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in>().write(raw) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            // SAFETY: zeroed bytes are a valid `sockaddr_in6` (integers only).
            let mut raw: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            raw.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            raw.sin6_port = v6.port().to_be();
            raw.sin6_flowinfo = v6.flowinfo().to_be();
            raw.sin6_addr.s6_addr = v6.ip().octets();
            raw.sin6_scope_id = v6.scope_id();
            #[cfg(any(target_os = "macos", target_os = "freebsd", target_os = "netbsd"))]
            {
                raw.sin6_len = std::mem::size_of::<libc::sockaddr_in6>() as u8;
            }
            // SAFETY: as above.
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in6>().write(raw) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    RawAddr {
        storage,
        len: len as libc::socklen_t,
    }
}

/// The IPv4 or IPv6 address in `storage`, which the kernel filled (`accept`); `None` for
/// any other family.
pub(crate) fn from_sockaddr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a `sockaddr_in`; storage is
            // larger than and aligned for it.
            let raw =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(raw.sin_addr.s_addr.to_ne_bytes());
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(raw.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for `sockaddr_in6`.
            let raw = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(raw.sin6_addr.s6_addr),
                u16::from_be(raw.sin6_port),
                u32::from_be(raw.sin6_flowinfo),
                raw.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// The address family of `addr`, for `socket`.
pub(crate) fn domain(addr: &SocketAddr) -> libc::c_int {
    match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    }
}

#[cfg(all(test, not(eddy_loom), not(miri)))]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(addr: SocketAddr) -> Option<SocketAddr> {
        from_sockaddr(&sockaddr(addr).storage)
    }

    proptest! {
        /// The hand-built `sockaddr_in`/`sockaddr_in6` (nix's conversion needs its `net`
        /// feature, which NetBSD cannot build) says what std's address says, byte order and
        /// IPv6 flow and scope included, and reads back as the same address.
        #[test]
        fn socket_addresses_survive_the_c_layout(
            v4 in any::<[u8; 4]>(),
            v6 in any::<[u8; 16]>(),
            port in any::<u16>(),
            flowinfo in any::<u32>(),
            scope in any::<u32>(),
        ) {
            let a = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(v4), port));
            prop_assert_eq!(round_trip(a), Some(a));
            // The C layout itself, not only our reading of it: the port in network byte
            // order at offset 2 and the IPv4 address at offset 4, on Linux and the BSDs.
            let raw = sockaddr(a);
            // SAFETY: the storage is far longer than 8 bytes.
            let bytes = unsafe { raw.as_ptr().cast::<[u8; 8]>().read() };
            prop_assert_eq!(&bytes[2..4], &port.to_be_bytes()[..]);
            prop_assert_eq!(&bytes[4..8], &v4[..]);
            prop_assert_eq!(raw.len() as usize, std::mem::size_of::<libc::sockaddr_in>());
            prop_assert_eq!(sockaddr(SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(v6), port, 0, 0))).len() as usize, std::mem::size_of::<libc::sockaddr_in6>());
            let b = SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(v6), port, flowinfo, scope));
            prop_assert_eq!(round_trip(b), Some(b));
        }
    }
}

/// The local and peer addresses of socket `fd`, as text (`127.0.0.1:5000`, a Unix path,
/// `(unnamed)`), for task dumps: each `None` when the system has none to give (not a
/// socket, not connected, closed since). Never fails and never blocks: two system calls
/// that only read the kernel's socket record.
pub fn fd_addresses(fd: std::os::fd::RawFd) -> (Option<String>, Option<String>) {
    (
        fd_address(fd, libc::getsockname),
        fd_address(fd, libc::getpeername),
    )
}

type NameCall =
    unsafe extern "C" fn(libc::c_int, *mut libc::sockaddr, *mut libc::socklen_t) -> libc::c_int;

fn fd_address(fd: std::os::fd::RawFd, call: NameCall) -> Option<String> {
    // SAFETY: an all-zero sockaddr_storage is a valid, empty address buffer.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `storage` and `len` are valid and writable, and `len` says how big the
    // buffer is; on a bad or closed fd the call only fails.
    if unsafe { call(fd, (&raw mut storage).cast(), &mut len) } != 0 {
        return None;
    }
    if let Some(addr) = from_sockaddr(&storage) {
        return Some(addr.to_string());
    }
    if libc::c_int::from(storage.ss_family) != libc::AF_UNIX {
        return None;
    }
    // SAFETY: the family says the storage holds a `sockaddr_un`; storage is larger than
    // and aligned for it.
    let un = unsafe { &*(&raw const storage).cast::<libc::sockaddr_un>() };
    let offset = std::mem::offset_of!(libc::sockaddr_un, sun_path);
    let path_len = (len as usize).saturating_sub(offset).min(un.sun_path.len());
    let path: Vec<u8> = un.sun_path[..path_len]
        .iter()
        .map(|&c| c as u8)
        .take_while(|&c| c != 0)
        .collect();
    Some(if path.is_empty() {
        "(unnamed)".to_owned()
    } else {
        String::from_utf8_lossy(&path).into_owned()
    })
}
