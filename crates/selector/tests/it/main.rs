//! Conformance tests for the selector, written once against the public API and run on
//! whichever backend the target has. Every test uses real fds: pipes, socketpairs, TCP and
//! UDP on loopback. Behaviour that differs between backends is gated and says why.

mod echo;
mod errors;
mod notifier;
mod readiness;
mod sockets;
mod support;
mod timeouts;
