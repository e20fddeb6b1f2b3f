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

/// The `sockaddr` for `addr`, for the raw `connect` call.
pub(crate) fn sockaddr(addr: SocketAddr) -> nix::sys::socket::SockaddrStorage {
    nix::sys::socket::SockaddrStorage::from(addr)
}

/// The address family of `addr`, for `socket`.
pub(crate) fn domain(addr: &SocketAddr) -> libc::c_int {
    match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    }
}
