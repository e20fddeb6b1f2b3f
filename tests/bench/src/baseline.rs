//! The physical limit: tcp_echo and udp_pingpong written directly on eddy-selector, one
//! thread, one epoll loop, no tasks, no wakers — what the system calls cost alone.
//!
//! Grown from `crates/selector/examples/echo.rs`: the same edge-triggered loop, with the
//! clients in the same loop as the servers. Every socket is registered once for
//! `READABLE` only (a 64-byte write to a loopback socket with one message in flight never
//! blocks), and a read shorter than the buffer counts as drained: a later arrival raises a
//! new edge, so the extra read that would only return `WouldBlock` is skipped.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Instant;

use eddy_selector::{Events, Interest, Selector, Token};

use crate::net::{MSG, NetResult, Stop};
use crate::stats::Histogram;

struct Client {
    stream: TcpStream,
    sent_at: Instant,
    got: usize,
    rounds: u64,
    done: bool,
}

/// Reads what is there; `Ok(0)` only at end of stream.
fn read_some(s: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match s.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(usize::MAX),
            r => return r,
        }
    }
}

/// Echo over `conns` loopback connections until `stop`. Client `i` has token `2i`, its
/// server side `2i + 1`.
pub(crate) fn tcp_echo(conns: usize, stop: Stop) -> io::Result<NetResult> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let selector = Selector::new()?;
    let mut clients = Vec::with_capacity(conns);
    let mut servers = Vec::with_capacity(conns);
    for i in 0..conns {
        let c = TcpStream::connect(addr)?;
        let (s, _) = listener.accept()?;
        for (stream, token) in [(&c, 2 * i), (&s, 2 * i + 1)] {
            stream.set_nodelay(true)?;
            stream.set_nonblocking(true)?;
            selector.register(stream.as_raw_fd(), Token(token), Interest::READABLE)?;
        }
        clients.push(Client {
            stream: c,
            sent_at: Instant::now(),
            got: 0,
            rounds: 0,
            done: false,
        });
        servers.push(s);
    }
    let start = Instant::now();
    let stop = match stop.until {
        Some(u) => Stop::after(u.saturating_duration_since(start)),
        None => stop,
    };
    let req = [7u8; MSG];
    for c in &mut clients {
        c.sent_at = Instant::now();
        c.stream.write_all(&req)?;
    }
    let mut hist = Histogram::new();
    let mut events = Events::with_capacity(1024);
    let mut buf = [0u8; 4096];
    let mut open = conns;
    while open > 0 {
        selector.select(&mut events, None)?;
        for event in &events {
            let token = event.token().0;
            if token % 2 == 1 {
                let s = &mut servers[token / 2];
                loop {
                    let n = read_some(s, &mut buf)?;
                    if n == usize::MAX || n == 0 {
                        break;
                    }
                    s.write_all(&buf[..n])?;
                    if n < buf.len() {
                        break;
                    }
                }
                continue;
            }
            let c = &mut clients[token / 2];
            if c.done {
                continue;
            }
            loop {
                let n = read_some(&mut c.stream, &mut buf)?;
                if n == usize::MAX {
                    break;
                }
                c.got += n;
                if c.got >= MSG {
                    c.got -= MSG;
                    let now = Instant::now();
                    hist.record(now.duration_since(c.sent_at).as_nanos() as u64);
                    c.rounds += 1;
                    if stop.done(c.rounds, now) {
                        c.done = true;
                        open -= 1;
                        break;
                    }
                    c.sent_at = now;
                    c.stream.write_all(&req)?;
                }
                if n < buf.len() {
                    break;
                }
            }
        }
    }
    let elapsed = start.elapsed();
    for c in &clients {
        selector.deregister(c.stream.as_raw_fd())?;
    }
    for s in &servers {
        selector.deregister(s.as_raw_fd())?;
    }
    Ok(NetResult {
        rps: hist.count() as f64 / elapsed.as_secs_f64(),
        hist,
    })
}

