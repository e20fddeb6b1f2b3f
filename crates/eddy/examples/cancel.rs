//! The seed notes' concept, one example: see `concepts/mod.rs` (`cancel`).
//!
//! ```text
//! cargo run -p eddy --example cancel
//! ```

#[path = "concepts/mod.rs"]
mod concepts;

fn main() {
    eddy::run(concepts::cancel());
}
