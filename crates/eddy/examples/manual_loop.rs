//! 2.8: the event loop by hand: `Runtime::builder()`, `block_on`, `Handle::current()`.
//!
//! ```text
//! cargo run -p eddy --example manual_loop
//! ```

#[path = "concepts/mod.rs"]
mod concepts;

fn main() {
    concepts::manual_loop();
}
