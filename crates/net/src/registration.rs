//! `Registration`: a resource's link to its reactor record, and the readiness loop every
//! socket operation runs.

use std::future::poll_fn;
use std::io;
use std::os::fd::RawFd;
use std::task::{Context, Poll, ready};

use eddy_selector::{Interest, Token};

use crate::loom::sync::{Arc, Mutex, lock};
use crate::reactor::scheduled_io::{Direction, ReadyEvent, ScheduledIo};
use crate::reactor::{Handle, Ready};
use eddy_wake::coop;

pub(crate) struct Registration {
    handle: Handle,
    io: Arc<ScheduledIo>,
    token: Token,
    /// Set for a resource registered with [`Registration::write_on_demand`].
    write_on_demand: Option<WriteOnDemand>,
}

/// Write interest added only once a write returns `WouldBlock`.
///
/// A UDP socket's send buffer frees space after every datagram it sent (when the peer's
/// socket consumes it), and the kernel reports that as a writable edge each time: with
/// write interest from the start, every datagram sent costs an extra event, one more record
/// update and wake pass in the reactor, while sends almost never block. So such a resource
/// is registered for reads only and its record starts out writable; the first write that
/// returns `WouldBlock` clears `WRITABLE` (tick-checked, as always) and adds write interest
/// (`EPOLL_CTL_MOD`), which reports the socket again if it is writable by then, so the edge
/// that ends the wait is never missed. Interest stays at both directions afterwards: at most
/// one `epoll_ctl` in the resource's life, and none for one whose sends never block.
struct WriteOnDemand {
    fd: RawFd,
    /// Whether write interest was added. Locked only on a write's `WouldBlock`, and held
    /// across the `epoll_ctl` so that concurrent writers add it once.
    armed: Mutex<bool>,
}

impl Registration {
    /// Registers `fd` with `handle`'s reactor.
    pub(crate) fn new(fd: RawFd, interest: Interest, handle: &Handle) -> io::Result<Registration> {
        let (io, token) = handle.register(fd, interest)?;
        Ok(Registration {
            handle: handle.clone(),
            io,
            token,
            write_on_demand: None,
        })
    }

    /// Registers `fd` for reads only, assumed writable until a write returns `WouldBlock`;
    /// see [`WriteOnDemand`]. For datagram sockets.
    pub(crate) fn write_on_demand(fd: RawFd, handle: &Handle) -> io::Result<Registration> {
        let mut registration = Registration::new(fd, Interest::READABLE, handle)?;
        registration.io.assume_writable();
        registration.write_on_demand = Some(WriteOnDemand {
            fd,
            armed: Mutex::new(false),
        });
        Ok(registration)
    }

    /// After `WouldBlock`: forgets `event`'s readiness (unless a newer edge came) and, for a
    /// write of a [`WriteOnDemand`] resource, makes sure the kernel will report writability.
    fn would_block(&self, event: ReadyEvent, write: bool) -> io::Result<()> {
        self.clear(event);
        match &self.write_on_demand {
            Some(lazy) if write => {
                let mut armed = lock(&lazy.armed);
                if !*armed {
                    self.handle.reregister(
                        lazy.fd,
                        self.token,
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    *armed = true;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Single-waiter readiness for `direction` (one task per direction).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        ready!(coop::poll_proceed(cx));
        let event = ready!(self.io.poll_ready(cx, direction));
        Poll::Ready(check_shutdown(event))
    }

    /// The readiness recorded now, without waiting.
    pub(crate) fn current(&self) -> ReadyEvent {
        self.io.current()
    }

    /// Forgets readiness after `WouldBlock` (unless a newer edge came).
    pub(crate) fn clear(&self, event: ReadyEvent) {
        self.io.clear_ready(event);
    }

    /// Runs `op` until it does not return `WouldBlock`, waiting for `direction`'s readiness
    /// between tries. This is the edge-triggered contract: readiness is cleared only when
    /// the kernel said `WouldBlock`.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let event = ready!(self.poll_ready(cx, direction))?;
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.would_block(event, direction == Direction::Write)?;
                }
                result => return Poll::Ready(result),
            }
        }
    }

    /// [`poll_io`](Registration::poll_io) for a stream read whose system call can say that
    /// it emptied the receive queue: `op` returns the bytes it read and whether the kernel
    /// reported nothing left (`TCP_CM_INQ` of zero; see `sys::recv_stream`). Then readiness
    /// is cleared at once (tick-checked), so the caller's next read waits for the next edge
    /// instead of paying a syscall that would only return `WouldBlock`.
    ///
    /// Only the kernel's count may say "emptied", never the read's length: the kernel ends a
    /// stream read early with more queued behind it (at a Unix-stream message that carries
    /// fds or credentials, at an urgent mark on TCP or AF_UNIX, at a pipe packet), and no
    /// new edge comes for data that was already queued; clearing on a short read would
    /// strand it (docs/net.md, "When a read may clear readiness").
    ///
    /// No edge is lost: data that arrives after `op`'s read raises a new edge, which either
    /// moved the tick already (the clear then does nothing) or sets the bits again after
    /// it. Data that arrived between the edge this read was woken by and the read itself is
    /// consumed by the read (the count is taken after the copy), and its queued edge at
    /// worst costs one `WouldBlock` read later. An empty read (end of stream) clears
    /// nothing; `READ_CLOSED` is sticky anyway.
    pub(crate) fn poll_read_stream(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> io::Result<(usize, bool)>,
    ) -> Poll<io::Result<usize>> {
        loop {
            let event = ready!(self.poll_ready(cx, Direction::Read))?;
            match op() {
                Ok((n, emptied)) => {
                    if emptied && n > 0 {
                        self.clear(event);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear(event),
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Multi-waiter readiness: any number of tasks may wait on one resource at once.
    pub(crate) async fn ready(&self, mask: Ready) -> io::Result<ReadyEvent> {
        let mut waiter = Waiter {
            io: &self.io,
            slot: None,
        };
        let event = poll_fn(|cx| {
            ready!(coop::poll_proceed(cx));
            waiter.io.poll_waiter(cx, &mut waiter.slot, mask)
        })
        .await;
        check_shutdown(event)
    }

    /// Like [`poll_io`](Registration::poll_io), but through the multi-waiter path, for
    /// `&self` operations that several tasks may run at once.
    pub(crate) async fn io<R>(
        &self,
        mask: Ready,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let event = self.ready(mask).await?;
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.would_block(event, mask.intersects(Ready::WRITABLE))?;
                }
                result => return result,
            }
        }
    }

    /// Stops readiness reports for `fd`, which must still be open.
    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        self.handle.deregister(fd, self.token)
    }
}

fn check_shutdown(event: ReadyEvent) -> io::Result<ReadyEvent> {
    if event.ready.is_shutdown() {
        return Err(io::Error::other(
            "the eddy reactor driving this resource has shut down; create it again inside a running runtime",
        ));
    }
    Ok(event)
}

/// A multi-waiter slot, released when the waiting future is dropped or finishes.
struct Waiter<'a> {
    io: &'a ScheduledIo,
    slot: Option<usize>,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            self.io.drop_waiter(slot);
        }
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("token", &self.token)
            .field("io", &self.io)
            .field("write_on_demand", &self.write_on_demand.is_some())
            .finish()
    }
}
