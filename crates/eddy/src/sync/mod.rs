//! Synchronization between tasks: `oneshot`, asyncio's Future with `set_result`, and
//! `Notify`.
//!
//! Only the primitives asyncio users and the runtime itself reach for first live here
//! ([`oneshot`] for one result, [`Notify`] for "something changed"); queues, semaphores and
//! broadcast channels come from the ecosystem (`async-channel`, `tokio::sync`), whose types
//! only need a `Waker` and so run on eddy unchanged.

mod notify;
pub mod oneshot;

pub use notify::{Notified, Notify};
