//! Combinators over several futures: `join_all` (asyncio.gather) and `race`.
//!
//! | asyncio | eddy |
//! |---|---|
//! | `await asyncio.gather(*coros)` | [`join_all(futs).await`](join_all) -> `Vec<T>` in input order |
//! | `wait({a, b}, return_when=FIRST_COMPLETED)`, then cancel the rest | [`race(a, b).await`](race) |
//! | the same over a list, knowing which one finished | [`race_all(futs).await`](race_all) -> `(T, index)` |
//!
//! These run futures *concurrently inside one task*, not in parallel: nothing is spawned, the
//! combinator polls its children itself whenever one of them is woken. To run CPU-heavy
//! work on several threads, spawn tasks and join their handles instead.
//!
//! Two differences from asyncio follow from Rust futures being lazy values:
//! - Nothing starts until the combinator is awaited (asyncio's `gather` wraps coroutines in
//!   tasks that start at once).
//! - A race's losers are *dropped* when the winner finishes: that is Rust's cancellation,
//!   and their cleanup runs in their destructors (no `CancelledError` is thrown into them).
//!
//! The combinators only use `std::task::Waker`, so they run under any executor.
//!
//! ```
//! use std::future::ready;
//! use eddy::future::{join_all, race, race_all};
//!
//! let executor = eddy_executor::CurrentThread::new();
//! executor.block_on(async {
//!     // gather: every result, in input order.
//!     let squares = join_all((1..=4).map(|n| async move { n * n })).await;
//!     assert_eq!(squares, [1, 4, 9, 16]);
//!
//!     // The first to finish wins; the other is dropped, never to be polled again.
//!     let winner = race(std::future::pending::<&str>(), ready("fast")).await;
//!     assert_eq!(winner, "fast");
//!
//!     // Over a list, with the winner's index.
//!     let (value, index) = race_all(vec![
//!         Box::pin(std::future::pending()) as std::pin::Pin<Box<dyn Future<Output = u32>>>,
//!         Box::pin(ready(2)),
//!     ])
//!     .await;
//!     assert_eq!((value, index), (2, 1));
//! });
//! ```

mod children;
mod join;
mod race;

pub use join::{JoinAll, join_all};
pub use race::{RaceAll, race, race_all};

#[cfg(all(test, not(eddy_loom)))]
mod tests;
