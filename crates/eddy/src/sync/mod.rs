//! Synchronization between tasks: `oneshot`, asyncio's Future with `set_result`,
//! `Notify`, and `CancellationToken`.
//!
//! Only the primitives asyncio users and the runtime itself reach for first live here
//! ([`oneshot`] for one result, [`Notify`] for "something changed",
//! [`CancellationToken`] for "stop", as in a graceful shutdown: docs/shutdown.md); queues, semaphores and
//! broadcast channels come from the ecosystem (`async-channel`, `tokio::sync`), whose types
//! only need a `Waker` and so run on eddy unchanged.

mod cancel;
mod notify;
pub mod oneshot;
pub(crate) mod waker_list;

pub use cancel::{CancellationToken, Cancelled, CancelledOwned, DropGuard};
pub use notify::{Notified, Notify};
