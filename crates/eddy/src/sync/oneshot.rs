//! A channel for exactly one value: asyncio's `Future()` with `set_result`, split in two.
//!
//! asyncio hands one object to both sides: the producer calls `fut.set_result(42)`, the
//! consumer does `await fut`. Rust splits it into a [`Sender`] (consumed by
//! [`send`](Sender::send), so a result can be set at most once, which asyncio checks at run
//! time with `InvalidStateError`) and a [`Receiver`] that is itself the future. Where asyncio
//! would leave the awaiter hanging forever when the producer forgets the future, dropping the
//! `Sender` without sending resolves the `Receiver` with [`RecvError`]; and the producer can
//! learn that nobody waits any more ([`Sender::is_closed`], [`Sender::closed`]) and stop
//! working on a result nobody will read.
//!
//! The channel only uses `std::task::Waker`, so it works under any executor, and it costs one
//! allocation (one `Arc`).
//!
//! ```
//! use eddy::sync::oneshot;
//!
//! let executor = eddy_executor::CurrentThread::new();
//! let answer = executor.block_on(async {
//!     let (tx, rx) = oneshot::channel();
//!     // The producer: in real code a task, a thread or an I/O callback.
//!     std::thread::spawn(move || tx.send(42).unwrap());
//!     rx.await
//! });
//! assert_eq!(answer, Ok(42));
//! ```
//!
//! # Protocol
//!
//! Both halves share one `Inner` holding a `Mutex<State>`; every field below is read and
//! written only under that lock, and wakers are woken after it is released:
//!
//! - `value`: `Some` from `send` until the receiver takes it (by `.await` or `try_recv`),
//!   or until the receiver is dropped.
//! - `sender_done`: set once, when the sender sends or is dropped. With `value == None` it
//!   means "closed without a value" (or "value already taken").
//! - `receiver_closed`: set once, by [`Receiver::close`] or the receiver's drop. From then on
//!   `send` hands the value back.
//! - `rx_waker`: the receiver's waker, stored by a pending poll, taken and woken by `send`
//!   and by the sender's drop.
//! - `tx_waker`: the waker of a pending [`Sender::closed`], taken and woken by `close` and
//!   by the receiver's drop.
//! - `sender_task`: the task the sender was created in, replaced by the task of each later
//!   `is_closed` or `closed` poll (marked as used), for the receiver's wait record
//!   (`eddy_wake::wait`): a task dump draws the receiver's task waiting on it, which is how
//!   it finds two tasks each awaiting the other's value. A sender moved into another task
//!   and not used there still names its creator, unmarked, so such a cycle is reported as
//!   unconfirmed. A change of holder wakes a waiting receiver once, so that its record is
//!   brought up to date by its next poll.
//!
//! A mutex rather than a state word of atomics: each side takes the lock at most a handful
//! of times per channel, so the lock is never contended for long, and the protocol stays
//! checkable at a glance. The loom models in `oneshot/loom_tests.rs` cover send against
//! receiver drop and poll, sender drop against poll, and `closed` against receiver drop.

use std::error::Error;
use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use eddy_wake::wait::{self, WaitKind, WaitOp};

use crate::loom::sync::{Arc, Mutex, lock};

#[cfg(all(test, eddy_loom))]
mod loom_tests;
#[cfg(all(test, not(eddy_loom)))]
mod tests;

/// Creates a channel for one value of type `T`: the [`Sender`] sets it, the [`Receiver`]
/// awaits it.
///
/// # Panics
///
/// Never.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            value: None,
            sender_done: false,
            receiver_closed: false,
            rx_waker: None,
            tx_waker: None,
            sender_task: current_task(),
        }),
    });
    (
        Sender {
            inner: Some(Arc::clone(&inner)),
        },
        Receiver { inner },
    )
}

/// The sending half: sets the result once, like asyncio's `fut.set_result(value)`.
///
/// Dropping it without sending wakes the receiver with [`RecvError`].
pub struct Sender<T> {
    /// `None` only once `send` has consumed it (so `Drop` has nothing left to do).
    inner: Option<Arc<Inner<T>>>,
}

/// The receiving half, and the future of the result: `.await` it, or poll with
/// [`try_recv`](Receiver::try_recv).
///
/// Dropping it (or calling [`close`](Receiver::close)) makes later sends fail and wakes a
/// sender waiting in [`Sender::closed`]: asyncio's `fut.cancel()` seen from the producer.
pub struct Receiver<T> {
    inner: Arc<Inner<T>>,
}

/// The sender was dropped without sending a value, so none will ever come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError(());

/// Why [`Receiver::try_recv`] returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryRecvError {
    /// No value yet, and the sender is still alive: try again later.
    Empty,
    /// No value will ever come: the sender was dropped without sending, or the value was
    /// already received.
    Closed,
}

struct Inner<T> {
    state: Mutex<State<T>>,
}

/// The channel's state; see the module docs for who writes each field.
struct State<T> {
    value: Option<T>,
    sender_done: bool,
    receiver_closed: bool,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
    /// Who holds the sender, as far as eddy can tell, for the receiver's wait record: the
    /// id of the task it was created in, or (with [`USED`] set) last used in; 0 for none.
    sender_task: u64,
}

/// In `sender_task`: the sender was used (`is_closed`, `closed`) in that task, which is
/// evidence that the task holds it; without it, the task only created it.
const USED: u64 = wait::SENDER_USED;

/// The id of the task being polled on this thread, or 0.
fn current_task() -> u64 {
    eddy_executor::current_task_id().map_or(0, |id| id.as_u64())
}

