//! The seed notes' concept, one example: see `concepts/mod.rs` (`timed`).
//!
//! ```text
//! cargo run -p eddy --example timed
//! ```

#[path = "concepts/mod.rs"]
mod concepts;

fn main() {
    eddy::run(concepts::timed());
}
