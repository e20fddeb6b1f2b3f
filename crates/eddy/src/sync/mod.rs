//! Synchronization between tasks: `oneshot`, asyncio's Future with `set_result`.
//!
//! Only the primitive asyncio users reach for first lives here; queues, semaphores and
//! broadcast channels come from the ecosystem (`async-channel`, `tokio::sync`), whose types
//! only need a `Waker` and so run on eddy unchanged.

pub mod oneshot;
