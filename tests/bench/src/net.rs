//! tcp_echo and udp_pingpong on each runtime: clients and servers as tasks of one
//! current-thread runtime, over loopback, 64-byte messages, latency per round trip.

// The impls spell out `impl Future + Send` to mirror the trait, which needs the `Send`
// bound so client and server futures can be spawned on any runtime.
#![allow(clippy::manual_async_fn)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::rt::{Eddy, Rt, Smol, Tokio};
use crate::stats::Histogram;

/// The request and response size of both network workloads.
pub(crate) const MSG: usize = 64;

/// When a client stops: at a deadline, or after a number of round trips (for strace).
#[derive(Clone, Copy)]
pub(crate) struct Stop {
    pub(crate) until: Option<Instant>,
    pub(crate) rounds: u64,
}

impl Stop {
    pub(crate) fn after(d: Duration) -> Stop {
        Stop {
            until: Some(Instant::now() + d),
            rounds: u64::MAX,
        }
    }

    pub(crate) fn rounds(n: u64) -> Stop {
        Stop {
            until: None,
            rounds: n,
        }
    }

    pub(crate) fn done(&self, rounds: u64, now: Instant) -> bool {
        rounds >= self.rounds || self.until.is_some_and(|u| now >= u)
    }
}

/// What one network run measured.
pub(crate) struct NetResult {
    /// Round trips per second over all connections.
    pub(crate) rps: f64,
    pub(crate) hist: Histogram,
}

/// Sockets of one runtime, behind one interface so the echo code is written once.
pub(crate) trait Net: Rt {
    type Listener: Send + Sync + 'static;
    type Stream: Send + 'static;
    type Udp: Send + Sync + 'static;

    /// A listener on `addr`, and the address it got (the port, when `addr`'s is 0).
    fn bind(
        addr: SocketAddr,
    ) -> impl Future<Output = io::Result<(Self::Listener, SocketAddr)>> + Send;
    /// The next connection, with `TCP_NODELAY` set.
    fn accept(l: &Self::Listener) -> impl Future<Output = io::Result<Self::Stream>> + Send + '_;
    fn connect(a: SocketAddr) -> impl Future<Output = Self::Stream> + Send;
    fn write_all<'a>(
        s: &'a mut Self::Stream,
        b: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a;
    fn read_exact<'a>(
        s: &'a mut Self::Stream,
        b: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a;
    /// Reads what is there, at most `b.len()` bytes; 0 at end of stream.
    fn read<'a>(
        s: &'a mut Self::Stream,
        b: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a;

    /// Two UDP sockets connected to each other.
    fn udp_pair() -> impl Future<Output = (Self::Udp, Self::Udp)> + Send;
    fn send<'a>(
        s: &'a Self::Udp,
        b: &'a [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a;
    fn recv<'a>(
        s: &'a Self::Udp,
        b: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a;
}

const LOOPBACK: &str = "127.0.0.1:0";

/// An ephemeral loopback port.
fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Echo over `conns` connections until `stop`; server and clients are tasks of one
/// current-thread runtime.
pub(crate) fn tcp_echo<R: Net>(conns: usize, stop: Stop) -> NetResult {
    R::run(0, async move {
        let (listener, addr) = R::bind(loopback()).await.expect("bind");
        let listener = Arc::new(listener);
        let acceptor = {
            let listener = listener.clone();
            R::spawn(async move {
                let mut servers = Vec::with_capacity(conns);
                for _ in 0..conns {
                    let mut s = R::accept(&listener).await.expect("accept");
                    servers.push(R::spawn(async move {
                        let mut buf = [0u8; MSG];
                        // The client closing its end ends this loop with an error.
                        while R::read_exact(&mut s, &mut buf).await.is_ok() {
                            if R::write_all(&mut s, &buf).await.is_err() {
                                break;
                            }
                        }
                    }));
                }
                for s in servers {
                    s.await;
                }
            })
        };
        let mut streams = Vec::with_capacity(conns);
        for _ in 0..conns {
            streams.push(R::connect(addr).await);
        }
        let start = Instant::now();
        let stop = match stop.until {
            Some(_) => Stop::after(stop.until.unwrap().saturating_duration_since(start)),
            None => stop,
        };
        let clients: Vec<_> = streams
            .into_iter()
            .map(|mut s| {
                R::spawn(async move {
                    let mut hist = Histogram::new();
                    let req = [7u8; MSG];
                    let mut resp = [0u8; MSG];
                    let mut rounds = 0;
                    loop {
                        let t = Instant::now();
                        if stop.done(rounds, t) {
                            break;
                        }
                        R::write_all(&mut s, &req).await.expect("echo request");
                        R::read_exact(&mut s, &mut resp)
                            .await
                            .expect("echo response");
                        hist.record(t.elapsed().as_nanos() as u64);
                        rounds += 1;
                    }
                    hist
                })
            })
            .collect();
        let mut hist = Histogram::new();
        for c in clients {
            hist.merge(&c.await);
        }
        let elapsed = start.elapsed();
        acceptor.await;
        NetResult {
            rps: hist.count() as f64 / elapsed.as_secs_f64(),
            hist,
        }
    })
}

