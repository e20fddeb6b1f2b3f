//! The limit: the same server written directly on eddy-selector, one thread, one
//! edge-triggered epoll loop, non-blocking sockets, no tasks and no wakers.
//!
//! Connections are registered for `READABLE` alone; a connection whose response did not
//! fit in its socket's send buffer adds `WRITABLE` until the rest is written, and reads
//! nothing meanwhile (the client waits for its answers before it sends more, pipelined or
//! not, so nothing is lost by it). As in the tcp_echo baseline, a read shorter than the
//! space offered counts as draining the socket: a later arrival raises a new edge.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;

use eddy_selector::{Events, Interest, Selector, Token};

use super::{Input, Service, Session};

/// The listener's token; connection `i` has token `i + 1`.
const LISTENER: Token = Token(0);

/// The backlog eddy's and tokio's listeners use: without it a burst of 256 connects can
/// overflow std's smaller one, and a dropped SYN is retried only after a second.
const BACKLOG: libc::c_int = 1024;

struct Conn {
    stream: TcpStream,
    session: Session,
    input: Input,
    /// Response bytes not yet written, from `written` on.
    out: Vec<u8>,
    written: usize,
    /// Registered for `WRITABLE` too, because `out` has bytes the kernel did not take.
    want_write: bool,
    /// Close once `out` is written.
    closing: bool,
}

/// Serves `listener` for ever; returns only on an error of the loop itself.
pub(crate) fn serve(listener: TcpListener, service: &Service) -> io::Result<()> {
    // SAFETY: `listener` owns an open, listening socket for the duration of the call;
    // `listen` on a listening socket only changes its backlog.
    if unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) } != 0 {
        return Err(io::Error::last_os_error());
    }
    listener.set_nonblocking(true)?;
    let selector = Selector::new()?;
    selector.register(listener.as_raw_fd(), LISTENER, Interest::READABLE)?;
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut events = Events::with_capacity(1024);
    loop {
        selector.select(&mut events, None)?;
        for event in &events {
            if event.token() == LISTENER {
                accept_all(&listener, &selector, service, &mut conns, &mut free)?;
                continue;
            }
            let i = event.token().0 - 1;
            let Some(conn) = conns.get_mut(i).and_then(Option::as_mut) else {
                // An event queued before its connection was closed in this same batch.
                continue;
            };
            if !drive(conn, &selector, event.token()).unwrap_or(false) {
                let conn = conns[i].take().expect("checked just above");
                selector.deregister(conn.stream.as_raw_fd())?;
                free.push(i);
            }
        }
    }
}

/// Accepts every pending connection (until `WouldBlock`: the listener is edge-triggered).
fn accept_all(
    listener: &TcpListener,
    selector: &Selector,
    service: &Service,
    conns: &mut Vec<Option<Conn>>,
    free: &mut Vec<usize>,
) -> io::Result<()> {
    loop {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // A connection reset before it was accepted, or a moment out of fds: the
            // client's loss, as in the async servers' accept loop.
            Err(e) => {
                eprintln!("eddy-bench: accept failed: {e}");
                return Ok(());
            }
        };
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        let i = free.pop().unwrap_or_else(|| {
            conns.push(None);
            conns.len() - 1
        });
        selector.register(stream.as_raw_fd(), Token(i + 1), Interest::READABLE)?;
        conns[i] = Some(Conn {
            stream,
            session: service.session(),
            input: Input::new(),
            out: Vec::new(),
            written: 0,
            want_write: false,
            closing: false,
        });
    }
}

/// Writes what it can of the pending output, reads and answers what has arrived; whether
/// the connection stays open. An I/O error (a reset) closes it, as end of stream does.
fn drive(conn: &mut Conn, selector: &Selector, token: Token) -> io::Result<bool> {
    loop {
        if !flush(conn, selector, token)? {
            // Still blocked: the next writable edge continues here.
            return Ok(true);
        }
        if conn.closing {
            return Ok(false);
        }
        let spare = conn.input.spare();
        let offered = spare.len();
        let n = match conn.stream.read(spare) {
            Ok(0) => return Ok(false),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        conn.input.filled(n);
        let served = conn.session.serve(conn.input.data(), &mut conn.out);
        conn.input.consume(served.consumed);
        conn.closing = served.close;
        if n < offered && !conn.closing {
            // Drained; write the answers and wait for the next edge.
            return flush(conn, selector, token).map(|_| true);
        }
    }
}

/// Writes pending output until it is all written (true) or the socket is full (false,
/// registered for `WRITABLE`).
fn flush(conn: &mut Conn, selector: &Selector, token: Token) -> io::Result<bool> {
    while conn.written < conn.out.len() {
        match conn.stream.write(&conn.out[conn.written..]) {
            Ok(n) => conn.written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !conn.want_write {
                    let fd = conn.stream.as_raw_fd();
                    selector.reregister(fd, token, Interest::READABLE | Interest::WRITABLE)?;
                    conn.want_write = true;
                }
                return Ok(false);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    conn.out.clear();
    conn.written = 0;
    if conn.want_write {
        selector.reregister(conn.stream.as_raw_fd(), token, Interest::READABLE)?;
        conn.want_write = false;
    }
    Ok(true)
}
