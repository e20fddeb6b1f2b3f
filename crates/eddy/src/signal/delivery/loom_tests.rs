//! Loom models of one signal's delivery to its waiters (`delivery.rs`).
//!
//! The self-pipe and the reactors are stood in for by `Pipe`: one flag for "bytes are in
//! the pipe", and per waiter the slot its reactor would wake. Like epoll, which reports only
//! what is still readable when asked, the stand-in's write wakes a waiter's slot only if the
//! bytes are still there when it gets to it, so a waiter that drains first can hide the
//! delivery from the others: the hazard the waiter list exists for.

use std::future::poll_fn;
use std::task::Poll;

use eddy_wake::AtomicWaker;
use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;

use super::*;
use crate::loom::sync::atomic::AtomicBool;

struct Pipe {
    bytes: AtomicBool,
    readers: Vec<AtomicWaker>,
}

impl Pipe {
    fn new(readers: usize) -> Pipe {
        Pipe {
            bytes: AtomicBool::new(false),
            readers: (0..readers).map(|_| AtomicWaker::new()).collect(),
        }
    }

    /// The handler's write, then each reactor's look at the pipe. A swap rather than a
    /// store: loom orders a store after a concurrent read-modify-write (a waiter's drain)
    /// only through what this thread has seen, so with a store the load below could read
    /// the drain's older `false` (a false alarm); the pipe's real writes are all ordered.
    fn write(&self) {
        self.bytes.swap(true, Ordering::AcqRel);
        for reader in &self.readers {
            if self.bytes.load(Ordering::Acquire) {
                reader.wake();
            }
        }
    }

    /// `Async::poll_read_with` draining the pipe: registers, then reads.
    fn poll_drain(&self, reader: usize, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.readers[reader].register(cx.waker());
        if self.bytes.swap(false, Ordering::AcqRel) {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    fn drain(&self) {
        self.bytes.store(false, Ordering::Release);
    }
}

/// Waits on its own thread until `waiter` resolves.
fn wait(
    mut waiter: Waiter<Arc<Delivery>>,
    pipe: Arc<Pipe>,
    reader: usize,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let resolved = block_on(poll_fn(|cx| {
            waiter.poll(cx, |cx| pipe.poll_drain(reader, cx), || pipe.drain())
        }));
        assert!(resolved.is_ok());
    })
}

/// One delivery resolves every waiter pending when it came, although the first to resolve
/// drains the pipe before the others' reactors may have seen it: each resolving waiter
/// wakes the rest through the list. A waiter left pending is parked for ever, which loom
/// reports as a deadlock.
#[test]
fn one_delivery_resolves_every_pending_waiter() {
    loom::model(|| {
        let delivery = Arc::new(Delivery::new());
        let pipe = Arc::new(Pipe::new(2));
        let a = wait(Waiter::new(delivery.clone()), pipe.clone(), 0);
        let b = wait(Waiter::new(delivery.clone()), pipe.clone(), 1);
        // The signal handler.
        delivery.record();
        pipe.write();
        a.join().unwrap();
        b.join().unwrap();
    });
}

/// A waiter made after a delivery waits for the next one: stale bytes left in the pipe by
/// the earlier delivery do not resolve it, and the next delivery does.
#[test]
fn stale_bytes_do_not_resolve_a_later_waiter() {
    loom::model(|| {
        let delivery = Arc::new(Delivery::new());
        let pipe = Arc::new(Pipe::new(1));
        delivery.record();
        pipe.write();
        let mut waiter = Waiter::new(delivery.clone());
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let pending = waiter.poll(&mut cx, |cx| pipe.poll_drain(0, cx), || pipe.drain());
        assert!(pending.is_pending(), "a stale byte resolved a later waiter");
        let a = wait(waiter, pipe.clone(), 0);
        delivery.record();
        pipe.write();
        a.join().unwrap();
    });
}
