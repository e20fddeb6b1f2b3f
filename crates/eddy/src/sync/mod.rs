//! Synchronization between tasks: `oneshot`, asyncio's Future with `set_result`.
