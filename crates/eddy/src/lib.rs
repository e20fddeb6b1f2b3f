//! eddy: an async I/O runtime built from the system calls up, with asyncio's ideas.

mod loom;

pub mod future;
pub mod signal;
pub mod sync;
