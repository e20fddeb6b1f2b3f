//! `CancellationToken`: a shared "stop now" flag that tasks can await, with child tokens.
//!
//! The protocol (who locks what, why no wake is lost, how dropped children are unlinked)
//! is in `cancel/tree.rs`; the loom models in `cancel/loom_tests.rs` check it.

mod tree;

#[cfg(all(test, eddy_loom))]
mod loom_tests;
#[cfg(all(test, not(eddy_loom)))]
mod tests;

use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::Location;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

use eddy_wake::wait::{self, WaitKind, WaitOp};

use crate::loom::sync::Arc;
use crate::sync::waker_list::Key;
use tree::Node;

/// A flag that says "stop", shared by every clone and reaching every child token — what
/// asyncio programs build from an `asyncio.Event` and `task.cancel()` calls, as one type.
///
/// - [`cancel`](CancellationToken::cancel) sets it, once and for all, and wakes every task
///   waiting in [`cancelled`](CancellationToken::cancelled); calling it again does nothing.
/// - A [`child_token`](CancellationToken::child_token) is cancelled with its parent (and
///   the parent's parent, and so on) but can also be cancelled alone, which leaves the
///   parent alone: one token per connection, under one for the whole server.
/// - Cloning is an `Arc` clone: every clone is the same token.
///
/// Unlike [`JoinHandle::abort`](crate::task::JoinHandle::abort), which drops a task's future
/// wherever it waits, a token is cooperative: the task decides where it stops (between two
/// requests, after flushing a reply), which is what a graceful shutdown needs.
///
/// ```
/// use eddy::sync::CancellationToken;
/// use std::time::Duration;
///
/// eddy::run(async {
///     let server = CancellationToken::new();
///     let connection = server.child_token();
///     let worker = eddy::spawn(async move {
///         let mut served = 0;
///         // Serve until the token is cancelled, finishing the request in hand.
///         while connection.run_until_cancelled(eddy::sleep(Duration::from_millis(1))).await.is_some() {
///             served += 1;
///         }
///         served
///     });
///     eddy::sleep(Duration::from_millis(20)).await;
///     server.cancel(); // Reaches the child.
///     assert!(worker.await.unwrap() > 0);
/// });
/// ```
#[derive(Clone)]
pub struct CancellationToken {
    handle: Arc<Handle>,
}

/// The token and its clones: when the last one goes, the node leaves the tree.
struct Handle {
    node: Arc<Node>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        tree::release(&self.node);
    }
}

impl CancellationToken {
    /// A token that is not cancelled and has no parent.
    pub fn new() -> CancellationToken {
        CancellationToken::from_node(Node::root())
    }

    fn from_node(node: Arc<Node>) -> CancellationToken {
        CancellationToken {
            handle: Arc::new(Handle { node }),
        }
    }

    fn node(&self) -> &Arc<Node> {
        &self.handle.node
    }

    /// A new token that is cancelled when this one is (and at once, if this one already
    /// is); cancelling it leaves this one alone.
    ///
    /// A child whose every clone has been dropped is unlinked from its parent, so a
    /// long-lived parent with many short-lived children holds only the live ones; the
    /// children of a dropped child stay under its parent, so cancelling the parent still
    /// reaches them.
    pub fn child_token(&self) -> CancellationToken {
        CancellationToken::from_node(tree::child(self.node()))
    }

    /// Cancels the token and every child token below it, and wakes every task waiting in
    /// [`cancelled`](CancellationToken::cancelled). Idempotent; safe from any thread, from
    /// inside a task or outside any runtime.
    pub fn cancel(&self) {
        tree::cancel(self.node());
    }

    /// Whether the token has been cancelled, itself or through a parent. Once `true`,
    /// always `true`.
    pub fn is_cancelled(&self) -> bool {
        self.node().is_cancelled()
    }