/// One UDP pair bouncing 64-byte datagrams until `stop`, both ends in one epoll loop.
pub(crate) fn udp_pingpong(stop: Stop) -> io::Result<NetResult> {
    let client = UdpSocket::bind("127.0.0.1:0")?;
    let server = UdpSocket::bind("127.0.0.1:0")?;
    client.connect(server.local_addr()?)?;
    server.connect(client.local_addr()?)?;
    let selector = Selector::new()?;
    for (s, token) in [(&client, 0), (&server, 1)] {
        s.set_nonblocking(true)?;
        selector.register(s.as_raw_fd(), Token(token), Interest::READABLE)?;
    }
    let start = Instant::now();
    let stop = match stop.until {
        Some(u) => Stop::after(u.saturating_duration_since(start)),
        None => stop,
    };
    let req = [7u8; MSG];
    let mut buf = [0u8; MSG];
    let mut hist = Histogram::new();
    let mut events = Events::with_capacity(16);
    let mut sent_at = Instant::now();
    client.send(&req)?;
    let mut rounds = 0;
    'outer: loop {
        selector.select(&mut events, None)?;
        for event in &events {
            // One datagram is in flight at a time, so one recv per edge drains the socket.
            let sock = if event.token().0 == 0 {
                &client
            } else {
                &server
            };
            let n = match sock.recv(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            };
            if event.token().0 == 1 {
                server.send(&buf[..n])?;
                continue;
            }
            let now = Instant::now();
            hist.record(now.duration_since(sent_at).as_nanos() as u64);
            rounds += 1;
            if stop.done(rounds, now) {
                break 'outer;
            }
            sent_at = now;
            client.send(&req)?;
        }
    }
    let elapsed = start.elapsed();
    selector.deregister(client.as_raw_fd())?;
    selector.deregister(server.as_raw_fd())?;
    Ok(NetResult {
        rps: hist.count() as f64 / elapsed.as_secs_f64(),
        hist,
    })
}

/// tcp_stream on the bare selector: `bytes` from client to server, then back, over one
/// loopback connection, both ends non-blocking in one edge-triggered loop; GB/s.
pub(crate) fn tcp_stream(bytes: usize) -> io::Result<f64> {
    use crate::net::STREAM_CHUNK;

    let listener = TcpListener::bind("127.0.0.1:0")?;
    let mut client = TcpStream::connect(listener.local_addr()?)?;
    let (mut server, _) = listener.accept()?;
    let selector = Selector::new()?;
    for (stream, token) in [(&client, 0), (&server, 1)] {
        stream.set_nonblocking(true)?;
        selector.register(
            stream.as_raw_fd(),
            Token(token),
            Interest::READABLE | Interest::WRITABLE,
        )?;
    }
    let total = bytes / STREAM_CHUNK * STREAM_CHUNK;
    let out = vec![7u8; STREAM_CHUNK];
    let mut inbuf = vec![0u8; STREAM_CHUNK];
    let mut events = Events::with_capacity(16);
    let start = Instant::now();
    // One direction at a time, like the runtimes' version: the writer writes until it
    // would block, the reader reads until it would block, and the loop waits for an edge.
    for (writer, reader) in [(0, 1), (1, 0)] {
        let (mut sent, mut got) = (0, 0);
        while got < total {
            let w = if writer == 0 {
                &mut client
            } else {
                &mut server
            };
            while sent < total {
                let n = (total - sent).min(STREAM_CHUNK);
                match w.write(&out[..n]) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            let r = if reader == 0 {
                &mut client
            } else {
                &mut server
            };
            loop {
                let n = read_some(r, &mut inbuf)?;
                if n == usize::MAX {
                    break;
                }
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                got += n;
            }
            if got < total {
                selector.select(&mut events, None)?;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    for s in [&client, &server] {
        selector.deregister(s.as_raw_fd())?;
    }
    Ok((2 * total) as f64 / secs / 1e9)
}
