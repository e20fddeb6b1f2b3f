//! Public-API tests of eddy-executor.

mod abort;
mod blocking;
mod current_thread;
mod debug;
mod metadata;
mod multi_thread;
mod panics;
mod support;
