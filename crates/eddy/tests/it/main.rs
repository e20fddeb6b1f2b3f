//! Public-API tests for the eddy facade.
//!
//! They drive futures with eddy-executor's `CurrentThread` or a hand-turned
//! `eddy_net::Reactor`, so they also show these pieces work outside eddy's runtime.

mod future;
mod signal;
mod sync;
