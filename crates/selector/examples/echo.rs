//! A TCP echo server on the selector alone: no tasks, no runtime, one thread.
//!
//! This is the "raw epoll" baseline of eddy's benchmarks: the cost of readiness I/O with
//! nothing above the system calls. It also shows what every reactor must do with
//! edge-triggered events: keep reading and writing until the kernel says `WouldBlock`.
//!
//! ```text
//! cargo run --release -p eddy-selector --example echo -- 127.0.0.1:7000
//! ```

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};

use eddy_selector::{Events, Interest, Selector, Token};

const LISTENER: Token = Token(usize::MAX - 1);

/// What a server did before it stopped.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub accepted: usize,
    /// Bytes echoed back.
    pub echoed: usize,
}

struct Conn {
    stream: TcpStream,
    /// Bytes read but not yet written back, because the peer's window was full.
    pending: Vec<u8>,
}

/// Serves echo on `listener` until `stop` is set and the selector's notifier is woken.
pub fn serve(selector: &Selector, listener: &TcpListener, stop: &AtomicBool) -> io::Result<Stats> {
    listener.set_nonblocking(true)?;
    selector.register(listener.as_raw_fd(), LISTENER, Interest::READABLE)?;
    // The slab of connections: the token is the index, and freed slots are reused.
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    let mut stats = Stats::default();
    while !stop.load(Ordering::Acquire) {
        selector.select(&mut events, None)?;
        for event in &events {
            if event.token() == LISTENER {
                accept_all(selector, listener, &mut conns, &mut free, &mut stats)?;
                continue;
            }
            let slot = event.token().0;
            let Some(conn) = conns.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            match echo(conn, &mut buf, &mut stats.echoed) {
                Ok(true) => {}
                // End of stream or an error: forget the connection.
                Ok(false) | Err(_) => {
                    let conn = conns[slot].take().expect("checked above");
                    selector.deregister(conn.stream.as_raw_fd())?;
                    free.push(slot);
                }
            }
        }
    }
    selector.deregister(listener.as_raw_fd())?;
    for conn in conns.into_iter().flatten() {
        selector.deregister(conn.stream.as_raw_fd())?;
    }
    Ok(stats)
}

/// Accepts until `WouldBlock`: an edge-triggered listener reports a burst of connections once.
fn accept_all(
    selector: &Selector,
    listener: &TcpListener,
    conns: &mut Vec<Option<Conn>>,
    free: &mut Vec<usize>,
    stats: &mut Stats,
) -> io::Result<()> {
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // Out of descriptors or a connection that died in the backlog: the listener is
            // still fine, and the next connection brings a new edge.
            Err(e) => {
                eprintln!("echo: accept: {e}");
                return Ok(());
            }
        };
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        let slot = free.pop().unwrap_or_else(|| {
            conns.push(None);
            conns.len() - 1
        });
        // Both directions at once, so a full send buffer never needs a reregister call.
        selector.register(
            stream.as_raw_fd(),
            Token(slot),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        conns[slot] = Some(Conn {
            stream,
            pending: Vec::new(),
        });
        stats.accepted += 1;
    }
}

/// Moves bytes until one direction blocks, counting them in `echoed`. Returns whether the
/// connection stays open: `false` once the peer has closed and everything it sent went back.
fn echo(conn: &mut Conn, buf: &mut [u8], echoed: &mut usize) -> io::Result<bool> {
    loop {
        // Flush what is owed first; if the peer's window is full, wait for a writable edge
        // and leave the rest unread (the kernel holds it, and we resume here).
        while !conn.pending.is_empty() {
            match conn.stream.write(&conn.pending) {
                Ok(n) => {
                    conn.pending.drain(..n);
                    *echoed += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let n = match conn.stream.read(buf) {
            Ok(0) => return Ok(false),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let mut written = 0;
        while written < n {
            match conn.stream.write(&buf[written..n]) {
                Ok(m) => written += m,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        *echoed += written;
        conn.pending.extend_from_slice(&buf[written..n]);
    }
}

#[allow(dead_code)] // The conformance tests include this file for `serve` alone.
fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".to_owned());
    let listener = TcpListener::bind(&addr)?;
    println!(
        "echo: serving on {} (Ctrl-C to stop)",
        listener.local_addr()?
    );
    let selector = Selector::new()?;
    let stop = AtomicBool::new(false);
    serve(&selector, &listener, &stop)?;
    Ok(())
}
