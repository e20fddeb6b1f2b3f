//! The seed notes' concept, one example: see `concepts/mod.rs` (`pitfalls`).
//!
//! ```text
//! cargo run -p eddy --example pitfalls
//! ```

#[path = "concepts/mod.rs"]
mod concepts;

fn main() {
    eddy::run(concepts::pitfalls());
}