/// Records the current task, if any, as the one holding the sender. When that changes
/// what a waiting receiver recorded, returns its waker, to wake once the lock is released:
/// its next poll records the new holder (one spurious wake per change, which in practice
/// means one per channel).
#[must_use = "the receiver's waker must be woken after the lock is released"]
fn note_sender<T>(state: &mut State<T>) -> Option<Waker> {
    let task = current_task();
    if task == 0 || state.sender_task == task | USED {
        return None;
    }
    state.sender_task = task | USED;
    state.rx_waker.clone()
}

/// A task awaiting a [`Receiver`] waits on the task holding the [`Sender`] (as far as eddy
/// can tell: the task it was created or last used in).
static RECV: WaitOp = WaitOp::new(WaitKind::Sender, "oneshot::Receiver");
/// A task in [`Sender::closed`] waits for the receiver to go.
static CLOSED: WaitOp = WaitOp::new(WaitKind::Other, "oneshot::Sender::closed");

/// Stores `waker` in `slot` unless the one there already wakes the same task.
fn store_waker(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(old) if old.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

impl<T> Sender<T> {
    /// Sends `value` to the receiver and wakes it.
    ///
    /// # Errors
    ///
    /// Gives `value` back if the receiver was dropped or closed: nobody will ever read it.
    /// (A receiver dropped concurrently with the send may also drop a value that `send`
    /// accepted; there is no way to tell those two orders apart, and none is needed.)
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self
            .inner
            .take()
            .expect("invariant: `inner` is taken only by `send`, which consumes the sender");
        let (result, waker) = {
            let mut state = lock(&inner.state);
            state.sender_done = true;
            let result = if state.receiver_closed {
                Err(value)
            } else {
                state.value = Some(value);
                Ok(())
            };
            // Wake the receiver either way: after a failed send, a receiver that closed and
            // still awaits learns that nothing will come.
            (result, state.rx_waker.take())
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        result
    }

    /// Whether the receiver is gone (dropped or [closed](Receiver::close)), so a
    /// [`send`](Sender::send) would fail.
    pub fn is_closed(&self) -> bool {
        self.inner.as_ref().is_some_and(|inner| {
            let (closed, waker) = {
                let mut state = lock(&inner.state);
                let waker = note_sender(&mut state);
                (state.receiver_closed, waker)
            };
            if let Some(waker) = waker {
                waker.wake();
            }
            closed
        })
    }

    /// Waits until the receiver is gone: a producer can `race` its work against this and
    /// stop computing a result nobody will read.
    ///
    /// Only one task should wait on `closed` at a time; a second waiter replaces the first
    /// one's waker.
    #[track_caller]
    pub fn closed(&mut self) -> impl Future<Output = ()> {
        let site = Location::caller();
        poll_fn(move |cx| {
            let poll = self.poll_closed(cx);
            if poll.is_pending() {
                wait::record(&CLOSED, 0, site);
            }
            poll
        })
    }

    /// The poll form of [`closed`](Sender::closed): `Ready` once the receiver is gone.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(inner) = &self.inner else {
            return Poll::Ready(());
        };
        let (poll, waker) = {
            let mut state = lock(&inner.state);
            let waker = note_sender(&mut state);
            if state.receiver_closed {
                (Poll::Ready(()), waker)
            } else {
                store_waker(&mut state.tx_waker, cx.waker());
                (Poll::Pending, waker)
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        poll
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let waker = {
            let mut state = lock(&inner.state);
            state.sender_done = true;
            state.rx_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// Takes the value if it is already there, without waiting.
    ///
    /// # Errors
    ///
    /// - [`TryRecvError::Empty`] if the sender is alive and has not sent yet.
    /// - [`TryRecvError::Closed`] if the sender was dropped without sending, or the value was
    ///   already received.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = lock(&self.inner.state);
        match state.value.take() {
            Some(value) => Ok(value),
            None if state.sender_done => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Closes the channel from the receiving side: later sends fail and give their value
    /// back, and a sender waiting in [`Sender::closed`] wakes. A value sent before the close
    /// can still be taken with [`try_recv`](Receiver::try_recv) or `.await`.
    pub fn close(&mut self) {
        let waker = {
            let mut state = lock(&self.inner.state);
            state.receiver_closed = true;
            state.tx_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    /// `Ready(Ok(value))` once sent; `Ready(Err(RecvError))` if the sender was dropped
    /// without sending. Polling again after `Ready` returns `Err(RecvError)`.
    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = lock(&self.inner.state);
        if let Some(value) = state.value.take() {
            return Poll::Ready(Ok(value));
        }
        if state.sender_done {
            return Poll::Ready(Err(RecvError(())));
        }
        store_waker(&mut state.rx_waker, cx.waker());
        wait::record(&RECV, state.sender_task, Location::caller());
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let (waker, value) = {
            let mut state = lock(&self.inner.state);
            state.receiver_closed = true;
            (state.tx_waker.take(), state.value.take())
        };
        // The unread value is dropped here, outside the lock, in case its destructor is slow
        // or touches this channel.
        drop(value);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("is_closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.inner.state);
        f.debug_struct("Receiver")
            .field("has_value", &state.value.is_some())
            .field("sender_done", &state.sender_done)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the oneshot sender was dropped without sending a value")
    }
}

impl Error for RecvError {}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("no value has been sent on the oneshot yet"),
            TryRecvError::Closed => f.write_str(
                "the oneshot is closed: the sender was dropped or the value was already received",
            ),
        }
    }
}

impl Error for TryRecvError {}
