//! A CPU-bound loop on the event loop, caught by debug mode while it runs, then the same
//! work moved to `spawn_blocking` and no longer flagged (docs/debugging.md).
//!
//! ```text
//! EDDY_DEBUG=1 cargo run --release -p eddy --example blocking
//! ```

#[path = "concepts/mod.rs"]
mod concepts;

fn main() {
    concepts::blocking(false);
}