    /// A future that completes once the token is cancelled, at once if it already is.
    ///
    /// Cancel-safe: it holds no state but its place in the waiter list, so dropping it (a
    /// lost race, a timeout) loses nothing; a new one completes just the same. It needs no
    /// runtime (any waker will do) and is `Send`.
    pub fn cancelled(&self) -> Cancelled<'_> {
        Cancelled {
            token: self,
            key: None,
        }
    }

    /// Like [`cancelled`](CancellationToken::cancelled), but owning a clone of the token,
    /// so the future is `'static` and can move into a spawned task.
    pub fn cancelled_owned(self) -> CancelledOwned {
        CancelledOwned {
            token: self,
            key: None,
        }
    }

    /// A guard that cancels the token when dropped, unless
    /// [`disarm`](DropGuard::disarm)ed: to cancel the tasks of a scope however the scope
    /// is left (return, `?`, panic).
    pub fn drop_guard(self) -> DropGuard {
        DropGuard { token: Some(self) }
    }

    /// Runs `future` until it completes (`Some(output)`) or the token is cancelled
    /// (`None`, and `future` is dropped where it was). The token is checked first, so an
    /// already-cancelled token returns `None` without polling `future`.
    pub async fn run_until_cancelled<F: Future>(&self, future: F) -> Option<F::Output> {
        let mut future = pin!(future);
        let mut cancelled = pin!(self.cancelled());
        poll_fn(|cx| {
            if cancelled.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            future.as_mut().poll(cx).map(Some)
        })
        .await
    }
}

impl Default for CancellationToken {
    fn default() -> CancellationToken {
        CancellationToken::new()
    }
}

impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// A task awaiting a token's cancellation waits for whoever cancels it.
static CANCELLED: WaitOp = WaitOp::new(WaitKind::Notify, "CancellationToken::cancelled");

/// The future of [`CancellationToken::cancelled`]: completes once the token is cancelled.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Cancelled<'a> {
    token: &'a CancellationToken,
    /// The waker's slot in the node's waiter list, once registered.
    key: Option<Key>,
}

impl Future for Cancelled<'_> {
    type Output = ();

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let poll = this.token.node().poll_cancelled(&mut this.key, cx);
        if poll.is_pending() {
            wait::record(&CANCELLED, 0, Location::caller());
        }
        poll
    }
}

impl Drop for Cancelled<'_> {
    fn drop(&mut self) {
        self.token.node().forget(self.key.take());
    }
}

impl fmt::Debug for Cancelled<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancelled")
            .field("cancelled", &self.token.is_cancelled())
            .finish_non_exhaustive()
    }
}

/// The future of [`CancellationToken::cancelled_owned`]: completes once the token is
/// cancelled.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct CancelledOwned {
    token: CancellationToken,
    key: Option<Key>,
}

impl Future for CancelledOwned {
    type Output = ();

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let poll = this.token.node().poll_cancelled(&mut this.key, cx);
        if poll.is_pending() {
            wait::record(&CANCELLED, 0, Location::caller());
        }
        poll
    }
}

impl Drop for CancelledOwned {
    fn drop(&mut self) {
        self.token.node().forget(self.key.take());
    }
}

impl fmt::Debug for CancelledOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelledOwned")
            .field("cancelled", &self.token.is_cancelled())
            .finish_non_exhaustive()
    }
}

/// Cancels its token when dropped; see [`CancellationToken::drop_guard`].
#[must_use = "dropping the guard at once cancels the token at once"]
pub struct DropGuard {
    /// `None` once disarmed.
    token: Option<CancellationToken>,
}

impl DropGuard {
    /// Gives the token back without cancelling it.
    pub fn disarm(mut self) -> CancellationToken {
        self.token
            .take()
            .expect("invariant: only `disarm`, which consumes the guard, empties it")
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(token) = &self.token {
            token.cancel();
        }
    }
}

impl fmt::Debug for DropGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DropGuard")
            .field("token", &self.token)
            .finish()
    }
}
