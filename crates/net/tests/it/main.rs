//! Public-API tests for eddy-net: real sockets on loopback, driven by a small executor of
//! the tests' own (`support`), so they also show the crate works outside eddy's runtime.

mod async_fd;
mod bad_input;
mod reactor;
mod support;
mod tcp;
mod udp;
mod unix;
