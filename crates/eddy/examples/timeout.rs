//! The seed notes' concept, one example: see `concepts/mod.rs` (`timeout`).
//!
//! ```text
//! cargo run -p eddy --example timeout
//! ```

#[path = "concepts/mod.rs"]
mod concepts;

fn main() {
    eddy::run(concepts::timeout());
}
