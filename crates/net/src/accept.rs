//! `Starvation`: accepting connections when the process may run out of file descriptors.
//!
//! When `accept` fails with `EMFILE` (or `ENFILE`, the system-wide limit), the connection
//! stays in the kernel's backlog and the listener stays readable: retrying at once would
//! fail again, in a loop that burns a core. So the error goes to the caller, readiness is
//! cleared, and the next `accept` waits until an eddy resource closes its fd (the reactor's
//! fd-close epoch moves) or a new connection's edge arrives. Once an fd was freed, `accept`
//! tries without waiting for an edge until `WouldBlock`: the connections still in the
//! backlog bring no new edge, and waiting for one after the first would strand them.
//!
//! States of `starved_at`, written only by the one task accepting on the listener:
//! - `0`: normal, wait for readiness;
//! - `epoch + 1`: starved since the reactor's fd-close epoch was `epoch`;
//! - [`DRAINING`]: an fd was freed since; accept until `WouldBlock`.

use std::io;
use std::task::{Context, Poll, ready};

use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::reactor::scheduled_io::Direction;
use crate::registration::Registration;

/// `starved_at` after a starved listener saw a descriptor freed: accept until `WouldBlock`.
/// (An fd-close epoch of `usize::MAX - 1` would take 2^64 closes.)
const DRAINING: usize = usize::MAX;

/// A listener's accept state; see the module docs.
#[derive(Debug)]
pub(crate) struct Starvation {
    starved_at: AtomicUsize,
}

impl Starvation {
    pub(crate) fn new() -> Starvation {
        Starvation {
            starved_at: AtomicUsize::new(0),
        }
    }

    /// Runs `accept` (one non-blocking `accept` call) when the listener behind
    /// `registration` may have a connection, following the module's protocol; for one
    /// accepting task at a time.
    pub(crate) fn poll_accept<T>(
        &self,
        registration: &Registration,
        cx: &mut Context<'_>,
        mut accept: impl FnMut() -> io::Result<T>,
    ) -> Poll<io::Result<T>> {
        let handle = registration.handle();
        loop {
            let starved = self.starved_at.load(Ordering::Relaxed);
            let event = if starved == 0 {
                ready!(registration.poll_ready(cx, Direction::Read))?
            } else if starved == DRAINING {
                registration.current()
            } else if handle.poll_fd_closed_since(cx, starved - 1) {
                // A descriptor was freed: try at once, and keep trying on later calls until
                // `WouldBlock` (readiness was cleared when accept failed).
                self.starved_at.store(DRAINING, Ordering::Relaxed);
                registration.current()
            } else {
                // Still starved: wait for an eddy fd to close (registered just above), or
                // for a new connection's edge, whichever comes first.
                let event = ready!(registration.poll_ready(cx, Direction::Read))?;
                self.starved_at.store(0, Ordering::Relaxed);
                event
            };
            match accept() {
                Ok(accepted) => return Poll::Ready(Ok(accepted)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // The backlog is empty: back to waiting for edges.
                    self.starved_at.store(0, Ordering::Relaxed);
                    registration.clear(event);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                    registration.clear(event);
                    self.starved_at
                        .store(handle.fd_close_epoch() + 1, Ordering::Relaxed);
                    return Poll::Ready(Err(e));
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}
