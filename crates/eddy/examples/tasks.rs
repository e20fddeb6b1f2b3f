//! The seed notes' concept, one example: see `concepts/mod.rs` (`tasks`).
//!
//! ```text
//! cargo run -p eddy --example tasks
//! ```

#[path = "concepts/mod.rs"]
mod concepts;

fn main() {
    eddy::run(concepts::tasks());
}
