//! eddy's cross-crate integration tests: one binary, one module per concern.

mod compat;
mod peers;
mod readme;
mod stack;
