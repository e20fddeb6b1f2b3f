//! Loom models of one signal's delivery to its listeners (`delivery.rs`).
//!
//! The self-pipe is stood in for by `Doorbell`, a flag under a lock with a condvar: like a
//! pipe, a ring before the dispatcher waits is kept, and rings in between coalesce. The
//! dispatcher is the registry's loop, cut to one signal: wait for the doorbell, read the
//! generation, wake every listener if it moved.

use std::future::poll_fn;

use loom::future::block_on;
use loom::sync::{Arc, Condvar};
use loom::thread;

use super::*;

#[derive(Default)]
struct Doorbell {
    rung: Mutex<bool>,
    ringing: Condvar,
}

impl Doorbell {
    /// The handler's write to the pipe.
    fn ring(&self) {
        *lock(&self.rung) = true;
        self.ringing.notify_one();
    }

    /// The dispatcher's blocking read.
    fn wait(&self) {
        let mut rung = lock(&self.rung);
        while !*rung {
            rung = self.ringing.wait(rung).unwrap();
        }
        *rung = false;
    }
}

/// The dispatcher thread for `deliveries` deliveries of one signal.
fn dispatcher(
    delivery: Arc<Delivery>,
    doorbell: Arc<Doorbell>,
    deliveries: usize,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut dispatched = 0;
        while dispatched < deliveries {
            doorbell.wait();
            let now = delivery.generation();
            if now != dispatched {
                dispatched = now;
                delivery.wake_all();
            }
        }
    })
}

/// Waits on its own thread until `listener` reports a delivery.
fn listen(mut listener: Listener<Arc<Delivery>>) -> thread::JoinHandle<()> {
    thread::spawn(move || block_on(poll_fn(|cx| listener.poll(cx))))
}

/// The signal handler: count, then ring.
fn deliver(delivery: &Delivery, doorbell: &Doorbell) {
    delivery.record();
    doorbell.ring();
}

/// One delivery wakes every listener made before it, each on its own thread, whether the
/// dispatcher takes the waiter list before or after a listener registers. A listener left
/// pending is parked for ever, which loom reports as a deadlock.
#[test]
fn one_delivery_reaches_every_listener() {
    loom::model(|| {
        let delivery = Arc::new(Delivery::new());
        let doorbell = Arc::new(Doorbell::default());
        let a = listen(Listener::new(delivery.clone()));
        let b = listen(Listener::new(delivery.clone()));
        let d = dispatcher(delivery.clone(), doorbell.clone(), 1);
        deliver(&delivery, &doorbell);
        a.join().unwrap();
        b.join().unwrap();
        d.join().unwrap();
    });
}

/// A listener made after a delivery does not report it, and reports the next one; a
/// listener that reported a delivery waits for the next rather than reporting it again.
#[test]
fn a_listener_reports_only_deliveries_after_its_last_report() {
    loom::model(|| {
        let delivery = Arc::new(Delivery::new());
        let doorbell = Arc::new(Doorbell::default());
        let d = dispatcher(delivery.clone(), doorbell.clone(), 2);
        deliver(&delivery, &doorbell);
        let mut listener = Listener::new(delivery.clone());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(
            listener.poll(&mut cx).is_pending(),
            "a delivery before the listener was made resolved it"
        );
        let other = delivery.clone();
        let bell = doorbell.clone();
        let second = thread::spawn(move || deliver(&other, &bell));
        block_on(poll_fn(|cx| listener.poll(cx)));
        second.join().unwrap();
        assert!(
            listener.poll(&mut cx).is_pending(),
            "a reported delivery was reported again"
        );
        d.join().unwrap();
    });
}