/// The chunk each side of tcp_stream reads and writes at a time.
pub(crate) const STREAM_CHUNK: usize = 64 * 1024;

/// tcp_stream: `bytes` from client to server, then `bytes` back, over one loopback
/// connection; returns GB/s over both directions.
pub(crate) fn tcp_stream<R: Net>(bytes: usize) -> f64 {
    R::run(0, async move {
        let (listener, addr) = R::bind(loopback()).await.expect("bind");
        let listener = Arc::new(listener);
        let server = {
            let listener = listener.clone();
            R::spawn(async move {
                let mut s = R::accept(&listener).await.expect("accept");
                let mut buf = vec![0u8; STREAM_CHUNK];
                for _ in 0..bytes / STREAM_CHUNK {
                    R::read_exact(&mut s, &mut buf).await.expect("stream in");
                }
                for _ in 0..bytes / STREAM_CHUNK {
                    R::write_all(&mut s, &buf).await.expect("stream out");
                }
            })
        };
        let mut c = R::connect(addr).await;
        let start = Instant::now();
        let mut buf = vec![7u8; STREAM_CHUNK];
        for _ in 0..bytes / STREAM_CHUNK {
            R::write_all(&mut c, &buf).await.expect("stream out");
        }
        for _ in 0..bytes / STREAM_CHUNK {
            R::read_exact(&mut c, &mut buf).await.expect("stream in");
        }
        let secs = start.elapsed().as_secs_f64();
        server.await;
        (2 * (bytes / STREAM_CHUNK) * STREAM_CHUNK) as f64 / secs / 1e9
    })
}

/// One UDP pair bouncing 64-byte datagrams until `stop`; a 1-byte datagram ends the server.
pub(crate) fn udp_pingpong<R: Net>(stop: Stop) -> NetResult {
    R::run(0, async move {
        let (client, server) = R::udp_pair().await;
        let server = R::spawn(async move {
            let mut buf = [0u8; MSG];
            loop {
                let n = R::recv(&server, &mut buf).await.expect("udp server recv");
                if n < MSG {
                    break;
                }
                R::send(&server, &buf[..n]).await.expect("udp server send");
            }
        });
        let start = Instant::now();
        let mut hist = Histogram::new();
        let req = [7u8; MSG];
        let mut resp = [0u8; MSG];
        let mut rounds = 0;
        loop {
            let t = Instant::now();
            if stop.done(rounds, t) {
                break;
            }
            R::send(&client, &req).await.expect("udp client send");
            R::recv(&client, &mut resp).await.expect("udp client recv");
            hist.record(t.elapsed().as_nanos() as u64);
            rounds += 1;
        }
        let elapsed = start.elapsed();
        R::send(&client, &[0]).await.expect("udp stop datagram");
        server.await;
        NetResult {
            rps: hist.count() as f64 / elapsed.as_secs_f64(),
            hist,
        }
    })
}

impl Net for Eddy {
    type Listener = eddy::net::TcpListener;
    type Stream = eddy::net::TcpStream;
    type Udp = eddy::net::UdpSocket;

    fn bind(
        addr: SocketAddr,
    ) -> impl Future<Output = io::Result<(Self::Listener, SocketAddr)>> + Send {
        async move {
            let l = eddy::net::TcpListener::bind(addr).await?;
            let a = l.local_addr()?;
            Ok((l, a))
        }
    }
    fn accept(l: &Self::Listener) -> impl Future<Output = io::Result<Self::Stream>> + Send + '_ {
        async {
            let (s, _) = l.accept().await?;
            s.set_nodelay(true)?;
            Ok(s)
        }
    }
    fn connect(a: SocketAddr) -> impl Future<Output = Self::Stream> + Send {
        async move {
            let s = eddy::net::TcpStream::connect(a).await.expect("connect");
            s.set_nodelay(true).expect("nodelay");
            s
        }
    }
    fn write_all<'a>(
        s: &'a mut Self::Stream,
        b: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        s.write_all(b)
    }
    fn read_exact<'a>(
        s: &'a mut Self::Stream,
        b: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        s.read_exact(b)
    }
    fn read<'a>(
        s: &'a mut Self::Stream,
        b: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        s.read(b)
    }
    fn udp_pair() -> impl Future<Output = (Self::Udp, Self::Udp)> + Send {
        async {
            let a = eddy::net::UdpSocket::bind(LOOPBACK).await.expect("bind");
            let b = eddy::net::UdpSocket::bind(LOOPBACK).await.expect("bind");
            a.connect(b.local_addr().expect("addr"))
                .await
                .expect("connect");
            b.connect(a.local_addr().expect("addr"))
                .await
                .expect("connect");
            (a, b)
        }
    }
    fn send<'a>(
        s: &'a Self::Udp,
        b: &'a [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        s.send(b)
    }
    fn recv<'a>(
        s: &'a Self::Udp,
        b: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        s.recv(b)
    }
}

