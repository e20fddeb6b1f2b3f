//! eddy's socket layer: a readiness reactor, and TCP, UDP, Unix sockets and any fd on it.
//!
//! The [`Reactor`] owns an [`eddy_selector::Selector`] and turns its events into task
//! wake-ups; sockets ([`TcpListener`], [`TcpStream`], [`UdpSocket`], the `Unix*` types) and
//! [`Async<T>`] for any fd register with the reactor *entered* on the thread that creates
//! them ([`Handle::enter`]; the eddy runtime enters its reactor on every worker). Their
//! futures only use `std::task::Waker`, so they run under any executor that also turns the
//! reactor when it has nothing to do.
//!
//! With the default `futures-io` feature, streams implement `futures_io::AsyncRead` and
//! `AsyncWrite`, so `futures-util`'s `copy`, `read_to_end`, `BufReader` and codecs work on
//! them; async `read`, `write_all` and friends also exist as inherent methods.
//!
//! ```
//! use std::task::{Context, Poll, Waker};
//!
//! let mut reactor = eddy_net::Reactor::new()?;
//! let _guard = reactor.handle().enter();
//!
//! let mut fut = std::pin::pin!(async {
//!     let listener = eddy_net::TcpListener::bind("127.0.0.1:0").await?;
//!     let mut client = eddy_net::TcpStream::connect(listener.local_addr()?).await?;
//!     let (mut server, _) = listener.accept().await?;
//!     client.write_all(b"hello").await?;
//!     let mut buf = [0u8; 5];
//!     server.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"hello");
//!     std::io::Result::Ok(())
//! });
//! // The smallest executor: poll the one future, turn the reactor while it waits.
//! loop {
//!     if let Poll::Ready(result) = fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
//!         break result?;
//!     }
//!     reactor.turn(None)?;
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! `docs/net.md` follows one read from `TcpStream::read` down to the selector and back.

mod accept;
mod addr;
mod async_fd;
mod io_util;
mod loom;
mod reactor;
mod registration;
mod socket;
mod stream;
mod sys;
mod tcp;
mod udp;
mod unix;
mod wait;

pub use addr::{ToSocketAddrs, fd_addresses, lookup_host};
pub use async_fd::Async;
pub use reactor::{BlockingSpawner, EnterGuard, Handle, IoMetrics, Reactor, Ready};
pub use tcp::{
    Incoming, OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, TcpListener, TcpStream,
    WriteHalf,
};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
