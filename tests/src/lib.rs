//! Cross-crate tests for eddy: integration across the runtime's crates, compatibility with
//! third-party libraries, stress and benchmarks against peers.
//!
//! The tests live in `tests/it/` (one binary, one module per concern). Peers such as tokio
//! and smol may appear here as dev-dependencies, never in the runtime crates.

pub mod peers;