impl Net for Tokio {
    type Listener = tokio::net::TcpListener;
    type Stream = tokio::net::TcpStream;
    type Udp = tokio::net::UdpSocket;

    fn bind(
        addr: SocketAddr,
    ) -> impl Future<Output = io::Result<(Self::Listener, SocketAddr)>> + Send {
        async move {
            let l = tokio::net::TcpListener::bind(addr).await?;
            let a = l.local_addr()?;
            Ok((l, a))
        }
    }
    fn accept(l: &Self::Listener) -> impl Future<Output = io::Result<Self::Stream>> + Send + '_ {
        async {
            let (s, _) = l.accept().await?;
            s.set_nodelay(true)?;
            Ok(s)
        }
    }
    fn connect(a: SocketAddr) -> impl Future<Output = Self::Stream> + Send {
        async move {
            let s = tokio::net::TcpStream::connect(a).await.expect("connect");
            s.set_nodelay(true).expect("nodelay");
            s
        }
    }
    fn write_all<'a>(
        s: &'a mut Self::Stream,
        b: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        use tokio::io::AsyncWriteExt;
        s.write_all(b)
    }
    fn read_exact<'a>(
        s: &'a mut Self::Stream,
        b: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        use tokio::io::AsyncReadExt;
        async move { s.read_exact(b).await.map(drop) }
    }
    fn read<'a>(
        s: &'a mut Self::Stream,
        b: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        use tokio::io::AsyncReadExt;
        s.read(b)
    }
    fn udp_pair() -> impl Future<Output = (Self::Udp, Self::Udp)> + Send {
        async {
            let a = tokio::net::UdpSocket::bind(LOOPBACK).await.expect("bind");
            let b = tokio::net::UdpSocket::bind(LOOPBACK).await.expect("bind");
            a.connect(b.local_addr().expect("addr"))
                .await
                .expect("connect");
            b.connect(a.local_addr().expect("addr"))
                .await
                .expect("connect");
            (a, b)
        }
    }
    fn send<'a>(
        s: &'a Self::Udp,
        b: &'a [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        s.send(b)
    }
    fn recv<'a>(
        s: &'a Self::Udp,
        b: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        s.recv(b)
    }
}

impl Net for Smol {
    type Listener = smol::Async<std::net::TcpListener>;
    type Stream = smol::Async<std::net::TcpStream>;
    type Udp = smol::Async<std::net::UdpSocket>;

    fn bind(
        addr: SocketAddr,
    ) -> impl Future<Output = io::Result<(Self::Listener, SocketAddr)>> + Send {
        async move {
            let l = smol::Async::<std::net::TcpListener>::bind(addr)?;
            let a = l.get_ref().local_addr()?;
            Ok((l, a))
        }
    }
    fn accept(l: &Self::Listener) -> impl Future<Output = io::Result<Self::Stream>> + Send + '_ {
        async {
            let (s, _) = l.accept().await?;
            s.get_ref().set_nodelay(true)?;
            Ok(s)
        }
    }
    fn connect(a: SocketAddr) -> impl Future<Output = Self::Stream> + Send {
        async move {
            let s = smol::Async::<std::net::TcpStream>::connect(a)
                .await
                .expect("connect");
            s.get_ref().set_nodelay(true).expect("nodelay");
            s
        }
    }
    fn write_all<'a>(
        s: &'a mut Self::Stream,
        b: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        use smol::io::AsyncWriteExt;
        s.write_all(b)
    }
    fn read_exact<'a>(
        s: &'a mut Self::Stream,
        b: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        use smol::io::AsyncReadExt;
        s.read_exact(b)
    }
    fn read<'a>(
        s: &'a mut Self::Stream,
        b: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        use smol::io::AsyncReadExt;
        s.read(b)
    }
    fn udp_pair() -> impl Future<Output = (Self::Udp, Self::Udp)> + Send {
        async {
            let a = smol::Async::<std::net::UdpSocket>::bind(([127, 0, 0, 1], 0)).expect("bind");
            let b = smol::Async::<std::net::UdpSocket>::bind(([127, 0, 0, 1], 0)).expect("bind");
            let (aa, ba) = (a.get_ref().local_addr(), b.get_ref().local_addr());
            a.get_ref().connect(ba.expect("addr")).expect("connect");
            b.get_ref().connect(aa.expect("addr")).expect("connect");
            (a, b)
        }
    }
    fn send<'a>(
        s: &'a Self::Udp,
        b: &'a [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        s.send(b)
    }
    fn recv<'a>(
        s: &'a Self::Udp,
        b: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        s.recv(b)
    }
}
