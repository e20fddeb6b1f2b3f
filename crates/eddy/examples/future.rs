//! The seed notes' concept, one example: see `concepts/mod.rs` (`future`).
//!
//! ```text
//! cargo run -p eddy --example future
//! ```

#[path = "concepts/mod.rs"]
mod concepts;

fn main() {
    eddy::run(concepts::future());
}
