//! The seed notes' concept, one example: see `concepts/mod.rs` (`hello_sleep`).
//!
//! ```text
//! cargo run -p eddy --example hello_sleep
//! ```

#[path = "concepts/mod.rs"]
mod concepts;

fn main() {
    eddy::run(concepts::hello_sleep());
}
