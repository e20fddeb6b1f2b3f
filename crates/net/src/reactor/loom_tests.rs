//! loom models of the reactor's protocols: the readiness tick, the multi-waiter list, and
//! stale tokens racing with slot reuse.

use std::task::{Context, Waker};

use loom::thread;

use super::Ready;
use super::registry::Registry;
use super::scheduled_io::{Direction, ScheduledIo};
use crate::loom::counting_waker;
use crate::loom::sync::atomic::Ordering;
use crate::loom::sync::{Arc, Mutex, lock};

fn deliver(io: &ScheduledIo, ready: Ready) {
    let mut wake = Vec::new();
    io.set_ready(ready, &mut wake);
    wake.into_iter().for_each(Waker::wake);
}

/// The race the tick exists for: a task saw an old edge, its read returned `WouldBlock`,
/// and a new edge lands while it clears readiness and re-polls. However they interleave,
/// the new edge is either still visible to the poll or wakes the task.
#[test]
fn loom_tests_a_new_edge_is_never_lost_to_a_clear() {
    loom::model(|| {
        let io = Arc::new(ScheduledIo::new());
        deliver(&io, Ready::READABLE);
        let seen = io.current();

        let reactor = {
            let io = Arc::clone(&io);
            thread::spawn(move || deliver(&io, Ready::READABLE))
        };

        io.clear_ready(seen);
        let (counter, waker) = counting_waker();
        let polled = io.poll_ready(&mut Context::from_waker(&waker), Direction::Read);
        reactor.join().unwrap();

        assert!(
            polled.is_ready() || counter.0.load(Ordering::SeqCst) == 1,
            "the new edge was lost"
        );
        // And the edge is never erased: once both are done, readiness is still recorded.
        assert!(io.current().ready.is_readable());
    });
}

/// Multi-waiter futures: a waiter registering while the reactor delivers an edge either
/// sees the edge or is woken by it.
#[test]
fn loom_tests_waiters_never_miss_an_edge() {
    loom::model(|| {
        let io = Arc::new(ScheduledIo::new());
        let reactor = {
            let io = Arc::clone(&io);
            thread::spawn(move || deliver(&io, Ready::WRITABLE))
        };
        let (counter, waker) = counting_waker();
        let mut slot = None;
        let polled = io.poll_waiter(
            &mut Context::from_waker(&waker),
            &mut slot,
            Ready::WRITE_SIDE,
        );
        reactor.join().unwrap();
        assert!(
            polled.is_ready() || counter.0.load(Ordering::SeqCst) == 1,
            "the waiter missed the edge"
        );
        if let Some(slot) = slot {
            io.drop_waiter(slot);
        }
    });
}

/// A resource is dropped and its slot reused while the reactor dispatches an event that
/// carries the old token: the event reaches the old record or nothing, never the new one.
#[test]
fn loom_tests_stale_tokens_never_reach_a_reused_slot() {
    loom::model(|| {
        let registry = Arc::new(Mutex::new(Registry::default()));
        let old = Arc::new(ScheduledIo::new());
        let token = lock(&registry).insert(Arc::clone(&old)).unwrap();

        let reactor = {
            let registry = Arc::clone(&registry);
            thread::spawn(move || {
                let mut wake = Vec::new();
                if let Some(io) = lock(&registry).get(token) {
                    io.set_ready(Ready::READABLE, &mut wake);
                }
                wake.into_iter().for_each(Waker::wake);
            })
        };

        let new = Arc::new(ScheduledIo::new());
        {
            let mut registry = lock(&registry);
            registry.remove(token);
            let reused = registry.insert(Arc::clone(&new)).unwrap();
            assert_ne!(reused, token);
        }
        reactor.join().unwrap();
        assert!(
            new.current().ready.is_empty(),
            "the old token's event reached the new owner"
        );
    });
}

/// A resource registers while the reactor is dropped on another thread. Either the
/// registration fails (the reactor is gone), or the record is one the drop found and shut
/// down: a record registered after the drop drained the registry would wait forever for a
/// reactor that will never turn again.
#[test]
fn loom_tests_register_racing_reactor_drop_fails_or_is_shut_down() {
    use std::os::fd::AsRawFd;

    use eddy_selector::Interest;

    loom::model(|| {
        let reactor = super::Reactor::new().unwrap();
        let handle = reactor.handle();
        let (socket, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
        let dropper = thread::spawn(move || drop(reactor));
        let registered = handle.register(socket.as_raw_fd(), Interest::READABLE);
        dropper.join().unwrap();
        if let Ok((io, _token)) = registered {
            assert!(
                io.current().ready.is_shutdown(),
                "registered after the reactor's drop and never told it shut down"
            );
        }
    });
}

/// The `EMFILE` hand-off: a listener out of descriptors waits for an eddy fd to close
/// (`poll_fd_closed_since`) while another thread closes one (`fd_closed`). The listener
/// sees the new epoch in its poll or is woken: a missed close would leave it starving
/// although a descriptor is free.
#[test]
fn loom_tests_fd_close_racing_a_starved_listener_is_seen_or_wakes_it() {
    loom::model(|| {
        let reactor = super::Reactor::new().unwrap();
        let handle = reactor.handle();
        let epoch = handle.fd_close_epoch();
        let closer = {
            let handle = handle.clone();
            thread::spawn(move || handle.fd_closed())
        };
        let (counter, waker) = counting_waker();
        let seen = handle.poll_fd_closed_since(&mut Context::from_waker(&waker), epoch);
        closer.join().unwrap();
        assert!(
            seen || counter.0.load(Ordering::SeqCst) == 1,
            "the close was neither seen nor woke the starved listener"
        );
    });
}
