//! What every task waits on, and the deadlock it reveals: a connection waiting for its
//! client, and two tasks each awaiting the other's oneshot (docs/debugging.md, "What each
//! task waits on").
//!
//! ```text
//! cargo run --release -p eddy --example deadlock
//! ```

#[path = "concepts/mod.rs"]
mod concepts;

fn main() {
    let found = concepts::deadlock();
    assert_eq!(found, 1, "the dump finds the deadlock");
}
