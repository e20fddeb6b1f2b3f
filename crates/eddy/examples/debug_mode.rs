//! asyncio's `asyncio.run(main(), debug=True)`: a slow poll reported while it runs, a task
//! dump, the metrics, and the pending tasks at shutdown with a lost wake flagged
//! (docs/debugging.md).
//!
//! ```text
//! cargo run --release -p eddy --example debug_mode
//! ```

#[path = "concepts/mod.rs"]
mod concepts;

fn main() {
    concepts::debug_mode();
}
