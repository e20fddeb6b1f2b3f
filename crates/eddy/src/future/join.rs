//! `join_all`: asyncio's `gather`, every output in input order.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::children::Children;

/// Runs every future in `futures` concurrently and returns their outputs in input order:
/// asyncio's `await asyncio.gather(*aws)`.
///
/// The first poll polls every future once, in input order; after that only the futures
/// whose wakers fired are polled again, so the cost of a wake-up does not grow with the
/// number of futures. With no futures it completes at once with an empty `Vec`.
///
/// There is no error short-circuit: for `Result` outputs every future still runs to the
/// end (asyncio's default `return_exceptions=False` instead raises the first exception and
/// leaves the others running). To stop at the first error, race the gather against a
/// cancellation signal, or use a task group.
///
/// # Panics
///
/// Never by itself; a panic in a child propagates out of the poll that ran it.
///
/// ```
/// let executor = eddy_executor::CurrentThread::new();
/// let lengths = executor.block_on(eddy::future::join_all(
///     ["a", "bb", "ccc"].map(|s| async move { s.len() }),
/// ));
/// assert_eq!(lengths, [1, 2, 3]);
/// ```
pub fn join_all<I>(futures: I) -> JoinAll<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    let children = Children::new(futures);
    let outputs = std::iter::repeat_with(|| None)
        .take(children.len())
        .collect();
    let remaining = children.len();
    JoinAll {
        children,
        outputs,
        remaining,
    }
}

/// The future returned by [`join_all`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct JoinAll<F: Future> {
    children: Children<F>,
    /// `outputs[i]` is child `i`'s output once it finished.
    outputs: Vec<Option<F::Output>>,
    /// How many children have not finished.
    remaining: usize,
}

// Nothing is ever pinned through a `JoinAll`: the children are pinned in their own box, and
// the outputs are plain values moved out at the end.
impl<F: Future> Unpin for JoinAll<F> {}

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.remaining > 0 {
            let outputs = &mut this.outputs;
            let remaining = &mut this.remaining;
            this.children.poll_woken(cx, |index, output| {
                outputs[index] = Some(output);
                *remaining -= 1;
                false
            });
        }
        if this.remaining > 0 {
            return Poll::Pending;
        }
        let outputs = std::mem::take(&mut this.outputs);
        Poll::Ready(
            outputs
                .into_iter()
                .map(|output| {
                    output.expect("invariant: `remaining == 0` means every output is set")
                })
                .collect(),
        )
    }
}

impl<F: Future> fmt::Debug for JoinAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinAll")
            .field("len", &self.children.len())
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}
