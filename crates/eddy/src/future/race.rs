//! `race` and `race_all`: the first future to finish wins, the others are cancelled.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

use super::children::Children;

/// Runs `a` and `b` concurrently and returns the output of whichever finishes first; the
/// other is dropped, which cancels it: asyncio's
/// `wait({a, b}, return_when=FIRST_COMPLETED)` followed by `cancel()` on the pending one.
///
/// `a` is polled before `b` on every poll, so when both are ready at once `a` wins. For more
/// than two futures, nest `race` calls or use [`race_all`], which also says which one won.
///
/// # Panics
///
/// Never by itself; a panic in `a` or `b` propagates.
///
/// ```
/// use std::future::{pending, ready};
///
/// let executor = eddy_executor::CurrentThread::new();
/// let winner = executor.block_on(eddy::future::race(pending(), ready("b")));
/// assert_eq!(winner, "b");
/// ```
pub async fn race<T, A, B>(a: A, b: B) -> T
where
    A: Future<Output = T>,
    B: Future<Output = T>,
{
    let mut a = pin!(a);
    let mut b = pin!(b);
    poll_fn(|cx| {
        if let Poll::Ready(output) = a.as_mut().poll(cx) {
            return Poll::Ready(output);
        }
        b.as_mut().poll(cx)
    })
    .await
    // `a` and `b` are dropped here, when this future completes or is itself dropped.
}

/// Runs every future in `futures` concurrently and returns the first output with the index
/// of the future that produced it; the others are dropped (cancelled) as soon as it
/// finishes.
///
/// Like [`join_all`](super::join_all), it polls only the futures that were woken. When
/// several are ready in one poll, the one woken first wins. With no futures at all it never
/// completes (it is the first of nothing), like [`std::future::pending`].
///
/// # Panics
///
/// Never by itself; a panic in a child propagates out of the poll that ran it.
///
/// ```
/// use std::time::Duration;
///
/// let executor = eddy_executor::CurrentThread::new();
/// // Three "requests"; the quickest answer wins and the slower ones are cancelled.
/// let (answer, index) = executor.block_on(eddy::future::race_all([3u64, 1, 2].map(|secs| {
///     let (tx, rx) = eddy::sync::oneshot::channel();
///     std::thread::spawn(move || {
///         std::thread::sleep(Duration::from_millis(20 * secs));
///         let _ = tx.send(secs);
///     });
///     rx
/// })));
/// assert_eq!((answer, index), (Ok(1), 1));
/// ```
pub fn race_all<I>(futures: I) -> RaceAll<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    RaceAll {
        children: Some(Children::new(futures)),
    }
}

/// The future returned by [`race_all`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct RaceAll<F: Future> {
    /// `None` once a child won: the losers were dropped with it.
    children: Option<Children<F>>,
}

impl<F: Future> Future for RaceAll<F> {
    type Output = (F::Output, usize);

    /// `Ready` with the first output; polling again after that returns `Pending` forever.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(children) = &mut this.children else {
            return Poll::Pending;
        };
        let mut winner = None;
        children.poll_woken(cx, |index, output| {
            winner = Some((output, index));
            true
        });
        match winner {
            Some(winner) => {
                // Cancel the losers now, not whenever the caller drops this future.
                this.children = None;
                Poll::Ready(winner)
            }
            None => Poll::Pending,
        }
    }
}

impl<F: Future> fmt::Debug for RaceAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RaceAll")
            .field("len", &self.children.as_ref().map(Children::len))
            .finish()
    }
}
